/**
 * Listing of the `fs` provider: a walk of the tree that yields keys in UTF-8 byte order of the whole key (like S3),
 * so task key ranges mean the same thing on every provider, and a small cache of sorted directory listings.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ListOptions, ListPage, ObjectInfo } from '../provider';
import { compareKeys } from '../../common/keys';
import { UNDECODABLE, mapFsError } from './errors';
import { FS_INTERNAL_DIR, FS_META_DIR, type FsRoot } from './keys';
import type { LinkRules } from './links';

const DEFAULT_PAGE = 1000;
/** Files a listing stats at once (libuv's threadpool runs 4; on NFS each stat is a round trip). */
const STAT_BATCH = 64;
/** A directory listing read this long after the directory's mtime is trusted while the mtime stays the same. */
const DIR_MTIME_SLACK_MS = 2000;

/** A directory entry as the walk sees it. `link`: a link not followed, listed so that stat/get report it. */
interface Entry {
  name: string;
  /** Sort name: directories compare as `name/` so the walk yields keys in global byte order. */
  sortName: string;
  kind: 'file' | 'dir' | 'link';
  /** A directory's real path: the walk reads it there, and a link back to one of the walk's ancestors is a cycle. */
  real?: string;
}

/** A directory the walk reads: its real path and the real paths from the root down to it (a link back to one is a cycle). */
interface WalkDir {
  real: string;
  ancestors: ReadonlySet<string>;
}

/** What one page of a listing asks for. */
interface PageQuery {
  prefix: string;
  startAfter: string;
  limit: number;
  signal?: AbortSignal;
}

/** Lists one root in key order, keeping the sorted listings of the last few directories walked. */
export class KeyOrderWalk {
  /**
   * Sorted directory listings of the last few directories walked (pages re-walk the same path). An entry serves a
   * listing only while its directory's mtime is unchanged (adding, removing or renaming an entry changes it) and
   * was read at least DIR_MTIME_SLACK_MS after that mtime (coarse mtimes on some filesystems); writes through this
   * provider also drop the directories above them (forgetUpFrom). So a new file is never hidden from a later listing.
   */
  private readonly dirCache = new Map<string, { mtimeMs: number; readAt: number; entries: Entry[] }>();

  constructor(
    private readonly root: FsRoot,
    private readonly links: LinkRules,
  ) {}

  /** One page of keys after `startAfter` under `prefix`, in key order. */
  async list(opts: ListOptions = {}): Promise<ListPage> {
    await this.root.realPath();
    const query: PageQuery = {
      prefix: opts.prefix ?? '',
      startAfter: opts.startAfter ?? '',
      limit: Math.max(1, Math.min(opts.limit ?? DEFAULT_PAGE, 10_000)),
      signal: opts.signal,
    };
    // Start the walk at the deepest directory the prefix names.
    const cut = query.prefix.lastIndexOf('/');
    const baseRel = cut >= 0 ? query.prefix.slice(0, cut + 1) : '';
    if (baseRel && baseRel.split('/').slice(0, -1).some((s) => s === '' || s === '..' || s === '.')) return { objects: [] };
    const start = await this.walkStart(baseRel);
    if (!start) return { objects: [] };
    return new ListingPage(this, query).collect(baseRel, start);
  }

  /** Drops the cached listings of the real directory `dir` and of every directory above it up to the real root. */
  forgetUpFrom(dir: string): void {
    const realRoot = this.root.realKnown;
    if (!realRoot) return; // nothing listed yet
    for (let at = dir; at.length >= realRoot.length; at = dirname(at)) {
      this.dirCache.delete(at);
      if (at === realRoot || at === dirname(at)) break;
    }
  }

  /** Sorted entries of the directory at real path `dir`; `ancestors`: real paths from the root down to it. */
  async readDirSorted(dir: string, ancestors: ReadonlySet<string>): Promise<Entry[]> {
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
    const entries = (await Promise.all(dirents.map((d) => this.entryOf(dir, d, ancestors)))).filter((e) => e !== undefined);
    entries.sort((a, b) => compareKeys(a.sortName, b.sortName));
    // A followed link's target can change without touching this directory's mtime: such listings are not kept.
    if (this.links.follow && dirents.some((d) => d.isSymbolicLink())) return entries;
    if (this.dirCache.size > 16) this.dirCache.delete(this.dirCache.keys().next().value!);
    this.dirCache.set(dir, { mtimeMs, readAt, entries });
    return entries;
  }

  /** How the walk lists `dirent` (in the directory at real path `dir`); undefined for what is not listed. */
  private async entryOf(dir: string, dirent: Dirent, ancestors: ReadonlySet<string>): Promise<Entry | undefined> {
    const { name } = dirent;
    if (dir === this.root.realKnown && (name === FS_INTERNAL_DIR || name === FS_META_DIR)) return undefined;
    if (dirent.isDirectory()) return { name, sortName: `${name}/`, kind: 'dir', real: join(dir, name) };
    if (dirent.isFile()) return { name, sortName: name, kind: 'file' };
    if (!dirent.isSymbolicLink()) return undefined;
    // Refused links sort as the files they are listed as; a followed directory link as the directory it is.
    const to = await this.links.followLink(join(dir, name), ancestors);
    if ('refused' in to) return { name, sortName: name, kind: 'link' };
    return to.isDir ? { name, sortName: `${name}/`, kind: 'dir', real: to.real } : { name, sortName: name, kind: 'file' };
  }

  /**
   * The directory `rel` (empty or ending in "/") as the walk from the root reaches it; undefined when the walk
   * does not descend there (missing, or behind a link it does not follow).
   */
  private async walkStart(rel: string): Promise<WalkDir | undefined> {
    let real = await this.root.realPath();
    const ancestors = new Set([real]);
    for (const name of rel.split('/').slice(0, -1)) {
      if (real === this.root.realKnown && (name === FS_INTERNAL_DIR || name === FS_META_DIR)) return undefined;
      const next = await this.links.descends(join(real, name), ancestors);
      if (next === undefined) return undefined;
      ancestors.add((real = next));
    }
    return { real, ancestors };
  }
}

/** One page of a listing: walks from a directory, stats files in batches, stops at the limit. */
class ListingPage {
  private readonly out: ObjectInfo[] = [];
  /** Files met by the walk and not yet stat'ed (see flush). */
  private readonly pending: { key: string; path: string; link: boolean }[] = [];
  private more = false;

  constructor(
    private readonly walker: KeyOrderWalk,
    private readonly query: PageQuery,
  ) {}

  /** Walks from the directory `rel` (at `start`) and returns the page. */
  async collect(rel: string, start: WalkDir): Promise<ListPage> {
    await this.walk(rel, start);
    await this.flush();
    const { out } = this;
    return this.more ? { objects: out, next: out[out.length - 1]!.position } : { objects: out };
  }

  /** Walks the directory `rel` (at `dir`) in key order; false once the page is full. */
  private async walk(rel: string, dir: WalkDir): Promise<boolean> {
    const { prefix, startAfter } = this.query;
    this.query.signal?.throwIfAborted();
    for (const entry of await this.walker.readDirSorted(dir.real, dir.ancestors)) {
      const key = rel + entry.name;
      if (entry.kind === 'dir') {
        const sub = `${key}/`;
        if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue;
        // Skip subtrees wholly at or before startAfter.
        if (startAfter && !startAfter.startsWith(sub) && compareKeys(sub, startAfter) < 0) continue;
        if (!(await this.walk(sub, { real: entry.real!, ancestors: new Set(dir.ancestors).add(entry.real!) }))) return false;
      } else {
        if (!key.startsWith(prefix)) continue;
        if (startAfter && compareKeys(key, startAfter) <= 0) continue;
        if (!(await this.add(key, join(dir.real, entry.name), entry.kind === 'link'))) return false;
      }
    }
    return true;
  }

  /** Queues a file of the page; false when the page is already full (there are more). */
  private async add(key: string, path: string, link: boolean): Promise<boolean> {
    if (this.out.length + this.pending.length === this.query.limit) {
      await this.flush(); // some may have gone since readdir: then there is room for more
      if (this.out.length === this.query.limit) {
        this.more = true;
        return false;
      }
    }
    this.pending.push({ key, path, link });
    if (this.pending.length === STAT_BATCH) await this.flush();
    return true;
  }

  /** Stats the pending files STAT_BATCH at a time, in walk order (one at a time, 5,000 files took 310–470 ms on tmpfs). */
  private async flush(): Promise<void> {
    const stats = await Promise.all(this.pending.map((f) => (f.link ? undefined : fsp.stat(f.path).catch(() => undefined))));
    this.pending.forEach(({ key, link }, i) => {
      const st = stats[i];
      if (link || (!st && key.includes(UNDECODABLE))) {
        // A link not followed, or a name that is not valid UTF-8 (it decodes lossily, U+FFFD, and cannot be
        // opened by its key): listed with size 0 (nothing of it is copied) so that stat/get report it as a
        // per-object failure, never skipped silently.
        this.out.push({ key, size: 0, lastModified: 0, position: key });
        return;
      }
      if (!st?.isFile()) return; // removed since readdir
      this.out.push({ key, size: st.size, lastModified: Math.floor(st.mtimeMs), position: key });
    });
    this.pending.length = 0;
  }
}
