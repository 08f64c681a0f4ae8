/** HeadObject/GetObject response headers in the SDK's output shape, so both paths fill ObjectInfo alike. */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Checksums } from '../provider';

/** An ETag without its quotes (and weak prefix); undefined when the server sent none or an empty one (never `''`). */
export function unquote(etag: string | undefined): string | undefined {
  return etag?.trim().replace(/^(W\/)?"|"$/g, '') || undefined;
}

/** The whole-object checksums of a HEAD/GET answer. */
export function checksumsOf(out: { ChecksumCRC32?: string; ChecksumCRC32C?: string; ChecksumCRC64NVME?: string; ChecksumSHA256?: string; ChecksumType?: string }): Checksums | undefined {
  // Composite (multipart) checksums are checksums of part checksums, not of the object: ignore them.
  if (out.ChecksumType === 'COMPOSITE') return undefined;
  const c: Checksums = {};
  if (out.ChecksumCRC32) c.crc32 = out.ChecksumCRC32;
  if (out.ChecksumCRC32C) c.crc32c = out.ChecksumCRC32C;
  if (out.ChecksumCRC64NVME) c.crc64nvme = out.ChecksumCRC64NVME;
  if (out.ChecksumSHA256) c.sha256 = out.ChecksumSHA256;
  return Object.keys(c).length ? c : undefined;
}

export type HeadFields = Omit<HeadObjectCommandOutput, '$metadata'>;

/** HeadObject/GetObject response headers in the SDK's output shape (one `infoFromHead` for both paths). */
export function headFields(h: IncomingHttpHeaders): HeadFields {
  const str = (n: string) => (typeof h[n] === 'string' ? (h[n] as string) : undefined);
  const metadata: Record<string, string> = {};
  for (const name in h) {
    const v = h[name];
    if (name.startsWith('x-amz-meta-') && typeof v === 'string') metadata[name.slice(11)] = v;
  }
  const modified = str('last-modified');
  return {
    // Absent (a GET body framed by closing the connection) stays absent: never a made-up 0.
    ContentLength: /^\s*\d+\s*$/.test(str('content-length') ?? '') ? Number(str('content-length')) : undefined,
    LastModified: modified ? new Date(modified) : undefined,
    ETag: str('etag'),
    ContentType: str('content-type'),
    // What travels with the object besides its metadata (read by write-fields.ts storedFields).
    CacheControl: str('cache-control'),
    ContentDisposition: str('content-disposition'),
    ContentEncoding: str('content-encoding'),
    ContentLanguage: str('content-language'),
    ExpiresString: str('expires'),
    StorageClass: str('x-amz-storage-class') as HeadFields['StorageClass'],
    Restore: str('x-amz-restore'),
    ServerSideEncryption: str('x-amz-server-side-encryption') as HeadFields['ServerSideEncryption'],
    SSEKMSKeyId: str('x-amz-server-side-encryption-aws-kms-key-id'),
    Metadata: metadata,
    ChecksumCRC32: str('x-amz-checksum-crc32'),
    ChecksumCRC32C: str('x-amz-checksum-crc32c'),
    ChecksumCRC64NVME: str('x-amz-checksum-crc64nvme'),
    ChecksumSHA256: str('x-amz-checksum-sha256'),
    ChecksumType: str('x-amz-checksum-type') as HeadFields['ChecksumType'],
    VersionId: str('x-amz-version-id'),
  };
}

