/**
 * `fs` provider: a local or NAS directory tree as a bucket. Keys are paths relative to the root, listed in
 * UTF-8 byte order of the whole key (like S3), so task key ranges mean the same thing on every provider.
 *
 * Safety: a key never reaches outside the root — `..`/`.` segments, absolute paths, empty segments, NUL and
 * over-long names are refused with an InvalidKeyError naming the rule, and writes check that the real parent
 * directory is inside the real root (a symlinked directory cannot redirect a write). Writes go to a temp
 * file under `<root>/.ferry-uploads/` and are renamed into place, so readers never see partial objects.
 * Multipart uploads keep their parts there too (so a killed worker resumes inside a large object).
 */
import { createReadStream, createWriteStream, promises as fsp, type Dirent } from 'node:fs';
import { join, resolve, dirname, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Capabilities, CopySource, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, UploadedPart, WriteOptions } from './provider';
import type { ProviderContext } from './registry';
import { compareKeys, keyByteLength } from '../../common/keys';
import { BucketNotFoundError, FerryError, InvalidConfigError, InvalidKeyError, NotFoundError, AccessDeniedError, SizeMismatchError, TransientError, isAbortError } from '../../common/errors';

/** Reserved top-level directory for temp files and multipart parts; never listed, never a key. */
export const FS_INTERNAL_DIR = '.ferry-uploads';
const MAX_NAME_BYTES = 255;
const DEFAULT_PAGE = 1000;
/** Files a listing stats at once (libuv's threadpool runs 4; on NFS each stat is a round trip). */
const STAT_BATCH = 64;

const capabilities: Capabilities = {
  checksums: [],
  etagIsMd5: false,
  maxSinglePut: Number.MAX_SAFE_INTEGER,
  multipart: { minPartSize: 1, maxPartSize: 5 * 1024 ** 3, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: Number.MAX_SAFE_INTEGER,
  uploadPartCopy: false,
  writable: true,
  trailingSlashKeys: false,
  emptyPathSegments: false,
  metadata: false,
  order: 'key',
};

/** Maps Node fs errors to Ferry's classes. The one mapping function of this provider. */
/** What a file name that is not valid UTF-8 turns into when read as a string key. */
const UNDECODABLE = '\uFFFD';

/** A missing file whose key holds U+FFFD: almost surely a name that is not valid UTF-8 (Ferry keys are UTF-8). */
function undecodable(key: string, err: unknown): InvalidKeyError | undefined {
  if ((err as NodeJS.ErrnoException)?.code !== 'ENOENT' || !key.includes(UNDECODABLE)) return undefined;
  return new InvalidKeyError(`file name ${JSON.stringify(key)} is not valid UTF-8 (shown with U+FFFD): Ferry keys are UTF-8; rename the file`, { code: 'NonUtf8Name', cause: err });
}

function mapFsError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = `${what}: ${(err as Error)?.message ?? String(err)}`;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new NotFoundError(msg, { code, cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new AccessDeniedError(msg, { code, cause: err });
    case 'EISDIR':
    case 'ENAMETOOLONG':
    case 'EILSEQ':
      return new InvalidKeyError(msg, { code, cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EIO':
    case 'ENOSPC':
    case 'ESTALE':
    case 'ETIMEDOUT':
      return new TransientError(msg, { code, cause: err });
    default:
      return err;
  }
}

/** Throws InvalidKeyError when `key` cannot be a path under the root. */
export function validateFsKey(key: string): void {
  const bad = (rule: string) => {
    throw new InvalidKeyError(`key ${JSON.stringify(key)} cannot be stored on fs: ${rule}`);
  };
  if (key.length === 0) bad('empty key');
  if (key.includes('\0')) bad('contains NUL');
  if (key.startsWith('/')) bad('absolute path (leading "/")');
  if (key.endsWith('/')) bad('trailing "/" (a directory, not a file)');
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '') bad('empty path segment ("//")');
    if (s === '..') bad('".." segment would escape the root');
    if (s === '.') bad('"." segment');
    if (keyByteLength(s) > MAX_NAME_BYTES) bad(`path segment longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (segments[0] === FS_INTERNAL_DIR) bad(`"${FS_INTERNAL_DIR}/" is reserved for Ferry's temp files`);
}

interface Entry {
  name: string;
  /** Sort name: directories compare as `name/` so the walk yields keys in global byte order. */
  sortName: string;
  dir: boolean;
}

/** A directory listing read this long after the directory's mtime is trusted while the mtime stays the same. */
const DIR_MTIME_SLACK_MS = 2000;

class FsProvider implements ObjectProvider {
  readonly type = 'fs';
  readonly capabilities = capabilities;
  readonly endpointId = 'fs';
  readonly bucket: string;
  private readonly root: string;
  private realRoot: string | undefined;
  private readonly safeDirs = new Set<string>();
  /**
   * Sorted directory listings of the last few directories walked (pages re-walk the same path). An entry serves a
   * listing only while its directory's mtime is unchanged (adding, removing or renaming an entry changes it) and
   * was read at least DIR_MTIME_SLACK_MS after that mtime (coarse mtimes on some filesystems); writes through this
   * provider also drop the directories above them. So a new file is never hidden from a later listing.
   */
  private readonly dirCache = new Map<string, { mtimeMs: number; readAt: number; entries: Entry[] }>();

  constructor(root: string) {
    this.root = resolve(root);
    this.bucket = this.root;
  }

  validateKey(key: string): void {
    validateFsKey(key);
  }

  private pathOf(key: string): string {
    validateFsKey(key);
    return join(this.root, ...key.split('/'));
  }

  private async rootReal(): Promise<string> {
    if (this.realRoot) return this.realRoot;
    try {
      this.realRoot = await fsp.realpath(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BucketNotFoundError(`fs root ${this.root} does not exist`, { code: 'ENOENT' });
      throw mapFsError(e, `fs root ${this.root}`);
    }
    return this.realRoot;
  }

  private async readDirSorted(dir: string): Promise<Entry[]> {
    let dirents: Dirent[];
    let mtimeMs: number;
    const readAt = Date.now();
    try {
      mtimeMs = (await fsp.stat(dir)).mtimeMs;
      const hit = this.dirCache.get(dir);
      if (hit && hit.mtimeMs === mtimeMs && hit.readAt - hit.mtimeMs >= DIR_MTIME_SLACK_MS) return hit.entries;
      dirents = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw mapFsError(e, `list ${dir}`);
    }
    const entries: Entry[] = [];
    for (const d of dirents) {
      if (dir === this.root && d.name === FS_INTERNAL_DIR) continue;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        // Follow links to files; links to directories are not descended (cycles) and not listed.
        const st = await fsp.stat(join(dir, d.name)).catch(() => undefined);
        isFile = !!st?.isFile();
        isDir = false;
      }
      if (isDir) entries.push({ name: d.name, sortName: `${d.name}/`, dir: true });
      else if (isFile) entries.push({ name: d.name, sortName: d.name, dir: false });
    }
    entries.sort((a, b) => compareKeys(a.sortName, b.sortName));
    if (this.dirCache.size > 16) this.dirCache.delete(this.dirCache.keys().next().value!);
    this.dirCache.set(dir, { mtimeMs, readAt, entries });
    return entries;
  }

  async list(opts: ListOptions = {}): Promise<ListPage> {
    await this.rootReal();
    const limit = Math.max(1, Math.min(opts.limit ?? DEFAULT_PAGE, 10_000));
    const prefix = opts.prefix ?? '';
    const startAfter = opts.startAfter ?? '';
    const out: ObjectInfo[] = [];
    let more = false;

    // Start the walk at the deepest directory the prefix names.
    const cut = prefix.lastIndexOf('/');
    const baseRel = cut >= 0 ? prefix.slice(0, cut + 1) : '';
    if (baseRel && baseRel.split('/').slice(0, -1).some((s) => s === '' || s === '..' || s === '.')) return { objects: [] };

    // Files are stat'ed STAT_BATCH at a time, in walk order (one at a time, 5,000 files took 310–470 ms on tmpfs).
    const pending: string[] = [];
    const flush = async () => {
      const stats = await Promise.all(pending.map((key) => fsp.stat(join(this.root, ...key.split('/'))).catch(() => undefined)));
      pending.forEach((key, i) => {
        const st = stats[i];
        if (!st && key.includes(UNDECODABLE)) {
          // A name that is not valid UTF-8 decodes lossily (U+FFFD) and cannot be opened by its key: list it
          // so that stat/get report it as a per-object failure, never skip it silently.
          out.push({ key, size: 0, lastModified: 0, position: key });
          return;
        }
        if (!st?.isFile()) return; // removed since readdir
        out.push({ key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key });
      });
      pending.length = 0;
    };
    const walk = async (rel: string): Promise<boolean> => {
      opts.signal?.throwIfAborted();
      const entries = await this.readDirSorted(rel ? join(this.root, ...rel.split('/').filter(Boolean)) : this.root);
      for (const e of entries) {
        const key = rel + e.name;
        if (e.dir) {
          const p = `${key}/`;
          if (!(p.startsWith(prefix) || prefix.startsWith(p))) continue;
          // Skip subtrees wholly at or before startAfter.
          if (startAfter && !startAfter.startsWith(p) && compareKeys(p, startAfter) < 0) continue;
          if (!(await walk(p))) return false;
        } else {
          if (!key.startsWith(prefix)) continue;
          if (startAfter && compareKeys(key, startAfter) <= 0) continue;
          if (out.length + pending.length === limit) {
            await flush(); // some may have gone since readdir: then there is room for more
            if (out.length === limit) {
              more = true;
              return false;
            }
          }
          pending.push(key);
          if (pending.length === STAT_BATCH) await flush();
        }
      }
      return true;
    };
    await walk(baseRel);
    await flush();
    return more ? { objects: out, next: out[out.length - 1]!.position } : { objects: out };
  }

  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    opts.signal?.throwIfAborted();
    let st;
    try {
      st = await fsp.stat(path);
    } catch (e) {
      await this.rootReal();
      throw undecodable(key, e) ?? mapFsError(e, `stat ${JSON.stringify(key)}`);
    }
    if (!st.isFile()) throw new NotFoundError(`stat ${JSON.stringify(key)}: not a file`);
    return { key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key };
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const path = this.pathOf(key);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r');
    } catch (e) {
      await this.rootReal();
      throw undecodable(key, e) ?? mapFsError(e, `get ${JSON.stringify(key)}`);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotFoundError(`get ${JSON.stringify(key)}: not a file`);
      const start = opts.range?.start ?? 0;
      const end = Math.min(opts.range?.end ?? st.size - 1, st.size - 1);
      const contentLength = Math.max(0, end - start + 1);
      const body =
        contentLength === 0
          ? (await handle.close(), Readable.from([]))
          : createReadStream('', { fd: handle, start, end, autoClose: true, signal: opts.signal, highWaterMark: 256 * 1024 });
      return { body, contentLength, info: { key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key } };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw mapFsError(e, `get ${JSON.stringify(key)}`);
    }
  }

  /** Creates the parent directory of `path` and proves it lies inside the real root. */
  private async ensureParent(path: string): Promise<void> {
    const parent = dirname(path);
    if (this.safeDirs.has(parent)) return;
    try {
      await fsp.mkdir(parent, { recursive: true });
    } catch (e) {
      throw mapFsError(e, `mkdir ${parent}`);
    }
    const realRoot = await this.rootReal();
    const realParent = await fsp.realpath(parent);
    if (realParent !== realRoot && !realParent.startsWith(realRoot + sep)) {
      throw new InvalidKeyError(`refusing to write through ${parent}: it resolves outside the root (${realParent})`);
    }
    if (this.safeDirs.size > 10_000) this.safeDirs.clear();
    this.safeDirs.add(parent);
  }

  private tempPath(): string {
    return join(this.root, FS_INTERNAL_DIR, 'tmp', randomBytes(12).toString('hex'));
  }

  /** Streams `body` into a temp file; returns its path and byte count. Removes it on failure. */
  private async writeTemp(body: Readable | Buffer, signal?: AbortSignal): Promise<{ tmp: string; bytes: number }> {
    const tmp = this.tempPath();
    await fsp.mkdir(dirname(tmp), { recursive: true }).catch((e) => {
      throw mapFsError(e, `mkdir ${dirname(tmp)}`);
    });
    let bytes = 0;
    try {
      if (Buffer.isBuffer(body)) {
        // A small object read whole: one write, no stream stages. Through Readable.from and a pipeline, 20,000
        // puts of 16 KiB took twice the time and CPU, with 22-25 mark-compacts instead of 1.
        await fsp.writeFile(tmp, body, { signal });
        bytes = body.length;
      } else {
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            cb(null, chunk);
          },
        });
        await pipeline(body, counter, createWriteStream(tmp, { highWaterMark: 256 * 1024 }), { signal });
      }
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, 'write');
    }
    return { tmp, bytes };
  }

  /** Renames a finished temp file to the key's path. */
  private async commit(tmp: string, key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await this.ensureParent(path);
      const existing = await fsp.lstat(path).catch(() => undefined);
      if (existing?.isDirectory()) throw new InvalidKeyError(`key ${JSON.stringify(key)} cannot be stored on fs: a directory of that name holds other keys`);
      await fsp.rename(tmp, path);
      this.forgetListings(path);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, `put ${JSON.stringify(key)}`);
    }
  }

  /** Drops cached listings of every directory above `path`: our own write must show in the next listing. */
  private forgetListings(path: string): void {
    for (let d = dirname(path); d.length >= this.root.length; d = dirname(d)) {
      this.dirCache.delete(d);
      if (d === this.root || d === dirname(d)) break;
    }
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    this.pathOf(key);
    await this.ensureRootForWrite();
    const { tmp, bytes } = await this.writeTemp(body, opts.signal);
    if (opts.size !== undefined && bytes !== opts.size) {
      await fsp.rm(tmp, { force: true });
      throw new SizeMismatchError(`put ${JSON.stringify(key)}: expected ${opts.size} bytes, got ${bytes}`);
    }
    if (opts.signal?.aborted) {
      await fsp.rm(tmp, { force: true });
      opts.signal.throwIfAborted();
    }
    await this.commit(tmp, key);
    return {};
  }

  /** A destination root is created on first write (like `mkdir -p`). */
  private async ensureRootForWrite(): Promise<void> {
    if (this.realRoot) return;
    await fsp.mkdir(this.root, { recursive: true }).catch((e) => {
      throw mapFsError(e, `mkdir ${this.root}`);
    });
  }

  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f]{24}$/.test(uploadId)) throw new NotFoundError(`no such upload ${JSON.stringify(uploadId)}`);
    return join(this.root, FS_INTERNAL_DIR, 'mpu', uploadId);
  }

  private async uploadKey(uploadId: string): Promise<string> {
    try {
      return JSON.parse(await fsp.readFile(join(this.uploadDir(uploadId), 'upload.json'), 'utf8')).key as string;
    } catch (e) {
      throw new NotFoundError(`no such upload ${uploadId}`, { code: 'NoSuchUpload', cause: e });
    }
  }

  async createMultipart(key: string, _opts: WriteOptions = {}): Promise<string> {
    this.pathOf(key);
    await this.ensureRootForWrite();
    const uploadId = randomBytes(12).toString('hex');
    const dir = this.uploadDir(uploadId);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(join(dir, 'upload.json'), JSON.stringify({ key, initiated: Date.now() }));
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    if ((await this.uploadKey(uploadId)) !== key) throw new NotFoundError(`upload ${uploadId} is not for ${JSON.stringify(key)}`);
    const { tmp, bytes } = await this.writeTemp(body, opts.signal);
    if (bytes !== size) {
      await fsp.rm(tmp, { force: true });
      throw new SizeMismatchError(`upload part ${partNumber} of ${JSON.stringify(key)}: expected ${size} bytes, got ${bytes}`);
    }
    await fsp.rename(tmp, join(this.uploadDir(uploadId), `part-${String(partNumber).padStart(5, '0')}`));
    return { partNumber, etag: `${partNumber}-${size}`, size };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    if ((await this.uploadKey(uploadId)) !== key) throw new NotFoundError(`upload ${uploadId} is not for ${JSON.stringify(key)}`);
    const dir = this.uploadDir(uploadId);
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const tmp = this.tempPath();
    try {
      const out = createWriteStream(tmp);
      // One pipeline per part into the same stream (end: false) leaves an error and a close listener each until
      // the stream closes: expected, not a leak.
      out.setMaxListeners(2 * sorted.length + 10);
      for (const p of sorted) {
        const file = join(dir, `part-${String(p.partNumber).padStart(5, '0')}`);
        const st = await fsp.stat(file).catch(() => undefined);
        if (!st || st.size !== p.size) throw new NotFoundError(`complete ${JSON.stringify(key)}: part ${p.partNumber} missing or of the wrong size`, { code: 'InvalidPart' });
        await pipeline(createReadStream(file), out, { end: false, signal: opts.signal });
      }
      await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, `complete ${JSON.stringify(key)}`);
    }
    await this.commit(tmp, key);
    await fsp.rm(dir, { recursive: true, force: true });
    return {};
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    await fsp.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  async listMultipartUploads(prefix = ''): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const base = join(this.root, FS_INTERNAL_DIR, 'mpu');
    const ids = await fsp.readdir(base).catch(() => [] as string[]);
    const out = [];
    for (const uploadId of ids.sort()) {
      const meta = await fsp.readFile(join(base, uploadId, 'upload.json'), 'utf8').catch(() => undefined);
      if (!meta) continue;
      const { key, initiated } = JSON.parse(meta) as { key: string; initiated: number };
      if (key.startsWith(prefix)) out.push({ key, uploadId, initiated });
    }
    return out;
  }

  /** Server-side copy from another fs root (`source.bucket` is that root): a kernel copy, reflinked where the fs can. */
  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    validateFsKey(source.key);
    this.pathOf(key);
    await this.ensureRootForWrite();
    const tmp = this.tempPath();
    try {
      opts.signal?.throwIfAborted();
      await fsp.mkdir(dirname(tmp), { recursive: true });
      await fsp.copyFile(join(resolve(source.bucket), ...source.key.split('/')), tmp);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, `copy ${JSON.stringify(source.key)}`);
    }
    await this.commit(tmp, key);
    return {};
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await fsp.rm(path, { force: true }).catch((e) => {
      throw mapFsError(e, `delete ${JSON.stringify(key)}`);
    });
    this.forgetListings(path);
  }
}

/** Opens an fs root (`path:` in the job). */
export function openFsProvider(spec: EndpointSpec, _ctx: ProviderContext = {}): ObjectProvider {
  if (!spec.path) throw new InvalidConfigError(['path: an fs endpoint needs "path" (the root directory)']);
  return new FsProvider(spec.path);
}

openFsProvider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
