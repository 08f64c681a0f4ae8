/**
 * What the OSS protocol test server keeps with an object besides its bytes, content type and user metadata: the
 * standard headers (Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires), the storage
 * class (`x-oss-storage-class`), server-side encryption (`x-oss-server-side-encryption`, `-key-id`), the object ACL
 * (`x-oss-object-acl`, GET/PUT `?acl`) and tags (`x-oss-tagging` on PUT/initiate, with `x-oss-tagging-directive` on
 * copy; PUT/GET/DELETE `?tagging`). Wired into `oss-server.ts` by small hooks; proved with the real ali-oss client in
 * `test/providers/oss-fields.test.ts`. Reference: the OSS API documentation of PutObject, CopyObject, PutObjectTagging
 * and PutObjectACL.
 */
import type { IncomingMessage } from 'node:http';

/** The standard headers OSS stores with an object and returns on GET/HEAD (lower-case). */
export const STANDARD_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;
/** OSS's storage classes. */
export const OSS_STORAGE_CLASSES = ['Standard', 'IA', 'Archive', 'ColdArchive', 'DeepColdArchive'] as const;
const ACLS = ['default', 'private', 'public-read', 'public-read-write'] as const;
const MAX_TAGS = 10;

export interface ObjectFields {
  /** Standard headers by lower-case name, as sent. */
  headers: Record<string, string>;
  storageClass: string;
  encryption?: { algorithm: 'AES256' | 'KMS' | 'SM4'; keyId?: string };
  acl: (typeof ACLS)[number];
  tags: Record<string, string>;
}

/** The server's error type, handed in so this module stays apart from its internals. */
export type FieldError = (status: number, code: string, message: string) => Error;

/** The tagging sub-resource operations and the object ACL ones. */
export type FieldOperation = 'PutObjectTagging' | 'GetObjectTagging' | 'DeleteObjectTagging' | 'GetObjectACL' | 'PutObjectACL';
export const FIELD_SUBRESOURCES = ['tagging', 'acl'] as const;

const one = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** `k1=v1&k2=v2` (URL-encoded) as tags; 400 InvalidArgument for a malformed set. */
export function parseTagging(raw: string, fail: FieldError): Record<string, string> {
  const tags: Record<string, string> = {};
  if (raw === '') return tags;
  for (const pair of raw.split('&')) {
    const eq = pair.indexOf('=');
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      v = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      throw fail(400, 'InvalidArgument', `x-oss-tagging is not valid URL encoding: ${raw}`);
    }
    checkTag(k, v, fail);
    if (k in tags) throw fail(400, 'InvalidArgument', `duplicate tag key ${k}`);
    tags[k] = v;
  }
  if (Object.keys(tags).length > MAX_TAGS) throw fail(400, 'InvalidArgument', `at most ${MAX_TAGS} tags per object`);
  return tags;
}

function checkTag(k: string, v: string, fail: FieldError): void {
  if (k.length === 0 || k.length > 128) throw fail(400, 'InvalidTag', `tag key must be 1-128 characters: ${JSON.stringify(k)}`);
  if (v.length > 256) throw fail(400, 'InvalidTag', `tag value longer than 256 characters (key ${JSON.stringify(k)})`);
}

function storageClassOf(req: IncomingMessage, fail: FieldError): string | undefined {
  const c = one(req, 'x-oss-storage-class');
  if (c === undefined) return undefined;
  if (!(OSS_STORAGE_CLASSES as readonly string[]).includes(c)) throw fail(400, 'InvalidArgument', `Invalid x-oss-storage-class: ${c}`);
  return c;
}

function encryptionOf(req: IncomingMessage, fail: FieldError): ObjectFields['encryption'] {
  const algorithm = one(req, 'x-oss-server-side-encryption');
  const keyId = one(req, 'x-oss-server-side-encryption-key-id');
  if (algorithm === undefined) {
    if (keyId !== undefined) throw fail(400, 'InvalidArgument', 'x-oss-server-side-encryption-key-id needs x-oss-server-side-encryption: KMS');
    return undefined;
  }
  if (algorithm !== 'AES256' && algorithm !== 'KMS' && algorithm !== 'SM4') throw fail(400, 'InvalidEncryptionAlgorithmError', `Invalid x-oss-server-side-encryption: ${algorithm}`);
  if (keyId !== undefined && algorithm !== 'KMS') throw fail(400, 'InvalidArgument', 'x-oss-server-side-encryption-key-id is only for KMS');
  return keyId !== undefined ? { algorithm, keyId } : { algorithm };
}

function aclOf(value: string | undefined, fail: FieldError): ObjectFields['acl'] | undefined {
  if (value === undefined) return undefined;
  if (!(ACLS as readonly string[]).includes(value)) throw fail(400, 'InvalidArgument', `Invalid x-oss-object-acl: ${value}`);
  return value as ObjectFields['acl'];
}

function standardHeaders(req: IncomingMessage): Record<string, string> {
  const h: Record<string, string> = {};
  for (const name of STANDARD_HEADERS) {
    const v = one(req, name);
    if (v !== undefined) h[name] = v;
  }
  return h;
}

/** The fields of a PutObject or InitiateMultipartUpload request. */
export function fieldsOfRequest(req: IncomingMessage, fail: FieldError): ObjectFields {
  const tagging = one(req, 'x-oss-tagging');
  const encryption = encryptionOf(req, fail);
  return {
    headers: standardHeaders(req),
    storageClass: storageClassOf(req, fail) ?? 'Standard',
    ...(encryption ? { encryption } : {}),
    acl: aclOf(one(req, 'x-oss-object-acl'), fail) ?? 'default',
    tags: tagging === undefined ? {} : parseTagging(tagging, fail),
  };
}

/**
 * The fields of a CopyObject target: headers from the request with `x-oss-metadata-directive: REPLACE` (else the
 * source's), tags from `x-oss-tagging` with `x-oss-tagging-directive: Replace` (else the source's); class, encryption
 * and ACL from the request (else Standard, none, default), as OSS does.
 */
export function copiedFields(req: IncomingMessage, source: ObjectFields, replaceMetadata: boolean, fail: FieldError): ObjectFields {
  const directive = one(req, 'x-oss-tagging-directive') ?? 'Copy';
  if (directive !== 'Copy' && directive !== 'Replace') throw fail(400, 'InvalidArgument', `Invalid x-oss-tagging-directive: ${directive}`);
  const own = fieldsOfRequest(req, fail);
  return {
    ...own,
    headers: replaceMetadata ? own.headers : { ...source.headers },
    tags: directive === 'Replace' ? own.tags : { ...source.tags },
  };
}

/** The response headers of a GET/HEAD for these fields (tag count as `x-oss-tagging-count`). */
export function fieldHeaders(f: ObjectFields): Record<string, string> {
  const h: Record<string, string> = { ...f.headers, 'x-oss-storage-class': f.storageClass };
  if (f.encryption) {
    h['x-oss-server-side-encryption'] = f.encryption.algorithm;
    if (f.encryption.keyId) h['x-oss-server-side-encryption-key-id'] = f.encryption.keyId;
  }
  const count = Object.keys(f.tags).length;
  if (count) h['x-oss-tagging-count'] = String(count);
  return h;
}

/** A fresh set of fields for an object written without any (e.g. by back-to-origin). */
export function emptyFields(): ObjectFields {
  return { headers: {}, storageClass: 'Standard', acl: 'default', tags: {} };
}

/** The operation of a request on a `?tagging` or `?acl` sub-resource of an object, or undefined for none. */
export function fieldOperation(method: string, key: string, query: Map<string, string>): FieldOperation | 'Unsupported' | undefined {
  if (query.has('tagging')) {
    if (!key) return 'Unsupported';
    return ({ PUT: 'PutObjectTagging', GET: 'GetObjectTagging', DELETE: 'DeleteObjectTagging' } as const)[method as 'PUT'] ?? 'Unsupported';
  }
  if (query.has('acl')) {
    if (!key) return 'Unsupported';
    return ({ GET: 'GetObjectACL', PUT: 'PutObjectACL' } as const)[method as 'GET'] ?? 'Unsupported';
  }
  return undefined;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as const)[c as '&']};`);
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => (e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!));

/** What a field operation needs from the server: the object's fields, the request body, and how to answer. */
export interface FieldContext {
  /** A request header by lower-case name. */
  header: (name: string) => string | undefined;
  fields: ObjectFields;
  body: () => Promise<Buffer>;
  xml: (status: number, body: string) => void;
  empty: (status: number) => void;
  ownerId: string;
  fail: FieldError;
}

/** Runs a tagging or ACL operation on an object's fields. */
export async function runFieldOperation(op: FieldOperation, c: FieldContext): Promise<void> {
  switch (op) {
    case 'GetObjectTagging': {
      const tags = Object.entries(c.fields.tags).map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`);
      c.xml(200, `<Tagging><TagSet>${tags.join('')}</TagSet></Tagging>`);
      return;
    }
    case 'PutObjectTagging': {
      const xml = (await c.body()).toString('utf8');
      if (!/<Tagging>[\s\S]*<\/Tagging>/.test(xml)) throw c.fail(400, 'MalformedXML', 'The XML you provided was not well-formed.');
      const tags: Record<string, string> = {};
      for (const m of xml.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*<Value>([\s\S]*?)<\/Value>\s*<\/Tag>/g)) {
        const k = unescapeXml(m[1]!);
        const v = unescapeXml(m[2]!);
        checkTag(k, v, c.fail);
        tags[k] = v;
      }
      if (Object.keys(tags).length > MAX_TAGS) throw c.fail(400, 'BadRequest', `at most ${MAX_TAGS} tags per object`);
      c.fields.tags = tags;
      c.empty(200);
      return;
    }
    case 'DeleteObjectTagging':
      c.fields.tags = {};
      c.empty(204);
      return;
    case 'GetObjectACL':
      c.xml(200, `<AccessControlPolicy><Owner><ID>${c.ownerId}</ID><DisplayName>${c.ownerId}</DisplayName></Owner><AccessControlList><Grant>${c.fields.acl}</Grant></AccessControlList></AccessControlPolicy>`);
      return;
    case 'PutObjectACL':
      await c.body();
      c.fields.acl = aclOf(c.header('x-oss-object-acl'), c.fail) ?? c.fields.acl;
      c.empty(200);
      return;
  }
}
