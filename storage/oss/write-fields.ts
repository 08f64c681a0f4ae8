/**
 * The oss provider's side of what travels with an object besides its bytes: the request headers of a write (content
 * type and `x-oss-meta-*` from object-fields.ts, the standard headers, `x-oss-tagging`, `x-oss-storage-class`,
 * server-side encryption, `x-oss-object-acl`), a copy's directives, the same fields read back from a HEAD/GET answer,
 * and the object's tags (GetObjectTagging through ali-oss).
 */
import type { CopySource, ObjectHeaders, WriteOptions } from '../provider';
import type { AliOss, RequestCtx } from './client';
import { InvalidMetadataError } from '../../common/errors';
import { STANDARD_HEADER_NAMES as HEADER_NAMES, writeHeaders as contentHeaders } from './object-fields';

/** What Node's http client accepts in a header value. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** `k1=v1&k2=v2`, each URL-encoded: the form of `x-oss-tagging`. */
function taggingHeader(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/**
 * The headers of a PutObject or InitiateMultipartUpload. Throws InvalidMetadataError (`InvalidMetadata`) for a
 * value an HTTP header cannot carry.
 */
export function ossWriteHeaders(what: string, opts: WriteOptions): Record<string, string> {
  const h = contentHeaders(what, opts);
  for (const [field, name] of Object.entries(HEADER_NAMES) as [keyof ObjectHeaders, string][]) {
    const v = opts.headers?.[field];
    if (v === undefined) continue;
    if (INVALID_HEADER_VALUE.test(v)) throw new InvalidMetadataError(`${what}: ${name} ${JSON.stringify(v)} cannot be sent in an HTTP header (control characters or characters above U+00FF)`, { code: 'InvalidMetadata' });
    h[name] = v;
  }
  if (opts.tags && Object.keys(opts.tags).length) h['x-oss-tagging'] = taggingHeader(opts.tags);
  if (opts.storageClass) h['x-oss-storage-class'] = opts.storageClass;
  if (opts.encryption) {
    h['x-oss-server-side-encryption'] = opts.encryption.algorithm === 'kms' ? 'KMS' : 'AES256';
    if (opts.encryption.algorithm === 'kms' && opts.encryption.keyId) h['x-oss-server-side-encryption-key-id'] = opts.encryption.keyId;
  }
  if (opts.acl) h['x-oss-object-acl'] = opts.acl;
  return h;
}

/** Whether a copy replaces the source's content type, standard headers and metadata (OSS replaces them together). */
export const replacesMetadata = (opts: WriteOptions) => opts.contentType !== undefined || opts.metadata !== undefined || opts.headers !== undefined;

/**
 * The headers of a CopyObject besides the source and its conditions: with metadata replaced, the content type,
 * standard headers and `x-oss-meta-*` given (`x-oss-metadata-directive: REPLACE`); tags replaced when given
 * (`x-oss-tagging-directive: Replace`, else the source's are copied); class, encryption and ACL when given.
 */
export function ossCopyHeaders(what: string, opts: WriteOptions): Record<string, string> {
  const replace = replacesMetadata(opts);
  const all = ossWriteHeaders(what, replace ? opts : { ...opts, contentType: undefined, metadata: undefined, headers: undefined });
  if (replace) all['x-oss-metadata-directive'] = 'REPLACE';
  if (opts.tags !== undefined) {
    all['x-oss-tagging-directive'] = 'Replace';
    all['x-oss-tagging'] ??= '';
  }
  return all;
}

/** `x-oss-copy-source` (and its If-Match while the source must still have ETag `source.etag`). */
export function copySourceHeaders(source: CopySource): Record<string, string> {
  const h: Record<string, string> = { 'x-oss-copy-source': `/${source.bucket}/${encodeURIComponent(source.key)}` };
  if (source.etag) h['x-oss-copy-source-if-match'] = `"${source.etag}"`;
  return h;
}

/**
 * CopyObject with exactly `headers` (from {@link ossCopyHeaders} and {@link copySourceHeaders}), signed and sent by
 * ali-oss. Not ali-oss's `copy`: it repeats every header as `x-oss-copy-source-<name>`, which would send the tag,
 * class and metadata headers a second time under names OSS does not define.
 */
export async function copyOssObject(client: AliOss, key: string, headers: Record<string, string>, callCtx: { ctx: RequestCtx }): Promise<{ etag?: string; res: { headers: Record<string, string | undefined> } }> {
  const params = client._objectRequestParams('PUT', key, { ...callCtx, headers });
  params.xmlResponse = true;
  params.successStatuses = [200];
  const out = await client.request(params);
  return { etag: (out.data as { ETag?: string } | undefined)?.ETag, res: out.res };
}

/** GetObjectTagging through ali-oss (of one version with `versionId`): the object's tags, `{}` when it has none. */
export async function getOssTags(client: AliOss, key: string, opts: { ctx: RequestCtx; versionId?: string }): Promise<Record<string, string>> {
  const out = await client.getObjectTagging(key, opts);
  // xml2js gives an empty element as '' or an object: a tag without a value is ''.
  return Object.fromEntries(Object.entries(out.tag ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : '']));
}
