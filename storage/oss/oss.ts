/**
 * `oss` provider on `ali-oss` (6.23.0): Alibaba Cloud OSS, V4 (default) or V1 request signatures.
 *
 * What ali-oss does not do, this file does:
 * - **CRC-64** (`x-oss-hash-crc64ecma`, CRC-64/XZ) is computed while streaming on put, uploadPart and get and
 *   compared with what the server reports (→ ChecksumMismatchError); multipart completion is checked against
 *   the combination of the part CRCs.
 * - **AbortSignal**: ali-oss takes none. Each call passes the signal through ali-oss's `ctx` option to a
 *   wrapper around ali-oss's own urllib instance, which destroys the HTTP request (and with it the upload
 *   stream) when the signal fires; an aborted PUT therefore never completes and leaves nothing visible.
 * - **Keys with `.`/`..` segments**: urllib parses URLs with WHATWG `URL`, which collapses such segments (the
 *   request would then address another key, and fail its signature). The wrapper hands urllib a legacy-parsed
 *   URL instead, so those keys work byte-exact.
 * - One keep-alive agent per provider with enough sockets (ali-oss would share, and resize, a global one),
 *   routed through `HTTPS_PROXY`/`HTTP_PROXY` unless `NO_PROXY` exempts the host ({@link proxyAwareAgents}).
 * - **Clock skew**: ali-oss's Node client dates requests by the local clock and gives up on RequestTimeTooSkewed
 *   (only its browser build corrects itself). The wrapper learns the server's time from that answer, feeds it to
 *   ali-oss's `amendTimeSkewed` option ({@link SignerClock}), and the request is sent again at once, as the AWS
 *   SDK does for S3.
 *
 * The subset of ali-oss used is typed below ({@link AliOss}): `@types/ali-oss` lacks `ctx`, the stream part
 * upload (`_uploadPart`, the only way ali-oss uploads a part from a stream), `copy` with a source bucket and
 * per-request `[connect, response]` timeouts.
 */
import { Agent as HttpAgent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable, pipeline } from 'node:stream';
import { parse as parseLegacyUrl } from 'node:url';
import OSS from 'ali-oss';
import type { ByteRange, Capabilities, Checksums, CopySource, Credentials, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, UploadedPart, WriteOptions } from '../provider';
import { credentialSources, type ProviderContext } from '../registry';
import { proxyAwareAgents } from '../proxy/proxy-agent';
import { proxySettings } from '../proxy/proxy-env';
import { resolveCredentials } from '../credentials';
import { Crc64Stream, combineCrc64Parts, crc64ecma, parseCrc64 } from '../checksum/crc64';
import {
  AccessDeniedError,
  BucketNotFoundError,
  ChecksumMismatchError,
  CredentialsError,
  FerryError,
  InvalidConfigError,
  InvalidKeyError,
  NotFoundError,
  ObjectTooLargeError,
  SizeMismatchError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  isAbortError,
} from '../../common/errors';
import { keyByteLength } from '../../common/keys';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const capabilities: Capabilities = {
  checksums: ['crc64ecma'],
  etagIsMd5: true,
  maxSinglePut: 5 * GiB,
  multipart: { minPartSize: 100 * KiB, maxPartSize: 5 * GiB, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: GiB,
  uploadPartCopy: true,
  writable: true,
  trailingSlashKeys: true,
  emptyPathSegments: true, // `a//b` yes; a leading `/` is refused by validateKey
  metadata: true,
  order: 'key',
};

/** Slowest upload rate tolerated before a body upload times out (abort signals end stalls sooner). */
const MIN_UPLOAD_BYTES_PER_SECOND = 64 * KiB;
const CONNECT_TIMEOUT_MS = 10_000;
/** OSS refuses request times further than this from its own clock. */
const OSS_MAX_SKEW_MS = 15 * 60_000;
/** Smaller differences from the server's time cannot explain a refusal, so they are not corrected. */
const MIN_CLOCK_CORRECTION_MS = 60_000;

// ---------------------------------------------------------------- the slice of ali-oss in use

/** Passed as ali-oss `ctx`, which reaches urllib untouched (functions survive ali-oss's option copies). */
interface RequestCtx {
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
}

interface AliOss {
  put(name: string, content: Buffer, opts: CallOptions): Promise<{ res: AliResponse }>;
  putStream(name: string, stream: Readable, opts: CallOptions): Promise<{ res: AliResponse }>;
  head(name: string, opts: CallOptions): Promise<{ status: number; res: AliResponse }>;
  getStream(name: string, opts: CallOptions): Promise<{ stream: IncomingMessage; res: AliResponse }>;
  listV2(query: Record<string, string | number>, opts: CallOptions): Promise<{ objects: { name: string; lastModified: string; etag: string; size: number }[]; isTruncated: boolean }>;
  delete(name: string, opts: CallOptions): Promise<{ res: AliResponse }>;
  copy(name: string, sourceName: string, sourceBucket: string, opts: CallOptions): Promise<{ data: { etag?: string } | null; res: AliResponse }>;
  initMultipartUpload(name: string, opts: CallOptions): Promise<{ uploadId: string }>;
  _uploadPart(name: string, uploadId: string, partNo: number, data: { size: number; stream: Readable }, opts: CallOptions): Promise<{ etag: string; res: AliResponse }>;
  uploadPartCopy(name: string, uploadId: string, partNo: number, range: string, source: { sourceKey: string; sourceBucketName: string }, opts: CallOptions): Promise<{ etag: string; res: AliResponse }>;
  completeMultipartUpload(name: string, uploadId: string, parts: { number: number; etag: string }[], opts: CallOptions): Promise<{ etag: string; res: AliResponse }>;
  abortMultipartUpload(name: string, uploadId: string, opts: CallOptions): Promise<unknown>;
  listUploads(query: Record<string, string | number>, opts: CallOptions): Promise<{ uploads: { name: string; uploadId: string; initiated: string }[]; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }>;
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

/** The error ali-oss sees for an aborted request (status -1 = "network error" in its vocabulary). */
function abortedRequestError(): Error {
  return Object.assign(new Error('request aborted'), { name: 'AbortError', status: -1 });
}

/**
 * The request signer's clock: its source ({@link ProviderContext.now}, default `Date.now`) plus the offset
 * learned from servers that refused a request time, like the AWS SDK's `systemClockOffset`. Shared by the
 * provider's ali-oss clients.
 */
class SignerClock {
  offsetMs = 0;
  constructor(private readonly source: () => number) {}

  now(): number {
    return this.source() + this.offsetMs;
  }

  /** ali-oss's `amendTimeSkewed`: what it adds to its own Date.now() when it dates a request. */
  amendment(): number {
    return this.now() - Date.now();
  }

  /**
   * Adopts the server's time when the signer is off it by more than a minute. True when a request that was
   * signed with `signedOffset` would now be dated differently enough to be worth sending again.
   */
  correct(serverTime: number, signedOffset: number): boolean {
    if (Math.abs(serverTime - this.now()) > MIN_CLOCK_CORRECTION_MS) this.offsetMs = serverTime - this.source();
    return Math.abs(this.offsetMs - signedOffset) > MIN_CLOCK_CORRECTION_MS;
  }
}

/**
 * The server's time from a 403 that refused the request time: `<ServerTime>` of the OSS error (body, or
 * `x-oss-err` for bodiless answers), else the `Date` header. A bodiless 403 without `x-oss-err` counts when its
 * `Date` is further from the signer's clock than OSS tolerates (how the AWS SDK spots skew).
 */
function refusedRequestTime(status: number | undefined, headers: IncomingHttpHeaders, data: unknown, clock: SignerClock): number | undefined {
  if (status !== 403) return undefined;
  const body = Buffer.isBuffer(data) || typeof data === 'string' ? String(data) : '';
  const xml = body || Buffer.from(String(headers['x-oss-err'] ?? ''), 'base64').toString('utf8');
  const date = Date.parse(String(headers.date ?? ''));
  if (!xml) return Math.abs(date - clock.now()) > OSS_MAX_SKEW_MS ? date : undefined;
  if (!/<Code>\s*RequestTimeTooSkewed\s*<\/Code>/.test(xml)) return undefined;
  const serverTime = Date.parse(/<ServerTime>([^<]*)<\/ServerTime>/.exec(xml)?.[1] ?? '');
  return Number.isNaN(serverTime) ? (Number.isNaN(date) ? undefined : date) : serverTime;
}

/**
 * Wraps ali-oss's urllib: honours the AbortSignal carried in `ctx`, uses this provider's agents, corrects the
 * signer's clock from RequestTimeTooSkewed answers, and hands urllib a legacy-parsed URL so `.`/`..` key
 * segments are not collapsed by WHATWG URL parsing.
 */
function abortableUrllib(inner: Urllib, agents: { http: HttpAgent; https: HttpsAgent }, clock: SignerClock, onRequest?: (method: string, path: string) => void): Urllib {
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

// ---------------------------------------------------------------- errors

const THROTTLE_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'TooManyRequests', 'RequestLimitExceeded', 'QpsLimitExceeded', 'Throttling']);
const DENIED_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidSecurityToken', 'SecurityTokenExpired', 'AccessForbidden', 'UserDisable', 'InvalidObjectState']);
const NETWORK_NAMES = new Set(['RequestError', 'ResponseError', 'ConnectionTimeoutError', 'ResponseTimeoutError', 'SocketAssignTimeoutError', 'ConnectionResetError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Maps ali-oss (and network) errors to Ferry's classes: the one mapping function of this provider. Ferry
 * errors and abort errors pass through; non-HTTP errors it does not recognise (bugs) pass through unchanged.
 * The cause is a sanitised copy: ali-oss attaches request params (with the STS token) to its errors.
 */
export function mapOssError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const e = (err ?? {}) as { name?: string; code?: string; status?: number; message?: string; requestId?: string };
  const status = typeof e.status === 'number' && e.status > 0 ? e.status : undefined;
  const code = e.code ?? (e.name && e.name !== 'Error' ? e.name.replace(/Error$/, '') : undefined) ?? 'Error';
  const firstLine = (e.message ?? '').split('\n')[0]!.replace(/, (GET|PUT|POST|HEAD|DELETE) https?:\/\/.*$/, '');
  const msg = `${what}: ${code}${firstLine && firstLine !== code ? ` — ${firstLine}` : ''}${status ? ` (HTTP ${status})` : ''}${e.requestId ? ` [request ${e.requestId}]` : ''}`;
  const cause = Object.assign(new Error(firstLine || code), { name: e.name ?? 'Error', code: e.code, status: e.status, requestId: e.requestId });
  const opts = { code, status, cause };
  if (code === 'NoSuchBucket') return new BucketNotFoundError(msg, opts);
  if (code === 'NoSuchKey' || code === 'NoSuchUpload' || status === 404) return new NotFoundError(msg, opts);
  if (code === 'RequestTimeTooSkewed') return new AccessDeniedError(`${msg} — the worker's clock differs from the server's by more than 15 minutes; fix the clock (NTP)`, opts);
  if (DENIED_CODES.has(code) || status === 401 || status === 403) return new AccessDeniedError(msg, opts);
  if (THROTTLE_CODES.has(code) || status === 429 || status === 503) return new ThrottledError(msg, opts);
  if (code === 'InvalidObjectName') return new InvalidKeyError(msg, opts);
  if (code === 'InvalidDigest') return new ChecksumMismatchError(msg, opts);
  if (code === 'EntityTooLarge' || code === 'FileTooLarge') return new ObjectTooLargeError(msg, opts);
  if (code === 'PreconditionFailed' || status === 412) return new SourceChangedError(`${msg} — the source changed`, opts);
  const network = e.status === -1 || e.status === -2 || NETWORK_NAMES.has(e.name ?? '') || NETWORK_CODES.has(String(e.code));
  if (network || (status !== undefined && status >= 500)) return new TransientError(msg, opts);
  if (status !== undefined) return new FerryError(msg, opts);
  return err;
}

// ---------------------------------------------------------------- helpers

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '');
}

/** Keys and markers of `encoding-type=url` listings (`+` is a space there; a literal `+` arrives as `%2B`). */
function decodeListValue(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** What Node's http client accepts in header names and values. */
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** `cn-hangzhou` → `oss-cn-hangzhou` (ali-oss's form); the endpoint host names it when no region is given. */
function normaliseRegion(region: string | undefined, endpoint: string | undefined): string | undefined {
  if (region) return region.startsWith('oss-') ? region : `oss-${region}`;
  if (!endpoint) return undefined;
  const host = /^[a-z]+:\/\/([^/:]+)/i.exec(endpoint)?.[1] ?? '';
  const m = /^(oss-[a-z0-9-]+?)(-internal)?\.aliyuncs\.com$/i.exec(host);
  return m?.[1]?.toLowerCase();
}

function ossDefaultChain(env: NodeJS.ProcessEnv): Credentials | undefined {
  const accessKeyId = env.OSS_ACCESS_KEY_ID;
  const secretAccessKey = env.OSS_ACCESS_KEY_SECRET;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return env.OSS_SESSION_TOKEN ? { accessKeyId, secretAccessKey, sessionToken: env.OSS_SESSION_TOKEN } : { accessKeyId, secretAccessKey };
}

/** Options beyond the job spec (tests, benchmarks). */
export interface OssProviderOptions {
  /** Sockets per provider (default 256). */
  maxSockets?: number;
  /** Response timeout of requests without a large body, in ms (default 60 s). */
  timeoutMs?: number;
  /** Called once per HTTP request sent (request counting in benchmarks). */
  onRequest?: (method: string, path: string) => void;
}

class OssProvider implements ObjectProvider {
  readonly type = 'oss';
  readonly capabilities = capabilities;
  readonly endpointId: string;
  readonly bucket: string;
  private readonly clients = new Map<string, AliOss>();
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly clientOptions: OSS.Options & Record<string, unknown>;
  private readonly timeoutMs: number;
  private readonly onRequest: ((method: string, path: string) => void) | undefined;
  private readonly clock: SignerClock;

  constructor(spec: EndpointSpec, ctx: ProviderContext, opts: OssProviderOptions = {}) {
    const problems: string[] = [];
    if (!spec.bucket) problems.push('bucket: an oss endpoint needs "bucket"');
    else if (!BUCKET_NAME.test(spec.bucket)) problems.push(`bucket: "${spec.bucket}" is not a valid OSS bucket name (3–63 lowercase letters, digits and "-")`);
    if (spec.endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/i.test(spec.endpoint)) problems.push(`endpoint: "${spec.endpoint}" must be an http(s) URL without a path, e.g. https://oss-cn-hangzhou.aliyuncs.com`);
    const signatureVersion = spec.signatureVersion ?? 'v4';
    const region = normaliseRegion(spec.region, spec.endpoint);
    if (!spec.endpoint && !region) problems.push('endpoint: an oss endpoint needs "endpoint" (e.g. https://oss-cn-hangzhou.aliyuncs.com) or "region"');
    else if (signatureVersion === 'v4' && !region) problems.push(`region: signature v4 needs "region" (e.g. cn-hangzhou) because endpoint ${spec.endpoint} does not name one; or set signatureVersion: v1`);
    if (problems.length) throw new InvalidConfigError(problems);
    this.bucket = spec.bucket!;
    const endpoint = (spec.endpoint ?? `https://${region}.aliyuncs.com`).replace(/\/$/, '');
    const creds = resolveCredentials(spec.credentials, {
      ...credentialSources(ctx),
      defaultChain: ossDefaultChain,
      defaultChainHint: 'set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET for the OSS default chain',
    });
    if (creds === 'sdk') throw new CredentialsError('oss has no SDK credential chain: name a profile or set OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET');
    this.endpointId = `oss|${endpoint}|${spec.credentials ?? 'default'}`;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.onRequest = opts.onRequest;
    this.clock = new SignerClock(ctx.now ?? Date.now);
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, keepAliveMsecs: 10_000 };
    this.agents = proxyAwareAgents(proxySettings(ctx.env ?? process.env), agentOpts);
    this.clientOptions = {
      endpoint,
      region: region ?? 'oss-cn-hangzhou', // v1 with an IP endpoint uses it only for the Host header
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.secretAccessKey,
      ...(creds.sessionToken ? { stsToken: creds.sessionToken, refreshSTSTokenInterval: 3_600_000 } : {}),
      authorizationV4: signatureVersion === 'v4',
      timeout: this.timeoutMs,
      retryMax: 0,
    };
    this.client(this.bucket); // fail fast on options ali-oss rejects
  }

  /** One ali-oss client per bucket (the own bucket, and copy sources), sharing agents. */
  private client(bucket: string): AliOss {
    let c = this.clients.get(bucket);
    if (!c) {
      c = new OSS({ ...this.clientOptions, bucket }) as unknown as AliOss;
      c.urllib = abortableUrllib(c.urllib, this.agents, this.clock, this.onRequest);
      // A getter: ali-oss reads the option each time it dates a request, so every client follows the corrections.
      Object.defineProperty(c.options, 'amendTimeSkewed', { get: () => this.clock.amendment(), enumerable: true });
      this.clients.set(bucket, c);
    }
    return c;
  }

  validateKey(key: string): void {
    const shown = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
    const refuse = (rule: string) => new InvalidKeyError(`key ${shown} cannot be stored on oss: ${rule}`, { code: 'InvalidObjectName' });
    if (key.length === 0) throw refuse('empty key');
    if (key.startsWith('/')) throw refuse('starts with "/"');
    if (key.startsWith('\\')) throw refuse('starts with "\\"');
    if (LONE_SURROGATE.test(key)) throw refuse('not valid UTF-8 (unpaired surrogate)');
    if (keyByteLength(key) > 1023) throw refuse('longer than 1023 bytes');
  }

  /**
   * Runs one ali-oss call with the caller's signal and maps its failure. `streamError` names the error of an
   * upload stream, which ali-oss would otherwise bury under a generic request error; a call without one has a
   * body that can be sent again, and is, once, when the server refused its request time and the signer's clock
   * was corrected. A spent stream body cannot: that call fails with a retryable TransientError instead.
   */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (o: { ctx: RequestCtx }) => Promise<T>, streamError?: () => unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      let skewed = false;
      try {
        const ctx: RequestCtx = { ferrySignal: () => signal, ferrySkewed: () => void (skewed = true) };
        return await fn({ ctx });
      } catch (e) {
        signal?.throwIfAborted();
        const fromStream = streamError?.();
        if (fromStream) throw mapOssError(fromStream, what);
        if (skewed && streamError) {
          const msg = `${what}: RequestTimeTooSkewed — the server's clock is ${Math.round(this.clock.offsetMs / 1000)} s off this worker's; later requests are dated by it`;
          throw new TransientError(msg, { code: 'RequestTimeTooSkewed', status: 403, cause: mapOssError(e, what) });
        }
        if (!skewed || attempt > 1) throw mapOssError(e, what);
      }
    }
  }

  private uploadTimeout(size: number | undefined): [number, number] {
    const bodyMs = size === undefined ? 24 * 3600_000 : Math.ceil((size / MIN_UPLOAD_BYTES_PER_SECOND) * 1000);
    return [CONNECT_TIMEOUT_MS, this.timeoutMs + bodyMs];
  }

  /**
   * Content-Type and `x-oss-meta-*` headers. Throws a non-retryable FerryError (`InvalidMetadata`) for names
   * or values an HTTP header cannot carry (Node refuses characters above U+00FF and control characters).
   */
  private writeHeaders(what: string, opts: WriteOptions): Record<string, string> {
    const h: Record<string, string> = {};
    const bad = (field: string, value: string) =>
      new FerryError(`${what}: ${field} ${JSON.stringify(value)} cannot be sent in an HTTP header (control characters or characters above U+00FF)`, { code: 'InvalidMetadata' });
    if (opts.contentType) {
      if (INVALID_HEADER_VALUE.test(opts.contentType)) throw bad('content type', opts.contentType);
      h['Content-Type'] = opts.contentType;
    }
    for (const [k, v] of Object.entries(opts.metadata ?? {})) {
      if (!HEADER_TOKEN.test(k)) throw bad('metadata name', k);
      if (INVALID_HEADER_VALUE.test(v)) throw bad(`metadata "${k}" value`, v);
      h[`x-oss-meta-${k.toLowerCase()}`] = v;
    }
    return h;
  }

  /** Compares the CRC-64 the server reports for written bytes with ours. */
  private verifyCrc(what: string, headers: Record<string, string | undefined>, ours: string): void {
    const theirs = headers['x-oss-hash-crc64ecma'];
    if (theirs === undefined) return;
    if (parseCrc64(theirs)?.toString() !== ours) {
      throw new ChecksumMismatchError(`${what}: CRC-64 mismatch: sent bytes with crc64ecma ${ours}, server reports ${theirs}`, { code: 'Crc64Mismatch' });
    }
  }

  private info(key: string, h: Record<string, string | undefined>): ObjectInfo {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) if (k.startsWith('x-oss-meta-') && v !== undefined) metadata[k.slice('x-oss-meta-'.length)] = v;
    const crc = parseCrc64(h['x-oss-hash-crc64ecma']);
    const lastModified = Date.parse(h['last-modified'] ?? '');
    return {
      key,
      size: Number(h['content-length'] ?? 0),
      lastModified: Number.isNaN(lastModified) ? 0 : lastModified,
      etag: unquote(h.etag),
      checksums: crc !== undefined ? { crc64ecma: crc.toString() } : undefined,
      contentType: h['content-type'],
      metadata,
      position: key,
    };
  }

  async list(opts: ListOptions = {}): Promise<ListPage> {
    const query: Record<string, string | number> = { 'max-keys': Math.max(1, Math.min(opts.limit ?? 1000, 1000)), 'encoding-type': 'url' };
    if (opts.prefix) query.prefix = opts.prefix;
    if (opts.startAfter) query['start-after'] = opts.startAfter;
    const out = await this.call(`list oss://${this.bucket}/${opts.prefix ?? ''}`, opts.signal, (o) => this.client(this.bucket).listV2(query, o));
    const objects: ObjectInfo[] = out.objects.map((o) => {
      const key = decodeListValue(o.name);
      const lastModified = Date.parse(o.lastModified);
      return { key, size: Number(o.size), lastModified: Number.isNaN(lastModified) ? 0 : lastModified, etag: unquote(o.etag), position: key };
    });
    return out.isTruncated && objects.length ? { objects, next: objects[objects.length - 1]!.position } : { objects };
  }

  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    this.validateKey(key);
    const out = await this.call(`stat oss://${this.bucket}/${key}`, opts.signal, (o) => this.client(this.bucket).head(key, o));
    return this.info(key, out.res.headers);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.validateKey(key);
    const what = `get oss://${this.bucket}/${key}`;
    const range = opts.range;
    const headers: Record<string, string> = {};
    if (range && !(range.start === 0 && range.end === undefined)) {
      headers.Range = `bytes=${range.start}-${range.end ?? ''}`;
      headers['x-oss-range-behavior'] = 'standard'; // 416 for an unsatisfiable range instead of the whole object
    }
    const out = await this.call(what, opts.signal, (o) => this.client(this.bucket).getStream(key, { ...o, headers }));
    const res = out.stream;
    const info = this.info(key, out.res.headers);
    const announced = out.res.headers['content-length'];
    const contentLength = announced !== undefined ? Number(announced) : out.res.status === 200 ? info.size : 0;
    const checkLength = announced !== undefined;
    const total = Number(out.res.headers['content-range']?.split('/')[1]);
    if (out.res.status === 206 && Number.isFinite(total)) info.size = total;
    if (headers.Range && out.res.status !== 206) {
      res.destroy();
      throw new TransientError(`${what}: asked for ${headers.Range}, server answered ${out.res.status} without Content-Range`, { status: out.res.status });
    }
    // Whole-object CRC applies when the body is the whole object.
    const whole = out.res.status === 200 || (range?.start === 0 && contentLength === info.size);
    const expected = whole ? parseCrc64(out.res.headers['x-oss-hash-crc64ecma']) : undefined;
    const body = new Crc64Stream({
      onChunk: (c) => (checkLength && c.bytes > contentLength ? new SizeMismatchError(`${what}: server sent more than the announced ${contentLength} bytes`) : undefined),
      onFlush: (c) => {
        if (checkLength && c.bytes !== contentLength) return new SizeMismatchError(`${what}: body ended after ${c.bytes} of ${contentLength} bytes`);
        if (expected !== undefined && c.digest() !== expected) {
          return new ChecksumMismatchError(`${what}: CRC-64 mismatch: received bytes have crc64ecma ${c.toString()}, server reports ${expected}`, { code: 'Crc64Mismatch' });
        }
        return undefined;
      },
    });
    // Errors reach the reader through its own listener or iterator. A socket error that arrives after the reader
    // stopped listening (it gave up on a short body) must not become an uncaught exception in the worker.
    body.on('error', () => undefined);
    const cut = (err: Error) => {
      if (!body.destroyed) body.destroy(err);
    };
    res.on('error', (e) => cut(!checkLength || body.bytes < contentLength ? new SizeMismatchError(`${what}: connection lost after ${body.bytes} of ${contentLength} bytes`, { cause: e }) : mapOssError(e, what) as Error));
    res.on('close', () => {
      if (!res.complete && !body.destroyed) cut(new SizeMismatchError(`${what}: connection closed after ${body.bytes} of ${contentLength} bytes`));
    });
    const onAbort = () => cut(opts.signal!.reason instanceof Error ? opts.signal!.reason : abortedRequestError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (!res.complete) res.destroy(); // the reader stopped early: do not return a half-read socket to the pool
    });
    res.pipe(body);
    return { body, info, contentLength };
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const what = `put oss://${this.bucket}/${key}`;
    const headers = this.writeHeaders(what, opts);
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    if (Buffer.isBuffer(body) && opts.size !== undefined && opts.size !== body.length) throw new SizeMismatchError(`${what}: size ${opts.size} announced for a ${body.length}-byte buffer`);
    if (size !== undefined && size > capabilities.maxSinglePut) throw new ObjectTooLargeError(`${what}: ${size} bytes exceeds the single-put limit ${capabilities.maxSinglePut}; use multipart`);
    if (Buffer.isBuffer(body)) {
      const crc = crc64ecma(body); // ali-oss adds Content-MD5 for buffers; the server checks it
      const out = await this.call(what, opts.signal, (o) => this.client(this.bucket).put(key, body, { ...o, headers, timeout: this.uploadTimeout(size) }));
      this.verifyCrc(what, out.res.headers, crc);
      return { etag: unquote(out.res.headers.etag), checksums: { crc64ecma: crc } };
    }
    const limit = size ?? capabilities.maxSinglePut;
    const counted = new Crc64Stream({
      onChunk: (c) => (c.bytes > limit ? (size === undefined ? new ObjectTooLargeError(`${what}: stream longer than the single-put limit ${limit}; use multipart`) : new SizeMismatchError(`${what}: stream longer than the announced ${size} bytes`)) : undefined),
      onFlush: (c) => (size !== undefined && c.bytes !== size ? new SizeMismatchError(`${what}: stream ended after ${c.bytes} of the announced ${size} bytes`) : undefined),
    });
    pipeline(body, counted, () => undefined); // errors travel both ways; `call` reports the stream's own
    const out = await this.call(
      what,
      opts.signal,
      (o) => this.client(this.bucket).putStream(key, counted, { ...o, headers, ...(size ? { contentLength: size } : {}), timeout: this.uploadTimeout(size) }),
      () => counted.errored ?? body.errored,
    );
    const crc = counted.crc.toString();
    this.verifyCrc(what, out.res.headers, crc);
    return { etag: unquote(out.res.headers.etag), checksums: { crc64ecma: crc } };
  }

  async createMultipart(key: string, opts: WriteOptions = {}): Promise<string> {
    this.validateKey(key);
    const what = `create multipart oss://${this.bucket}/${key}`;
    const headers = this.writeHeaders(what, opts);
    const out = await this.call(what, opts.signal, (o) => this.client(this.bucket).initMultipartUpload(key, { ...o, headers }));
    return out.uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    this.validateKey(key);
    const what = `upload part ${partNumber} oss://${this.bucket}/${key}`;
    if (size > capabilities.multipart!.maxPartSize) throw new ObjectTooLargeError(`${what}: ${size} bytes exceeds the part limit ${capabilities.multipart!.maxPartSize}`);
    if (Buffer.isBuffer(body) && body.length !== size) throw new SizeMismatchError(`${what}: size ${size} announced for a ${body.length}-byte buffer`);
    const send = (stream: Readable, o: { ctx: RequestCtx }) =>
      this.client(this.bucket)._uploadPart(key, uploadId, partNumber, { size, stream }, { ...o, timeout: this.uploadTimeout(size) });
    const { out, crc } = Buffer.isBuffer(body)
      ? // a fresh stream per attempt, so a part refused for its request time can be sent again
        { out: await this.call(what, opts.signal, (o) => send(Readable.from([body]), o)), crc: crc64ecma(body) }
      : await this.uploadPartStream(what, body, size, opts.signal, send);
    this.verifyCrc(what, out.res.headers, crc);
    return { partNumber, etag: unquote(out.etag)!, size, checksums: { crc64ecma: crc } };
  }

  /** Sends a part from a stream, counting its bytes and CRC-64 on the way (a spent stream cannot be resent). */
  private async uploadPartStream<T>(what: string, body: Readable, size: number, signal: AbortSignal | undefined, send: (s: Readable, o: { ctx: RequestCtx }) => Promise<T>) {
    const counted = new Crc64Stream({
      onChunk: (c) => (c.bytes > size ? new SizeMismatchError(`${what}: body longer than the announced ${size} bytes`) : undefined),
      onFlush: (c) => (c.bytes !== size ? new SizeMismatchError(`${what}: body ended after ${c.bytes} of the announced ${size} bytes`) : undefined),
    });
    pipeline(body, counted, () => undefined);
    const out = await this.call(what, signal, (o) => send(counted, o), () => counted.errored ?? body.errored);
    return { out, crc: counted.crc.toString() };
  }

  /** Size (and content type) of a copy source in another bucket of this endpoint. */
  private async statSource(source: CopySource, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    this.validateKey(source.key);
    const out = await this.call(`stat oss://${source.bucket}/${source.key}`, signal, (o) => this.client(source.bucket).head(source.key, o));
    return this.info(source.key, out.res.headers);
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, source: CopySource, range: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    this.validateKey(key);
    this.validateKey(source.key);
    const end = range.end ?? (await this.statSource(source, opts.signal)).size - 1;
    const headers: Record<string, string> = source.etag ? { 'x-oss-copy-source-if-match': `"${source.etag}"` } : {};
    const out = await this.call(`upload part copy ${partNumber} oss://${source.bucket}/${source.key} → oss://${this.bucket}/${key}`, opts.signal, (o) =>
      this.client(this.bucket).uploadPartCopy(key, uploadId, partNumber, `${range.start}-${end}`, { sourceKey: source.key, sourceBucketName: source.bucket }, { ...o, headers }),
    );
    const crc = parseCrc64(out.res.headers['x-oss-hash-crc64ecma']);
    const checksums: Checksums | undefined = crc !== undefined ? { crc64ecma: crc.toString() } : undefined;
    return { partNumber, etag: unquote(out.etag)!, size: end - range.start + 1, ...(checksums ? { checksums } : {}) };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    this.validateKey(key);
    const what = `complete multipart oss://${this.bucket}/${key}`;
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const out = await this.call(what, opts.signal, (o) =>
      this.client(this.bucket).completeMultipartUpload(key, uploadId, sorted.map((p) => ({ number: p.partNumber, etag: `"${p.etag}"` })), o),
    );
    const expected = combineCrc64Parts(sorted.map((p) => ({ crc: p.checksums?.crc64ecma, size: p.size })));
    if (expected !== undefined) this.verifyCrc(what, out.res.headers, expected);
    const reported = parseCrc64(out.res.headers['x-oss-hash-crc64ecma'])?.toString();
    const crc = expected ?? reported;
    return { etag: unquote(out.etag ?? out.res.headers.etag), ...(crc !== undefined ? { checksums: { crc64ecma: crc } } : {}) };
  }

  async abortMultipart(key: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.validateKey(key);
    await this.call(`abort multipart oss://${this.bucket}/${key}`, opts.signal, (o) => this.client(this.bucket).abortMultipartUpload(key, uploadId, o));
  }

  async listMultipartUploads(prefix = '', opts: { signal?: AbortSignal } = {}): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const result: { key: string; uploadId: string; initiated: number }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const query: Record<string, string | number> = { 'max-uploads': 1000, 'encoding-type': 'url' };
      if (prefix) query.prefix = prefix;
      if (keyMarker) query['key-marker'] = keyMarker;
      if (uploadIdMarker) query['upload-id-marker'] = uploadIdMarker;
      const out = await this.call(`list multipart uploads oss://${this.bucket}/${prefix}`, opts.signal, (o) => this.client(this.bucket).listUploads(query, o));
      for (const u of out.uploads) {
        const initiated = Date.parse(u.initiated);
        result.push({ key: decodeListValue(u.name), uploadId: u.uploadId, initiated: Number.isNaN(initiated) ? 0 : initiated });
      }
      if (!out.isTruncated || !out.nextKeyMarker) return result;
      keyMarker = decodeListValue(out.nextKeyMarker);
      uploadIdMarker = out.nextUploadIdMarker || undefined;
    }
  }

  /**
   * CopyObject (up to {@link Capabilities.maxServerSideCopy}). Content type and metadata are kept (`COPY`)
   * unless given, which replaces both (`REPLACE`); a replacement without a content type keeps the source's.
   */
  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    this.validateKey(source.key);
    const what = `copy oss://${source.bucket}/${source.key} → oss://${this.bucket}/${key}`;
    // ali-oss turns each `headers` entry X into `x-oss-copy-source-X` as well (its documented If-Match form).
    const headers: Record<string, string> = source.etag ? { 'If-Match': `"${source.etag}"` } : {};
    const replace = opts.metadata !== undefined || opts.contentType !== undefined;
    if (replace) {
      this.writeHeaders(what, opts); // validates; ali-oss sends `meta` and Content-Type itself
      const contentType = opts.contentType ?? (await this.statSource(source, opts.signal)).contentType;
      if (contentType) headers['Content-Type'] = contentType;
    }
    const out = await this.call(what, opts.signal, (o) =>
      this.client(this.bucket).copy(key, source.key, source.bucket, { ...o, headers, ...(replace ? { meta: opts.metadata ?? {} } : {}) }),
    );
    const crc = parseCrc64(out.res.headers['x-oss-hash-crc64ecma']);
    return { etag: unquote(out.data?.etag ?? out.res.headers.etag), ...(crc !== undefined ? { checksums: { crc64ecma: crc.toString() } } : {}) };
  }

  async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.validateKey(key);
    await this.call(`delete oss://${this.bucket}/${key}`, opts.signal, (o) => this.client(this.bucket).delete(key, o));
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.clients.clear();
  }
}

/** Opens an OSS bucket. Throws InvalidConfigError for a bad spec, CredentialsError when no keys are found. */
export function openOssProvider(spec: EndpointSpec, ctx: ProviderContext = {}, opts: OssProviderOptions = {}): ObjectProvider {
  return new OssProvider(spec, ctx, opts);
}

openOssProvider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
