/**
 * The `http` source's requests, on undici: keep-alive dispatchers with the environment's proxies, redirects, and
 * the one mapping of HTTP outcomes to the shared error classes.
 *
 * - Requests go through the proxy named by `https_proxy`/`HTTPS_PROXY` or `http_proxy`/`HTTP_PROXY` (lowercase
 *   first; with no https proxy, https also uses the http one), except for hosts in `no_proxy`/`NO_PROXY`, read
 *   from the provider context's `env`. Proxy-Authorization comes from the proxy URL's user info.
 * - Redirects (301/302/303/307/308) are followed, at most `maxRedirects` per request, else {@link TransientError}
 *   "too many redirects". A redirect off the listed URL's origin may not lead to a loopback, private, link-local,
 *   shared or unspecified address, nor from https to http: that object fails with {@link RedirectRefusedError}
 *   (see `redirects.ts`), unless the spec sets `allowPrivateRedirects`. The listed URLs themselves go anywhere.
 * - A request whose connection closed before any answer is sent once more (a reused keep-alive connection the
 *   server dropped just then; GET and HEAD are safe to repeat).
 * - Error messages never contain query strings (pre-signed URLs carry signatures): they are masked as `?…`.
 */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, request as undiciRequest, type Dispatcher } from 'undici';
import { AddressRefusedError, checkResolvedHost, guardedLookup, redirectRefusal } from './redirects';
import { formatPosition, maskQuery, type ListEntry } from './list-file';
import { proxySettings, type ProxySettings } from '../proxy/proxy-env';
import type { ObjectInfo } from '../provider';
import {
  AccessDeniedError,
  abortError,
  errorMessage,
  FerryError,
  NotFoundError,
  RedirectRefusedError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  UnsupportedError,
} from '../../common/errors';
import { parseRetryAfter } from '../../common/retry';

/** Response headers, one value each (a repeated header keeps its first value, as node:http does). */
export type ResponseHeaders = Record<string, string | undefined>;

/** A response whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable;
}

export type Method = 'GET' | 'HEAD';

/** How an {@link HttpClient} connects; the provider fills in the defaults. */
export interface HttpClientSettings {
  maxRedirects: number;
  /** A request fails with TransientError when its socket is idle this long. */
  idleTimeoutMs: number;
  /** Keep-alive sockets per origin. */
  maxSockets: number;
  /** CA certificates (PEM) trusted besides Node's bundled roots. */
  ca: string | Buffer | undefined;
  allowPrivateRedirects: boolean;
  /** Where the proxy variables are read. */
  env: NodeJS.ProcessEnv;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** undici's codes for a connection or response that stayed idle past its timeout. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Sends GET and HEAD requests for the listed URLs, following redirects under the address checks. */
export class HttpClient {
  private readonly maxRedirects: number;
  private readonly idleTimeoutMs: number;
  private readonly proxy: ProxySettings;
  private readonly allowPrivateRedirects: boolean;
  /** For the listed URLs (and redirects back to their origin). */
  private readonly dispatcher: Dispatcher;
  /** For redirect targets: refuses restricted addresses when it dials (the same dispatcher when they are allowed). */
  private readonly guardedDispatcher: Dispatcher;

  constructor(settings: HttpClientSettings) {
    this.maxRedirects = settings.maxRedirects;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.allowPrivateRedirects = settings.allowPrivateRedirects;
    this.proxy = proxySettings(settings.env);
    const ca = settings.ca === undefined ? undefined : [...rootCertificates, settings.ca.toString()];
    const connect = { timeout: this.idleTimeoutMs, ...(ca ? { ca } : {}) };
    const agent: Agent.Options = { connections: settings.maxSockets, connect };
    this.dispatcher = dispatcherFor(this.proxy, agent, ca);
    this.guardedDispatcher = this.allowPrivateRedirects ? this.dispatcher : dispatcherFor(this.proxy, { ...agent, connect: { ...connect, lookup: guardedLookup } }, ca);
  }

  /** Sends a request, following redirects up to the limit. Resolves with the first non-redirect response. */
  async send(method: Method, start: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<{ res: HttpResponse; url: URL }> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const res = await this.hop(method, start, url, headers, signal);
      if (!REDIRECT_STATUSES.has(res.status)) return { res, url };
      discardBody(res, true);
      url = this.redirectTarget(method, { start, url, hops }, res);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.dispatcher.destroy(), this.guardedDispatcher !== this.dispatcher && this.guardedDispatcher.destroy()]);
  }

  /** Where a redirect leads. Throws for a missing or unusable Location, too many hops, or a refused target. */
  private redirectTarget(method: Method, chain: { start: URL; url: URL; hops: number }, res: HttpResponse): URL {
    const { start, url, hops } = chain;
    const what = `${method} ${describeUrl(url)}`;
    const { status } = res;
    const location = res.headers.location;
    if (location === undefined) throw toFerryError({ kind: 'bad-redirect', what, status, location, reason: 'without a Location header' });
    if (hops >= this.maxRedirects) throw toFerryError({ kind: 'redirects', what: `${method} ${describeUrl(start)}`, limit: this.maxRedirects, location });
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw toFerryError({ kind: 'bad-redirect', what, status, location, reason: 'to an invalid URL' });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw toFerryError({ kind: 'bad-redirect', what, status, location, reason: `to an unsupported scheme ${next.protocol}` });
    next.hash = '';
    const refusal = this.checked(start, next) ? redirectRefusal(url, next) : undefined;
    if (refusal) throw toFerryError({ kind: 'redirect-refused', what: `${method} ${describeUrl(start)}`, target: next, reason: refusal });
    return next;
  }

  /** Whether a request to `url`, reached by redirects from the listed `start`, is subject to the redirect checks. */
  private checked(start: URL, url: URL): boolean {
    return !this.allowPrivateRedirects && url.origin !== start.origin;
  }

  /** One request of a redirect chain; a checked target is dialled (or, through a proxy, resolved) under the address checks. */
  private async hop(method: Method, start: URL, url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<HttpResponse> {
    if (!this.checked(start, url)) return this.request(method, url, headers, signal, this.dispatcher);
    try {
      if (this.viaProxy(url)) await checkResolvedHost(url.hostname);
      return await this.request(method, url, headers, signal, this.guardedDispatcher);
    } catch (err) {
      if (err instanceof AddressRefusedError) throw toFerryError({ kind: 'redirect-refused', what: `${method} ${describeUrl(start)}`, target: url, reason: err.reason });
      throw toFerryError({ kind: 'network', what: `${method} ${describeUrl(url)}`, cause: err, signal });
    }
  }

  /**
   * Whether a request to `url` may go through a proxy (the rule EnvHttpProxyAgent applies, NO_PROXY aside: a host it
   * exempts is then checked twice, here and when dialled).
   */
  private viaProxy(url: URL): boolean {
    return (url.protocol === 'https:' ? this.proxy.httpsProxy || this.proxy.httpProxy : this.proxy.httpProxy) !== '';
  }

  /**
   * One request; the body is left unread. Sent a second time when the connection closed before any answer: what a
   * reused keep-alive connection does when the server dropped it just then (GET and HEAD are safe to repeat).
   */
  private async request(method: Method, url: URL, headers: Record<string, string>, signal: AbortSignal | undefined, dispatcher: Dispatcher, retried = false): Promise<HttpResponse> {
    try {
      const res = await undiciRequest(url, {
        method,
        dispatcher,
        headers: { 'accept-encoding': 'identity', 'user-agent': 'ferry-http-source', ...headers },
        headersTimeout: this.idleTimeoutMs,
        bodyTimeout: this.idleTimeoutMs,
        // undici closes the connection after a HEAD unless told not to; list pages send hundreds of them.
        ...(method === 'HEAD' ? { reset: false } : {}),
        ...(signal ? { signal } : {}),
      });
      // bodyStream hands errors to the reader; this listener keeps a body nobody reads (HEAD, a discarded answer)
      // from killing the worker when its connection breaks.
      res.body.on('error', ignoreError);
      return { status: res.statusCode, headers: singleValues(res.headers), body: res.body };
    } catch (err) {
      if (!retried && !signal?.aborted && (err as { code?: string }).code === 'UND_ERR_SOCKET') return this.request(method, url, headers, signal, dispatcher, true);
      throw toFerryError({ kind: 'network', what: `${method} ${describeUrl(url)}`, cause: err, signal, idleMs: this.idleTimeoutMs });
    }
  }
}

/** A keep-alive dispatcher: direct, or through the environment's proxies when there are any. */
function dispatcherFor(proxy: ProxySettings, agent: Agent.Options, ca: string[] | undefined): Dispatcher {
  if (!proxy.httpProxy && !proxy.httpsProxy) return new Agent(agent);
  // curl reads a proxy without a scheme (`proxy:3128`) as http://; undici would take `proxy:` for the scheme.
  const uri = (value: string) => (value && !value.includes('://') ? `http://${value}` : value);
  const proxies = { httpProxy: uri(proxy.httpProxy), httpsProxy: uri(proxy.httpsProxy), noProxy: proxy.noProxy };
  // Through a tunnel, TLS to the origin is set up from `requestTls`, not `connect`.
  return new EnvHttpProxyAgent({ ...agent, ...proxies, ...(ca ? { requestTls: { ca } } : {}) });
}

/**
 * Resolves once undici has made a connection that just answered reusable: it waits one event-loop turn for that
 * (setImmediate), and a request sent sooner opens another connection.
 */
export function connectionReturned(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Drops a body that is not wanted: drained when `small` (the connection is kept), else cut off. */
export function discardBody(res: HttpResponse, small: boolean): void {
  if (small) res.body.resume();
  else res.body.destroy();
}

/** For bodies whose errors reach their reader another way, or never matter. */
function ignoreError(): void {}

/** One value per header, as node:http keeps for the singleton headers this provider reads. */
function singleValues(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const headers: ResponseHeaders = {};
  for (const [name, value] of Object.entries(raw)) headers[name] = Array.isArray(value) ? value[0] : value;
  return headers;
}

// ---------------------------------------------------------------------------------------------------------------
// What an answer says

/** A URL for messages: its query masked. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

export function parseContentRange(value: string | undefined): { start?: number; end?: number; total?: number } | undefined {
  if (value === undefined) return undefined;
  const parts = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!parts) return undefined;
  return {
    ...(parts[1] !== undefined ? { start: Number(parts[1]), end: Number(parts[2]) } : {}),
    ...(parts[3] !== '*' ? { total: Number(parts[3]) } : {}),
  };
}

export function contentLength(headers: ResponseHeaders): number | undefined {
  const value = headers['content-length'];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function parseEtag(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const parts = /^(W\/)?"(.*)"$/.exec(value.trim());
  return parts ? `${parts[1] ?? ''}${parts[2]}` : value.trim();
}

/** `Last-Modified` in epoch ms, or 0 when absent or unparsable: never "now", which would make every run look newer. */
function parseLastModified(value: string | undefined): number {
  if (!value) return 0;
  const time = Date.parse(value);
  return Number.isNaN(time) ? 0 : time;
}

/** The object a response describes: `size` plus what its headers say. */
export function infoOf(entry: ListEntry, headers: ResponseHeaders, size: number): ObjectInfo {
  const etag = parseEtag(headers.etag);
  const contentType = headers['content-type'];
  return {
    key: entry.key,
    size,
    lastModified: parseLastModified(headers['last-modified']),
    ...(etag !== undefined ? { etag } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
    position: formatPosition(entry.line),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Error mapping (the one place HTTP outcomes become Ferry errors)

type Failure =
  | { kind: 'status'; what: string; status: number; headers: ResponseHeaders }
  | { kind: 'network'; what: string; cause: unknown; signal: AbortSignal | undefined; idleMs?: number }
  | { kind: 'redirects'; what: string; limit: number; location: string }
  | { kind: 'bad-redirect'; what: string; status: number; location: string | undefined; reason: string }
  | { kind: 'redirect-refused'; what: string; target: URL; reason: string }
  | { kind: 'bad-range'; what: string; detail: string }
  | { kind: 'range-beyond-end'; what: string; start: number; size: number }
  | { kind: 'no-size'; what: string };

/** Maps an HTTP outcome to the shared error classes. Abort errors pass through unchanged. */
export function toFerryError(failure: Failure): Error {
  switch (failure.kind) {
    case 'status':
      return statusError(failure);
    case 'network': {
      // Only our own signal means "aborted": undici also calls a refused proxy tunnel an AbortError.
      if (failure.signal?.aborted) return abortError(failure.signal);
      if (failure.cause instanceof FerryError || failure.cause instanceof AddressRefusedError) return failure.cause;
      const code = (failure.cause as { code?: string } | undefined)?.code;
      if (failure.idleMs !== undefined && code !== undefined && TIMEOUT_CODES.has(code)) {
        return new TransientError(`${failure.what}: no data for ${failure.idleMs} ms`, { code, cause: failure.cause });
      }
      return new TransientError(`${failure.what}: ${errorMessage(failure.cause)}`, { cause: failure.cause, ...(code ? { code } : {}) });
    }
    case 'redirects':
      return new TransientError(`${failure.what}: too many redirects (more than ${failure.limit}; next Location ${maskQuery(failure.location)})`);
    case 'bad-redirect': {
      const location = failure.location !== undefined ? ` (Location ${maskQuery(failure.location)})` : '';
      return new FerryError(`${failure.what}: HTTP ${failure.status} redirect ${failure.reason}${location}`, { status: failure.status });
    }
    case 'redirect-refused':
      return new RedirectRefusedError(`${failure.what}: redirect to ${describeUrl(failure.target)} refused: ${failure.reason} (source.allowPrivateRedirects: true allows it)`);
    case 'bad-range':
      return new TransientError(`${failure.what}: ${failure.detail}`, { status: 206 });
    case 'range-beyond-end':
      return new SourceChangedError(`${failure.what}: range starts at byte ${failure.start} but the object is now ${failure.size} bytes`);
    case 'no-size':
      return new UnsupportedError(`${failure.what}: the server reports no size (no Content-Length or Content-Range); Ferry needs sizes to verify copies`);
  }
}

/** An HTTP status the request did not expect, by class: missing, denied, throttled, transient, changed, other. */
function statusError({ what, status, headers }: Extract<Failure, { kind: 'status' }>): Error {
  const message = `${what}: HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  if (status === 404 || status === 410) return new NotFoundError(message, { status });
  if (status === 401 || status === 403 || status === 407) return new AccessDeniedError(message, { status });
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    return new ThrottledError(message, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (status === 408 || status >= 500) return new TransientError(message, { status });
  if (status === 416) {
    const size = parseContentRange(headers['content-range'])?.total;
    return new SourceChangedError(`${message}${size !== undefined ? ` (the object is now ${size} bytes)` : ''}`, { status });
  }
  return new FerryError(`${message} (unexpected status)`, { status });
}
