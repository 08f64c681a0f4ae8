/**
 * The `s3` provider's requests for path-style custom endpoints (every S3-compatible store): GetObject, PutObject,
 * UploadPart, CopyObject, ListObjectsV2 (and V1), HeadObject, multipart create/part-copy/complete/abort/list and
 * DeleteObject, signed with SigV4 (`sigv4.ts`) and sent with undici. The SDK's middleware stack costs several
 * times this path's CPU per small object, which is wall time when the storage servers share the cores. Errors
 * become SDK-shaped objects (`Code`, `$metadata.httpStatusCode`, `$response.headers`) so `mapS3Error` maps both
 * paths alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { abortError, isAbortError } from '../../common/errors';
import { retry, type RetryPolicy } from '../../common/retry';
import { canonicalQuery, signV4, uriEncodePath, type SigV4Credentials } from './sigv4';
import type { ProxySettings } from '../proxy/proxy-env';

export interface S3HttpOptions {
  /** Endpoint URL (scheme, host, port); path-style addressing `/<bucket>/<key>`. */
  endpoint: string;
  region: string;
  bucket: string;
  credentials: () => Promise<SigV4Credentials>;
  /** Connections to the endpoint at most (requests beyond wait for one). */
  maxSockets: number;
  connectionTimeoutMs: number;
  /** Time without response headers, or between body chunks, after which a request fails. */
  requestTimeoutMs: number;
  /** Proxy settings (from the worker's environment); none when omitted. */
  proxy?: ProxySettings;
  /** The signer's clock (epoch ms); corrected by the server's Date after a RequestTimeTooSkewed. */
  now?: () => number;
  onRequest?: (method: string, path: string) => void;
}

export interface S3GetResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

type Body = string | Buffer | Readable | undefined;
const replayable = (body: Body) => body === undefined || typeof body === 'string' || Buffer.isBuffer(body);
/** Errors of a connection that broke before any answer: a keep-alive socket the server had already closed. */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
/** Requests that may be sent twice: a POST (CreateMultipartUpload) may have made something the first time. */
const RESENDABLE = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const noop = () => undefined;
/** `call()`'s retry, as the SDK's standard mode: 3 attempts, 100 ms then 400 ms (±25 %), Retry-After up to 5 s. */
const CALL_RETRY = { attempts: 3, baseMs: 100, factor: 4, retryAfterCapMs: 5000 } satisfies RetryPolicy;

/** A response body as text (at most 64 KiB kept); a body that breaks off yields what arrived. */
async function readText(body: Readable): Promise<string> {
  let text = '';
  try {
    for await (const c of body) {
      if (text.length < 65_536) text += String(c);
    }
  } catch {
    /* the status is what matters */
  }
  return text;
}

const ENTITIES: Record<string, string> = { quot: '"', apos: "'", amp: '&', lt: '<', gt: '>' };
/** XML text with its entities decoded (`&quot;`, and `&#34;` as Go servers write it). */
const xmlText = (s: string) => s.replace(/&(#x[0-9a-f]+|#\d+|quot|apos|amp|lt|gt);/gi, (_, e: string) => (e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ENTITIES[e.toLowerCase()]!));
export const xmlTag = (text: string, name: string) => {
  const raw = text.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
  return raw === undefined ? undefined : xmlText(raw);
};
/** The inner XML of every `<name>…</name>` element (S3 answers never nest an element in one of its own name). */
export const xmlElements = (text: string, name: string) => Array.from(text.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g')), (m) => m[1]!);
/** A response header as one string (undefined when absent). */
export const headerText = (h: IncomingHttpHeaders, name: string) => (typeof h[name] === 'string' ? (h[name] as string) : undefined);
/** What a write answered: the ETag as sent (quoted) and the version id of a versioned bucket. */
export interface WrittenIds {
  etag?: string;
  versionId?: string;
}
/** Text for an XML element body. */
const xmlEscape = (s: string) => s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));

/** An SDK-shaped service error (XML `<Code>`/`<Message>` when the body has them). */
function errorOf(status: number, text: string, headers: IncomingHttpHeaders): Error {
  const code = xmlTag(text, 'Code') ?? (status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : status === 503 ? 'ServiceUnavailable' : status === 429 ? 'TooManyRequests' : `HTTP${status}`);
  return Object.assign(new Error(xmlTag(text, 'Message') ?? code), { name: code, Code: code, StorageClass: xmlTag(text, 'StorageClass'), $metadata: { httpStatusCode: status }, $response: { headers } });
}

/** The service error of a non-2xx response. */
async function serviceError(res: Dispatcher.ResponseData): Promise<Error> {
  return errorOf(res.statusCode, await readText(res.body), res.headers);
}

/** `x-amz-copy-source` (and `-if-match` while the source must still have ETag `ifMatch`) of a copy or part copy. */
function copySourceHeaders(copySource: string, ifMatch: string | undefined): Record<string, string> {
  return ifMatch ? { 'x-amz-copy-source': copySource, 'x-amz-copy-source-if-match': `"${ifMatch}"` } : { 'x-amz-copy-source': copySource };
}

export class S3Http {
  private readonly base: URL;
  /** `/<bucket>` under the endpoint's path, encoded. */
  private readonly bucketPath: string;
  private readonly dispatcher: Dispatcher;
  /** Server time minus the signer's clock, learnt from a RequestTimeTooSkewed answer. */
  private clockOffsetMs = 0;

  constructor(private readonly o: S3HttpOptions) {
    this.base = new URL(o.endpoint);
    this.bucketPath = `${this.base.pathname.replace(/\/+$/, '')}/${uriEncodePath(o.bucket)}`;
    this.dispatcher = new EnvHttpProxyAgent({
      ...o.proxy,
      connections: o.maxSockets,
      connect: { timeout: o.connectionTimeoutMs },
      headersTimeout: o.requestTimeoutMs,
      bodyTimeout: o.requestTimeoutMs,
    });
  }

  /** Closes the connections; requests after this fail. */
  close(): void {
    void this.dispatcher.destroy().catch(noop);
  }

  /**
   * A signed request (`key` undefined: a bucket-level request): its response once the head arrived with a 2xx
   * status, else a service error. Its body never emits an unhandled 'error': a consumer still sees the error.
   * Sent again once at once, on a new connection, when a replayable request met a connection the server had
   * closed, or when the server said the signer's clock is off (after correcting it from the server's Date).
   */
  private async send(method: string, key: string | undefined, extra: Record<string, string>, opts: { query?: Record<string, string>; body?: Body; signal?: AbortSignal }): Promise<Dispatcher.ResponseData> {
    const { signal, body } = opts;
    const path = key === undefined ? this.bucketPath : `${this.bucketPath}/${uriEncodePath(key)}`;
    const qs = canonicalQuery(opts.query);
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortError(signal);
      const again = attempt === 1 && RESENDABLE.has(method) && replayable(body);
      const headers: Record<string, string> = { host: this.base.host, ...extra };
      const signedAt = (this.o.now?.() ?? Date.now()) + this.clockOffsetMs;
      signV4(method, path, qs, headers, await this.o.credentials(), this.o.region, new Date(signedAt));
      this.o.onRequest?.(method, path);
      let res: Dispatcher.ResponseData;
      try {
        res = await this.dispatcher.request({ origin: this.base.origin, path: qs ? `${path}?${qs}` : path, method: method as Dispatcher.HttpMethod, headers, body, signal });
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        if (again && STALE_SOCKET.has(String((e as { code?: string }).code))) continue;
        throw e;
      }
      res.body.on('error', noop);
      if (res.statusCode < 300) return res;
      if (body && typeof body === 'object' && !Buffer.isBuffer(body)) body.destroy();
      const error = await serviceError(res);
      if (attempt === 1 && this.correctClock(method, error, res.headers, signedAt)) {
        if (again) continue;
        Object.assign(error, { clockCorrected: true });
      }
      throw error;
    }
  }

  /**
   * Takes the server's clock from a RequestTimeTooSkewed answer's Date header; false when it is no such answer. A HEAD
   * answer has no body to name its code: a bodiless 403 to a HEAD signed over 15 minutes off the server's Date is one.
   */
  private correctClock(method: string, error: Error, headers: IncomingHttpHeaders, signedAt: number): boolean {
    const serverTime = Date.parse(String(headers.date ?? ''));
    const code = (error as { Code?: string }).Code;
    const skewed = code === 'RequestTimeTooSkewed' || (method === 'HEAD' && code === 'Forbidden' && Math.abs(serverTime - signedAt) > 15 * 60_000);
    if (!skewed || !Number.isFinite(serverTime)) return false;
    this.clockOffsetMs = serverTime - (this.o.now?.() ?? Date.now());
    return true;
  }

  /**
   * One request without a streamed body (list, head, multipart create/complete/abort, delete, copy): its response
   * text and headers; a non-2xx answer rejects with a service error. Network failures, 5xx and 429 are retried in
   * place ({@link CALL_RETRY}: 3 attempts in all, as the SDK does; `Retry-After` honoured up to 5 s), so one lost LIST does not fail a batch.
   * `creates`: the request makes something new each time (CreateMultipartUpload). After a network failure the server
   * may have made it, so that is not retried here: the caller's retry lists and aborts such an orphan first.
   */
  async call(method: string, key: string | undefined, headers: Record<string, string>, opts: { query?: Record<string, string>; body?: string; signal?: AbortSignal; creates?: boolean } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const bodyless = method === 'GET' || method === 'HEAD';
    const body = bodyless ? undefined : (opts.body ?? '');
    const sent = bodyless ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body!)) };
    const worthRetry = (e: unknown) => {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      return !isAbortError(e) && (status === undefined ? !opts.creates : status >= 500 || status === 429);
    };
    return retry(
      async () => {
        const res = await this.send(method, key, sent, { query: opts.query, body, signal: opts.signal });
        const text = method === 'HEAD' ? (await res.body.dump(), '') : await res.body.text();
        return { status: res.statusCode, headers: res.headers, text };
      },
      { ...CALL_RETRY, shouldRetry: worthRetry, signal: opts.signal },
    );
  }

  /** GetObject: resolves with the response once its headers arrived (2xx), else rejects with a service error. */
  async get(key: string, range: string | undefined, signal?: AbortSignal, versionId?: string): Promise<S3GetResponse> {
    const res = await this.send('GET', key, range ? { range } : {}, { signal, query: versionId ? { versionId } : undefined });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  /**
   * PutObject (or UploadPart, with `query` {partNumber, uploadId}) of `size` bytes from `body` with the headers
   * `fields` (write-fields.ts writeHeaders; none for a part); returns the ETag header. A source that fails mid-body fails the request with the source's error (the connection is dropped, so
   * the server stores no short object).
   */
  async put(key: string, body: Readable | Buffer, size: number, fields: Record<string, string>, signal?: AbortSignal, query?: Record<string, string>): Promise<WrittenIds> {
    const res = await this.send('PUT', key, { 'content-length': String(size), ...fields }, { query, body, signal });
    await res.body.dump();
    return { etag: headerText(res.headers, 'etag'), versionId: headerText(res.headers, 'x-amz-version-id') };
  }

  /**
   * CopyObject from `copySource` (the `x-amz-copy-source` value), only while the source has ETag `ifMatch` when
   * given; `fields`: the directives and what they replace (write-fields.ts copyHeaders). Returns the new object's ETag.
   */
  async copy(key: string, copySource: string, ifMatch: string | undefined, fields: Record<string, string>, signal?: AbortSignal): Promise<WrittenIds> {
    const headers = { ...copySourceHeaders(copySource, ifMatch), ...fields };
    const res = await this.call('PUT', key, headers, { signal });
    return { etag: xmlTag(resultOf(res, 'CopyObjectResult'), 'ETag'), versionId: headerText(res.headers, 'x-amz-version-id') };
  }

  /**
   * ListObjectsV2 page (`version` 1: ListObjects with `marker`, for stores that ignore `start-after`): up to `maxKeys`
   * objects after `startAfter` (ETags as sent, quoted).
   */
  async list(prefix: string | undefined, startAfter: string | undefined, maxKeys: number, signal?: AbortSignal, version: 1 | 2 = 2): Promise<{ objects: { key: string; size: number; lastModified: number; etag?: string; storageClass?: string }[]; truncated: boolean }> {
    const query: Record<string, string> = version === 2 ? { 'list-type': '2', 'max-keys': String(maxKeys) } : { 'max-keys': String(maxKeys) };
    if (prefix) query.prefix = prefix;
    if (startAfter) query[version === 2 ? 'start-after' : 'marker'] = startAfter;
    const { text } = await this.call('GET', undefined, {}, { query, signal });
    const objects = xmlElements(text, 'Contents').map((c) => {
      const storageClass = xmlTag(c, 'StorageClass');
      return { key: xmlTag(c, 'Key') ?? '', size: Number(xmlTag(c, 'Size') ?? 0), lastModified: Date.parse(xmlTag(c, 'LastModified') ?? '') || 0, etag: xmlTag(c, 'ETag'), ...(storageClass ? { storageClass } : {}) };
    });
    return { objects, truncated: xmlTag(text, 'IsTruncated') === 'true' };
  }

  /** HeadObject (checksum mode on): the response headers. */
  async head(key: string, signal?: AbortSignal, versionId?: string): Promise<IncomingHttpHeaders> {
    return (await this.call('HEAD', key, { 'x-amz-checksum-mode': 'ENABLED' }, { signal, query: versionId ? { versionId } : undefined })).headers;
  }

  /** CreateMultipartUpload: the upload id. */
  async createMultipart(key: string, fields: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const text = (await this.call('POST', key, fields, { query: { uploads: '' }, signal, creates: true })).text;
    const id = xmlTag(text, 'UploadId');
    if (!id) throw errorOf(500, '<Code>InternalError</Code><Message>CreateMultipartUpload answered without an UploadId</Message>', {});
    return id;
  }

  /** UploadPartCopy of `range` (`bytes=a-b`) from `copySource`, while it has ETag `ifMatch` when given: the part's ETag. */
  async uploadPartCopy(key: string, uploadId: string, partNumber: number, copySource: string, range: string, ifMatch: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const res = await this.call('PUT', key, { ...copySourceHeaders(copySource, ifMatch), 'x-amz-copy-source-range': range }, { query: { partNumber: String(partNumber), uploadId }, signal });
    return xmlTag(resultOf(res, 'CopyPartResult'), 'ETag');
  }

  /** CompleteMultipartUpload with `parts` (ascending, ETags unquoted; `''` = the server gave none, sent empty): the object's ETag. */
  async complete(key: string, uploadId: string, parts: { partNumber: number; etag: string }[], signal?: AbortSignal): Promise<WrittenIds> {
    const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag ? xmlEscape(`"${p.etag}"`) : ''}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const res = await this.call('POST', key, { 'content-type': 'application/xml' }, { query: { uploadId }, body, signal });
    return { etag: xmlTag(resultOf(res, 'CompleteMultipartUploadResult'), 'ETag'), versionId: headerText(res.headers, 'x-amz-version-id') };
  }

  async abort(key: string, uploadId: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', key, {}, { query: { uploadId }, signal });
  }

  /** ListMultipartUploads page after the markers. */
  async listUploads(keyMarker: string | undefined, uploadIdMarker: string | undefined, signal?: AbortSignal): Promise<{ uploads: { key: string; uploadId: string; initiated: number }[]; nextKeyMarker?: string; nextUploadIdMarker?: string; truncated: boolean }> {
    const query: Record<string, string> = { uploads: '' };
    if (keyMarker) query['key-marker'] = keyMarker;
    if (uploadIdMarker) query['upload-id-marker'] = uploadIdMarker;
    const { text } = await this.call('GET', undefined, {}, { query, signal });
    const uploads = xmlElements(text, 'Upload').map((u) => ({ key: xmlTag(u, 'Key') ?? '', uploadId: xmlTag(u, 'UploadId') ?? '', initiated: Date.parse(xmlTag(u, 'Initiated') ?? '') || 0 }));
    return { uploads, truncated: xmlTag(text, 'IsTruncated') === 'true', nextKeyMarker: xmlTag(text, 'NextKeyMarker'), nextUploadIdMarker: xmlTag(text, 'NextUploadIdMarker') };
  }

  /** DeleteObject (of one version with `versionId`): the answer's headers (`x-amz-version-id`, `x-amz-delete-marker`). */
  async delete(key: string, signal?: AbortSignal, versionId?: string): Promise<IncomingHttpHeaders> {
    return (await this.call('DELETE', key, {}, { signal, query: versionId ? { versionId } : undefined })).headers;
  }
}

/**
 * The body of a copy or complete answer, which S3 may send as 200 and still fail (an `<Error>` body after a long
 * copy): that is an error (as a 500, so it is retried), as with the SDK.
 */
function resultOf(res: { text: string; headers: IncomingHttpHeaders }, tag: string): string {
  if (/<Error>/.test(res.text) || !res.text.includes(`<${tag}`)) throw errorOf(500, res.text || `<Code>InternalError</Code><Message>answered 200 without a ${tag}</Message>`, res.headers);
  return res.text;
}
