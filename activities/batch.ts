/**
 * The state of one batch attempt (`copyRange`) and the bookkeeping every part of the copy engine shares: counters,
 * failure records, the heartbeat with its resume cursor, and the list of copied objects awaiting their size check.
 */
import { Context } from '@temporalio/activity';
import type { ObjectInfo, ObjectProvider } from '../storage/provider';
import type { BatchCheckpoint, BatchInput } from '../common/contracts';
import type { ControlState } from '../workflows/messages';
import type { TokenBucket } from './throttle';
import type { FailureLog } from './failures';
import type { SharedParts } from './multipart';
import type { PlannedPages } from './range';
import { ferryMetrics, FerryMetric } from './metrics';
import { addCounters, addVerifiedBy, checkCounts, emptyVerifiedBy, type Check, type Counters, type FailureRecord } from '../common/progress';
import { errorClass, errorMessage } from '../common/errors';

/** Objects per window of a batch (one source LIST page). */
export const BATCH_OBJECTS = 1000;
/** A window stops listing once it holds this many bytes (at least one object). */
export const BATCH_BYTES = 2 * 1024 ** 3;
/** A batch takes on another window of its range while it has run for less than this. */
export const BATCH_SECONDS = 60;
/** Attempts per object inside a batch before it is recorded as failed. */
export const OBJECT_ATTEMPTS = 3;
const FAILURE_SAMPLE = 10;

/**
 * `restoring`: an archived object handed to a restore wait (activities/archive.ts), counted when that copies it.
 * `counted`: a key whose versions were counted one by one (activities/versions-copy.ts).
 */
export type Outcome = 'copied' | 'skipped' | 'kept' | 'failed' | 'excluded' | 'restoring' | 'counted';

/** Runtime state of one batch attempt. */
export interface Batch {
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
  /** Source keys copied and not yet size-checked → the checks made during their copy (none: size alone). */
  checksOf: Map<string, readonly Check[]>;
  /** Objects an earlier attempt copied and did not verify (from the checkpoint). */
  priorCopied: ObjectInfo[];
  /** Objects whose size check is running (see verifySizes); in the checkpoint's unverified list until it ends. */
  verifying: ObjectInfo[];
  lastBeat: number;
  /** Brings `checkpoint.doneAfterCursor` up to date; run before every heartbeat (O(batch), so not per object). */
  syncDone?: () => void;
  /** Multipart uploads in progress, oldest first, whose parts free lanes take (see SharedParts). */
  shared: SharedParts[];
  /** Planning's pages of this worker (listRange takes the job's instead of listing them again). */
  plannedPages: PlannedPages;
}

/** Raised inside a batch when the job is paused: in-flight transfers abort and the batch returns its cursor. */
export class PausedError extends Error {
  override readonly name = 'PausedError';
}

export const serverSide = (batch: Batch) => batch.src.endpointId === batch.dst.endpointId && batch.dst.capabilities.serverSideCopy && !!batch.dst.copyObject;

export function wantChecksums(batch: Batch): boolean {
  const mode = batch.input.job.verify;
  return mode === 'checksum' || mode === 'checksum-strict' || mode === 'content';
}

/** Counts one verified object (objects and bytes) and the checks it passed; `size` is always among them. */
export function countVerified(batch: Batch, size: number, checks: readonly Check[]): void {
  batch.checkpoint.objects.verified++;
  batch.checkpoint.bytes.verified += size;
  addVerifiedBy((batch.checkpoint.verifiedBy ??= emptyVerifiedBy()), checkCounts(new Set<Check>(['size', ...checks])));
}

export function beat(batch: Batch, force = false): void {
  const now = Date.now();
  if (!force && now - batch.lastBeat < 1000) return;
  batch.lastBeat = now;
  batch.syncDone?.();
  batch.checkpoint.copiedUnverified = unverifiedList(batch);
  Context.current().heartbeat(batch.checkpoint);
}

/** Counts an object's outcome; `checks`: what a skipped object was found in place by (size alone when absent). */
export function count(batch: Batch, outcome: Outcome, size: number, checks: readonly Check[] = []): void {
  const c: Partial<Counters> = {};
  const verifying = batch.input.job.verify !== 'none' || batch.input.job.mode === 'verify';
  switch (outcome) {
    case 'copied':
      c.copied = 1;
      break;
    case 'skipped':
      c.skipped = 1;
      // Retry rounds: `verified` counts only what this round copied (the job merges retry outcomes, see
      // migration-job.ts mergeRetry), so objects found in place are not verified twice.
      if (verifying && batch.input.round === 0) countVerified(batch, size, checks);
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
  addCounters(batch.checkpoint.objects, c);
  if (outcome === 'copied') {
    ferryMetrics.add(FerryMetric.objectsCopied, 1);
    ferryMetrics.add(FerryMetric.bytesCopied, size);
  } else if (outcome === 'skipped' || outcome === 'kept') ferryMetrics.add(FerryMetric.objectsSkipped, 1);
  const bytes: Partial<Counters> = {};
  for (const k of Object.keys(c) as (keyof Counters)[]) bytes[k] = size;
  addCounters(batch.checkpoint.bytes, bytes);
}

export function recordFailure(batch: Batch, o: ObjectInfo, err: unknown): void {
  const rec: FailureRecord = { key: o.key, size: o.size, errorClass: errorClass(err), message: errorMessage(err), task: batch.input.taskId };
  batch.failureCount++;
  ferryMetrics.add(FerryMetric.failures, 1, { class: rec.errorClass });
  if (batch.sample.length < FAILURE_SAMPLE) batch.sample.push(rec);
  batch.failures.add(rec, o.position);
}

/**
 * Remembers a copied object for the size verification after the batch; with `verify: none` nothing verifies it, so
 * nothing is kept (a batch copies up to a minute of objects: 10⁵ and more at synthetic speed).
 */
export function copied(batch: Batch, dstKey: string, o: ObjectInfo, checks: readonly Check[] = []): void {
  if (batch.input.job.verify === 'none') return;
  batch.copiedSizes.set(dstKey, o);
  if (checks.length) batch.checksOf.set(o.key, checks);
  else batch.checksOf.delete(o.key);
}

/** The checkpoint's list of copied, unverified objects: earlier attempts', those being checked and this window's, at most ~256 KiB of keys. */
function unverifiedList(batch: Batch): NonNullable<BatchCheckpoint['copiedUnverified']> {
  const out: NonNullable<BatchCheckpoint['copiedUnverified']> = [];
  let chars = 0;
  const add = (o: ObjectInfo) => {
    const checks = batch.checksOf.get(o.key)?.join(',');
    chars += o.key.length + (o.position === o.key && !checks ? 0 : o.position.length) + (checks?.length ?? 0);
    if (chars > 256 * 1024) return false;
    out.push(checks ? [o.key, o.size, o.position, checks] : o.position === o.key ? [o.key, o.size] : [o.key, o.size, o.position]);
    return true;
  };
  // Walks the two lists in place: this runs at every heartbeat, and a spread copy of a long batch's list each time
  // was garbage proportional to the batch.
  for (const o of batch.verifying) if (!add(o)) return out;
  for (const o of batch.priorCopied) if (!add(o)) return out;
  for (const o of batch.copiedSizes.values()) if (!add(o)) return out;
  return out;
}
