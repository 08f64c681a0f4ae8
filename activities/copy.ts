/**
 * `copyRange`: copies one batch of a task's key range (windows of ≤ 1000 objects or ~2 GiB, one after another for
 * up to a minute, the next one begun while the current one's last transfers finish), with at most `limits.objects`
 * transfers in flight, and heartbeats a resume cursor plus the parts of large objects in progress, so a killed
 * worker resumes after the last finished key and *inside* large objects.
 *
 * Per object: filter → overwrite policy against the destination listing (one LIST per 1000 keys) → server-side
 * copy (same endpoint and credentials), streamed single put, or multipart with ranged reads → inline checksum
 * checks → after each window, size verification against a fresh destination listing. Per-object errors are
 * retried in place (3 attempts, back-off honouring Retry-After), then recorded as failures — never skipped.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { ObjectInfo, ObjectProvider, UploadedPart } from '../storage/provider';
import type { BatchCheckpoint, BatchInput, BatchResult, MultipartCheckpoint } from '../workflows/types';
import type { ControlState } from '../workflows/messages';
import type { ActivityContext } from './context';
import { TokenBucket, ThrottledTap } from './throttle';
import { Crc64, combineCrc64Parts } from '../storage/checksum/crc64';
import { comparePositions, destinationIndex, isMd5Etag, listRange, overwriteDecision } from './range';
import { FailureLog } from './failures';
import { heapGrowth } from './heap-growth';
import { forObject } from './guard';
import { compileFilter } from '../common/glob';
import { compareKeys, mapKey } from '../common/keys';
import { addCounters, emptyCounters, type Counters, type FailureRecord } from '../common/progress';
import { ferryMetrics, FerryMetric } from './metrics';
import { childSignal } from '../common/signals';
import { headerMetadata } from '../common/metadata';
import { BucketNotFoundError, ChecksumMismatchError, NotFoundError, ObjectTooLargeError, SizeMismatchError, SourceChangedError, ThrottledError, errorClass, errorMessage, isAbortError, isRetryable } from '../common/errors';

/** Objects per window of a batch (one source LIST page). */
export const BATCH_OBJECTS = 1000;
/** A window stops listing once it holds this many bytes (at least one object). */
export const BATCH_BYTES = 2 * 1024 ** 3;
/** A batch takes on another window of its range while it has run for less than this. */
export const BATCH_SECONDS = 60;
/** Attempts per object inside a batch before it is recorded as failed. */
export const OBJECT_ATTEMPTS = 3;
/**
 * At most this many lanes work on one object's parts. More streams on one object gain nothing once a few of them
 * fill the path, and every part in flight is progress a killed worker loses (rclone uploads 4 parts per file, s5cmd 5).
 */
export const PART_LANES = 8;
/** Objects up to this size are read whole, then written in one request write (a streamed copy's tap buffers as much). */
const BUFFERED_PUT_BYTES = 256 * 1024;
/**
 * Single puts of objects from this size on count as streamed transfers for the heap policy (activities/heap-growth.ts):
 * node gives every body this large a buffer of its own outside V8's heap (Buffer's shared pool takes smaller ones).
 */
export const HEAP_BODY_BYTES = 4 * 1024;
/** Heartbeat details must stay small: objects are cut into at most this many parts. */
const MAX_TRACKED_PARTS = 1000;
const FAILURE_SAMPLE = 10;
/** A batch heartbeats at least this often while it runs (well inside copyOptions.heartbeatTimeout). */
const HEARTBEAT_EVERY_MS = 5000;

type Outcome = 'copied' | 'skipped' | 'kept' | 'failed' | 'excluded';

/** Runtime state of one batch attempt. */
interface Batch {
  input: BatchInput;
  src: ObjectProvider;
  dst: ObjectProvider;
  signal: AbortSignal;
  bandwidth: TokenBucket;
  objectRate: TokenBucket;
  checkpoint: BatchCheckpoint;
  failures: FailureLog;
  sample: FailureRecord[];
  failureCount: number;
  control: ControlState | undefined;
  /** Destination keys copied in this attempt → the source object (for the post-batch size check). */
  copiedSizes: Map<string, ObjectInfo>;
  /** Objects an earlier attempt copied and did not verify (from the checkpoint). */
  priorCopied: ObjectInfo[];
  /** Objects whose size check is running (see verifySizes); in the checkpoint's unverified list until it ends. */
  verifying: ObjectInfo[];
  lastBeat: number;
  /** Brings `checkpoint.doneAfterCursor` up to date; run before every heartbeat (O(batch), so not per object). */
  syncDone?: () => void;
  /** Multipart uploads in progress, oldest first, whose parts free lanes take (see SharedParts). */
  shared: SharedParts[];
}

const serverSide = (b: Batch) => b.src.endpointId === b.dst.endpointId && b.dst.capabilities.serverSideCopy && !!b.dst.copyObject;

function beat(b: Batch, force = false): void {
  const now = Date.now();
  if (!force && now - b.lastBeat < 1000) return;
  b.lastBeat = now;
  b.syncDone?.();
  b.checkpoint.copiedUnverified = unverifiedList(b);
  Context.current().heartbeat(b.checkpoint);
}

/** Copies or verifies one batch. See the file comment. */
export async function copyRange(ctx: ActivityContext, input: BatchInput): Promise<BatchResult> {
  const actx = Context.current();
  const src = ctx.provider(input.job.source);
  const dst = ctx.provider(input.job.destination);
  const resumed = actx.info.attempt > 1 ? (actx.info.heartbeatDetails as BatchCheckpoint | undefined) : undefined;
  const checkpoint: BatchCheckpoint = resumed ?? {
    cursor: input.cursor,
    doneAfterCursor: input.doneAfterCursor ?? [],
    objects: emptyCounters(),
    bytes: emptyCounters(),
    uploads: input.uploads ?? {},
    failuresRecorded: 0,
    throttleEvents: 0,
    partsResumed: 0,
  };
  // Every transfer of the batch listens on this one signal (up to `limits.objects` at once).
  const abort = childSignal(AbortSignal.any([actx.cancellationSignal, ctx.strayAbort]), 10_000);
  const failures = new FailureLog(ctx.reportDir, input.job.name, input.runTag, input.round, input.n, input.batch);
  if (resumed) await failures.truncateAfter(checkpoint.cursor, (a, b) => comparePositions(src, a, b), checkpoint.doneAfterCursor);
  const b: Batch = {
    input,
    src,
    dst,
    signal: abort.signal,
    bandwidth: new TokenBucket(input.limits.bandwidth !== undefined ? input.limits.bandwidth / Math.max(1, input.limits.tasks) : undefined, 256 * 1024),
    objectRate: new TokenBucket(input.limits.objectsPerSecond !== undefined ? input.limits.objectsPerSecond / Math.max(1, input.limits.tasks) : undefined),
    checkpoint,
    failures,
    sample: [],
    failureCount: checkpoint.failuresRecorded,
    control: undefined,
    copiedSizes: new Map(),
    priorCopied: (checkpoint.copiedUnverified ?? []).map(([key, size, position]) => ({ key, size, lastModified: 0, position: position ?? key })),
    verifying: [],
    lastBeat: 0,
    shared: [],
  };
  const unsubscribe = ctx.hub.subscribe(input.parentId, (state) => {
    b.control = state;
    b.bandwidth.setRate(state.bandwidthPerTask);
    b.objectRate.setRate(state.objectsPerSecondPerTask);
    if (state.paused && !abort.signal.aborted) abort.abort(new PausedError());
  });
  ferryMetrics.add(FerryMetric.batchesInFlight, 1);
  // Beat on a timer too, not only when an object or part completes: one transfer can outlast the heartbeat
  // timeout (a 64 MiB single put under a 1 MiB/s limit), and a silent batch would be timed out and restarted
  // over and over. The checkpoint is only mutated synchronously, so it is consistent whenever the timer fires.
  const ticker = setInterval(() => beat(b, true), HEARTBEAT_EVERY_MS);
  try {
    return await runBatch(b);
  } finally {
    clearInterval(ticker);
    ferryMetrics.add(FerryMetric.batchesInFlight, -1);
    unsubscribe();
    abort.release();
  }
}

/** Raised inside a batch when the job is paused: in-flight transfers abort and the batch returns its cursor. */
class PausedError extends Error {
  override readonly name = 'PausedError';
}

/** One listed slice of the range (≤ BATCH_OBJECTS objects / BATCH_BYTES) with the destination's matching objects. */
interface Window {
  entries: ObjectInfo[];
  done: boolean;
  index: Map<string, ObjectInfo>;
  finished: boolean[];
  /** Entries handed to lanes so far. */
  next: number;
  /** Last entry of the window's finished prefix (-1: none); advanced while the window is the oldest one. */
  contiguous: number;
}

/**
 * Runs windows of the range until the range is done, the job pauses, or the batch has run for BATCH_SECONDS.
 * The next window is listed (and matched against the destination) while the current one copies, and lanes go on
 * into it while the current one's last transfers finish (two windows at most), so no lane waits for a listing or
 * for the slowest object of a window. A finished window's size check runs while later ones copy. A task costs one
 * activity (six history events) per minute rather than per 1,000 objects.
 */
async function runBatch(b: Batch): Promise<BatchResult> {
  const { input, src, dst, checkpoint } = b;
  const job = input.job;
  const started = Date.now();
  const verifyOnly = job.mode === 'verify';
  const needIndex = verifyOnly || job.overwrite !== 'always';
  const include = compileFilter(job.filter.include, job.filter.exclude);
  // Objects a previous attempt or paused batch finished out of order are not redone (nor counted again).
  const alreadyDone = new Set(checkpoint.doneAfterCursor);
  const fetchWindow = async (after: string | undefined): Promise<Window> => {
    const { entries, done } = await listRange(src, job.source.prefix, input.range, after, BATCH_OBJECTS, BATCH_BYTES, b.signal, job.name);
    const index = needIndex ? await destinationIndex(src, dst, job, entries, b.signal) : new Map<string, ObjectInfo>();
    return { entries, done, index, finished: entries.map((e) => alreadyDone.has(e.position)), next: 0, contiguous: -1 };
  };
  /** Oldest first; lanes take entries from the last one. */
  const windows: Window[] = [];
  /** The window after the last one, being listed (undefined: the batch takes on no further window). */
  let upcoming: Promise<Window> | undefined;
  const prefetch = (after: string | undefined) => {
    upcoming = fetchWindow(after);
    upcoming.catch(() => undefined); // awaited by a lane when used; a pause, an abort or the batch's end drops it
  };
  let rangeDone = false;
  let paused = false;
  /** A listing or size-check error: lanes take no more objects, and the batch throws it after its last heartbeat. */
  let failure: { error: unknown } | undefined;
  /** Lanes parked until the cursor moves, a window finishes, or the batch is paused or aborted (`wake`). */
  const waiting: (() => void)[] = [];
  const parked = () => new Promise<void>((resolve) => waiting.push(resolve));
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  // A window's copies are size-checked (one destination LIST per 1,000) while later ones copy, one check at a
  // time, with the activity's own signal: a pause aborts b.signal, and objects copied before it are verified too.
  const activitySignal = Context.current().cancellationSignal;
  let verifying: Promise<void> = Promise.resolve();
  const verifyCopied = (upTo?: string) => {
    if (job.verify === 'none' || verifyOnly) return;
    verifying = verifying.then(() => verifySizes(b, activitySignal, upTo));
    verifying.catch((error: unknown) => void (failure ??= { error }));
  };
  /** Moves the cursor over the finished prefix; a finished window is size-checked and dropped (room for the next). */
  const settle = () => {
    for (let w = windows[0]; w; w = windows[0]) {
      const from = w.contiguous;
      while (w.contiguous + 1 < w.entries.length && w.finished[w.contiguous + 1]) w.contiguous++;
      if (w.contiguous >= 0) checkpoint.cursor = w.entries[w.contiguous]!.position;
      if (w.contiguous > from) wake();
      if (w.contiguous < w.entries.length - 1) return;
      windows.shift();
      rangeDone = w.done;
      if (w.entries.length) verifyCopied(w.entries[w.entries.length - 1]!.position);
      checkpoint.failuresRecorded = b.failureCount;
      beat(b, true);
      wake();
    }
  };
  // The out-of-order list is rebuilt only when a heartbeat is sent (and before returning), not per object:
  // per completion it cost O(batch) — 10⁶ steps per 1,000-object batch.
  b.syncDone = () => {
    checkpoint.doneAfterCursor = windows.flatMap((w) => w.entries.filter((_, j) => j > w.contiguous && w.finished[j]).map((e) => e.position));
  };
  /**
   * The next entry of the last window, if one is left; 'wait' while a window's worth of entries after the cursor is
   * handed out already (the heartbeat lists the finished ones: a stuck object must not let that list grow). A lane
   * starts its transfer in the same turn, so a large object's parts are open (SharedParts) to the lanes that look next.
   */
  const takeNow = (): { w: Window; i: number } | 'wait' | undefined => {
    const w = windows[windows.length - 1];
    const ahead = windows.length > 1 ? windows[0]!.next - windows[0]!.contiguous - 1 + w!.next : w ? w.next - w.contiguous - 1 : 0;
    if (w && w.next < w.entries.length && ahead >= BATCH_OBJECTS) return 'wait';
    while (w && w.next < w.entries.length) {
      const i = w.next++;
      // All handed out: the batch takes on the next window only while it is young.
      if (w.next === w.entries.length && Date.now() - started >= BATCH_SECONDS * 1000) upcoming = undefined;
      if (!w.finished[i]) return { w, i };
    }
    return undefined;
  };
  /** Waits for the next window, or for room for it; false when none will come. */
  const awaitWindow = async (): Promise<boolean> => {
    const next = upcoming;
    if (!next) return false;
    if (windows.length >= 2) {
      await parked(); // until the oldest finishes
      return true;
    }
    try {
      const listed = await next;
      if (upcoming !== next) return true; // another lane took it on
      windows.push(listed);
      upcoming = undefined;
      if (!listed.done && listed.entries.length) prefetch(listed.entries[listed.entries.length - 1]!.position);
      settle();
    } catch (error) {
      if (!b.signal.aborted) failure ??= { error };
    }
    return true;
  };
  // Lanes: limits.objects of them, re-read as objects are handed out, so a throttle update changes the count at once.
  let active = 0;
  const running: Promise<void>[] = [];
  const wanted = () => Math.max(1, b.control?.objects ?? input.limits.objects);
  const staff = () => {
    while (active < wanted()) {
      active++;
      const l = lane();
      l.catch(() => undefined); // awaited below
      running.push(l);
    }
  };
  const lane = async () => {
    try {
      while (!paused && active <= wanted()) {
        // A free lane first takes parts of a large object in progress, the oldest first (see SharedParts).
        const shared = b.shared.find((s) => s.open);
        if (shared) {
          await shared.join();
          if (b.signal.aborted) {
            paused = b.signal.reason instanceof PausedError; // other aborts: runBatch throws the reason
            return;
          }
          continue;
        }
        if (b.signal.aborted) paused ||= b.signal.reason instanceof PausedError;
        if (paused || failure || b.signal.aborted) return;
        const t = takeNow();
        if (t === 'wait') {
          await parked(); // until the cursor moves
          continue;
        }
        if (!t) {
          if (await awaitWindow()) continue;
          return;
        }
        staff();
        const o = t.w.entries[t.i]!;
        try {
          const outcome = await forObject(o.key, () => processObject(b, o, t.w.index, include, verifyOnly));
          count(b, outcome, o.size);
          t.w.finished[t.i] = true;
          settle();
          beat(b);
        } catch (e) {
          if (e instanceof PausedError || (isAbortError(e) && b.signal.reason instanceof PausedError)) {
            paused = true;
            return;
          }
          throw e;
        }
      }
    } finally {
      active--;
    }
  };
  b.signal.addEventListener('abort', wake);
  try {
    prefetch(checkpoint.cursor);
    // Every lane even for a short window: lanes without an object of their own take parts of the large ones.
    staff();
    for (let n = 0; n < running.length; ) {
      const upTo = running.length;
      await Promise.all(running.slice(n, upTo));
      n = upTo;
    }
  } finally {
    b.signal.removeEventListener('abort', wake);
  }
  if (!paused && b.signal.aborted && !(b.signal.reason instanceof PausedError)) throw b.signal.reason;
  // What a pause or the batch's end left unchecked, a paused window's copies included.
  verifyCopied();
  await verifying.catch(() => undefined);
  checkpoint.failuresRecorded = b.failureCount;
  beat(b, true);
  if (failure) throw failure.error;
  const remainingUploads = Object.keys(checkpoint.uploads).length ? checkpoint.uploads : undefined;
  return {
    cursor: checkpoint.cursor,
    done: rangeDone && !windows.length && !paused,
    paused,
    objects: checkpoint.objects,
    bytes: checkpoint.bytes,
    failures: b.sample,
    failureCount: b.failureCount,
    throttleEvents: checkpoint.throttleEvents,
    partsResumed: checkpoint.partsResumed,
    uploads: paused ? remainingUploads : undefined,
    doneAfterCursor: checkpoint.doneAfterCursor.length ? checkpoint.doneAfterCursor : undefined,
  };
}

function count(b: Batch, outcome: Outcome, size: number): void {
  const c: Partial<Counters> = {};
  const verifying = b.input.job.verify !== 'none' || b.input.job.mode === 'verify';
  switch (outcome) {
    case 'copied':
      c.copied = 1;
      break;
    case 'skipped':
      c.skipped = 1;
      // Retry rounds: `verified` counts only what this round copied (the job merges retry outcomes, see
      // migration-job.ts mergeRetry), so objects found in place are not verified twice.
      if (verifying && b.input.round === 0) c.verified = 1;
      break;
    case 'kept':
      c.skipped = 1;
      break;
    case 'failed':
      c.failed = 1;
      break;
    case 'excluded':
      c.excluded = 1;
      break;
  }
  addCounters(b.checkpoint.objects, c);
  if (outcome === 'copied') {
    ferryMetrics.add(FerryMetric.objectsCopied, 1);
    ferryMetrics.add(FerryMetric.bytesCopied, size);
  } else if (outcome === 'skipped' || outcome === 'kept') ferryMetrics.add(FerryMetric.objectsSkipped, 1);
  const bytes: Partial<Counters> = {};
  for (const k of Object.keys(c) as (keyof Counters)[]) bytes[k] = size;
  addCounters(b.checkpoint.bytes, bytes);
}

function recordFailure(b: Batch, o: ObjectInfo, err: unknown): void {
  const rec: FailureRecord = { key: o.key, size: o.size, errorClass: errorClass(err), message: errorMessage(err), task: b.input.taskId };
  b.failureCount++;
  ferryMetrics.add(FerryMetric.failures, 1, { class: rec.errorClass });
  if (b.sample.length < FAILURE_SAMPLE) b.sample.push(rec);
  b.failures.add(rec, o.position);
}

/** Decides and performs the work for one source object; returns what happened. Per-object failures are recorded, not thrown. */
async function processObject(b: Batch, o: ObjectInfo, index: Map<string, ObjectInfo>, include: (k: string) => boolean, verifyOnly: boolean): Promise<Outcome> {
  const job = b.input.job;
  const rel = job.source.prefix && o.key.startsWith(job.source.prefix) ? o.key.slice(job.source.prefix.length) : o.key;
  if (!include(rel)) return 'excluded';
  // lastModified 0 = unknown (an http source without Last-Modified): never excluded by time.
  if (job.filter.modifiedSince !== undefined && o.lastModified > 0 && o.lastModified < job.filter.modifiedSince) return 'excluded';
  const dstKey = mapKey(o.key, job.source.prefix, job.destination.prefix);
  const existing = index.get(dstKey);
  for (let attempt = 1; ; attempt++) {
    try {
      if (b.objectRate.limit) await b.objectRate.take(1, b.signal);
      if (verifyOnly) {
        await verifyObject(b, o, dstKey, existing);
        return 'skipped';
      }
      const decision = overwriteDecision(job.overwrite, o, existing, b.src.capabilities.etagIsMd5, b.dst.capabilities.etagIsMd5);
      if (decision !== 'copy') return decision;
      ferryMetrics.add(FerryMetric.transfersInFlight, 1);
      try {
        await copyObject(b, o, dstKey);
      } finally {
        ferryMetrics.add(FerryMetric.transfersInFlight, -1);
      }
      return 'copied';
    } catch (e) {
      if (b.signal.aborted) throw b.signal.reason instanceof PausedError ? b.signal.reason : e;
      if (e instanceof ThrottledError) {
        b.checkpoint.throttleEvents++;
        ferryMetrics.add(FerryMetric.throttleEvents, 1);
      }
      if (attempt < OBJECT_ATTEMPTS && isRetryable(e)) {
        const base = e instanceof ThrottledError && e.retryAfterMs ? e.retryAfterMs : 500 * 2 ** attempt;
        await sleep(base * (0.75 + Math.random() * 0.5), undefined, { signal: b.signal }).catch(() => undefined);
        continue;
      }
      recordFailure(b, o, e);
      return 'failed';
    }
  }
}

/** Source reads of a listed object: not found now means it was deleted after listing. */
async function sourceRead<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof NotFoundError && !(e instanceof BucketNotFoundError)) throw new NotFoundError(`source object was deleted after listing: ${e.message}`, { code: 'DeletedAfterListing', cause: e });
    throw e;
  }
}

/** Rejects a GET whose object differs from the listed version (changed between listing and copy). */
function checkUnchanged(listed: ObjectInfo, got: ObjectInfo): void {
  const changed =
    got.size !== listed.size ||
    (listed.etag && got.etag && listed.etag !== got.etag) ||
    (listed.lastModified && got.lastModified && Math.abs(got.lastModified - listed.lastModified) >= 1000);
  if (changed) {
    throw new SourceChangedError(
      `source object changed after listing (listed size ${listed.size}, etag ${listed.etag ?? '-'}, modified ${new Date(listed.lastModified).toISOString()}; now size ${got.size}, etag ${got.etag ?? '-'})`,
    );
  }
}

function wantChecksums(b: Batch): boolean {
  return b.input.job.verify === 'checksum' || b.input.job.verify === 'content';
}

/**
 * A source body read through `tap`, with source errors passed on to it. An error that arrives after the writer
 * gave up on the stream (a short body whose connection then resets) is dropped, not thrown in the worker.
 */
function tapped(source: Readable, tap: ThrottledTap): ThrottledTap {
  source.on('error', (e) => {
    if (!tap.destroyed) tap.destroy(e);
  });
  tap.on('error', () => undefined);
  return source.pipe(tap);
}

/**
 * A source body of at most `size` + 1 bytes, whole (more than `size` stops reading: the size check then fails).
 * A body that breaks off rejects with its error.
 */
function readWhole(body: Readable, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let settled = false;
    const settle = (e?: unknown) => {
      if (settled) return;
      settled = true;
      if (e) reject(e);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n));
    };
    body.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n > size) {
        settle();
        body.destroy();
      }
    });
    body.once('end', () => settle());
    body.once('error', settle);
    body.once('close', () => settle(settled ? undefined : new Error(`source body ended after ${n} of ${size} bytes`)));
  });
}

async function copyObject(b: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, input } = b;
  dst.validateKey(dstKey);
  const mp = dst.capabilities.multipart;
  const maxSize = mp && dst.createMultipart ? mp.maxPartSize * mp.maxParts : dst.capabilities.maxSinglePut;
  if (o.size > maxSize) throw new ObjectTooLargeError(`${o.size} bytes is more than the destination can store (${maxSize})`);
  const useMultipart = !!mp && !!dst.createMultipart && (o.size >= input.job.multipart.threshold || o.size > dst.capabilities.maxSinglePut);
  if (serverSide(b) && o.size <= dst.capabilities.maxServerSideCopy && !useMultipart) {
    // Server-side copies count against the bandwidth limit too: operators throttle to spare the source.
    await b.bandwidth.take(o.size, b.signal);
    await dst.copyObject!({ bucket: src.bucket, key: o.key, etag: o.etag }, dstKey, { signal: b.signal });
    copied(b, dstKey, o);
    return;
  }
  if (useMultipart) return copyMultipart(b, o, dstKey);
  return o.size >= HEAP_BODY_BYTES ? heapGrowth.during(() => putObject(b, o, dstKey)) : putObject(b, o, dstKey);
}

/** Copies one object with a single GET and PUT: read whole when small, else streamed. */
async function putObject(b: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, input } = b;
  const small = o.size <= BUFFERED_PUT_BYTES;
  // A small object's bandwidth is taken before its GET: an open response must never wait on an abortable sleep
  // (a pause would abort it with its body unread).
  if (small) await b.bandwidth.take(o.size, b.signal);
  const got = await sourceRead(() => src.get(o.key, { signal: b.signal }));
  try {
    checkUnchanged(o, got.info);
    got.info.metadata = headerMetadata(o.key, got.info.metadata, dst.capabilities.metadata);
  } catch (e) {
    got.body.destroy();
    throw e;
  }
  const md5 = wantChecksums(b) && (dst.capabilities.etagIsMd5 || (src.capabilities.etagIsMd5 && isMd5Etag(o.etag))) ? createHash('md5') : undefined;
  let body: Readable | Buffer;
  let tap: ThrottledTap | undefined;
  if (small) {
    // Small objects are read whole and written in one request write: no stream stages between the two sockets.
    body = await readWhole(got.body, o.size);
    if (body.length !== o.size) throw new SizeMismatchError(`read ${body.length > o.size ? 'more than ' : ''}${body.length} bytes of ${o.size} from the source`);
    md5?.update(body);
  } else {
    tap = new ThrottledTap(b.bandwidth, b.signal, undefined, md5 ? [md5] : []);
    body = tapped(got.body, tap);
  }
  const res = await dst.put(dstKey, body, { size: o.size, contentType: got.info.contentType, metadata: got.info.metadata, signal: b.signal });
  if (tap && tap.bytes !== o.size) throw new SizeMismatchError(`read ${tap.bytes} bytes of ${o.size} from the source`);
  if (md5) {
    const sum = md5.digest('hex');
    if (src.capabilities.etagIsMd5 && isMd5Etag(o.etag) && o.etag.toLowerCase() !== sum) throw new ChecksumMismatchError(`source MD5 ${sum} differs from the source ETag ${o.etag}`);
    if (dst.capabilities.etagIsMd5 && isMd5Etag(res.etag) && res.etag.toLowerCase() !== sum) throw new ChecksumMismatchError(`destination ETag ${res.etag} differs from the MD5 of the bytes sent (${sum})`);
    if (input.job.verify === 'content') await compareContent(b, dstKey, sum);
  }
  copied(b, dstKey, o);
}

/** Re-reads the destination and compares its MD5 with the source's (verify: content). */
async function compareContent(b: Batch, dstKey: string, expectedMd5: string): Promise<void> {
  const got = await b.dst.get(dstKey, { signal: b.signal });
  const h = createHash('md5');
  await pipeline(got.body, async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) h.update(c);
    yield* [];
  });
  const sum = h.digest('hex');
  if (sum !== expectedMd5) throw new ChecksumMismatchError(`destination content MD5 ${sum} differs from the source's ${expectedMd5}`);
}

function partSizeFor(b: Batch, size: number): number {
  const mp = b.dst.capabilities.multipart!;
  const want = Math.max(b.input.job.multipart.partSize, mp.minPartSize, Math.ceil(size / Math.min(mp.maxParts, MAX_TRACKED_PARTS)));
  return Math.min(want, mp.maxPartSize);
}

/**
 * The parts of one multipart upload that no lane has started yet. A lane that comes free takes parts of the oldest
 * upload in progress before it starts another object, so `limits.objects` bounds every transfer in flight (objects
 * and parts alike), one large object's parts spread over up to PART_LANES free lanes, and large objects finish one
 * after another rather than all at the end. (On versitygw, 8 × 256 MiB as 8 uploads at once with 4 parts each cost
 * 8.1–8.4 CPU-s of the server and 4.3–5.0 s; with 8 lanes taking parts in object order, 6.8–7.0 CPU-s and 3.9–4.1 s.)
 */
class SharedParts {
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
async function copyMultipart(b: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, checkpoint } = b;
  let up: MultipartCheckpoint | undefined = checkpoint.uploads[dstKey];
  const stale = !!up && (up.sourceSize !== o.size || (o.etag && up.sourceEtag && up.sourceEtag !== o.etag) || up.sourceModified !== o.lastModified);
  // Registered before the first await, so lanes that come free meanwhile join this upload rather than start
  // another object.
  const partSize = up && !stale ? up.partSize : partSizeFor(b, o.size);
  const total = Math.max(1, Math.ceil(o.size / partSize));
  const shared = new SharedParts(total - (up && !stale ? up.parts.length : 0));
  b.shared.push(shared);
  try {
    if (up && stale) {
      await dst.abortMultipart?.(dstKey, up.uploadId).catch(() => undefined);
      up = undefined;
    }
    const head = await sourceRead(() => src.stat(o.key, { signal: b.signal }));
    checkUnchanged(o, head);
    // Before any write: createMultipart and finishMultipart's self-copy both send head.metadata.
    head.metadata = headerMetadata(o.key, head.metadata, dst.capabilities.metadata);
    if (!up) {
      // A killed attempt may have created an upload (and parts) after its last heartbeat reached the server
      // (heartbeats are throttled): this batch cannot resume it, so abort it rather than leave it orphaned.
      for (const orphan of (await dst.listMultipartUploads?.(dstKey, { signal: b.signal })) ?? []) {
        if (orphan.key === dstKey) await dst.abortMultipart?.(dstKey, orphan.uploadId, { signal: b.signal }).catch(() => undefined);
      }
      const uploadId = await dst.createMultipart!(dstKey, { contentType: head.contentType, metadata: head.metadata, signal: b.signal });
      up = { uploadId, sourceEtag: o.etag, sourceSize: o.size, sourceModified: o.lastModified, partSize, parts: [] };
      checkpoint.uploads[dstKey] = up;
      beat(b, true);
    }
    const u = up;
    const have = new Set(u.parts.map((p) => p.partNumber));
    checkpoint.partsResumed += have.size;
    const copyParts = serverSide(b) && dst.capabilities.uploadPartCopy && !!dst.uploadPartCopy;
    const checksums = wantChecksums(b);
    const copyPart = async (n: number) => {
      const start = (n - 1) * u.partSize;
      const end = Math.min(o.size, start + u.partSize) - 1;
      const size = end - start + 1;
      let part: UploadedPart;
      let crc: string | undefined;
      if (copyParts) {
        part = await dst.uploadPartCopy!(dstKey, u.uploadId, n, { bucket: src.bucket, key: o.key, etag: o.etag }, { start, end }, { signal: b.signal });
      } else {
        [part, crc] = await heapGrowth.during(async () => {
          const got = await sourceRead(() => src.get(o.key, { range: { start, end }, signal: b.signal }));
          const md5 = checksums && dst.capabilities.etagIsMd5 ? createHash('md5') : undefined;
          const c64 = checksums ? new Crc64() : undefined;
          const tap = new ThrottledTap(b.bandwidth, b.signal, undefined, [md5, c64].filter((h) => h !== undefined));
          const uploaded = await dst.uploadPart!(dstKey, u.uploadId, n, tapped(got.body, tap), size, { signal: b.signal });
          if (tap.bytes !== size) throw new SizeMismatchError(`part ${n}: read ${tap.bytes} of ${size} bytes`);
          if (md5 && isMd5Etag(uploaded.etag) && uploaded.etag.toLowerCase() !== md5.digest('hex')) throw new ChecksumMismatchError(`part ${n}: destination ETag differs from the MD5 of the bytes sent`);
          return [uploaded, c64?.toString()] as const;
        });
      }
      u.parts.push({ partNumber: n, etag: part.etag, size, crc64: crc });
      beat(b, true);
    };
    shared.start(
      Array.from({ length: total }, (_, i) => i + 1).filter((n) => !have.has(n)),
      copyPart,
    );
    await shared.run();
    await finishMultipart(b, o, dstKey, u, head);
  } finally {
    shared.cancel();
    b.shared.splice(b.shared.indexOf(shared), 1);
  }
}

/** Completes a multipart upload whose parts are all uploaded, then checks and records the whole-object checksum. */
async function finishMultipart(b: Batch, o: ObjectInfo, dstKey: string, u: MultipartCheckpoint, head: ObjectInfo): Promise<void> {
  const { dst, checkpoint } = b;
  const parts = [...u.parts].sort((a, c) => a.partNumber - c.partNumber);
  await dst.completeMultipart!(dstKey, u.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })), { signal: b.signal });
  delete checkpoint.uploads[dstKey];
  beat(b, true);
  // Whole-object checksum: combine the parts' CRC-64s; compare with the source's when it has one, and record
  // it in destination metadata (server-side self-copy) when the destination keeps no CRC-64 of its own.
  const whole = parts.every((p) => p.crc64) ? combineCrc64Parts(parts.map((p) => ({ crc: p.crc64!, size: p.size }))) : undefined;
  if (whole) {
    const srcCrc = head.checksums?.crc64ecma;
    if (srcCrc && srcCrc !== whole) throw new ChecksumMismatchError(`source CRC-64 ${srcCrc} differs from the CRC-64 of the bytes read (${whole})`);
    if (dst.capabilities.checksums.includes('crc64ecma')) {
      const d = await dst.stat(dstKey, { signal: b.signal });
      if (d.checksums?.crc64ecma && d.checksums.crc64ecma !== whole) throw new ChecksumMismatchError(`destination CRC-64 ${d.checksums.crc64ecma} differs from the source's ${whole}`);
    } else if (dst.capabilities.metadata && dst.copyObject && dst.capabilities.serverSideCopy && o.size <= dst.capabilities.maxServerSideCopy) {
      await dst.copyObject({ bucket: dst.bucket, key: dstKey }, dstKey, { contentType: head.contentType ?? 'application/octet-stream', metadata: { ...head.metadata, 'ferry-crc64ecma': whole }, signal: b.signal });
    }
  }
  copied(b, dstKey, o);
}

/** Verify-only jobs: compares one object with its destination copy by the job's verify mode. */
async function verifyObject(b: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined): Promise<void> {
  if (!existing) throw new NotFoundError(`missing at the destination (${dstKey})`, { code: 'MissingAtDestination' });
  if (existing.size !== o.size) throw new SizeMismatchError(`destination has ${existing.size} bytes, source ${o.size}`);
  const mode = b.input.job.verify;
  if (mode === 'none' || mode === 'size') return;
  if (mode === 'checksum' && b.src.capabilities.etagIsMd5 && b.dst.capabilities.etagIsMd5 && isMd5Etag(o.etag) && isMd5Etag(existing.etag)) {
    if (o.etag.toLowerCase() !== existing.etag.toLowerCase()) throw new ChecksumMismatchError(`ETag ${existing.etag} at the destination, ${o.etag} at the source`);
    return;
  }
  const digest = (p: ObjectProvider, key: string) => heapGrowth.during(async () => {
    const got = await p.get(key, { signal: b.signal });
    const h = new Crc64();
    const tap = new ThrottledTap(b.bandwidth, b.signal, undefined, [h]);
    await pipeline(got.body, tap, async function* (s: AsyncIterable<Buffer>) {
      for await (const _ of s) void _;
      yield* [];
    });
    return h.toString();
  });
  const [a, c] = await Promise.all([digest(b.src, o.key), digest(b.dst, dstKey)]);
  if (a !== c) throw new ChecksumMismatchError(`content differs: CRC-64 ${c} at the destination, ${a} at the source`);
}

/**
 * Remembers a copied object for the size verification after the batch; with `verify: none` nothing verifies it, so
 * nothing is kept (a batch copies up to a minute of objects: 10⁵ and more at synthetic speed).
 */
function copied(b: Batch, dstKey: string, o: ObjectInfo): void {
  if (b.input.job.verify !== 'none') b.copiedSizes.set(dstKey, o);
}

/** The checkpoint's list of copied, unverified objects: earlier attempts', those being checked and this window's, at most ~256 KiB of keys. */
function unverifiedList(b: Batch): NonNullable<BatchCheckpoint['copiedUnverified']> {
  const out: NonNullable<BatchCheckpoint['copiedUnverified']> = [];
  let chars = 0;
  const add = (o: ObjectInfo) => {
    chars += o.key.length + (o.position === o.key ? 0 : o.position.length);
    if (chars > 256 * 1024) return false;
    out.push(o.position === o.key ? [o.key, o.size] : [o.key, o.size, o.position]);
    return true;
  };
  // Walks the two lists in place: this runs at every heartbeat, and a spread copy of a long batch's list each time
  // was garbage proportional to the batch.
  for (const o of b.verifying) if (!add(o)) return out;
  for (const o of b.priorCopied) if (!add(o)) return out;
  for (const o of b.copiedSizes.values()) if (!add(o)) return out;
  return out;
}

/**
 * After a window: one destination LIST per 1,000 keys proves every object copied so far (by any attempt) up to
 * position `upTo` (all without it) is there with its size. Those objects move to `b.verifying` at once, so copies
 * made meanwhile, and those of the next window, wait for a later check.
 */
async function verifySizes(b: Batch, signal: AbortSignal, upTo?: string): Promise<void> {
  const seen = new Set<string>();
  const copied = b.priorCopied.filter((o) => !seen.has(o.key) && !!seen.add(o.key));
  for (const [dstKey, o] of b.copiedSizes) {
    if (upTo !== undefined && comparePositions(b.src, o.position, upTo) > 0) continue;
    b.copiedSizes.delete(dstKey);
    if (!seen.has(o.key) && !!seen.add(o.key)) copied.push(o);
  }
  b.priorCopied = [];
  if (!copied.length) return;
  b.verifying = copied;
  if (b.src.capabilities.order === 'key') copied.sort((x, y) => compareKeys(x.key, y.key));
  const index = await destinationIndex(b.src, b.dst, b.input.job, copied, signal);
  for (const o of copied) {
    const dstKey = mapKey(o.key, b.input.job.source.prefix, b.input.job.destination.prefix);
    const d = index.get(dstKey);
    const err = !d ? new NotFoundError(`copied object is missing at the destination (${dstKey})`, { code: 'MissingAfterCopy' }) : d.size !== o.size ? new SizeMismatchError(`destination has ${d.size} bytes after the copy, source ${o.size}`) : undefined;
    const c: Partial<Counters> = err ? { copied: -1, failed: 1 } : { verified: 1 };
    addCounters(b.checkpoint.objects, c);
    addCounters(b.checkpoint.bytes, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v! * o.size])));
    if (err) recordFailure(b, o, err);
  }
  // Synchronously with the counters above: no heartbeat may carry both the verified counts and the list.
  b.verifying = [];
}

/** Exported for unit tests. */
export const _internal = { checkUnchanged, readWhole, SharedParts };
