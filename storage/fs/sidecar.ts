/**
 * Sidecar files of the `fs` provider (job option `metadata.sidecar`): what an object store keeps with an object
 * besides its bytes (content type, standard headers, user metadata, tags) as one JSON file per object under
 * `<root>/.ferry-meta/`, so fs → S3 restores what S3 → fs carried. The walk never lists that directory and no key
 * can name it (keys.ts).
 *
 * A sidecar is named by the SHA-256 of its key (`.ferry-meta/ab/abcdef….json`), not by the key's path: a key
 * segment may already be 255 bytes long (no room for a suffix), and a file `a` beside a directory `a.json/` would
 * otherwise collide. The file holds its key, so it can be read without the hash.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ObjectInfo, WriteOptions } from '../provider';
import { FerryError } from '../../common/errors';
import { mapFsError } from './errors';
import { FS_META_DIR, type FsRoot } from './keys';
import type { StagedWrites } from './writes';

/** What a sidecar holds: the fields of {@link WriteOptions} an fs root cannot keep in the file itself. */
export type SidecarFields = Pick<ObjectInfo, 'contentType' | 'metadata' | 'headers' | 'tags'>;

interface SidecarFile extends SidecarFields {
  key: string;
}

/** The sidecar fields of a write (absent when it carries none). */
export function sidecarFieldsOf(opts: WriteOptions): SidecarFields | undefined {
  const f: SidecarFields = {
    ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
    ...(opts.headers && Object.keys(opts.headers).length ? { headers: { ...opts.headers } } : {}),
    ...(opts.metadata && Object.keys(opts.metadata).length ? { metadata: { ...opts.metadata } } : {}),
    ...(opts.tags && Object.keys(opts.tags).length ? { tags: { ...opts.tags } } : {}),
  };
  return Object.keys(f).length ? f : undefined;
}

/** The sidecar files of one root. */
export class Sidecars {
  constructor(
    private readonly root: FsRoot,
    private readonly writes: StagedWrites,
  ) {}

  /** Path of `key`'s sidecar. */
  pathOf(key: string): string {
    const h = createHash('sha256').update(key, 'utf8').digest('hex');
    return join(this.root.path, FS_META_DIR, h.slice(0, 2), `${h}.json`);
  }

  /** The fields kept for `key` (`{}` when it has no sidecar). Throws FerryError (`InvalidSidecar`) for an unreadable one. */
  async read(key: string): Promise<SidecarFields> {
    const path = this.pathOf(key);
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw mapFsError(e, `read sidecar of ${JSON.stringify(key)}`);
    }
    let file: SidecarFile;
    try {
      file = JSON.parse(text) as SidecarFile;
    } catch (e) {
      throw new FerryError(`sidecar ${path} of ${JSON.stringify(key)} is not valid JSON`, { code: 'InvalidSidecar', cause: e });
    }
    if (file.key !== key) return {}; // a SHA-256 collision is not a concern; a file put there by hand is not ours
    const { key: _, ...fields } = file;
    return fields;
  }

  /** Keeps `fields` for `key` (atomically: staged, then renamed); none removes its sidecar. */
  async write(key: string, fields: SidecarFields | undefined): Promise<void> {
    if (!fields) return this.remove(key);
    const path = this.pathOf(key);
    const body: SidecarFile = { key, ...fields };
    const { tmp } = await this.writes.writeTemp(Buffer.from(JSON.stringify(body)));
    try {
      await fsp.mkdir(dirname(path), { recursive: true });
      await fsp.rename(tmp, path);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, `write sidecar of ${JSON.stringify(key)}`);
    }
  }

  /** Removes `key`'s sidecar (none there: nothing to do). */
  async remove(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true }).catch((e) => {
      throw mapFsError(e, `remove sidecar of ${JSON.stringify(key)}`);
    });
  }
}
