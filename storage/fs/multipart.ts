/**
 * Multipart uploads of the `fs` provider, emulated: parts are files in `<root>/.ferry-uploads/mpu/<uploadId>/`
 * (so a killed worker resumes inside a large object), concatenated into a staged write on completion.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { UploadedPart } from '../provider';
import { NotFoundError, SizeMismatchError } from '../../common/errors';
import { mapFsError } from './errors';
import type { FsRoot } from './keys';
import type { StagedWrites } from './writes';

/** An upload in progress, as listMultipartUploads reports it. */
export interface FsUpload {
  key: string;
  uploadId: string;
  initiated: number;
}

/** Emulated multipart uploads under one root, committed through its staged writes. */
export class EmulatedMultipart {
  constructor(
    private readonly root: FsRoot,
    private readonly writes: StagedWrites,
  ) {}

  /** Starts an upload to `key`; returns its id. */
  async create(key: string): Promise<string> {
    this.root.pathOf(key);
    await this.writes.ensureRootForWrite();
    const uploadId = randomBytes(12).toString('hex');
    const dir = this.uploadDir(uploadId);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(join(dir, 'upload.json'), JSON.stringify({ key, initiated: Date.now() }));
    return uploadId;
  }

  /** Stores part `partNumber`. Throws SizeMismatchError when the body is not `size` bytes long. */
  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, signal?: AbortSignal): Promise<UploadedPart> {
    await this.checkUpload(key, uploadId);
    const { tmp, bytes } = await this.writes.writeTemp(body, signal);
    if (bytes !== size) {
      await fsp.rm(tmp, { force: true });
      throw new SizeMismatchError(`upload part ${partNumber} of ${JSON.stringify(key)}: expected ${size} bytes, got ${bytes}`);
    }
    await fsp.rename(tmp, this.partFile(uploadId, partNumber));
    return { partNumber, etag: `${partNumber}-${size}`, size };
  }

  /** Joins `parts` in part-number order into `key` and removes the upload. */
  async complete(key: string, uploadId: string, parts: UploadedPart[], signal?: AbortSignal): Promise<void> {
    await this.checkUpload(key, uploadId);
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const tmp = this.writes.tempPath();
    try {
      await this.concatenate(key, uploadId, sorted, tmp, signal);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(e, `complete ${JSON.stringify(key)}`);
    }
    await this.writes.commit(tmp, key);
    await fsp.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  /** Removes an upload and its parts. */
  async abort(uploadId: string): Promise<void> {
    await fsp.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  /** Uploads in progress whose key starts with `prefix`, by upload id. */
  async list(prefix = ''): Promise<FsUpload[]> {
    const base = this.root.internal('mpu');
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

  /** Writes the parts (sorted) one after another into `tmp`. Throws NotFoundError for a part missing or of the wrong size. */
  private async concatenate(key: string, uploadId: string, sorted: UploadedPart[], tmp: string, signal?: AbortSignal): Promise<void> {
    const out = createWriteStream(tmp);
    // One pipeline per part into the same stream (end: false) leaves an error and a close listener each until
    // the stream closes: expected, not a leak.
    out.setMaxListeners(2 * sorted.length + 10);
    for (const part of sorted) {
      const file = this.partFile(uploadId, part.partNumber);
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st || st.size !== part.size) throw new NotFoundError(`complete ${JSON.stringify(key)}: part ${part.partNumber} missing or of the wrong size`, { code: 'InvalidPart' });
      await pipeline(createReadStream(file), out, { end: false, signal });
    }
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  }

  /** Throws NotFoundError unless `uploadId` is an upload to `key`. */
  private async checkUpload(key: string, uploadId: string): Promise<void> {
    if ((await this.uploadKey(uploadId)) !== key) throw new NotFoundError(`upload ${uploadId} is not for ${JSON.stringify(key)}`);
  }

  private async uploadKey(uploadId: string): Promise<string> {
    try {
      return JSON.parse(await fsp.readFile(join(this.uploadDir(uploadId), 'upload.json'), 'utf8')).key as string;
    } catch (e) {
      throw new NotFoundError(`no such upload ${uploadId}`, { code: 'NoSuchUpload', cause: e });
    }
  }

  private partFile(uploadId: string, partNumber: number): string {
    return join(this.uploadDir(uploadId), `part-${String(partNumber).padStart(5, '0')}`);
  }

  /** Directory of an upload. Throws NotFoundError for an id this provider cannot have made. */
  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f]{24}$/.test(uploadId)) throw new NotFoundError(`no such upload ${JSON.stringify(uploadId)}`);
    return this.root.internal('mpu', uploadId);
  }
}
