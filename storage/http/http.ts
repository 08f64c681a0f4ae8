/**
 * The `http` source: a read-only provider over a *list file* of URLs (ossimport's `srcType=http`).
 *
 * List file (UTF-8, one entry per line, `\n` or `\r\n`; a leading BOM is ignored):
 * - `https://host/path/to/obj.jpg?query` — one URL per line. Key = the URL path without the leading `/`,
 *   percent-decoded (`/a%20b/c.jpg` → `a b/c.jpg`). The query is sent but is not part of the key; a fragment is
 *   dropped.
 * - `host/prefix/  relative/key.jpg` — ossimport's two-column form: two columns separated by spaces or tabs.
 *   URL = column 1 + column 2 (a column 1 without a scheme gets `http://`, as in ossimport's template); key =
 *   column 2's path, percent-decoded. Plain relative keys (no `%`) are taken exactly as ossimport takes them;
 *   decoding is what lets a key hold a space (`a%20b.jpg`), which a whitespace-separated column cannot.
 * - Blank lines and lines starting with `#` are ignored (they still count for line numbers).
 *
 * Order and positions: {@link ObjectProvider.list} returns entries in file order (capability `order: 'list'`);
 * an entry's `position` is its 1-based line number, zero-padded to 12 digits so that positions also compare
 * correctly as strings. A task of the engine is therefore a line range. The file is read streaming, never
 * loaded whole; a sparse line-offset index (one offset per 4096 lines) makes `startAfter` resume cheap. The
 * list file must not change while a job runs (a change resets the index; positions then refer to the new file).
 *
 * Choices the engine relies on:
 * - **Bad lines are never skipped.** A line that is not an http(s) URL, has an unsupported scheme, an empty key,
 *   a `.`/`..` path segment, malformed percent-encoding, more than two columns, invalid UTF-8 or more than
 *   64 KiB is listed (whatever the prefix filter) as an entry with `size: 0`, `lastModified: 0` and
 *   `key` = the line's text (query strings masked as `?…`; for an over-long line, `(line N longer than …)`).
 *   `stat`/`get` of that key throw
 *   {@link InvalidKeyError} naming the list file, the line number and the reason, so the engine reports it as a
 *   per-object failure.
 * - **Sizes come from HEAD**, issued by `list` for the entries of a page with bounded parallelism (16). A server
 *   that refuses HEAD (405/501) or sends no `Content-Length` is asked with `GET Range: bytes=0-0` and
 *   `Content-Range`. When the answer is a per-object failure (404/410, 401/403, other 4xx, no size at all) the
 *   entry is still listed, with `size: 0` and `lastModified: 0`; `stat`/`get` then throw the mapped error
 *   (e.g. {@link NotFoundError}), which the engine reports for that object. Retryable outcomes (5xx, 429,
 *   timeouts, connection errors) make `list` throw, so the activity retries the page.
 * - `lastModified` is `Last-Modified` in epoch ms, or **0** when the server sends none (or an unparsable one):
 *   never "now", which would make every run look newer.
 * - `metadata: false`: HTTP servers have a content type (returned as `contentType`) but no user metadata.
 * - `get` with a range sends `Range`; it accepts `206` only with a `Content-Range` matching the request, and when
 *   a server ignores `Range` and answers `200` it skips and slices the full body so the caller still gets exactly
 *   the requested bytes. Bodies shorter than announced fail with {@link SizeMismatchError}.
 * - Redirects (301/302/303/307/308) are followed, at most 5 per request, else {@link TransientError}
 *   "too many redirects". A redirect off the listed URL's origin may not lead to a loopback, private, link-local,
 *   shared or unspecified address, nor from https to http: that object fails with {@link RedirectRefusedError}
 *   (see `http-redirects.ts`), unless the spec sets `allowPrivateRedirects`. The listed URLs themselves go anywhere.
 * - Requests go through the proxy named by `https_proxy`/`HTTPS_PROXY` or `http_proxy`/`HTTP_PROXY` (lowercase
 *   first; with no https proxy, https also uses the http one), except for hosts in `no_proxy`/`NO_PROXY`, read
 *   from the provider context's `env` (default `process.env`). Proxy-Authorization comes from the proxy URL's
 *   user info.
 * - A response body that fails before its reader listens keeps the error until an 'error' listener (async
 *   iteration, `pipeline`, `finished`) arrives: an unheard 'error' event would kill the worker process.
 * - Error messages never contain query strings (pre-signed URLs carry signatures): they are masked as `?…`.
 *
 * Looking up a key (`stat`/`get`) uses a cache of the entries the latest `list` calls returned (the engine lists
 * a range before copying it); on a miss the list file is scanned for the key (about 2 s per million lines). When
 * two lines yield the same key, a lookup finds the one listed most recently, else the first in the file.
 */
import { STATUS_CODES } from 'node:http';
import { open, stat as statFile, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, request as undiciRequest, type Dispatcher } from 'undici';
import { AddressRefusedError, checkResolvedHost, guardedLookup, redirectRefusal } from './redirects';
import { proxySettings, type ProxySettings } from '../proxy/proxy-env';
import type { Capabilities, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutResult } from '../provider';
import type { ProviderContext } from '../registry';
import {
  AccessDeniedError,
  BucketNotFoundError,
  abortError,
  FerryError,
  InvalidConfigError,
  InvalidKeyError,
  NotFoundError,
  RedirectRefusedError,
  SizeMismatchError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  UnsupportedError,
  isAbortError,
} from '../../common/errors';
import { childSignal } from '../../common/signals';
import { parseRetryAfter } from '../../common/retry';

/** Tuning knobs; the defaults suit production, tests shorten the timeouts. */
export interface HttpProviderOptions {
  /** Parallel HEAD requests per list page. Default 16. */
  headConcurrency?: number;
  /** Redirects followed per request before failing with "too many redirects". Default 5. */
  maxRedirects?: number;
  /** A request fails with TransientError when its socket is idle this long. Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Keep-alive sockets per origin. Default 64. */
  maxSockets?: number;
  /** CA certificates (PEM) trusted besides Node's bundled roots, e.g. a private CA's. */
  ca?: string | Buffer;
}

/** Response headers, one value each (a repeated header keeps its first value, as node:http does). */
type ResponseHeaders = Record<string, string | undefined>;

/** A response whose body has not been read yet. */
interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable;
}

type Method = 'GET' | 'HEAD';

const CAPABILITIES: Capabilities = Object.freeze({
  checksums: [],
  etagIsMd5: false,
  maxSinglePut: 0,
  multipart: null,
  serverSideCopy: false,
  maxServerSideCopy: 0,
  uploadPartCopy: false,
  writable: false,
  trailingSlashKeys: true,
  emptyPathSegments: true,
  metadata: false,
  order: 'list',
});

const MAX_PAGE = 1000;
const POSITION_DIGITS = 12;
/** Longest accepted line; longer lines are reported as bad lines (and never held in memory). */
const MAX_LINE_BYTES = 64 * 1024;
/** One recorded byte offset per this many lines. */
const INDEX_STRIDE = 4096;
const READ_CHUNK = 256 * 1024;
/** Entries remembered from listings for `stat`/`get` lookups. */
const KEY_CACHE_SIZE = 100_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** undici's codes for a connection or response that stayed idle past its timeout. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** ASCII whitespace only: keys may legitimately contain NBSP or ideographic spaces. */
const COLUMN_SEPARATOR = /[ \t\f\v\r]+/;
const TRIM = /^[ \t\f\v\r]+|[ \t\f\v\r]+$/g;
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

// ---------------------------------------------------------------------------------------------------------------
// List lines

/** One non-blank, non-comment line of a list file. */
export interface ListEntry {
  /** 1-based line number. */
  line: number;
  /** Object key; for a bad line, the line's text with query strings masked. */
  key: string;
  /** Where to fetch the object; absent for a bad line. */
  url?: URL;
  /** Why the line cannot be used; absent for a good line. */
  invalid?: string;
}

/**
 * Parses one line of a list file (see the module comment for the formats). Returns `undefined` for blank and
 * comment lines, an entry with `invalid` set for a bad line. With `only`, a line that cannot have that key also
 * returns `undefined`, before the costly URL parsing (key lookups scan whole lists). Pure; exported for tests.
 */
export function parseListLine(raw: string, line: number, only?: string): ListEntry | undefined {
  const text = raw.replace(TRIM, '');
  if (text === '' || text.startsWith('#')) return undefined;
  const masked = maskQuery(text);
  const bad = (reason: string): ListEntry | undefined => (only === undefined || only === masked ? { line, key: masked, invalid: reason } : undefined);
  const skip = (key: string) => only !== undefined && key !== only && masked !== only;
  const cols = text.split(COLUMN_SEPARATOR);
  if (cols.length === 1) {
    const scheme = SCHEME.exec(text);
    if (!scheme) return bad('not an absolute http(s) URL');
    if (!/^https?$/i.test(scheme[1]!)) return bad(`unsupported URL scheme "${scheme[1]}:" (only http and https)`);
    return resolveLine(text, undefined, bad, skip, line);
  }
  if (cols.length === 2) {
    let prefix = cols[0]!;
    const rel = cols[1]!;
    const scheme = SCHEME.exec(prefix);
    if (!scheme) prefix = `http://${prefix}`;
    else if (!/^https?$/i.test(scheme[1]!)) return bad(`unsupported URL scheme "${scheme[1]}:" in the prefix column (only http and https)`);
    if (/[?#]/.test(prefix)) return bad('the URL prefix column contains "?" or "#", so the relative key cannot be appended to it');
    return resolveLine(prefix + rel, rel, bad, skip, line);
  }
  return bad(`expected "URL" or "URL-prefix relative-key", found ${cols.length} whitespace-separated columns (write spaces in URLs as %20)`);
}

function resolveLine(
  raw: string,
  relative: string | undefined,
  bad: (reason: string) => ListEntry | undefined,
  skip: (key: string) => boolean,
  line: number,
): ListEntry | undefined {
  // scheme://authority, path, query (a fragment is never sent).
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#\\]*)([^?#]*)(\?[^#]*)?/i.exec(raw);
  if (!m) return bad('not an absolute http(s) URL');
  // WHATWG URLs turn `\` into `/` for http(s); send it as %5C so the server sees the same name as the key.
  const path = m[2]!.replace(/\\/g, '%5C');
  const encodedKey = relative === undefined ? path.slice(1) : /^[^?#]*/.exec(relative)![0];
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    return bad('malformed percent-encoding in the URL path');
  }
  if (skip(key)) return undefined;
  if (key === '') return bad(relative === undefined ? 'empty key: the URL has no path after the host' : 'empty key: the relative-key column has no path');
  if (path.split('/').some(isDotSegment)) return bad('the URL path has a "." or ".." segment, which HTTP resolves away');
  let url: URL;
  try {
    url = new URL(m[1]! + path + (m[3] ?? ''));
  } catch (err) {
    return bad(`not a valid URL (${err instanceof Error ? err.message : String(err)})`);
  }
  return { line, key, url };
}

function isDotSegment(segment: string): boolean {
  const s = segment.replace(/%2e/gi, '.');
  return s === '.' || s === '..';
}

/** Masks query strings (pre-signed URLs carry signatures) in text bound for keys, messages and reports. */
function maskQuery(text: string): string {
  return text.replace(/\?[^\s#]*/g, '?…');
}

function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

function formatPosition(line: number): string {
  return String(line).padStart(POSITION_DIGITS, '0');
}

function parsePosition(position: string): number {
  if (!/^\d{1,15}$/.test(position)) {
    throw new InvalidConfigError([`startAfter: "${position}" is not an http list position (a line number)`]);
  }
  return Number(position);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the list file

interface RawLine {
  line: number;
  /** The line's bytes without `\n`; null when longer than MAX_LINE_BYTES. */
  bytes: Buffer | null;
}

/**
 * Streams the lines of an open file, one batch per chunk read, starting at a known line start `from` and
 * materialising only lines from `firstLine` on. `onLineStart` sees the byte offset of every line passed (for the
 * index). Memory: one chunk plus one line.
 */
async function* readLines(
  fh: FileHandle,
  from: { line: number; offset: number },
  firstLine: number,
  onLineStart: (line: number, offset: number) => void,
  signal?: AbortSignal,
): AsyncGenerator<RawLine[]> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let pos = from.offset;
  let line = from.line;
  let parts: Buffer[] = [];
  let partsLength = 0;
  let tooLong = false;
  onLineStart(line, pos);
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, pos);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    const batch: RawLine[] = [];
    let i = 0;
    while (i < bytesRead) {
      const nl = chunk.indexOf(10, i);
      const end = nl === -1 ? bytesRead : nl;
      if (line >= firstLine && !tooLong) {
        if (partsLength + (end - i) > MAX_LINE_BYTES) {
          tooLong = true;
          parts = [];
          partsLength = 0;
        } else if (end > i) {
          parts.push(Buffer.from(chunk.subarray(i, end)));
          partsLength += end - i;
        }
      }
      if (nl === -1) break;
      if (line >= firstLine) batch.push({ line, bytes: tooLong ? null : Buffer.concat(parts, partsLength) });
      parts = [];
      partsLength = 0;
      tooLong = false;
      line++;
      onLineStart(line, pos + nl + 1);
      i = nl + 1;
    }
    pos += bytesRead;
    if (batch.length) yield batch;
  }
  if (line >= firstLine && (partsLength > 0 || tooLong)) yield [{ line, bytes: tooLong ? null : Buffer.concat(parts, partsLength) }];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Turns a raw line into an entry (undefined for blank/comment lines, and for lines that cannot have key `only`). */
function entryOf(raw: RawLine, only?: string): ListEntry | undefined {
  if (raw.bytes === null) {
    const key = `(line ${raw.line} longer than ${MAX_LINE_BYTES} bytes)`;
    return only === undefined || only === key ? { line: raw.line, key, invalid: `line is longer than ${MAX_LINE_BYTES} bytes` } : undefined;
  }
  let text: string;
  try {
    // The decoder also drops a leading BOM (a list saved by Windows Notepad starts with one).
    text = utf8.decode(raw.bytes);
  } catch {
    const lossy = raw.bytes.toString('utf8').replace(TRIM, '');
    if (lossy === '' || lossy.startsWith('#')) return undefined;
    const key = maskQuery(lossy);
    return only === undefined || only === key ? { line: raw.line, key, invalid: 'line is not valid UTF-8' } : undefined;
  }
  return parseListLine(text, raw.line, only);
}

/** Byte offsets of every INDEX_STRIDE-th line, so resuming at line N reads at most INDEX_STRIDE lines to get there. */
class LineIndex {
  /** offsets[k] = byte offset of line k * INDEX_STRIDE + 1. */
  private offsets: number[] = [0];

  reset(): void {
    this.offsets = [0];
  }

  seek(firstLine: number): { line: number; offset: number } {
    const k = Math.min(Math.floor((firstLine - 1) / INDEX_STRIDE), this.offsets.length - 1);
    return { line: k * INDEX_STRIDE + 1, offset: this.offsets[k]! };
  }

  record(line: number, offset: number): void {
    if ((line - 1) % INDEX_STRIDE !== 0) return;
    const k = (line - 1) / INDEX_STRIDE;
    if (k === this.offsets.length) this.offsets.push(offset);
  }
}

/** Most recently listed entries by key (insertion order = recency). */
class EntryCache {
  private readonly map = new Map<string, ListEntry>();
  constructor(private readonly capacity: number) {}

  get(key: string): ListEntry | undefined {
    const entry = this.map.get(key);
    if (entry) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry;
  }

  set(entry: ListEntry): void {
    this.map.delete(entry.key);
    this.map.set(entry.key, entry);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  clear(): void {
    this.map.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Error mapping (the one place HTTP and list-file outcomes become Ferry errors)

type Failure =
  | { kind: 'status'; what: string; status: number; headers: ResponseHeaders }
  | { kind: 'network'; what: string; cause: unknown; signal: AbortSignal | undefined; idleMs?: number }
  | { kind: 'truncated'; what: string; received: number; expected: number; cause?: unknown }
  | { kind: 'redirects'; what: string; limit: number; location: string }
  | { kind: 'bad-redirect'; what: string; status: number; location: string | undefined; reason: string }
  | { kind: 'redirect-refused'; what: string; target: URL; reason: string }
  | { kind: 'bad-range'; what: string; detail: string }
  | { kind: 'range-beyond-end'; what: string; start: number; size: number }
  | { kind: 'no-size'; what: string }
  | { kind: 'list-file'; path: string; cause: unknown };

/** Maps an HTTP or list-file outcome to the shared error classes. Abort errors pass through unchanged. */
function toFerryError(f: Failure): Error {
  switch (f.kind) {
    case 'status': {
      const { status } = f;
      const message = `${f.what}: HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
      if (status === 404 || status === 410) return new NotFoundError(message, { status });
      if (status === 401 || status === 403 || status === 407) return new AccessDeniedError(message, { status });
      if (status === 429 || status === 503) {
        const retryAfterMs = parseRetryAfter(f.headers['retry-after']);
        return new ThrottledError(message, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      }
      if (status === 408 || status >= 500) return new TransientError(message, { status });
      if (status === 416) {
        const size = parseContentRange(f.headers['content-range'])?.total;
        return new SourceChangedError(`${message}${size !== undefined ? ` (the object is now ${size} bytes)` : ''}`, { status });
      }
      return new FerryError(`${message} (unexpected status)`, { status });
    }
    case 'network': {
      // Only our own signal means "aborted": undici also calls a refused proxy tunnel an AbortError.
      if (f.signal?.aborted) return abortError(f.signal);
      if (f.cause instanceof FerryError || f.cause instanceof AddressRefusedError) return f.cause;
      const code = (f.cause as { code?: string } | undefined)?.code;
      if (f.idleMs !== undefined && code !== undefined && TIMEOUT_CODES.has(code)) {
        return new TransientError(`${f.what}: no data for ${f.idleMs} ms`, { code, cause: f.cause });
      }
      const detail = f.cause instanceof Error ? f.cause.message : String(f.cause);
      return new TransientError(`${f.what}: ${detail}`, { cause: f.cause, ...(code ? { code } : {}) });
    }
    case 'truncated':
      return new SizeMismatchError(`${f.what}: connection closed after ${f.received} of ${f.expected} bytes`, f.cause !== undefined ? { cause: f.cause } : {});
    case 'redirects':
      return new TransientError(`${f.what}: too many redirects (more than ${f.limit}; next Location ${maskQuery(f.location)})`);
    case 'bad-redirect':
      return new FerryError(`${f.what}: HTTP ${f.status} redirect ${f.reason}${f.location !== undefined ? ` (Location ${maskQuery(f.location)})` : ''}`, { status: f.status });
    case 'redirect-refused':
      return new RedirectRefusedError(`${f.what}: redirect to ${describeUrl(f.target)} refused: ${f.reason} (source.allowPrivateRedirects: true allows it)`);
    case 'bad-range':
      return new TransientError(`${f.what}: ${f.detail}`, { status: 206 });
    case 'range-beyond-end':
      return new SourceChangedError(`${f.what}: range starts at byte ${f.start} but the object is now ${f.size} bytes`);
    case 'no-size':
      return new UnsupportedError(`${f.what}: the server reports no size (no Content-Length or Content-Range); Ferry needs sizes to verify copies`);
    case 'list-file': {
      const code = (f.cause as { code?: string } | undefined)?.code;
      if (isAbortError(f.cause) || f.cause instanceof FerryError) return f.cause as Error;
      if (code === 'ENOENT' || code === 'ENOTDIR') return new BucketNotFoundError(`http list file ${f.path} does not exist`, { code, cause: f.cause });
      if (code === 'EISDIR') return new BucketNotFoundError(`http list file ${f.path} is a directory, not a list file`, { code });
      if (code === 'EACCES' || code === 'EPERM') return new AccessDeniedError(`http list file ${f.path} is not readable (${code})`, { code, cause: f.cause });
      const detail = f.cause instanceof Error ? f.cause.message : String(f.cause);
      return new TransientError(`http list file ${f.path}: ${detail}`, { cause: f.cause, ...(code ? { code } : {}) });
    }
  }
}

function parseContentRange(value: string | undefined): { start?: number; end?: number; total?: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  return {
    ...(m[1] !== undefined ? { start: Number(m[1]), end: Number(m[2]) } : {}),
    ...(m[3] !== '*' ? { total: Number(m[3]) } : {}),
  };
}

function contentLength(headers: ResponseHeaders): number | undefined {
  const v = headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function parseEtag(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^(W\/)?"(.*)"$/.exec(value.trim());
  return m ? `${m[1] ?? ''}${m[2]}` : value.trim();
}

function parseLastModified(value: string | undefined): number {
  if (!value) return 0;
  const t = Date.parse(value);
  return Number.isNaN(t) ? 0 : t;
}

// ---------------------------------------------------------------------------------------------------------------
// Response bodies

interface BodyPlan {
  what: string;
  /** Bytes to drop first (a server that ignored Range). */
  skip: number;
  /** Bytes to deliver. */
  take: number;
  /** Bytes the server announced. */
  announced: number;
  signal?: AbortSignal;
}

/**
 * Wraps a response body into the body a caller reads: exactly `take` bytes after `skip`, with backpressure, failing
 * with SizeMismatchError when the connection ends early and with an AbortError when the signal fires.
 */
function bodyStream(res: Readable, plan: BodyPlan): Readable {
  let toSkip = plan.skip;
  let remaining = plan.take;
  let received = 0;
  let settled = false;
  let ended = false;
  const out = new Readable({
    read() {
      res.resume();
    },
    destroy(err, cb) {
      settled = true;
      if (!res.destroyed) res.destroy();
      cb(err);
    },
  });
  const fail = (cause?: unknown) => {
    if (settled) return;
    settled = true;
    if (!res.destroyed) res.destroy();
    const err = plan.signal?.aborted ? abortError(plan.signal) : toFerryError({ kind: 'truncated', what: plan.what, received, expected: plan.announced, cause });
    failWhenHeard(out, err);
  };
  res.on('data', (chunk: Buffer) => {
    if (settled) return;
    received += chunk.length;
    let c = chunk;
    if (toSkip > 0) {
      if (c.length <= toSkip) {
        toSkip -= c.length;
        return;
      }
      c = c.subarray(toSkip);
      toSkip = 0;
    }
    if (c.length > remaining) c = c.subarray(0, remaining);
    remaining -= c.length;
    const more = c.length === 0 || out.push(c);
    if (remaining === 0 && received < plan.announced) {
      // Sliced out of a full body: the rest is not needed, so drop the connection instead of downloading it.
      settled = true;
      out.push(null);
      res.destroy();
      return;
    }
    if (!more) res.pause();
  });
  res.once('end', () => {
    ended = true;
    if (settled) return;
    if (remaining > 0) return fail();
    settled = true;
    out.push(null);
  });
  res.on('error', (err) => fail(err));
  // Guards against any other way of closing early leaving the caller waiting on a body that will never end.
  res.once('close', () => {
    if (!ended) fail();
  });
  return out;
}

/**
 * Fails `out` with `err` as soon as someone can hear it. A body may break (abort, reset) before its caller starts
 * reading, and an 'error' event nobody listens to kills the worker; the error then waits for the first 'error'
 * listener, which async iteration, `pipeline` and `finished` add before they read.
 */
function failWhenHeard(out: Readable, err: Error): void {
  if (out.listenerCount('error') > 0) {
    out.destroy(err);
    return;
  }
  const onListener = (event: string | symbol) => {
    if (event !== 'error') return;
    out.off('newListener', onListener);
    // 'newListener' fires before the listener is added.
    process.nextTick(() => out.destroy(err));
  };
  out.on('newListener', onListener);
}

/** Drops a body that is not wanted: drained when `small` (the connection is kept), else cut off. */
function discardBody(res: HttpResponse, small: boolean): void {
  if (small) res.body.resume();
  else res.body.destroy();
}

/** A GET answer about to become a {@link GetResult}. */
interface ContentRead {
  entry: ListEntry;
  res: HttpResponse;
  what: string;
  signal?: AbortSignal;
}

/** Cuts the connection and throws `err`: for an answer whose body will not be read. */
function refuseContent(res: HttpResponse, err: Error): never {
  discardBody(res, false);
  throw err;
}

/** A 206 answer to a ranged GET, accepted only when Content-Range (and the length) match the request. */
function partialContent({ entry, res, what, signal }: ContentRead, range: { start: number; end?: number }): GetResult {
  const header = res.headers['content-range'];
  const cr = parseContentRange(header);
  if (cr?.start === undefined || cr.end === undefined || cr.total === undefined) {
    return refuseContent(res, toFerryError({ kind: 'bad-range', what, detail: `206 without a usable Content-Range (${header ?? 'none'})` }));
  }
  const wantEnd = Math.min(range.end ?? cr.total - 1, cr.total - 1);
  const length = cr.end - cr.start + 1;
  const announced = contentLength(res.headers);
  if (cr.start !== range.start || cr.end !== wantEnd || (announced !== undefined && announced !== length)) {
    return refuseContent(res, toFerryError({ kind: 'bad-range', what, detail: `asked for bytes ${range.start}-${range.end ?? ''}, got Content-Range ${header}` }));
  }
  const body = bodyStream(res.body, { what, skip: 0, take: length, announced: length, ...(signal ? { signal } : {}) });
  return { body, info: infoOf(entry, res.headers, cr.total), contentLength: length };
}

/** A 200 answer: the whole body, or the requested range cut out of it when the server ignored Range. */
function fullContent({ entry, res, what, signal }: ContentRead, range: { start: number; end?: number } | undefined): GetResult {
  const total = contentLength(res.headers);
  if (total === undefined) return refuseContent(res, toFerryError({ kind: 'no-size', what }));
  if (range && range.start >= total) return refuseContent(res, toFerryError({ kind: 'range-beyond-end', what, start: range.start, size: total }));
  const skip = range?.start ?? 0;
  const take = range ? Math.min(range.end ?? total - 1, total - 1) - range.start + 1 : total;
  const body = bodyStream(res.body, { what, skip, take, announced: total, ...(signal ? { signal } : {}) });
  return { body, info: infoOf(entry, res.headers, total), contentLength: take };
}

/**
 * Resolves once undici has made a connection that just answered reusable: it waits one event-loop turn for that
 * (setImmediate), and a request sent sooner opens another connection.
 */
function connectionReturned(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
// The provider

/** Runs `fn` over `items` with at most `limit` in flight; stops starting new ones after the first failure. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

class HttpProvider implements ObjectProvider {
  readonly type = 'http';
  readonly endpointId: string;
  readonly bucket: string;
  readonly capabilities = CAPABILITIES;

  private readonly listPath: string;
  private readonly specPrefix: string;
  private readonly headConcurrency: number;
  private readonly maxRedirects: number;
  private readonly idleTimeoutMs: number;
  private readonly proxy: ProxySettings;
  private readonly allowPrivateRedirects: boolean;
  /** For the listed URLs (and redirects back to their origin). */
  private readonly dispatcher: Dispatcher;
  /** For redirect targets: refuses restricted addresses when it dials (the same dispatcher when they are allowed). */
  private readonly guardedDispatcher: Dispatcher;
  private readonly index = new LineIndex();
  private readonly cache = new EntryCache(KEY_CACHE_SIZE);
  /** Identity of the list file the index and cache describe. */
  private fileStamp = '';

  constructor(spec: { list: string; prefix: string; allowPrivateRedirects: boolean }, env: NodeJS.ProcessEnv, options: HttpProviderOptions) {
    this.listPath = spec.list;
    this.specPrefix = spec.prefix;
    this.endpointId = `http|${spec.list}`;
    this.bucket = spec.list;
    this.allowPrivateRedirects = spec.allowPrivateRedirects;
    this.headConcurrency = Math.max(1, options.headConcurrency ?? 16);
    this.maxRedirects = Math.max(0, options.maxRedirects ?? 5);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.proxy = proxySettings(env);
    const ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca.toString()];
    const connect = { timeout: this.idleTimeoutMs, ...(ca ? { ca } : {}) };
    const agent: Agent.Options = { connections: options.maxSockets ?? 64, connect };
    this.dispatcher = dispatcherFor(this.proxy, agent, ca);
    this.guardedDispatcher = spec.allowPrivateRedirects ? this.dispatcher : dispatcherFor(this.proxy, { ...agent, connect: { ...connect, lookup: guardedLookup } }, ca);
  }

  /**
   * One page of list entries in file order, each HEADed for size/lastModified/etag/contentType. Bad lines and
   * objects whose HEAD is a per-object failure are listed with size 0 (see the module comment).
   * Throws BucketNotFoundError when the list file is missing, TransientError/ThrottledError when a HEAD fails
   * in a way worth retrying.
   */
  async list(opts: ListOptions = {}): Promise<ListPage> {
    const { signal } = opts;
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? MAX_PAGE)), MAX_PAGE);
    const firstLine = opts.startAfter === undefined ? 1 : parsePosition(opts.startAfter) + 1;
    const prefixes = [this.specPrefix, opts.prefix ?? ''];
    const picked: ListEntry[] = [];
    let more = false;
    await this.scan(firstLine, signal, (entry) => {
      if (!entry.invalid && !prefixes.every((p) => entry.key.startsWith(p))) return true;
      if (picked.length === limit) {
        more = true;
        return false;
      }
      picked.push(entry);
      return true;
    });
    // The page's parallel HEADs listen on a signal of their own: one listener on the caller's, not one per request.
    const heads = childSignal(signal, this.headConcurrency + 8);
    let objects: ObjectInfo[];
    try {
      objects = await mapLimit(picked, this.headConcurrency, async (entry) => {
        const info = await this.describe(entry, heads.signal);
        await connectionReturned();
        return info;
      });
    } finally {
      heads.release();
    }
    for (const entry of picked) this.cache.set(entry);
    const last = picked[picked.length - 1];
    return { objects, ...(more && last ? { next: formatPosition(last.line) } : {}) };
  }

  /** HEAD of the key's URL. Throws NotFoundError (also when the key is not in the list), InvalidKeyError for a bad line. */
  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const entry = await this.lookup(key, opts.signal);
    return this.probe(entry, usableUrl(entry, this.listPath), opts.signal);
  }

  /**
   * GET of the key's URL, optionally a byte range (exact bytes even when the server ignores `Range`).
   * Throws NotFoundError, InvalidKeyError for a bad line, SourceChangedError when the range starts past the end;
   * the body fails with SizeMismatchError when the connection ends early.
   */
  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const { signal, range } = opts;
    if (range && (!Number.isSafeInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < range.start)))) {
      throw new InvalidConfigError([`range: ${JSON.stringify(range)} is not a valid byte range`]);
    }
    const entry = await this.lookup(key, signal);
    const url = usableUrl(entry, this.listPath);
    const ranged = range !== undefined && (range.start > 0 || range.end !== undefined);
    const headers: Record<string, string> = ranged ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {};
    const { res, url: finalUrl } = await this.send('GET', url, headers, signal);
    const what = `GET ${describeUrl(finalUrl)}`;
    const read = { entry, res, what, ...(signal ? { signal } : {}) };
    if (res.status === 206 && ranged) return partialContent(read, range);
    if (res.status === 200) return fullContent(read, ranged ? range : undefined);
    discardBody(res, true);
    throw toFerryError({ kind: 'status', what, status: res.status, headers: res.headers });
  }

  /** Always throws UnsupportedError: http sources are read-only. */
  async put(): Promise<PutResult> {
    throw new UnsupportedError(`http sources are read-only (list ${this.listPath})`);
  }

  /** No-op: an http source is never a destination, so no key is refused. */
  validateKey(): void {}

  async close(): Promise<void> {
    await Promise.all([this.dispatcher.destroy(), this.guardedDispatcher !== this.dispatcher && this.guardedDispatcher.destroy()]);
  }

  // -- list file ------------------------------------------------------------------------------------------------

  /** Resets the index and cache when the list file changed. */
  private sync(st: Stats): void {
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    this.index.reset();
    this.cache.clear();
  }

  /**
   * Visits the entries from `firstLine` on, in file order, until `visit` returns false. With `only`, visits just
   * the entries that have that key (parsing the others only as far as needed to tell).
   */
  private async scan(firstLine: number, signal: AbortSignal | undefined, visit: (entry: ListEntry) => boolean, only?: string): Promise<void> {
    let fh: FileHandle;
    try {
      signal?.throwIfAborted();
      fh = await open(this.listPath, 'r');
    } catch (err) {
      throw toFerryError({ kind: 'list-file', path: this.listPath, cause: err });
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw toFerryError({ kind: 'list-file', path: this.listPath, cause: Object.assign(new Error('is a directory'), { code: 'EISDIR' }) });
      this.sync(st);
      const record = (line: number, offset: number) => this.index.record(line, offset);
      scanning: for await (const batch of readLines(fh, this.index.seek(firstLine), firstLine, record, signal)) {
        for (const raw of batch) {
          const entry = entryOf(raw, only);
          if (entry && !visit(entry)) break scanning;
        }
      }
    } catch (err) {
      throw toFerryError({ kind: 'list-file', path: this.listPath, cause: err });
    } finally {
      await fh.close();
    }
  }

  /** The list entry for `key`: from the listing cache, else by scanning the file. Throws NotFoundError. */
  private async lookup(key: string, signal: AbortSignal | undefined): Promise<ListEntry> {
    try {
      this.sync(await statFile(this.listPath));
    } catch (err) {
      throw toFerryError({ kind: 'list-file', path: this.listPath, cause: err });
    }
    const cached = this.cache.get(key);
    if (cached) return cached;
    let found: ListEntry | undefined;
    await this.scan(
      1,
      signal,
      (entry) => {
        if (entry.key !== key) return true;
        found = entry;
        return false;
      },
      key,
    );
    if (!found) throw new NotFoundError(`key ${JSON.stringify(key)} is not in http list file ${this.listPath}`);
    this.cache.set(found);
    return found;
  }

  // -- HTTP -----------------------------------------------------------------------------------------------------

  /** List entry → ObjectInfo; per-object failures become size-0 entries, retryable ones throw. */
  private async describe(entry: ListEntry, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    const placeholder: ObjectInfo = { key: entry.key, size: 0, lastModified: 0, position: formatPosition(entry.line) };
    if (!entry.url) return placeholder;
    try {
      return await this.probe(entry, entry.url, signal);
    } catch (err) {
      if (err instanceof FerryError && !err.retryable) return placeholder;
      throw err;
    }
  }

  /** Size and headers by HEAD, falling back to `GET Range: bytes=0-0` when HEAD is refused or has no length. */
  private async probe(entry: ListEntry, url: URL, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    const { res, url: finalUrl } = await this.send('HEAD', url, {}, signal);
    discardBody(res, true);
    if (res.status >= 200 && res.status < 300) {
      const size = contentLength(res.headers);
      if (size !== undefined) return infoOf(entry, res.headers, size);
    } else if (res.status !== 405 && res.status !== 501) {
      throw toFerryError({ kind: 'status', what: `HEAD ${describeUrl(finalUrl)}`, status: res.status, headers: res.headers });
    }
    return this.probeByGet(entry, url, signal);
  }

  /** Size from the Content-Range of `GET Range: bytes=0-0`, or from the Content-Length of a server that answers 200. */
  private async probeByGet(entry: ListEntry, url: URL, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    const { res, url: finalUrl } = await this.send('GET', url, { range: 'bytes=0-0' }, signal);
    // A 206/416 body is at most one byte: drain it to keep the connection. A 200 is the whole object: hang up.
    discardBody(res, res.status !== 200);
    const what = `GET ${describeUrl(finalUrl)}`;
    if (res.status !== 200 && res.status !== 206 && res.status !== 416) throw toFerryError({ kind: 'status', what, status: res.status, headers: res.headers });
    const total = res.status === 200 ? contentLength(res.headers) : parseContentRange(res.headers['content-range'])?.total;
    if (total === undefined) throw toFerryError({ kind: 'no-size', what });
    return infoOf(entry, res.headers, total);
  }

  /** Sends a request, following redirects up to the limit. Resolves with the first non-redirect response. */
  private async send(method: Method, start: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<{ res: HttpResponse; url: URL }> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const res = await this.hop(method, start, url, headers, signal);
      if (!REDIRECT_STATUSES.has(res.status)) return { res, url };
      discardBody(res, true);
      url = this.redirectTarget(method, { start, url, hops }, res);
    }
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

function usableUrl(entry: ListEntry, listPath: string): URL {
  if (entry.url) return entry.url;
  throw new InvalidKeyError(`${listPath} line ${entry.line}: ${entry.invalid ?? 'unusable line'}`);
}

function infoOf(entry: ListEntry, headers: ResponseHeaders, size: number): ObjectInfo {
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

/**
 * Opens the http source of `spec` (`list:` = path of the list file on the worker; `prefix` keeps only keys that
 * start with it). Pure: the list file is first read by `list`/`stat`/`get`. Throws InvalidConfigError without
 * `list`.
 */
export function openHttpProvider(spec: EndpointSpec, ctx: ProviderContext, options: HttpProviderOptions = {}): ObjectProvider {
  if (!spec.list) throw new InvalidConfigError(['list: an http source needs `list:`, the path of a file of URLs']);
  const endpoint = { list: spec.list, prefix: spec.prefix ?? '', allowPrivateRedirects: spec.allowPrivateRedirects ?? false };
  return new HttpProvider(endpoint, ctx.env ?? process.env, options) satisfies ObjectProvider;
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
