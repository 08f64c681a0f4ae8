/**
 * Multipart copies: parts as a shared queue that free lanes help with, completed parts kept in the heartbeat so a
 * new attempt resumes the same upload, and the whole-object CRC-64 combined from the parts.
 */
import { createHash } from 'node:crypto';
import type { ObjectInfo, UploadedPart } from '../storage/provider';
import type { MultipartCheckpoint } from '../common/contracts';
import { ThrottledTap } from './throttle';
import { isMd5Etag } from './range';
import { Crc64, combineCrc64Parts } from '../storage/checksum/crc64';
import { checkUnchanged, sourceRead, tapped } from './source-read';
import { beat, copied, serverSide, wantChecksums, type Batch } from './batch';
import { CopyChecks, settleChecks } from './checks';
import { headerMetadata } from '../common/metadata';
import { ensureMetadataKept } from './metadata-kept';
import { writeOptionsFor } from './write-options';
import { compareMetadata } from './metadata-verify';
import type { WriteOptions } from '../storage/provider';
import { ChecksumMismatchError, SizeMismatchError } from '../common/errors';

/**
 * At most this many lanes work on one object's parts. More streams on one object gain nothing once a few of them
 * fill the path, and every part in flight is progress a killed worker loses (rclone uploads 4 parts per file, s5cmd 5).
 */
export const PART_LANES = 8;
/** Heartbeat details must stay small: objects are cut into at most this many parts. */
const MAX_TRACKED_PARTS = 1000;

function partSizeFor(batch: Batch, size: number): number {
  const mp = batch.dst.capabilities.multipart!;
  const want = Math.max(batch.input.job.multipart.partSize, mp.minPartSize, Math.ceil(size / Math.min(mp.maxParts, MAX_TRACKED_PARTS)));
  return Math.min(want, mp.maxPartSize);
}

/**
 * The parts of one multipart upload that no lane has started yet. A lane that comes free takes parts of the oldest
 * upload in progress before it starts another object, so `limits.objects` bounds every transfer in flight (objects
 * and parts alike), one large object's parts spread over up to PART_LANES free lanes, and large objects finish one
 * after another rather than all at the end. (On versitygw, 8 × 256 MiB as 8 uploads at once with 4 parts each cost
 * 8.1–8.4 CPU-s of the server and 4.3–5.0 s; with 8 lanes taking parts in object order, 6.8–7.0 CPU-s and 3.9–4.1 s.)
 */
export class SharedParts {
  /** Lanes working on the upload, the owner's included. */
  private lanes = 1;
  private todo: number[] | undefined;
  private next = 0;
  private failure: { error: unknown } | undefined;
  private readonly runs: Promise<void>[] = [];
  private copyPart: (n: number) => Promise<void> = async () => undefined;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  /** `expected`: parts left to upload, known before the upload is created or resumed. */
  constructor(private readonly expected: number) {}

  /** Whether another lane can help: fewer than PART_LANES on it and parts left to start (before the upload exists: more parts than lanes). */
  get open(): boolean {
    if (this.failure || this.lanes >= PART_LANES) return false;
    return this.todo ? this.next < this.todo.length : this.lanes < this.expected;
  }

  /** The upload exists: lanes that joined meanwhile start taking `todo` too. */
  start(todo: number[], copyPart: (n: number) => Promise<void>): void {
    this.todo = todo;
    this.copyPart = copyPart;
    this.markReady();
  }

  /** The upload ended (or never started): lanes still waiting for it go back to their own work. */
  cancel(): void {
    this.todo ??= [];
    this.markReady();
  }

  /** A free lane takes parts until none is left to start. Never rejects: the owner reports a failure. */
  join(): Promise<void> {
    this.lanes++;
    // Once started, the lane takes its first part now, so the next free lane sees it taken.
    const run = this.todo ? this.take() : this.ready.then(() => this.take());
    this.runs.push(run);
    return run;
  }

  /** The owner's lane takes parts, then waits for every part other lanes took; throws the first part's failure. */
  async run(): Promise<void> {
    await this.take();
    await Promise.all(this.runs);
    if (this.failure) throw this.failure.error;
  }

  private async take(): Promise<void> {
    while (!this.failure && this.todo && this.next < this.todo.length) {
      const n = this.todo[this.next++]!;
      try {
        await this.copyPart(n);
      } catch (e) {
        this.failure ??= { error: e }; // no part starts after a failure; the object's retry resumes from the checkpoint
      }
    }
  }
}

/**
 * Multipart copy with ranged reads (or upload-part-copy on the same endpoint). Completed parts live in the
 * checkpoint, so a new attempt continues the same upload; a source that changed since starts over.
 */
export async function copyMultipart(batch: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, checkpoint } = batch;
  let up: MultipartCheckpoint | undefined = checkpoint.uploads[dstKey];
  const stale = !!up && (up.sourceSize !== o.size || (o.etag && up.sourceEtag && up.sourceEtag !== o.etag) || up.sourceModified !== o.lastModified);
  // Registered before the first await, so lanes that come free meanwhile join this upload rather than start
  // another object.
  const partSize = up && !stale ? up.partSize : partSizeFor(batch, o.size);
  const total = Math.max(1, Math.ceil(o.size / partSize));
  const shared = new SharedParts(total - (up && !stale ? up.parts.length : 0));
  batch.shared.push(shared);
  try {
    if (up && stale) {
      await dst.abortMultipart?.(dstKey, up.uploadId).catch(() => undefined);
      up = undefined;
    }
    const head = await sourceRead(() => src.stat(o.key, { signal: batch.signal }));
    checkUnchanged(o, head);
    // Before any write: createMultipart and finishMultipart's self-copy both send head.metadata.
    head.metadata = headerMetadata(o.key, head.metadata, dst.capabilities.metadata);
    const writeOpts = await writeOptionsFor(batch, o, head);
    if (!up) {
      // A killed attempt may have created an upload (and parts) after its last heartbeat reached the server
      // (heartbeats are throttled): this batch cannot resume it, so abort it rather than leave it orphaned.
      for (const orphan of (await dst.listMultipartUploads?.(dstKey, { signal: batch.signal })) ?? []) {
        if (orphan.key === dstKey) await dst.abortMultipart?.(dstKey, orphan.uploadId, { signal: batch.signal }).catch(() => undefined);
      }
      const uploadId = await dst.createMultipart!(dstKey, writeOpts);
      up = { uploadId, sourceEtag: o.etag, sourceSize: o.size, sourceModified: o.lastModified, partSize, parts: [] };
      checkpoint.uploads[dstKey] = up;
      beat(batch, true);
    }
    const u = up;
    const have = new Set(u.parts.map((p) => p.partNumber));
    checkpoint.partsResumed += have.size;
    const copyParts = serverSide(batch) && dst.capabilities.uploadPartCopy && !!dst.uploadPartCopy;
    const checksums = wantChecksums(batch);
    const copyPart = async (n: number) => {
      const start = (n - 1) * u.partSize;
      const end = Math.min(o.size, start + u.partSize) - 1;
      const size = end - start + 1;
      let part: UploadedPart;
      let crc: string | undefined;
      let md5Checked = false;
      if (copyParts) {
        part = await dst.uploadPartCopy!(dstKey, u.uploadId, n, { bucket: src.bucket, key: o.key, etag: o.etag }, { start, end }, { signal: batch.signal });
      } else {
        [part, crc] = await (async () => {
          const got = await sourceRead(() => src.get(o.key, { range: { start, end }, expectedSize: o.size, signal: batch.signal }));
          const md5 = checksums && dst.capabilities.etagIsMd5 ? createHash('md5') : undefined;
          const c64 = checksums ? new Crc64() : undefined;
          const tap = new ThrottledTap(batch.bandwidth, batch.signal, undefined, [md5, c64].filter((h) => h !== undefined));
          const uploaded = await dst.uploadPart!(dstKey, u.uploadId, n, tapped(got.body, tap), size, { signal: batch.signal });
          if (tap.bytes !== size) throw new SizeMismatchError(`part ${n}: read ${tap.bytes} of ${size} bytes`);
          md5Checked = !!md5 && isMd5Etag(uploaded.etag);
          if (md5Checked && uploaded.etag.toLowerCase() !== md5!.digest('hex')) throw new ChecksumMismatchError(`part ${n}: destination ETag differs from the MD5 of the bytes sent`);
          return [uploaded, c64?.toString()] as const;
        })();
      }
      u.parts.push({ partNumber: n, etag: part.etag, size, crc64: crc, ...(md5Checked ? { md5: true } : {}) });
      beat(batch, true);
    };
    shared.start(
      Array.from({ length: total }, (_, i) => i + 1).filter((n) => !have.has(n)),
      copyPart,
    );
    await shared.run();
    await finishMultipart(batch, o, dstKey, u, head, writeOpts);
  } finally {
    shared.cancel();
    batch.shared.splice(batch.shared.indexOf(shared), 1);
  }
}

/**
 * Completes a multipart upload whose parts are all uploaded, then checks and records the whole-object checksum.
 * `written`: what the upload was created with (write-options.ts), kept by any self-copy after it.
 */
async function finishMultipart(batch: Batch, o: ObjectInfo, dstKey: string, u: MultipartCheckpoint, head: ObjectInfo, written: WriteOptions): Promise<void> {
  const { dst, checkpoint } = batch;
  const parts = [...u.parts].sort((a, c) => a.partNumber - c.partNumber);
  const done = await dst.completeMultipart!(dstKey, u.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })), { signal: batch.signal });
  delete checkpoint.uploads[dstKey];
  beat(batch, true);
  await ensureMetadataKept(dst, dstKey, written, o.size, batch.signal);
  if (!wantChecksums(batch)) return copied(batch, dstKey, o);
  const checks = new CopyChecks();
  // Every part's ETag matched the MD5 of its bytes: the destination received each part intact.
  if (parts.every((p) => p.md5)) checks.destination('md5');
  // Whole-object checksum: the parts' CRC-64s combined (the bytes read), else the source's own.
  const read = parts.every((p) => p.crc64) ? combineCrc64Parts(parts.map((p) => ({ crc: p.crc64!, size: p.size }))) : undefined;
  const srcCrc = head.checksums?.crc64ecma;
  if (read && srcCrc) {
    if (srcCrc !== read) throw new ChecksumMismatchError(`source CRC-64 ${srcCrc} differs from the CRC-64 of the bytes read (${read})`);
    checks.source('crc64');
  }
  const expected = read ?? srcCrc;
  if (expected) await compareWholeCrc(batch, o, dstKey, written, { expected, recordable: !!read, reported: done.checksums?.crc64ecma }, checks);
  const made = await settleChecks(batch, o, dstKey, checks, expected ? { crc64: expected } : undefined);
  await compareMetadata(batch, o, dstKey, written);
  copied(batch, dstKey, o, made);
}

/**
 * The destination's whole-object CRC-64 against `expected` (from the completion answer, else a stat). A destination
 * that keeps none gets the bytes' CRC-64 in its metadata (server-side self-copy) when they passed through Ferry.
 */
async function compareWholeCrc(batch: Batch, o: ObjectInfo, dstKey: string, written: WriteOptions, crc: { expected: string; recordable: boolean; reported?: string }, checks: CopyChecks): Promise<void> {
  const { dst } = batch;
  if (dst.capabilities.checksums.includes('crc64ecma')) {
    const reported = crc.reported ?? (await dst.stat(dstKey, { signal: batch.signal })).checksums?.crc64ecma;
    if (!reported) return;
    if (reported !== crc.expected) throw new ChecksumMismatchError(`destination CRC-64 ${reported} differs from the source's ${crc.expected}`);
    checks.destination('crc64');
  } else if (crc.recordable && dst.capabilities.metadata && dst.copyObject && dst.capabilities.serverSideCopy && o.size <= dst.capabilities.maxServerSideCopy) {
    // Every field given again: a copy that replaces the metadata replaces headers, class and encryption with it.
    await dst.copyObject({ bucket: dst.bucket, key: dstKey }, dstKey, { ...written, contentType: written.contentType ?? 'application/octet-stream', metadata: { ...written.metadata, 'ferry-crc64ecma': crc.expected } });
  }
}
