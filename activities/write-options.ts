/**
 * What travels with each copied object: the write options of a single put, a multipart upload and a server-side copy
 * come from here. From the source object: content type, standard headers, user metadata and tags (read with
 * `getTags` when both stores hold tags); from the job: the source's last-modified time as user metadata
 * (`metadata.sourceLastModified`), the destination's storage class (`destinationClass`), encryption and ACL.
 *
 * Storage class names are the destination store's own: the job names them (`STANDARD_IA` for S3, `IA` for OSS);
 * nothing maps S3 names to OSS names. The source's ACL grants never travel (they name the source's account); `acl:
 * private` sets a private ACL, else the destination bucket's default applies.
 */
import type { Capabilities, ObjectInfo, ObjectProvider, WriteOptions } from '../storage/provider';
import { destinationClass, type JobSpec } from '../common/job';
import { headerMetadata } from '../common/metadata';
import type { Batch } from './batch';

/** User metadata name of the source's last-modified time (ISO-8601), with `metadata.sourceLastModified`. */
export const SOURCE_LAST_MODIFIED = 'ferry-source-last-modified';

/** The write options without the signal: what is compared after the copy too (metadata-verify.ts). */
export type WriteFields = Omit<WriteOptions, 'signal'>;

/**
 * The fields to write for source object `src` (as stat/get returned it: content type, headers, metadata; its storage
 * class from the listing when stat left it out) to a destination with capabilities `dst`. `tags`: the source's tags
 * (undefined: not read). What the destination cannot keep is left out. Pure.
 *
 * A source that already carries `ferry-source-last-modified` (itself a copy made with this option) keeps its value:
 * the original time, not that of the intermediate copy.
 *
 * @throws InvalidMetadataError for metadata an HTTP header cannot carry (common/metadata.ts).
 */
export function writeFields(job: Pick<JobSpec, 'metadata' | 'writes'>, src: ObjectInfo, tags: Record<string, string> | undefined, dst: Capabilities): WriteFields {
  const stamp: Record<string, string> = job.metadata?.sourceLastModified && src.lastModified > 0 ? { [SOURCE_LAST_MODIFIED]: new Date(src.lastModified).toISOString() } : {};
  const metadata = { ...stamp, ...src.metadata };
  const cls = destinationClass(job.writes, src.storageClass);
  return {
    ...(src.contentType !== undefined ? { contentType: src.contentType } : {}),
    ...(dst.metadata && src.headers && Object.keys(src.headers).length ? { headers: { ...src.headers } } : {}),
    ...(Object.keys(metadata).length ? { metadata: headerMetadata(src.key, metadata, dst.metadata) } : {}),
    ...(dst.tags && tags && Object.keys(tags).length ? { tags: { ...tags } } : {}),
    ...(dst.writeClasses && cls ? { storageClass: cls } : {}),
    ...(dst.writeClasses && job.writes?.encryption ? { encryption: { ...job.writes.encryption } } : {}),
    ...(dst.writeClasses && job.writes?.acl ? { acl: job.writes.acl } : {}),
  };
}

/** The fields a server-side copy sends: class, encryption and ACL; the rest is copied by the store itself (`COPY`). */
export function copyFields(job: Pick<JobSpec, 'writes'>, src: ObjectInfo, dst: Capabilities): WriteFields {
  const cls = destinationClass(job.writes, src.storageClass);
  return {
    ...(dst.writeClasses && cls ? { storageClass: cls } : {}),
    ...(dst.writeClasses && job.writes?.encryption ? { encryption: { ...job.writes.encryption } } : {}),
    ...(dst.writeClasses && job.writes?.acl ? { acl: job.writes.acl } : {}),
  };
}

/**
 * An object's tags; undefined when its store answers GetObjectTagging with 501 NotImplemented (some S3-compatible
 * stores keep no tags, whatever their protocol says).
 */
export async function readTags(p: ObjectProvider, key: string, signal: AbortSignal): Promise<Record<string, string> | undefined> {
  if (!p.capabilities.tags || !p.getTags) return undefined;
  try {
    return await p.getTags(key, { signal });
  } catch (e) {
    const err = e as { status?: number; code?: string };
    if (err.status === 501 || err.code === 'NotImplemented') return undefined;
    throw e;
  }
}

/** The source object's tags when the destination can hold them (`undefined` otherwise: no request made). */
export async function sourceTags(src: ObjectProvider, dst: Capabilities, key: string, signal: AbortSignal): Promise<Record<string, string> | undefined> {
  return dst.tags ? readTags(src, key, signal) : undefined;
}

/**
 * The write options of one object copied through Ferry (single put or multipart): `read` is the source's stat/get
 * info, `listed` its listing entry (storage class when the read left it out), `tags` from {@link sourceTags}.
 */
export function writeOptionsOf(batch: Batch, listed: ObjectInfo, read: ObjectInfo, tags: Record<string, string> | undefined): WriteOptions {
  const src = { ...read, key: listed.key, storageClass: read.storageClass ?? listed.storageClass };
  return { ...writeFields(batch.input.job, src, tags, batch.dst.capabilities), signal: batch.signal };
}

/** {@link writeOptionsOf} with the source's tags read now. */
export async function writeOptionsFor(batch: Batch, listed: ObjectInfo, read: ObjectInfo): Promise<WriteOptions> {
  return writeOptionsOf(batch, listed, read, await sourceTags(batch.src, batch.dst.capabilities, listed.key, batch.signal));
}

/**
 * The write options of a server-side copy. With `metadata.sourceLastModified` the metadata must change, which
 * replaces every field (S3 and OSS replace them together): the source is read (stat, tags) and all are given.
 */
export async function copyOptionsFor(batch: Batch, listed: ObjectInfo): Promise<WriteOptions> {
  const { src, dst, input } = batch;
  if (!input.job.metadata?.sourceLastModified || !dst.capabilities.metadata) return { ...copyFields(input.job, listed, dst.capabilities), signal: batch.signal };
  const read = await src.stat(listed.key, { signal: batch.signal });
  return writeOptionsFor(batch, listed, read);
}
