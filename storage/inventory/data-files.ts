/**
 * Inventory data files on the worker's disk: each is fetched once (checked against the manifest's size and MD5),
 * gunzipped when it is gzip, and kept decompressed with the byte offset of every LINE_STRIDE-th line, so reading
 * from any line costs at most LINE_STRIDE lines of skipping. A gzip stream cannot seek: without the local copy,
 * each task of a data file would decompress it from its start.
 *
 * Memory: one read chunk and one line per reader; an index of 8 bytes per LINE_STRIDE lines. Disk: the decompressed
 * files in use, at most `maxFiles` per process (the least recently used are removed; a reader still open keeps
 * its file's data until it closes). Location: `$FERRY_INVENTORY_CACHE`, else `<tmpdir>/ferry-inventory`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ObjectProvider } from '../provider';
import type { DataFileRef } from './manifest';
import { ChecksumMismatchError, SizeMismatchError, TransientError, errorMessage, FerryError } from '../../common/errors';

/** One recorded byte offset per this many lines. */
export const LINE_STRIDE = 4096;
/** Longest line read; a longer one is a bad row (never held whole in memory). */
export const MAX_LINE_BYTES = 1024 * 1024;
const READ_CHUNK = 256 * 1024;

/** A data file on local disk, decompressed, with its sparse line index. */
export interface LocalDataFile {
  path: string;
  /** Lines in the file (a last line without a line break counts). */
  lines: number;
  /** offsets[s] = byte offset of line s * LINE_STRIDE + 1 (lines are 1-based). */
  offsets: number[];
}

/** One physical line: its 1-based number and text (without `\r\n`), or null when longer than MAX_LINE_BYTES or not UTF-8. */
export interface RawLine {
  line: number;
  text: string | null;
  /** Why `text` is null. */
  unreadable?: string;
}

/** Counts lines on the way through and records the offset of every LINE_STRIDE-th. */
class LineIndexer extends Transform {
  lines = 0;
  readonly offsets: number[] = [0];
  private bytes = 0;
  private pending = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    let i = chunk.indexOf(10);
    let from = 0;
    while (i !== -1) {
      this.lines++;
      if (this.lines % LINE_STRIDE === 0) this.offsets.push(this.bytes + i + 1);
      from = i + 1;
      i = chunk.indexOf(10, from);
    }
    this.pending = from < chunk.length;
    this.bytes += chunk.length;
    this.push(chunk);
    cb();
  }

  override _flush(cb: () => void): void {
    if (this.pending) this.lines++;
    cb();
  }
}

/** The default cache directory. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FERRY_INVENTORY_CACHE ?? join(tmpdir(), 'ferry-inventory');
}

/** Data files fetched by this process, by location. */
export class DataFileCache {
  private readonly files = new Map<string, Promise<LocalDataFile>>();

  constructor(
    readonly dir = defaultCacheDir(),
    readonly maxFiles = 16,
  ) {}

  /** The local copy of `ref` in `from`'s bucket, fetched now or earlier. Throws what the fetch throws (and forgets it). */
  fetch(from: ObjectProvider, ref: DataFileRef): Promise<LocalDataFile> {
    const id = createHash('sha256').update(`${from.endpointId}\n${from.bucket}\n${ref.key}\n${ref.size ?? ''}\n${ref.md5 ?? ''}`).digest('hex').slice(0, 32);
    let p = this.files.get(id);
    if (p) {
      this.files.delete(id);
      this.files.set(id, p);
      return p;
    }
    p = fetchDataFile(from, ref, join(this.dir, `${process.pid}-${id}.csv`));
    this.files.set(id, p);
    p.catch(() => this.files.get(id) === p && this.files.delete(id));
    this.evict();
    return p;
  }

  private evict(): void {
    while (this.files.size > this.maxFiles) {
      const [id, p] = this.files.entries().next().value!;
      this.files.delete(id);
      p.then((f) => fsp.rm(f.path, { force: true })).catch(() => undefined);
    }
  }

  /** Removes every local copy. */
  async clear(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.all(all.map((p) => p.then((f) => fsp.rm(f.path, { force: true })).catch(() => undefined)));
  }
}

async function fetchDataFile(from: ObjectProvider, ref: DataFileRef, path: string): Promise<LocalDataFile> {
  await fsp.mkdir(join(path, '..'), { recursive: true });
  const raw = `${path}.part`;
  try {
    const { body } = await from.get(ref.key);
    const md5 = createHash('md5');
    let bytes = 0;
    const hashing = new Transform({
      transform(c: Buffer, _e, cb) {
        md5.update(c);
        bytes += c.length;
        cb(null, c);
      },
    });
    await pipeline(body, hashing, createWriteStream(raw));
    const where = `inventory data file ${ref.key}`;
    if (ref.size !== undefined && bytes !== ref.size) throw new SizeMismatchError(`${where}: read ${bytes} bytes, the manifest says ${ref.size}`);
    const sum = md5.digest('hex');
    if (ref.md5 && !/\*/.test(ref.md5) && sum !== ref.md5) throw new ChecksumMismatchError(`${where}: MD5 ${sum}, the manifest says ${ref.md5}`);
    const indexer = new LineIndexer();
    const gz = await isGzip(raw);
    try {
      if (gz) await pipeline(createReadStream(raw), createGunzip(), indexer, createWriteStream(path));
      else await pipeline(createReadStream(raw), indexer, createWriteStream(path));
    } catch (e) {
      throw new ChecksumMismatchError(`${where}: cannot be decompressed (${errorMessage(e)})`, { cause: e });
    }
    return { path, lines: indexer.lines, offsets: indexer.offsets };
  } catch (e) {
    await fsp.rm(path, { force: true });
    throw e instanceof FerryError ? e : new TransientError(`inventory data file ${ref.key}: ${errorMessage(e)}`, { cause: e });
  } finally {
    await fsp.rm(raw, { force: true });
  }
}

async function isGzip(path: string): Promise<boolean> {
  const f = await fsp.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await f.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await f.close();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeLine(line: number, bytes: Buffer | null): RawLine {
  if (bytes === null) return { line, text: null, unreadable: `line is longer than ${MAX_LINE_BYTES} bytes` };
  const end = bytes.length && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
  try {
    return { line, text: utf8.decode(bytes.subarray(0, end)) };
  } catch {
    return { line, text: null, unreadable: 'line is not valid UTF-8' };
  }
}

/**
 * The lines of a local data file from `fromLine` on, in batches (one per chunk read). The caller may stop early
 * (`return()` closes the file). A line inside one chunk is decoded where it lies; only one that crosses a chunk
 * boundary is copied.
 */
export async function* readLines(file: LocalDataFile, fromLine: number): AsyncGenerator<RawLine[]> {
  const slot = Math.min(Math.floor((Math.max(1, fromLine) - 1) / LINE_STRIDE), file.offsets.length - 1);
  let line = slot * LINE_STRIDE + 1;
  let pos = file.offsets[slot]!;
  const fh = await fsp.open(file.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    /** The start of a line that crosses chunks (null once it is too long). */
    let carry: Buffer[] | null = [];
    let carried = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      const batch: RawLine[] = [];
      let i = 0;
      for (let nl = chunk.indexOf(10, i); nl !== -1; nl = chunk.indexOf(10, i)) {
        if (line >= fromLine) {
          let bytes: Buffer | null = chunk.subarray(i, nl);
          if (carry === null || carried + bytes.length > MAX_LINE_BYTES) bytes = null;
          else if (carried) bytes = Buffer.concat([...carry, bytes]);
          batch.push(decodeLine(line, bytes));
        }
        carry = [];
        carried = 0;
        line++;
        i = nl + 1;
      }
      if (i < bytesRead && line >= fromLine && carry !== null) {
        carried += bytesRead - i;
        carry = carried > MAX_LINE_BYTES ? null : [...carry, Buffer.from(chunk.subarray(i))];
      }
      if (batch.length) yield batch;
    }
    if (line >= fromLine && (carried > 0 || carry === null)) yield [decodeLine(line, carry === null ? null : Buffer.concat(carry))];
  } finally {
    await fh.close();
  }
}
