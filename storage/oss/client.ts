/**
 * The ali-oss client as the provider uses it. The subset of ali-oss used is typed here ({@link AliOss}):
 * `@types/ali-oss` lacks `ctx`, the request primitives the stream part upload is built on ({@link uploadPartFromStream}:
 * ali-oss's own `_uploadPart` throws on an answer without an ETag), `copy` with a source bucket and per-request
 * `[connect, response]` timeouts.
 *
 * Each client's urllib is wrapped ({@link abortableUrllib}) for what ali-oss does not do:
 * - **AbortSignal**: ali-oss takes none. Each call passes the signal through ali-oss's `ctx` option to the
 *   wrapper, which destroys the HTTP request (and with it the upload stream) when the signal fires; an aborted
 *   PUT therefore never completes and leaves nothing visible.
 * - **Keys with `.`/`..` segments**: urllib parses URLs with WHATWG `URL`, which collapses such segments (the
 *   request would then address another key, and fail its signature). The wrapper hands urllib a legacy-parsed
 *   URL instead, so those keys work byte-exact.
 * - The provider's own keep-alive agents (ali-oss would share, and resize, a global one).
 * - **Clock skew**: RequestTimeTooSkewed answers correct the signer's clock (`clock.ts`).
 */
import type { Agent as HttpAgent, ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { parse as parseLegacyUrl } from 'node:url';
import OSS from 'ali-oss';
import { refusedRequestTime, type SignerClock } from './clock';

/** Passed as ali-oss `ctx`, which reaches urllib untouched (functions survive ali-oss's option copies). */
export interface RequestCtx {
  ferrySignal: () => AbortSignal | undefined;
  /** Called when the server refused the request time and the signer's clock was corrected. */
  ferrySkewed: () => void;
}

interface AliResponse {
  status: number;
  headers: Record<string, string | undefined>;
}

interface CallOptions {
  ctx: RequestCtx;
  timeout?: number | [number, number];
  headers?: Record<string, string>;
  meta?: Record<string, string>;
  contentLength?: number;
  /** A given version (ali-oss sends it as the `versionId` sub-resource; getStream takes it in `subres` only). */
  versionId?: string;
  subres?: Record<string, string | number>;
}

export interface AliOss {
  put(name: string, content: Buffer, opts: CallOptions): Promise<{ res: AliResponse }>;
  putStream(name: string, stream: Readable, opts: CallOptions): Promise<{ res: AliResponse }>;
  head(name: string, opts: CallOptions): Promise<{ status: number; res: AliResponse }>;
  getStream(name: string, opts: CallOptions): Promise<{ stream: IncomingMessage; res: AliResponse }>;
  listV2(query: Record<string, string | number>, opts: CallOptions): Promise<{ objects: { name: string; lastModified: string; etag: string; size: number; storageClass?: string }[]; isTruncated: boolean }>;
  /** ListObjects V1 (`marker`), for stores that ignore V2's `start-after`. */
  list(query: Record<string, string | number>, opts: CallOptions): Promise<{ objects: { name: string; lastModified: string; etag: string; size: number; storageClass?: string }[] | null; isTruncated: boolean }>;
  delete(name: string, opts: CallOptions): Promise<{ res: AliResponse }>;
  copy(name: string, sourceName: string, sourceBucket: string, opts: CallOptions): Promise<{ data: { etag?: string } | null; res: AliResponse }>;
  getObjectTagging(name: string, opts: CallOptions): Promise<{ tag: Record<string, unknown> | null }>;
  initMultipartUpload(name: string, opts: CallOptions): Promise<{ uploadId: string }>;
  uploadPartCopy(name: string, uploadId: string, partNo: number, range: string, source: { sourceKey: string; sourceBucketName: string }, opts: CallOptions): Promise<{ etag: string; res: AliResponse }>;
  completeMultipartUpload(name: string, uploadId: string, parts: { number: number; etag: string }[], opts: CallOptions): Promise<{ etag: string; res: AliResponse }>;
  abortMultipartUpload(name: string, uploadId: string, opts: CallOptions): Promise<unknown>;
  listUploads(query: Record<string, string | number>, opts: CallOptions): Promise<{ uploads: { name: string; uploadId: string; initiated: string }[]; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }>;
  _objectRequestParams(method: string, name: string, opts: CallOptions & { subres?: Record<string, string | number> }): Record<string, unknown>;
  /** Request params for a bucket sub-resource (`website`, …), to send with {@link request}. */
  _bucketRequestParams(method: string, bucket: string, subres: string, opts: CallOptions): Record<string, unknown>;
  /** `data`: the response body (a Buffer) unless the params ask ali-oss to parse it. */
  request(params: Record<string, unknown>): Promise<{ res: AliResponse; data?: unknown }>;
  /** ali-oss's urllib instance; replaced by {@link abortableUrllib}. */
  urllib: Urllib;
  /** ali-oss's own copy of its options; `amendTimeSkewed` (ms added to Date.now() when dating a request) is read per request. */
  options: { amendTimeSkewed?: number };
}

interface UrllibArgs {
  ctx?: Partial<RequestCtx>;
  method?: string;
  stream?: Readable;
  agent?: unknown;
  httpsAgent?: unknown;
  streaming?: boolean;
  customResponse?: boolean;
}

type UrllibResponse = { statusCode?: number; status?: number; headers: IncomingHttpHeaders };
type UrllibCallback = (err: Error | null, data: unknown, res: UrllibResponse | IncomingMessage) => void;

interface Urllib {
  request(url: unknown, args: UrllibArgs, cb?: UrllibCallback): ClientRequest | undefined | Promise<unknown>;
}

/** What every ali-oss client of one provider shares. */
export interface AliOssTransport {
  agents: { http: HttpAgent; https: HttpsAgent };
  clock: SignerClock;
  /** Called once per HTTP request sent. */
  onRequest?: (method: string, path: string) => void;
}

/** An ali-oss client for `bucket` that sends its requests through {@link abortableUrllib} and dates them by the shared clock. */
export function createAliOss(clientOptions: OSS.Options, bucket: string, transport: AliOssTransport): AliOss {
  const client = new OSS({ ...clientOptions, bucket }) as unknown as AliOss;
  client.urllib = abortableUrllib(client.urllib, transport);
  transport.clock.drive(client.options);
  return client;
}

/**
 * UploadPart from a stream, as ali-oss's `_uploadPart` sends it, but an answer without an ETag is kept (with `etag`
 * undefined) rather than thrown as a plain Error about browser CORS settings: some OSS-compatible stores send none.
 */
export async function uploadPartFromStream(client: AliOss, name: string, uploadId: string, partNumber: number, data: { size: number; stream: Readable }, opts: CallOptions): Promise<{ etag: string | undefined; res: AliResponse }> {
  const params = client._objectRequestParams('PUT', name, { ...opts, headers: { ...opts.headers, 'Content-Length': String(data.size) }, subres: { partNumber, uploadId } });
  params.stream = data.stream;
  params.successStatuses = [200];
  const { res } = await client.request(params);
  return { etag: res.headers.etag, res };
}

/** The error ali-oss sees for an aborted request (status -1 = "network error" in its vocabulary). */
export function abortedRequestError(): Error {
  return Object.assign(new Error('request aborted'), { name: 'AbortError', status: -1 });
}

/**
 * Wraps ali-oss's urllib: honours the AbortSignal carried in `ctx`, uses this provider's agents, corrects the
 * signer's clock from RequestTimeTooSkewed answers, and hands urllib a legacy-parsed URL so `.`/`..` key
 * segments are not collapsed by WHATWG URL parsing.
 */
function abortableUrllib(inner: Urllib, { agents, clock, onRequest }: AliOssTransport): Urllib {
  return {
    request(url: unknown, args: UrllibArgs): Promise<unknown> {
      const signal = args.ctx?.ferrySignal?.();
      const signedOffset = clock.offsetMs; // ali-oss dated this request just now
      args.agent = agents.http;
      args.httpsAgent = agents.https;
      const parsed = typeof url === 'string' ? parseLegacyUrl(url) : url;
      onRequest?.(args.method ?? 'GET', (parsed as { path?: string | null }).path ?? '');
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          args.stream?.destroy();
          reject(abortedRequestError());
          return;
        }
        let settled = false;
        let req: ClientRequest | undefined;
        const onAbort = () => {
          if (settled) return;
          settled = true;
          reject(abortedRequestError());
          req?.destroy();
          args.stream?.destroy();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const out = inner.request(parsed, args, (err, data, res) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) {
            if (!err && (args.streaming || args.customResponse)) (res as IncomingMessage).destroy?.();
            return;
          }
          settled = true;
          if (err) {
            reject(err);
            return;
          }
          const status = res.statusCode ?? (res as UrllibResponse).status;
          const serverTime = refusedRequestTime(status, res.headers, data, clock);
          if (serverTime !== undefined && clock.correct(serverTime, signedOffset)) args.ctx?.ferrySkewed?.();
          resolve({ data, status, headers: res.headers, res });
        });
        if (out && typeof (out as ClientRequest).destroy === 'function') req = out as ClientRequest;
      });
    },
  };
}
