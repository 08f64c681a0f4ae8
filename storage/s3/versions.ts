/**
 * The `s3` provider's versioned requests, on both of its paths (s3-http.ts for path-style custom endpoints, the SDK
 * for AWS): ListObjectVersions paged into whole keys (storage/versions.ts), GetBucketVersioning, DeleteObject with a
 * version id or returning a delete marker's, and the version id of a write's answer.
 */
import type { PutResult, VersionListOptions, VersionPage, VersioningStatus } from '../provider';
import type { S3Http, WrittenIds } from './s3-http';
import { headerText, xmlTag } from './s3-http';
import type { Sdk } from './sdk-client';
import { unquote } from './head-fields';
import { parseVersionListing, versionInfo, wholeKeyPage, type FetchVersions, type ListedVersion } from '../version-pages';

/** The provider's request function: the lean path when it has one, else the SDK (`run` sends a command). */
export type S3Send = <T>(what: string, lean: (data: S3Http) => Promise<T>, viaSdk: (s: Sdk, run: <O>(command: object) => Promise<O>) => Promise<T>) => Promise<T>;

/** A write's ETag and version id as PutResult fields (absent ones left out). */
export function putResult(w: WrittenIds): PutResult {
  const etag = unquote(w.etag);
  return { ...(etag ? { etag } : {}), ...(w.versionId ? { versionId: w.versionId } : {}) };
}

/** The SDK's answer to a write, as the lean path's {@link WrittenIds}. */
export function sdkWritten(out: { ETag?: string; VersionId?: string }): WrittenIds {
  return { etag: out.ETag, versionId: out.VersionId };
}

/** ListObjectVersions as whole keys (see wholeKeyPage). */
export function listS3Versions(bucket: string, opts: VersionListOptions, send: S3Send): Promise<VersionPage> {
  const where = `s3://${bucket}/${opts.prefix ?? ''}`;
  const fetch: FetchVersions = (q) =>
    send(
      `list versions ${where}`,
      async (d) => {
        const query: Record<string, string> = { versions: '', 'max-keys': String(q.maxKeys) };
        if (q.prefix) query.prefix = q.prefix;
        if (q.keyMarker) query['key-marker'] = q.keyMarker;
        if (q.versionIdMarker) query['version-id-marker'] = q.versionIdMarker;
        return parseVersionListing((await d.call('GET', undefined, {}, { query, signal: opts.signal })).text);
      },
      async (s, run) => {
        const out = await run<{ Versions?: ListedVersion[]; DeleteMarkers?: ListedVersion[]; IsTruncated?: boolean; NextKeyMarker?: string; NextVersionIdMarker?: string }>(
          new s.ListObjectVersionsCommand({ Bucket: bucket, Prefix: q.prefix || undefined, KeyMarker: q.keyMarker, VersionIdMarker: q.versionIdMarker, MaxKeys: q.maxKeys }),
        );
        // The SDK parses versions and delete markers into two lists: their order within a key is settled by wholeKeyPage.
        const entries = [...(out.Versions ?? []).map((v) => versionInfo(v, false)), ...(out.DeleteMarkers ?? []).map((v) => versionInfo(v, true))];
        return { entries, truncated: !!out.IsTruncated, nextKeyMarker: out.NextKeyMarker, nextVersionIdMarker: out.NextVersionIdMarker || undefined };
      },
    );
  return wholeKeyPage(fetch, opts, where);
}

/** GetBucketVersioning: `Off` for a bucket whose versioning was never set. */
export async function s3Versioning(bucket: string, signal: AbortSignal | undefined, send: S3Send): Promise<VersioningStatus> {
  const status = await send(
    `get versioning s3://${bucket}`,
    async (d) => xmlTag((await d.call('GET', undefined, {}, { query: { versioning: '' }, signal })).text, 'Status'),
    async (s, run) => (await run<{ Status?: string }>(new s.GetBucketVersioningCommand({ Bucket: bucket }))).Status,
  );
  return status === 'Enabled' || status === 'Suspended' ? status : 'Off';
}

/** DeleteObject (one version with `versionId`); in a versioned bucket without one, the delete marker's version id. */
export async function deleteS3Object(bucket: string, key: string, opts: { signal?: AbortSignal; versionId?: string }, send: S3Send): Promise<{ versionId?: string }> {
  const versionId = await send(
    `delete s3://${bucket}/${key}${opts.versionId ? ` (version ${opts.versionId})` : ''}`,
    async (d) => headerText(await d.delete(key, opts.signal, opts.versionId), 'x-amz-version-id'),
    async (s, run) => (await run<{ VersionId?: string }>(new s.DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId }))).VersionId,
  );
  return versionId ? { versionId } : {};
}
