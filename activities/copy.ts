/**
 * `copyRange`: copies one batch of a task's key range (windows of ≤ 1000 objects or ~2 GiB, one after another for
 * up to a minute), with at most `limits.objects` transfers in flight, and heartbeats a resume cursor plus the parts
 * of large objects in progress, so a killed worker resumes after the last finished key and *inside* large objects.
 *
 * The engine, one job per file: batch.ts (state, counters, heartbeat), lanes.ts (the scheduler), transfer.ts (one
 * object), multipart.ts (parts), verify.ts (checks), source-read.ts (reading the source).
 */
import { Context } from '@temporalio/activity';
import type { BatchCheckpoint, BatchInput, BatchResult } from '../common/contracts';
import type { ActivityContext } from './context';
import { TokenBucket } from './throttle';
import { comparePositions } from './range';
import { FailureLog, jobReportRoot } from './failures';
import { runBatch } from './lanes';
import { jobSource } from './versions-copy';
import { recordStaleRows } from './inventory';
import { PausedError, beat, type Batch } from './batch';
import { ferryMetrics, FerryMetric } from './metrics';
import { checkUnchanged, readWhole } from './source-read';
import { SharedParts } from './multipart';
import { childSignal } from '../common/signals';
import { emptyCounters, type Check } from '../common/progress';

/** A batch heartbeats at least this often while it runs (well inside copyOptions.heartbeatTimeout). */
const HEARTBEAT_EVERY_MS = 5000;

/** Copies or verifies one batch. See the file comment. */
export async function copyRange(ctx: ActivityContext, input: BatchInput): Promise<BatchResult> {
  const actx = Context.current();
  const src = jobSource(ctx.provider(input.job.source), input.job);
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
  const failures = new FailureLog(jobReportRoot(ctx.reportDir, input.job), input.job.name, input.runTag, input.round, input.n, input.batch);
  if (resumed) await failures.truncateAfter(checkpoint.cursor, (x, y) => comparePositions(src, x, y), checkpoint.doneAfterCursor);
  const batch: Batch = {
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
    checksOf: priorChecks(checkpoint),
    priorCopied: (checkpoint.copiedUnverified ?? []).map(([key, size, position]) => ({ key, size, lastModified: 0, position: position ?? key })),
    verifying: [],
    lastBeat: 0,
    shared: [],
    plannedPages: ctx.plannedPages,
  };
  const unsubscribe = ctx.hub.subscribe(input.parentId, (state) => {
    batch.control = state;
    batch.bandwidth.setRate(state.bandwidthPerTask);
    batch.objectRate.setRate(state.objectsPerSecondPerTask);
    if (state.paused && !abort.signal.aborted) abort.abort(new PausedError());
  });
  ferryMetrics.add(FerryMetric.batchesInFlight, 1);
  // Beat on a timer too, not only when an object or part completes: one transfer can outlast the heartbeat
  // timeout (a 64 MiB single put under a 1 MiB/s limit), and a silent batch would be timed out and restarted
  // over and over. The checkpoint is only mutated synchronously, so it is consistent whenever the timer fires.
  const ticker = setInterval(() => beat(batch, true), HEARTBEAT_EVERY_MS);
  try {
    return await runBatch(batch);
  } finally {
    clearInterval(ticker);
    ferryMetrics.add(FerryMetric.batchesInFlight, -1);
    unsubscribe();
    recordStaleRows(jobReportRoot(ctx.reportDir, input.job), input, src, abort.signal);
    abort.release();
  }
}

/** The checks an earlier attempt made while copying the objects it left unverified, by source key. */
function priorChecks(checkpoint: BatchCheckpoint): Map<string, readonly Check[]> {
  const out = new Map<string, readonly Check[]>();
  for (const [key, , , checks] of checkpoint.copiedUnverified ?? []) if (checks) out.set(key, checks.split(',') as Check[]);
  return out;
}

/** Exported for unit tests. */
export const _internal = { checkUnchanged, readWhole, SharedParts };
