/** After a multipart upload: the destination kept the object's user metadata (some stores take it only at completion). */
import type { ObjectProvider, WriteOptions } from '../storage/provider';
import { FerryError } from '../common/errors';

/** What the upload was created with (write-options.ts): the self-copy gives every field again. */
export type WrittenMetadata = WriteOptions;

const missing = (want: Record<string, string>, kept: Record<string, string> | undefined) => Object.keys(want).filter((name) => kept?.[name.toLowerCase()] === undefined);

/**
 * Some S3/OSS-compatible stores ignore the metadata sent with InitiateMultipartUpload and take it only from
 * CompleteMultipartUpload, which neither protocol gives a field for. So after a multipart upload of an object with
 * user metadata, one HEAD checks the names arrived. When some did not, the object is copied onto itself with the
 * metadata and every other field it was written with (headers, tags, storage class, encryption, ACL: a copy that
 * replaces the metadata replaces those too) (server-side, when the destination can copy that size) and checked
 * again; a destination that still lacks
 * them, or cannot copy, fails the object with FerryError `MetadataNotKept` (not retried: the store will do the same).
 * Objects without user metadata, and destinations that keep none (`capabilities.metadata` false), cost nothing.
 */
export async function ensureMetadataKept(dst: ObjectProvider, key: string, written: WrittenMetadata, size: number, signal?: AbortSignal): Promise<void> {
  const want = written.metadata ?? {};
  if (!Object.keys(want).length || !dst.capabilities.metadata) return;
  let lost = missing(want, (await dst.stat(key, { signal })).metadata);
  if (!lost.length) return;
  const canCopy = !!dst.copyObject && dst.capabilities.serverSideCopy && size <= dst.capabilities.maxServerSideCopy;
  if (canCopy) {
    await dst.copyObject!({ bucket: dst.bucket, key }, key, { ...written, contentType: written.contentType ?? 'application/octet-stream', metadata: want, signal });
    lost = missing(want, (await dst.stat(key, { signal })).metadata);
    if (!lost.length) return;
  }
  throw new FerryError(
    `${dst.type}://${dst.bucket}/${key}: the store dropped the metadata sent with the multipart upload (${lost.join(', ')})${canCopy ? ', and kept none when the object was copied onto itself with it' : ` and the object is too large to copy onto itself with it (${size} bytes)`}`,
    { code: 'MetadataNotKept' },
  );
}
