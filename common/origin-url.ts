/** The default origin of back-to-origin (`ferry cutover --back-to-origin`): the source's public URL. Pure. */
import type { EndpointConfig } from './job';
import { endpointQuirks } from '../storage/quirks';

/** `a b/c+d/` → `a%20b/c%2Bd/`: each path segment percent-encoded, the slashes kept. */
function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * The URL under which an s3 or oss source serves its objects without credentials, ending in `/`, with the source
 * prefix in it: the destination's back-to-origin fetches `<this URL><key without the destination prefix>`, the
 * source object of that key.
 *
 * - oss: `https://<bucket>.<endpoint host>/<prefix>` (OSS is virtual-hosted; the endpoint's scheme is kept), or
 *   `https://<bucket>.oss-<region>.aliyuncs.com/<prefix>` with a region and no endpoint.
 * - s3 with an endpoint: path-style `<endpoint>/<bucket>/<prefix>`, or `<scheme>://<bucket>.<host>/<prefix>` when the
 *   endpoint is virtual-hosted (`forcePathStyle: false`, or a preset that is).
 * - s3 without an endpoint (AWS): `https://<bucket>.s3.<region>.amazonaws.com/<prefix>` (region default us-east-1).
 *
 * Undefined for fs and http sources (they have no such URL: give one explicitly), and for a source prefix that does
 * not end in `/` (an origin URL must end in `/`, so such a prefix cannot be part of it).
 * The origin must allow anonymous reads: the destination store fetches without the source's credentials.
 */
export function defaultOriginUrl(source: EndpointConfig): string | undefined {
  if ((source.type !== 's3' && source.type !== 'oss') || !source.bucket) return undefined;
  const prefix = source.prefix ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) return undefined;
  const path = encodePath(prefix);
  if (!source.endpoint) {
    if (source.type === 'oss') return source.region ? `https://${source.bucket}.${source.region.replace(/^(oss-)?/, 'oss-')}.aliyuncs.com/${path}` : undefined;
    return `https://${source.bucket}.s3.${source.region ?? 'us-east-1'}.amazonaws.com/${path}`;
  }
  const url = new URL(source.endpoint);
  const base = `${url.protocol}//`;
  const pathStyle = source.type === 's3' && endpointQuirks(source)?.pathStyle === true;
  if (pathStyle) return `${base}${url.host}${url.pathname.replace(/\/$/, '')}/${source.bucket}/${path}`;
  return `${base}${source.bucket}.${url.host}/${path}`;
}
