/**
 * Key ↔ path rules of the `fs` provider: which keys can be files under the root (a key never reaches outside it),
 * where a key's file lives, and whether a real path stays under the real root.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { keyByteLength } from '../../common/keys';
import { BucketNotFoundError, InvalidKeyError } from '../../common/errors';
import { mapFsError } from './errors';

/** Reserved top-level directory for temp files and multipart parts; never listed, never a key. */
export const FS_INTERNAL_DIR = '.ferry-uploads';
/** Reserved top-level directory for sidecar files (sidecar.ts); never listed, never a key. */
export const FS_META_DIR = '.ferry-meta';
const MAX_NAME_BYTES = 255;

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
  for (const segment of segments) {
    if (segment === '') bad('empty path segment ("//")');
    if (segment === '..') bad('".." segment would escape the root');
    if (segment === '.') bad('"." segment');
    if (keyByteLength(segment) > MAX_NAME_BYTES) bad(`path segment longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (segments[0] === FS_INTERNAL_DIR) bad(`"${FS_INTERNAL_DIR}/" is reserved for Ferry's temp files`);
  if (segments[0] === FS_META_DIR) bad(`"${FS_META_DIR}/" is reserved for Ferry's sidecar files`);
}

/** One root directory: where keys live under it, and its real path once resolved. */
export class FsRoot {
  /** The root as configured, made absolute (the provider's bucket). */
  readonly path: string;
  private real: string | undefined;

  constructor(root: string) {
    this.path = resolve(root);
  }

  /** The real root if already resolved (by realPath); undefined before. */
  get realKnown(): string | undefined {
    return this.real;
  }

  /** Path of `key` under the root. Throws InvalidKeyError when the key cannot be one (see validateFsKey). */
  pathOf(key: string): string {
    validateFsKey(key);
    return this.joinKey(key);
  }

  /** Path under the root of `key`, or of a directory on the way to it, without checking the key. */
  joinKey(key: string): string {
    return join(this.path, ...key.split('/'));
  }

  /** Path of Ferry's own directory `sub` (under FS_INTERNAL_DIR). */
  internal(...sub: string[]): string {
    return join(this.path, FS_INTERNAL_DIR, ...sub);
  }

  /** The real root, resolved once. Throws BucketNotFoundError when the root does not exist. */
  async realPath(): Promise<string> {
    if (this.real) return this.real;
    try {
      this.real = await fsp.realpath(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BucketNotFoundError(`fs root ${this.path} does not exist`, { code: 'ENOENT' });
      throw mapFsError(e, `fs root ${this.path}`);
    }
    return this.real;
  }

  /** Whether a real path lies under the real root (resolved before) and outside Ferry's own directory there. */
  holds(real: string): boolean {
    const root = this.real!;
    const under = (dir: string) => real === dir || real.startsWith(dir.endsWith(sep) ? dir : dir + sep);
    return under(root) && !under(join(root, FS_INTERNAL_DIR)) && !under(join(root, FS_META_DIR));
  }
}
