/**
 * The s3 provider's side of what travels with an object besides its bytes: the request headers of a write (content
 * type, the standard headers, `x-amz-meta-*`, `x-amz-tagging`, storage class, server-side encryption, canned ACL) on
 * both paths (raw headers for s3-http.ts, command input for the SDK), the same fields read back from a HEAD/GET
 * answer, and the object's tags (GetObjectTagging).
 */
import type { Encryption, ObjectHeaders, ObjectInfo, WriteOptions } from '../provider';
import type { HeadFields } from './head-fields';
import { InvalidMetadataError } from '../../common/errors';
import { xmlElements, xmlTag, type S3Http } from './s3-http';
import type { Sdk } from './sdk-client';

/** Standard header fields by their HTTP names. */
const HEADER_NAMES: Readonly<Record<keyof ObjectHeaders, string>> = {
  cacheControl: 'cache-control',
  contentDisposition: 'content-disposition',
  contentEncoding: 'content-encoding',
  contentLanguage: 'content-language',
  expires: 'expires',
};

/** `k1=v1&k2=v2`, each URL-encoded: the form of `x-amz-tagging` (and `x-oss-tagging`). */
export function taggingHeader(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** S3's name of an encryption algorithm. */
const sseName = (e: Encryption) => (e.algorithm === 'kms' ? 'aws:kms' : 'AES256');

/**
 * The headers of a PutObject or CreateMultipartUpload on the lean path (and, with {@link copyHeaders}, of a
 * CopyObject). User metadata names are lower-cased as S3 stores them.
 */
export function writeHeaders(opts: WriteOptions): Record<string, string> {
  const h: Record<string, string> = {};
  if (opts.contentType) h['content-type'] = opts.contentType;
  for (const [field, name] of Object.entries(HEADER_NAMES) as [keyof ObjectHeaders, string][]) {
    const v = opts.headers?.[field];
    if (v !== undefined) h[name] = v;
  }
  for (const [k, v] of Object.entries(opts.metadata ?? {})) h[`x-amz-meta-${k.toLowerCase()}`] = v;
  if (opts.tags && Object.keys(opts.tags).length) h['x-amz-tagging'] = taggingHeader(opts.tags);
  if (opts.storageClass) h['x-amz-storage-class'] = opts.storageClass;
  if (opts.encryption) {
    h['x-amz-server-side-encryption'] = sseName(opts.encryption);
    if (opts.encryption.algorithm === 'kms' && opts.encryption.keyId) h['x-amz-server-side-encryption-aws-kms-key-id'] = opts.encryption.keyId;
  }
  if (opts.acl) h['x-amz-acl'] = opts.acl;
  return h;
}

/**
 * Whether a copy replaces the source's content type, standard headers and metadata (S3 replaces them all at once:
 * the caller gives all it wants kept) rather than copying them.
 */
export const replacesMetadata = (opts: WriteOptions) => opts.contentType !== undefined || opts.metadata !== undefined || opts.headers !== undefined;

/** CopyObject's directives: metadata as {@link replacesMetadata} says, tags replaced when given (else copied). */
export function copyDirectives(opts: WriteOptions): { metadata: 'COPY' | 'REPLACE'; tagging: 'COPY' | 'REPLACE' } {
  return { metadata: replacesMetadata(opts) ? 'REPLACE' : 'COPY', tagging: opts.tags !== undefined ? 'REPLACE' : 'COPY' };
}

/** The headers of a CopyObject on the lean path besides the copy source: directives and the fields to write. */
export function copyHeaders(opts: WriteOptions): Record<string, string> {
  const d = copyDirectives(opts);
  return { 'x-amz-metadata-directive': d.metadata, ...(d.tagging === 'REPLACE' ? { 'x-amz-tagging-directive': 'REPLACE' } : {}), ...writeHeaders(opts) };
}

/** The same fields as SDK command input (PutObject, CreateMultipartUpload, CopyObject). */
export function sdkWriteInput(what: string, opts: WriteOptions) {
  const expires = opts.headers?.expires;
  const expiresAt = expires === undefined ? undefined : new Date(expires);
  // The SDK takes Expires only as a Date: a value that is no date cannot travel through it unchanged.
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new InvalidMetadataError(`${what}: Expires ${JSON.stringify(expires)} is not an HTTP date, which the AWS SDK cannot send`, { code: 'InvalidMetadata' });
  return {
    ContentType: opts.contentType,
    CacheControl: opts.headers?.cacheControl,
    ContentDisposition: opts.headers?.contentDisposition,
    ContentEncoding: opts.headers?.contentEncoding,
    ContentLanguage: opts.headers?.contentLanguage,
    Expires: expiresAt,
    Metadata: opts.metadata,
    Tagging: opts.tags && Object.keys(opts.tags).length ? taggingHeader(opts.tags) : undefined,
    StorageClass: opts.storageClass as never,
    ServerSideEncryption: opts.encryption ? (sseName(opts.encryption) as never) : undefined,
    SSEKMSKeyId: opts.encryption?.algorithm === 'kms' ? opts.encryption.keyId : undefined,
    ACL: opts.acl,
  };
}

/** The SDK's CopyObject input fields: directives and the fields to write. */
export function sdkCopyInput(what: string, opts: WriteOptions) {
  const d = copyDirectives(opts);
  const input = sdkWriteInput(what, opts);
  // With tags copied, a Tagging field would be refused; with metadata copied, the metadata fields are not sent.
  return { ...input, MetadataDirective: d.metadata, ...(d.tagging === 'REPLACE' ? { TaggingDirective: d.tagging, Tagging: input.Tagging ?? '' } : { Tagging: undefined }) };
}

/**
 * Standard headers and encryption of a HEAD/GET answer (both paths, in the SDK's output shape); the storage class is
 * archive.ts's (archiveFields).
 */
export function storedFields(h: HeadFields): Pick<ObjectInfo, 'headers' | 'encryption'> {
  const headers: ObjectHeaders = {};
  if (h.CacheControl !== undefined) headers.cacheControl = h.CacheControl;
  if (h.ContentDisposition !== undefined) headers.contentDisposition = h.ContentDisposition;
  if (h.ContentEncoding !== undefined) headers.contentEncoding = h.ContentEncoding;
  if (h.ContentLanguage !== undefined) headers.contentLanguage = h.ContentLanguage;
  const expires = h.ExpiresString ?? (h.Expires && !Number.isNaN(h.Expires.getTime()) ? h.Expires.toUTCString() : undefined);
  if (expires !== undefined) headers.expires = expires;
  const sse = h.ServerSideEncryption as string | undefined;
  const encryption: Encryption | undefined = sse === 'AES256' ? { algorithm: 'AES256' } : sse === 'aws:kms' || sse === 'aws:kms:dsse' ? { algorithm: 'kms', ...(h.SSEKMSKeyId ? { keyId: h.SSEKMSKeyId } : {}) } : undefined;
  return {
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(encryption ? { encryption } : {}),
  };
}

/** Tags of a GetObjectTagging answer (XML) on the lean path. */
export function tagsOfAnswer(xml: string): Record<string, string> {
  return Object.fromEntries(xmlElements(xml, 'Tag').map((t) => [xmlTag(t, 'Key') ?? '', xmlTag(t, 'Value') ?? '']));
}

/** Tags of the SDK's GetObjectTagging output. */
export function tagsOfTagSet(set: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((set ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
}

type Send = <T>(what: string, lean: (data: S3Http) => Promise<T>, viaSdk: (s: Sdk, run: <O>(command: object) => Promise<O>) => Promise<T>) => Promise<T>;

/** GetObjectTagging on either path (of one version with `versionId`): the object's tags, `{}` when it has none. */
export function getS3Tags(send: Send, bucket: string, key: string, opts: { versionId?: string; signal?: AbortSignal }): Promise<Record<string, string>> {
  return send(
    `get tags s3://${bucket}/${key}`,
    async (d) => tagsOfAnswer((await d.call('GET', key, {}, { query: opts.versionId ? { tagging: '', versionId: opts.versionId } : { tagging: '' }, signal: opts.signal })).text),
    async (s, run) => tagsOfTagSet((await run<{ TagSet?: { Key?: string; Value?: string }[] }>(new s.GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId }))).TagSet),
  );
}
