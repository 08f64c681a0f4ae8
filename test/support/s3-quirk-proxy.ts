/**
 * An HTTP proxy in front of a test S3 server (MinIO) that makes it behave like S3-compatible stores seen in the
 * field (see {@link S3Quirks}), for tests of Ferry's defences.
 *
 * Requests no quirk touches are forwarded byte for byte, `Host` included, so the client's SigV4 signature still
 * verifies (MinIO checks it against the Host it receives). SigV4 signs the query string and the headers, so a
 * request a quirk rewrites is signed again with the server's root keys (storage/s3/sigv4.ts, `UNSIGNED-PAYLOAD`:
 * only for requests without a chunk-signed body). A response a quirk rewrites is read whole, changed and sent with
 * its new length. To add a quirk: a field in S3Quirks, and its rule in {@link requestChange} and/or
 * {@link responseChange}.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalQuery, signV4 } from '../../storage/s3/sigv4';
import type { S3TestServer } from './s3-servers';
import { closeFramed, quirkHeaders, type BodyQuirks } from './body-quirks';

/**
 * Ways S3-compatible stores depart from S3. All off by default; read at every request, so tests may change them live.
 * Of the {@link BodyQuirks}, completion is MinIO's: it always checks part ETags (as with `partEtagsRequired`), and
 * `metadataOnlyOnComplete` drops the metadata of CreateMultipartUpload (MinIO takes none at completion).
 */
export interface S3Quirks extends BodyQuirks {
  /** ListObjectsV2 ignores `start-after` (every page without a continuation token starts at the beginning). */
  ignoreStartAfter?: boolean;
  /** Knows only ListObjects V1: a `list-type=2` request is answered as V1 (start-after and continuation-token ignored). */
  v1Only?: boolean;
  /** ListObjects V1 ignores `marker`. */
  ignoreMarker?: boolean;
  /** Each list page holds the right keys, shuffled. */
  unorderedPages?: boolean;
}

/** What the quirk rules see of a request. */
export interface QuirkRequest {
  method: string;
  /** Path without the query, as the client sent it (URL-encoded). */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/** A request's change: the query to send instead, headers to drop. Either makes the proxy sign it again. */
export interface RequestChange {
  query?: Record<string, string>;
  dropHeaders?: string[];
}

/** A response's change: the new body from the old one (the whole body is read first). */
export interface ResponseChange {
  body?: (text: string) => string;
}

export interface S3QuirkProxy {
  /** `http://127.0.0.1:PORT`: the S3 endpoint to give the code under test. */
  endpoint: string;
  port: number;
  /** The quirks in force: change the object to change them. */
  quirks: S3Quirks;
  /** ListObjects requests as forwarded (after any rewrite), oldest first. */
  lists: { query: Record<string, string>; resigned: boolean }[];
  stop(): Promise<void>;
}

/** Query parameters a ListObjects (V1 or V2) request may carry; any other names another bucket operation. */
const LIST_PARAMS = new Set(['list-type', 'prefix', 'delimiter', 'max-keys', 'start-after', 'continuation-token', 'marker', 'encoding-type', 'fetch-owner', 'x-id']);

/** True for ListObjects V1/V2: a GET of the bucket itself with list parameters only. */
export function isListObjects(r: QuirkRequest): boolean {
  return r.method === 'GET' && /^\/[^/]+\/?$/.test(r.path) && Object.keys(r.query).every((k) => LIST_PARAMS.has(k));
}

/** GetObject: a GET of an object (not a bucket-level or multipart request). */
export function isGetObject(r: QuirkRequest): boolean {
  return r.method === 'GET' && /^\/[^/]+\/./.test(r.path) && !('uploadId' in r.query) && !('uploads' in r.query);
}

/** CompleteMultipartUpload, CopyObject and UploadPartCopy: answers whose XML body carries the new ETag. */
function hasEtagInBody(r: QuirkRequest): boolean {
  return (r.method === 'POST' && 'uploadId' in r.query) || (r.method === 'PUT' && r.headers['x-amz-copy-source'] !== undefined);
}

/** The request side of the quirks: what to change in a request before MinIO sees it (undefined: nothing). */
export function requestChange(r: QuirkRequest, quirks: S3Quirks): RequestChange | undefined {
  if (quirks.ignoreRange && isGetObject(r) && r.headers.range !== undefined) return { dropHeaders: ['range'] };
  if (quirks.metadataOnlyOnComplete && r.method === 'POST' && 'uploads' in r.query) {
    const meta = Object.keys(r.headers).filter((h) => h.startsWith('x-amz-meta-'));
    return meta.length ? { dropHeaders: meta } : undefined;
  }
  if (!isListObjects(r)) return undefined;
  const query = { ...r.query };
  if (quirks.v1Only && query['list-type'] === '2') {
    for (const k of ['list-type', 'start-after', 'continuation-token', 'fetch-owner', 'x-id']) delete query[k];
  }
  if (quirks.ignoreStartAfter && query['list-type'] === '2') delete query['start-after'];
  if (quirks.ignoreMarker && query['list-type'] !== '2') delete query.marker;
  return canonicalQuery(query) === canonicalQuery(r.query) ? undefined : { query };
}

/** The response side of the quirks: what to change in MinIO's answer (undefined: forward it as it is). */
export function responseChange(r: QuirkRequest, quirks: S3Quirks): ResponseChange | undefined {
  if (isListObjects(r) && quirks.unorderedPages) return { body: shuffleContents };
  if (quirks.emptyEtags && hasEtagInBody(r)) return { body: (xml) => xml.replace(/<ETag>[^<]*<\/ETag>/g, '<ETag></ETag>') };
  return undefined;
}

/** A list answer with its `<Contents>` elements in shuffled order (everything else in place). */
function shuffleContents(xml: string): string {
  const blocks = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
  }
  let n = 0;
  return xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, () => blocks[n++]!);
}

/** Headers of a request signed again: what identifies the request to S3, without the old signature's. */
const RESIGN_DROP = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'connection', 'keep-alive', 'transfer-encoding']);

/** The request's headers, changed and signed again with `server`'s root keys in the region the client signed for. */
function resigned(r: QuirkRequest, change: RequestChange, query: string, server: S3TestServer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (v === undefined || RESIGN_DROP.has(k) || change.dropHeaders?.includes(k)) continue;
    headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(r.headers.authorization ?? ''))?.[1] ?? 'us-east-1';
  signV4(r.method, r.path, query, headers, { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, region);
  return headers;
}

/** Whether the request's SigV4 credential names `accessKeyId`. */
function signedBy(r: QuirkRequest, accessKeyId: string): boolean {
  return /Credential=([^/]+)\//.exec(String(r.headers.authorization ?? ''))?.[1] === accessKeyId;
}

/** Starts the proxy on a free loopback port in front of `server`. */
export async function startS3QuirkProxy(server: S3TestServer, quirks: S3Quirks = {}): Promise<S3QuirkProxy> {
  const upstream = new URL(server.endpoint);
  const agent = new Agent({ keepAlive: true });
  const lists: S3QuirkProxy['lists'] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = (req.url ?? '/').split('?')[0]!;
    const r: QuirkRequest = { method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), headers: req.headers };
    // Only a request signed with the server's own access key is changed (and signed again): any other goes through as
    // sent, so the server still refuses wrong credentials. (A wrong secret with the right key id is not caught here.)
    const change = signedBy(r, server.accessKeyId) ? requestChange(r, quirks) : undefined;
    const query = change?.query ? canonicalQuery(change.query) : undefined;
    const headers = change ? resigned(r, change, query ?? canonicalQuery(r.query), server) : req.headers;
    const sentQuery = query ?? canonicalQuery(r.query); // a change of headers only keeps the query as it was
    const target = change ? (sentQuery ? `${path}?${sentQuery}` : path) : (req.url ?? '/');
    if (isListObjects(r)) lists.push({ query: change?.query ?? r.query, resigned: !!change });
    const upReq = request({ host: upstream.hostname, port: upstream.port, method: r.method, path: target, headers, agent });
    upReq.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.on('error', () => upReq.destroy());
    req.pipe(upReq);
    upReq.on('response', (upRes) => {
      const status = upRes.statusCode ?? 502;
      const rewrite = status < 300 ? responseChange(r, quirks) : undefined;
      upRes.on('error', () => res.destroy());
      // Body quirks change headers (and close-frame GetObject bodies); with none in force the headers pass unchanged.
      const getBody = isGetObject(r) && status < 300;
      if (getBody && quirks.noContentLength) closeFramed(res);
      const headers = quirkHeaders(upRes.headers, quirks, getBody);
      if (!rewrite?.body) {
        res.writeHead(status, headers);
        upRes.pipe(res);
        return;
      }
      const transform = rewrite.body;
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.from(transform(Buffer.concat(chunks).toString('utf8')), 'utf8');
        const { 'content-length': _length, 'transfer-encoding': _te, ...rest } = headers;
        res.writeHead(status, { ...rest, 'content-length': body.length });
        res.end(body);
      });
    });
  };

  const proxy: Server = createServer(handle);
  proxy.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    quirks,
    lists,
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      agent.destroy();
    },
  };
}
