/**
 * OSS's side of an object's fields: the key rules, the headers a write sends (Content-Type, `x-oss-meta-*`),
 * the headers and listing values read back (ETag, CRC-64, metadata, standard headers, storage class, encryption,
 * `encoding-type=url` names). The rest of what a write sends is write-fields.ts's.
 */
import type { Encryption, ObjectHeaders, ObjectInfo } from '../provider';
import { parseCrc64 } from '../checksum/crc64';
import { ChecksumMismatchError, FerryError, InvalidKeyError, InvalidListingError, errorMessage } from '../../common/errors';
import { keyByteLength } from '../../common/keys';
import { parseRestoreHeader } from '../archive-fields';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** What Node's http client accepts in header names and values. */
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const META_PREFIX = 'x-oss-meta-';
/** Standard header fields by the names ali-oss sends them with (read back lower-cased). */
export const STANDARD_HEADER_NAMES: Readonly<Record<keyof ObjectHeaders, string>> = {
  cacheControl: 'Cache-Control',
  contentDisposition: 'Content-Disposition',
  contentEncoding: 'Content-Encoding',
  contentLanguage: 'Content-Language',
  expires: 'Expires',
};

/** An ETag without its quotes; undefined when the server sent none or an empty one (never `''`). */
export function unquote(etag: string | undefined): string | undefined {
  return etag?.trim().replace(/^(W\/)?"|"$/g, '') || undefined;
}

/**
 * Keys and markers of `encoding-type=url` listings (`+` is a space there; a literal `+` arrives as `%2B`). Throws
 * InvalidListingError naming the raw value and `bucket` for a value that is not valid percent-encoded UTF-8.
 */
export function decodeListValue(value: string, bucket: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch (err) {
    throw new InvalidListingError(`list oss://${bucket}: listed value ${JSON.stringify(value)} is not valid URL encoding (${errorMessage(err)})`, { code: 'InvalidListEncoding', cause: err });
  }
}

/** Throws InvalidKeyError (`InvalidObjectName`) for a key OSS cannot store. */
export function validateOssKey(key: string): void {
  const shown = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
  const refuse = (rule: string) => new InvalidKeyError(`key ${shown} cannot be stored on oss: ${rule}`, { code: 'InvalidObjectName' });
  if (key.length === 0) throw refuse('empty key');
  if (key.startsWith('/')) throw refuse('starts with "/"');
  if (key.startsWith('\\')) throw refuse('starts with "\\"');
  if (LONE_SURROGATE.test(key)) throw refuse('not valid UTF-8 (unpaired surrogate)');
  if (keyByteLength(key) > 1023) throw refuse('longer than 1023 bytes');
}

/**
 * Content-Type and `x-oss-meta-*` headers. Throws a non-retryable FerryError (`InvalidMetadata`) for names
 * or values an HTTP header cannot carry (Node refuses characters above U+00FF and control characters).
 */
export function writeHeaders(what: string, opts: { contentType?: string; metadata?: Record<string, string> }): Record<string, string> {
  const headers: Record<string, string> = {};
  const bad = (field: string, value: string) =>
    new FerryError(`${what}: ${field} ${JSON.stringify(value)} cannot be sent in an HTTP header (control characters or characters above U+00FF)`, { code: 'InvalidMetadata' });
  if (opts.contentType) {
    if (INVALID_HEADER_VALUE.test(opts.contentType)) throw bad('content type', opts.contentType);
    headers['Content-Type'] = opts.contentType;
  }
  for (const [name, value] of Object.entries(opts.metadata ?? {})) {
    if (!HEADER_TOKEN.test(name)) throw bad('metadata name', name);
    if (INVALID_HEADER_VALUE.test(value)) throw bad(`metadata "${name}" value`, value);
    headers[`${META_PREFIX}${name.toLowerCase()}`] = value;
  }
  return headers;
}

/** Compares the CRC-64 the server reports for written bytes with ours. Throws ChecksumMismatchError (`Crc64Mismatch`). */
export function verifyCrc(what: string, headers: Record<string, string | undefined>, ours: string): void {
  const theirs = headers['x-oss-hash-crc64ecma'];
  if (!theirs?.trim()) return; // absent (or sent empty): nothing to compare
  if (parseCrc64(theirs)?.toString() !== ours) {
    throw new ChecksumMismatchError(`${what}: CRC-64 mismatch: sent bytes with crc64ecma ${ours}, server reports ${theirs}`, { code: 'Crc64Mismatch' });
  }
}

/** The server-reported CRC-64 as Ferry's checksums, when there is one. */
export function reportedChecksums(headers: Record<string, string | undefined>): { crc64ecma: string } | undefined {
  const crc = parseCrc64(headers['x-oss-hash-crc64ecma']);
  return crc !== undefined ? { crc64ecma: crc.toString() } : undefined;
}

/**
 * An object's info from the headers of a HEAD answer. Throws FerryError (`NoContentLength`) when it announces no
 * length: a size Ferry would otherwise have to make up.
 */
export function statInfo(what: string, key: string, headers: Record<string, string | undefined>): ObjectInfo {
  const info = objectInfo(key, headers);
  if (Number.isNaN(info.size)) throw new FerryError(`${what}: the server's answer carries no Content-Length, so the object's size is unknown`, { code: 'NoContentLength' });
  return info;
}

/** An object's info from the headers of a HEAD or GET answer (`size` NaN when they carry no Content-Length). */
export function objectInfo(key: string, headers: Record<string, string | undefined>): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (name.startsWith(META_PREFIX) && value !== undefined) metadata[name.slice(META_PREFIX.length)] = value;
  const lastModified = Date.parse(headers['last-modified'] ?? '');
  return {
    key,
    size: /^\s*\d+\s*$/.test(headers['content-length'] ?? '') ? Number(headers['content-length']) : NaN,
    lastModified: Number.isNaN(lastModified) ? 0 : lastModified,
    etag: unquote(headers.etag) || undefined,
    checksums: reportedChecksums(headers),
    contentType: headers['content-type'],
    metadata,
    ...archiveFieldsOf(headers),
    ...storedFields(headers),
    ...(headers['x-oss-version-id'] ? { versionId: headers['x-oss-version-id'] } : {}),
    position: key,
  };
}

/** Storage class (`x-oss-storage-class`) and restore state (`x-oss-restore`) of a HEAD or GET answer. */
function archiveFieldsOf(headers: Record<string, string | undefined>): Pick<ObjectInfo, 'storageClass' | 'restore'> {
  const restore = parseRestoreHeader(headers['x-oss-restore']);
  const storageClass = headers['x-oss-storage-class'];
  return { ...(storageClass ? { storageClass } : {}), ...(restore ? { restore } : {}) };
}

/** Standard headers and encryption of a HEAD/GET answer (lower-case header names); the storage class is read beside them. */
function storedFields(headers: Record<string, string | undefined>): Pick<ObjectInfo, 'headers' | 'encryption'> {
  const out: ObjectHeaders = {};
  for (const [field, name] of Object.entries(STANDARD_HEADER_NAMES) as [keyof ObjectHeaders, string][]) {
    const v = headers[name.toLowerCase()];
    if (v !== undefined) out[field] = v;
  }
  const sse = headers['x-oss-server-side-encryption'];
  const keyId = headers['x-oss-server-side-encryption-key-id'];
  const encryption: Encryption | undefined = sse === 'AES256' ? { algorithm: 'AES256' } : sse === 'KMS' ? { algorithm: 'kms', ...(keyId ? { keyId } : {}) } : undefined;
  return { ...(Object.keys(out).length ? { headers: out } : {}), ...(encryption ? { encryption } : {}) };
}
