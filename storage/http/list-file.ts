/**
 * The `http` source's list file: its line grammar, streaming reads with a sparse line-offset index, and key lookups.
 *
 * Format (UTF-8, one entry per line, `\n` or `\r\n`; a leading BOM is ignored):
 * - `https://host/path/to/obj.jpg?query` — one URL per line. Key = the URL path without the leading `/`,
 *   percent-decoded (`/a%20b/c.jpg` → `a b/c.jpg`). The query is sent but is not part of the key; a fragment is
 *   dropped.
 * - `host/prefix/  relative/key.jpg` — ossimport's two-column form: two columns separated by spaces or tabs.
 *   URL = column 1 + column 2 (a column 1 without a scheme gets `http://`, as in ossimport's template); key =
 *   column 2's path, percent-decoded. Plain relative keys (no `%`) are taken exactly as ossimport takes them;
 *   decoding is what lets a key hold a space (`a%20b.jpg`), which a whitespace-separated column cannot.
 * - Blank lines and lines starting with `#` are ignored (they still count for line numbers).
 *
 * A bad line (not an http(s) URL, an unsupported scheme, an empty key, a `.`/`..` path segment, malformed
 * percent-encoding, more than two columns, invalid UTF-8 or more than 64 KiB) becomes an entry with `invalid` set and
 * `key` = the line's text with query strings masked as `?…` (for an over-long line, `(line N longer than …)`).
 *
 * Positions are 1-based line numbers zero-padded to 12 digits, so they also compare correctly as strings. The file
 * is read streaming, never loaded whole; one byte offset per 4096 lines makes resuming at a line cheap. A change of
 * the file (device, inode, size, mtime) resets the index and the lookup cache.
 *
 * Looking up a key uses a cache of the entries the latest listings returned; on a miss the file is scanned for the
 * key (about 2 s per million lines). When two lines yield the same key, a lookup finds the one listed most recently,
 * else the first in the file.
 */
import { open, stat as statFile, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { AccessDeniedError, BucketNotFoundError, FerryError, InvalidConfigError, NotFoundError, TransientError, errorMessage, isAbortError } from '../../common/errors';

const POSITION_DIGITS = 12;
/** Longest accepted line; longer lines are reported as bad lines (and never held in memory). */
const MAX_LINE_BYTES = 64 * 1024;
/** One recorded byte offset per this many lines. */
const INDEX_STRIDE = 4096;
const READ_CHUNK = 256 * 1024;
/** Entries remembered from listings for `stat`/`get` lookups. */
const KEY_CACHE_SIZE = 100_000;
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
  const parts = /^([a-z][a-z0-9+.-]*:\/\/[^/?#\\]*)([^?#]*)(\?[^#]*)?/i.exec(raw);
  if (!parts) return bad('not an absolute http(s) URL');
  // WHATWG URLs turn `\` into `/` for http(s); send it as %5C so the server sees the same name as the key.
  const path = parts[2]!.replace(/\\/g, '%5C');
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
    url = new URL(parts[1]! + path + (parts[3] ?? ''));
  } catch (err) {
    return bad(`not a valid URL (${errorMessage(err)})`);
  }
  return { line, key, url };
}

function isDotSegment(segment: string): boolean {
  const decoded = segment.replace(/%2e/gi, '.');
  return decoded === '.' || decoded === '..';
}

/** Masks query strings (pre-signed URLs carry signatures) in text bound for keys, messages and reports. */
export function maskQuery(text: string): string {
  return text.replace(/\?[^\s#]*/g, '?…');
}

/** The list position of a line: its number, zero-padded so that positions compare as strings too. */
export function formatPosition(line: number): string {
  return String(line).padStart(POSITION_DIGITS, '0');
}

/** The line number of a list position. Throws InvalidConfigError for anything else. */
export function parsePosition(position: string): number {
  if (!/^\d{1,15}$/.test(position)) {
    throw new InvalidConfigError([`startAfter: "${position}" is not an http list position (a line number)`]);
  }
  return Number(position);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the file

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
  file: FileHandle,
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
    const { bytesRead } = await file.read(buf, 0, READ_CHUNK, pos);
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
  /** offsets[slot] = byte offset of line slot * INDEX_STRIDE + 1. */
  private offsets: number[] = [0];

  reset(): void {
    this.offsets = [0];
  }

  seek(firstLine: number): { line: number; offset: number } {
    const slot = Math.min(Math.floor((firstLine - 1) / INDEX_STRIDE), this.offsets.length - 1);
    return { line: slot * INDEX_STRIDE + 1, offset: this.offsets[slot]! };
  }

  record(line: number, offset: number): void {
    if ((line - 1) % INDEX_STRIDE !== 0) return;
    const slot = (line - 1) / INDEX_STRIDE;
    if (slot === this.offsets.length) this.offsets.push(offset);
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

/**
 * Maps a failure to read the list file to the shared error classes (HTTP outcomes have their own mapping in
 * `requests.ts`). Abort errors and Ferry errors pass through unchanged.
 */
function listFileError(path: string, cause: unknown): Error {
  const code = (cause as { code?: string } | undefined)?.code;
  if (isAbortError(cause) || cause instanceof FerryError) return cause as Error;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new BucketNotFoundError(`http list file ${path} does not exist`, { code, cause });
  if (code === 'EISDIR') return new BucketNotFoundError(`http list file ${path} is a directory, not a list file`, { code });
  if (code === 'EACCES' || code === 'EPERM') return new AccessDeniedError(`http list file ${path} is not readable (${code})`, { code, cause });
  return new TransientError(`http list file ${path}: ${errorMessage(cause)}`, { cause, ...(code ? { code } : {}) });
}

// ---------------------------------------------------------------------------------------------------------------
// The file

/** One list file on the worker: scans in file order from any line, and finds entries by key. */
export class ListFile {
  private readonly index = new LineIndex();
  private readonly cache = new EntryCache(KEY_CACHE_SIZE);
  /** Identity of the list file the index and cache describe. */
  private fileStamp = '';

  constructor(readonly path: string) {}

  /**
   * Visits the entries from `firstLine` on, in file order, until `visit` returns false. With `only`, visits just
   * the entries that have that key (parsing the others only as far as needed to tell). Throws BucketNotFoundError
   * when the file is missing or a directory, AccessDeniedError when it is unreadable.
   */
  async scan(firstLine: number, signal: AbortSignal | undefined, visit: (entry: ListEntry) => boolean, only?: string): Promise<void> {
    let file: FileHandle;
    try {
      signal?.throwIfAborted();
      file = await open(this.path, 'r');
    } catch (err) {
      throw listFileError(this.path, err);
    }
    try {
      const stats = await file.stat();
      if (stats.isDirectory()) throw listFileError(this.path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
      this.sync(stats);
      const record = (line: number, offset: number) => this.index.record(line, offset);
      scanning: for await (const batch of readLines(file, this.index.seek(firstLine), firstLine, record, signal)) {
        for (const raw of batch) {
          const entry = entryOf(raw, only);
          if (entry && !visit(entry)) break scanning;
        }
      }
    } catch (err) {
      throw listFileError(this.path, err);
    } finally {
      await file.close();
    }
  }

  /** Remembers listed entries, so that looking up their keys needs no scan. */
  remember(entries: readonly ListEntry[]): void {
    for (const entry of entries) this.cache.set(entry);
  }

  /** The list entry for `key`: from the listing cache, else by scanning the file. Throws NotFoundError. */
  async lookup(key: string, signal: AbortSignal | undefined): Promise<ListEntry> {
    try {
      this.sync(await statFile(this.path));
    } catch (err) {
      throw listFileError(this.path, err);
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
    if (!found) throw new NotFoundError(`key ${JSON.stringify(key)} is not in http list file ${this.path}`);
    this.cache.set(found);
    return found;
  }

  /** Resets the index and cache when the list file changed. */
  private sync(stats: Stats): void {
    const stamp = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    this.index.reset();
    this.cache.clear();
  }
}
