/**
 * The `oss` provider's versioned requests: ListObjectVersions (`GET /?versions`) paged into whole keys
 * (storage/versions.ts), GetBucketVersioning, and the version id (`x-oss-version-id`) of a write's or delete's answer.
 *
 * The listing goes through ali-oss's signed `request` and is parsed here: ali-oss's own `getBucketVersions` returns
 * versions and delete markers as two lists, which loses their order within a key when their times are equal.
 */
import type { AliOss, RequestCtx } from './client';
import type { VersionListOptions, VersionPage, VersioningStatus } from '../provider';
import { parseVersionListing, wholeKeyPage, type FetchVersions } from '../version-pages';
import { decodeListValue } from './object-fields';
import { xmlTag } from '../s3/s3-http';

/** How the provider runs one ali-oss call (its `call`, bound to this bucket's client). */
export type OssVersionCall = <T>(what: string, fn: (client: AliOss, callCtx: { ctx: RequestCtx }) => Promise<T>) => Promise<T>;

/** The version id a write or delete answered with, as PutResult / delete result fields. */
export function versionIdOf(headers: Record<string, string | undefined>): { versionId?: string } {
  const id = headers['x-oss-version-id'];
  return id ? { versionId: id } : {};
}

const bodyText = (data: unknown) => (Buffer.isBuffer(data) ? data.toString('utf8') : String(data ?? ''));

/** ListObjectVersions as whole keys; keys and markers travel URL-encoded (`encoding-type=url`). */
export function listOssVersions(bucket: string, opts: VersionListOptions, call: OssVersionCall): Promise<VersionPage> {
  const where = `oss://${bucket}/${opts.prefix ?? ''}`;
  const fetch: FetchVersions = (q) =>
    call(`list versions ${where}`, async (client, callCtx) => {
      const params = client._objectRequestParams('GET', '', { ...callCtx, subres: { versions: '' } });
      const query: Record<string, string> = { 'max-keys': String(q.maxKeys), 'encoding-type': 'url' };
      if (q.prefix) query.prefix = q.prefix;
      if (q.keyMarker) query['key-marker'] = q.keyMarker;
      if (q.versionIdMarker) query['version-id-marker'] = q.versionIdMarker;
      params.query = query;
      params.successStatuses = [200];
      const { data } = await client.request(params);
      return parseVersionListing(bodyText(data), (s) => decodeListValue(s, bucket));
    });
  return wholeKeyPage(fetch, opts, where);
}

/** GetBucketVersioning: `Off` for a bucket whose versioning was never set. */
export async function ossVersioning(bucket: string, call: OssVersionCall): Promise<VersioningStatus> {
  const text = await call(`get versioning oss://${bucket}`, async (client, callCtx) => {
    const params = client._bucketRequestParams('GET', bucket, 'versioning', callCtx);
    params.successStatuses = [200];
    return bodyText((await client.request(params)).data);
  });
  const status = xmlTag(text, 'Status');
  return status === 'Enabled' || status === 'Suspended' ? status : 'Off';
}
