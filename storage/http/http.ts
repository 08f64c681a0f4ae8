/**
 * The `http` source: a read-only provider over a *list file* of URLs (ossimport's `srcType=http`). The list file's
 * formats, positions and key lookups are in `list-file.ts`; requests, proxies and redirects in `requests.ts`;
 * response bodies in `body.ts`.
 *
 * Choices the engine relies on:
 * - **Order is the file's.** {@link ObjectProvider.list} returns entries in file order (capability `order: 'list'`);
 *   an entry's `position` is its line number, so a task of the engine is a line range. The list file must not
 *   change while a job runs (a change resets the index; positions then refer to the new file).
 * - **Bad lines are never skipped.** A line that cannot be fetched is listed (whatever the prefix filter) as an entry
 *   with `size: 0`, `lastModified: 0` and `key` = the line's text (query strings masked as `?…`). `stat`/`get` of
 *   that key throw {@link InvalidKeyError} naming the list file, the line number and the reason, so the engine
 *   reports it as a per-object failure.
 * - **Sizes come from HEAD**, issued by `list` for the entries of a page with bounded parallelism (16). A server
 *   that refuses HEAD (405/501) or sends no `Content-Length` is asked with `GET Range: bytes=0-0` and
 *   `Content-Range`. When the answer is a per-object failure (404/410, 401/403, other 4xx, no size at all) the
 *   entry is still listed, with `size: 0` and `lastModified: 0`; `stat`/`get` then throw the mapped error
 *   (e.g. `NotFoundError`), which the engine reports for that object. Retryable outcomes (5xx, 429,
 *   timeouts, connection errors) make `list` throw, so the activity retries the page.
 * - `lastModified` is `Last-Modified` in epoch ms, or **0** when the server sends none (or an unparsable one).
 * - `metadata: false`: HTTP servers have a content type (returned as `contentType`) but no user metadata.
 * - `get` of a range delivers exactly the requested bytes, even from a server that ignores `Range`; bodies shorter
 *   than announced fail with `SizeMismatchError`.
 * - Redirects are followed (at most 5), but not off the listed origin to the worker's own networks nor from https
 *   to http (`RedirectRefusedError`), unless the spec sets `allowPrivateRedirects`.
 * - Requests use the proxies of the provider context's `env` (default `process.env`).
 * - Error messages never contain query strings (pre-signed URLs carry signatures).
 */
import { ListFile, formatPosition, parsePosition, type ListEntry } from './list-file';
import { HttpClient, connectionReturned, contentLength, describeUrl, discardBody, infoOf, parseContentRange, toFerryError } from './requests';
import { fullContent, partialContent } from './body';
import type { Capabilities, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutResult } from '../provider';
import type { ProviderContext } from '../registry';
import { FerryError, InvalidConfigError, InvalidKeyError, UnsupportedError } from '../../common/errors';
import { childSignal } from '../../common/signals';

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

  private readonly listFile: ListFile;
  private readonly specPrefix: string;
  private readonly headConcurrency: number;
  private readonly client: HttpClient;

  constructor(spec: { list: string; prefix: string; allowPrivateRedirects: boolean }, env: NodeJS.ProcessEnv, options: HttpProviderOptions) {
    this.listFile = new ListFile(spec.list);
    this.specPrefix = spec.prefix;
    this.endpointId = `http|${spec.list}`;
    this.bucket = spec.list;
    this.headConcurrency = Math.max(1, options.headConcurrency ?? 16);
    this.client = new HttpClient({
      maxRedirects: Math.max(0, options.maxRedirects ?? 5),
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      maxSockets: options.maxSockets ?? 64,
      ca: options.ca,
      allowPrivateRedirects: spec.allowPrivateRedirects,
      env,
    });
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
    await this.listFile.scan(firstLine, signal, (entry) => {
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
    this.listFile.remember(picked);
    const last = picked[picked.length - 1];
    return { objects, ...(more && last ? { next: formatPosition(last.line) } : {}) };
  }

  /** HEAD of the key's URL. Throws NotFoundError (also when the key is not in the list), InvalidKeyError for a bad line. */
  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const entry = await this.listFile.lookup(key, opts.signal);
    return this.probe(entry, this.usableUrl(entry), opts.signal);
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
    const entry = await this.listFile.lookup(key, signal);
    const url = this.usableUrl(entry);
    const ranged = range !== undefined && (range.start > 0 || range.end !== undefined);
    const headers: Record<string, string> = ranged ? { range: `bytes=${range.start}-${range.end ?? ''}` } : {};
    const { res, url: finalUrl } = await this.client.send('GET', url, headers, signal);
    const what = `GET ${describeUrl(finalUrl)}`;
    const read = { entry, res, what, ...(signal ? { signal } : {}) };
    if (res.status === 206 && ranged) return partialContent(read, range);
    if (res.status === 200) return fullContent(read, ranged ? range : undefined);
    discardBody(res, true);
    throw toFerryError({ kind: 'status', what, status: res.status, headers: res.headers });
  }

  /** Always throws UnsupportedError: http sources are read-only. */
  async put(): Promise<PutResult> {
    throw new UnsupportedError(`http sources are read-only (list ${this.listFile.path})`);
  }

  /** No-op: an http source is never a destination, so no key is refused. */
  validateKey(): void {}

  async close(): Promise<void> {
    await this.client.close();
  }

  /** The URL of a good line. Throws InvalidKeyError for a bad one. */
  private usableUrl(entry: ListEntry): URL {
    if (entry.url) return entry.url;
    throw new InvalidKeyError(`${this.listFile.path} line ${entry.line}: ${entry.invalid ?? 'unusable line'}`);
  }

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
    const { res, url: finalUrl } = await this.client.send('HEAD', url, {}, signal);
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
    const { res, url: finalUrl } = await this.client.send('GET', url, { range: 'bytes=0-0' }, signal);
    // A 206/416 body is at most one byte: drain it to keep the connection. A 200 is the whole object: hang up.
    discardBody(res, res.status !== 200);
    const what = `GET ${describeUrl(finalUrl)}`;
    if (res.status !== 200 && res.status !== 206 && res.status !== 416) throw toFerryError({ kind: 'status', what, status: res.status, headers: res.headers });
    const total = res.status === 200 ? contentLength(res.headers) : parseContentRange(res.headers['content-range'])?.total;
    if (total === undefined) throw toFerryError({ kind: 'no-size', what });
    return infoOf(entry, res.headers, total);
  }
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
