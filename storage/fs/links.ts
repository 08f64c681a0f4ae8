/**
 * Symlink rules of the `fs` provider. Every link is listed (size 0 when not followed) and stat/get refuse it with a
 * SymlinkSkippedError naming its target, so none is skipped silently. With `followSymlinks` a link whose real path
 * stays under the real root is followed (a directory link descended unless it loops back to a directory it is
 * inside); links that leave the root or dangle are still refused.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { SymlinkSkippedError } from '../../common/errors';
import { mapFsError } from './errors';
import type { FsRoot } from './keys';

/** Opens for reading without following a link at the path's last component (ELOOP instead): check and open in one step. */
const READ_NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);
/** Why a link is refused when followSymlinks is off. */
const NOT_FOLLOWED = 'not followed (set source.followSymlinks: true to follow links that stay under the root)';
const CYCLE = 'not followed: it leads back to a directory it is inside (a cycle)';

/** Where a followed link leads, or why it is not followed. */
export type LinkTarget = { real: string; isDir: boolean } | { refused: string };

/** The link decisions for one root: what the walk follows, and what reads of a key through links may open. */
export class LinkRules {
  /** Parent directories whose path to the root holds no link that reads must refuse (see checkParents). */
  private readonly readableDirs = new Set<string>();

  constructor(
    private readonly root: FsRoot,
    readonly follow: boolean,
  ) {}

  /**
   * Where the link at `path` leads when followed: its real path, or why it is not followed. It is followed only
   * with followSymlinks, to a file or directory whose real path is under the real root (not Ferry's own directory)
   * and, for a directory, not one of `ancestors` (the directories the walk is inside: a cycle).
   */
  async followLink(path: string, ancestors?: ReadonlySet<string>): Promise<LinkTarget> {
    if (!this.follow) return { refused: NOT_FOLLOWED };
    await this.root.realPath(); // holds() compares with the real root, resolved once
    let real: string;
    let st: Stats;
    try {
      real = await fsp.realpath(path);
      st = await fsp.stat(real);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { refused: 'not followed: dangling (its target does not exist)' };
      if (code === 'ELOOP') return { refused: 'not followed: dangling (its target is a loop of links)' };
      throw mapFsError(e, `follow ${path}`);
    }
    if (!this.root.holds(real)) return { refused: `not followed: it leads outside the root (to ${real})` };
    if (!st.isFile() && !st.isDirectory()) return { refused: 'not followed: it leads to neither a file nor a directory' };
    if (st.isDirectory() && ancestors?.has(real)) return { refused: CYCLE };
    return { real, isDir: st.isDirectory() };
  }

  /** Real path of the directory at `path` (under a real directory) if the walk descends into it, as the listing decides. */
  async descends(path: string, ancestors: ReadonlySet<string>): Promise<string | undefined> {
    const st = await fsp.lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
      throw mapFsError(e, `list ${path}`);
    });
    if (st?.isDirectory()) return path;
    if (!st?.isSymbolicLink()) return undefined;
    const to = await this.followLink(path, ancestors);
    return 'real' in to && to.isDir ? to.real : undefined;
  }

  /** Real path to read for the link at `key`. Throws SymlinkSkippedError when it is refused or leads to a directory. */
  async followedPath(key: string, path: string): Promise<string> {
    const to = await this.followLink(path);
    if ('refused' in to) throw await this.refusal(key, to.refused);
    if (!to.isDir) return to.real;
    // Listed only when it loops back (its files are listed under it otherwise): say so when it plainly contains it.
    const parent = await fsp.realpath(dirname(path));
    const cycle = parent === to.real || parent.startsWith(to.real + sep);
    throw await this.refusal(key, cycle ? CYCLE : 'is a directory, not an object');
  }

  /** Path to read `key` from: its own, or a followed link's real path. Throws SymlinkSkippedError (see followLink). */
  async pathToRead(key: string): Promise<string> {
    const path = this.root.pathOf(key);
    await this.checkParents(key, path);
    const st = await fsp.lstat(path).catch(() => undefined); // a missing file: the read reports it
    return st?.isSymbolicLink() ? this.followedPath(key, path) : path;
  }

  /** Opens `key` (at `path`) for reading; a link there only as followLink allows (SymlinkSkippedError otherwise). */
  async openToRead(key: string, path: string): Promise<fsp.FileHandle> {
    await this.checkParents(key, path);
    try {
      return await fsp.open(path, READ_NO_FOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOOP') throw e;
    }
    return fsp.open(await this.followedPath(key, path), 'r');
  }

  /**
   * Throws SymlinkSkippedError when a directory on the way to `key` is a link the listing does not follow. Checked
   * once per directory (keys come in listing order, many to a directory); a missing one is left to the read.
   */
  async checkParents(key: string, path: string): Promise<void> {
    const parent = dirname(path);
    if (parent === this.root.path || this.readableDirs.has(parent)) return;
    const realRoot = await this.root.realPath();
    const real = await fsp.realpath(parent).catch(() => undefined);
    if (real === undefined) return;
    const plain = this.follow ? this.root.holds(real) : real === join(realRoot, ...key.split('/').slice(0, -1));
    if (!plain) await this.refuseLinkOnTheWay(key);
    if (this.readableDirs.size > 10_000) this.readableDirs.clear();
    this.readableDirs.add(parent);
  }

  /** Throws SymlinkSkippedError for the first link on the way to `key` that the listing does not follow. */
  private async refuseLinkOnTheWay(key: string): Promise<void> {
    const segments = key.split('/');
    for (let i = 1; i < segments.length; i++) {
      const linkKey = segments.slice(0, i).join('/');
      const path = this.root.joinKey(linkKey);
      if (!(await fsp.lstat(path).catch(() => undefined))?.isSymbolicLink()) continue;
      const to = await this.followLink(path);
      if ('refused' in to) throw await this.refusal(linkKey, to.refused, key);
    }
  }

  /**
   * SymlinkSkippedError for the link `linkKey` (read as `key`, which is the link or a key below it): names the link,
   * its target and the reason.
   */
  private async refusal(linkKey: string, reason: string, key = linkKey): Promise<SymlinkSkippedError> {
    const target = await fsp.readlink(this.root.joinKey(linkKey)).catch(() => '(unreadable)');
    const via = key === linkKey ? '' : ` (reading ${JSON.stringify(key)})`;
    return new SymlinkSkippedError(`symlink ${JSON.stringify(linkKey)} → ${JSON.stringify(target)} ${reason}${via}`, { code: 'SymlinkNotFollowed' });
  }
}
