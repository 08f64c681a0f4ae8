/**
 * The activities of a restore wait (workflows/restore-wait.ts): `checkRestored` HEADs the objects it waits for (and
 * requests a restore again for one whose restored copy expired), `copyRestored` copies the ready ones through the
 * engine's per-object copy (transfer.ts: overwrite rules, checks, size verification, failures as for any batch).
 * Their failures go to `<run>/restore/<wait>/…/failures/*.jsonl`, which the report reads.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { ObjectInfo } from '../storage/provider';
import { needsRestore } from '../storage/provider';
import type { BatchCheckpoint, CheckRestoredInput, CheckRestoredResult, CopyRestoredInput, CopyRestoredResult } from '../common/contracts';
import { ArchivedObjectError, isRetryable } from '../common/errors';
import { emptyCounters } from '../common/progress';
import { childSignal } from '../common/signals';
import type { ActivityContext } from './context';
import { FailureLog, jobReportRoot, runReportDir } from './failures';
import { TokenBucket } from './throttle';
import { destinationIndex } from './range';
import { processObject } from './transfer';
import { verifySizes } from './verify';
import { beat, count, recordFailure, type Batch } from './batch';
import { forObject } from './guard';

/** HEADs at once while checking. */
const CHECK_CONCURRENCY = 16;

/** Runs `fn` over `items`, `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Which objects are readable now. One whose restored copy expired (or whose restore was never recorded) gets a new
 * restore request; one the HEAD cannot find, or that fails for good, counts as ready: its copy reports it.
 */
export async function checkRestored(ctx: ActivityContext, input: CheckRestoredInput): Promise<CheckRestoredResult> {
  const src = ctx.provider(input.job.source);
  const signal = AbortSignal.any([Context.current().cancellationSignal, ctx.strayAbort]);
  const ready: string[] = [];
  let requests = 0;
  await eachLimited(input.objects, CHECK_CONCURRENCY, async (o) => {
    try {
      const info = await src.stat(o.key, { signal });
      if (!needsRestore(info)) ready.push(o.key);
      else if (!info.restore && (await src.restore!(o.key, { ...input.restore, signal })) === 'requested') requests++;
    } catch (e) {
      if (signal.aborted) throw e;
      if (!isRetryable(e)) ready.push(o.key);
    }
    Context.current().heartbeat();
  });
  return { ready, requests };
}

/** Copies restored objects (or, with `giveUp`, records each as an ArchivedObject failure). */
export async function copyRestored(ctx: ActivityContext, input: CopyRestoredInput): Promise<CopyRestoredResult> {
  const actx = Context.current();
  const abort = childSignal(AbortSignal.any([actx.cancellationSignal, ctx.strayAbort]), 10_000);
  const runDir = runReportDir(jobReportRoot(ctx.reportDir, input.job), input.job.name, input.runTag);
  const failures = new FailureLog(join(runDir, 'restore'), input.waitId.replace(/[^\w.-]+/g, '_'), 'copies', input.round, input.n, input.call);
  await failures.truncateAfter(undefined, () => 0); // a retried attempt redoes every object
  const batch = restoreBatch(ctx, input, failures, abort.signal);
  const entries: ObjectInfo[] = input.objects.map((o) => ({ ...o }));
  const ticker = setInterval(() => beat(batch, true), 5000);
  try {
    if (input.giveUp) {
      for (const o of entries) {
        recordFailure(batch, o, new ArchivedObjectError(`${JSON.stringify(o.key)} is archived (storage class ${o.storageClass}): ${input.giveUp}`, { storageClass: o.storageClass }));
        count(batch, 'failed', o.size);
      }
    } else {
      const index = await destinationIndex(batch.src, batch.dst, input.job, entries, batch.signal);
      await eachLimited(entries, Math.max(1, input.limits.objects), async (o) => {
        const { outcome, checks } = await forObject(o.key, () => processObject(batch, o, index, () => true, false));
        count(batch, outcome, o.size, checks);
      });
      await verifySizes(batch, abort.signal);
    }
  } finally {
    clearInterval(ticker);
    abort.release();
  }
  const { checkpoint } = batch;
  return {
    objects: checkpoint.objects,
    bytes: checkpoint.bytes,
    ...(checkpoint.verifiedBy ? { verifiedBy: checkpoint.verifiedBy } : {}),
    failures: batch.sample,
    stillArchived: (checkpoint.restoring ?? []).map((o) => o.key),
    requests: checkpoint.archive?.requests ?? 0,
  };
}

/** The engine's batch state for one copy call of a restore wait (no listing, no cursor: the keys are given). */
function restoreBatch(ctx: ActivityContext, input: CopyRestoredInput, failures: FailureLog, signal: AbortSignal): Batch {
  const checkpoint: BatchCheckpoint = { doneAfterCursor: [], objects: emptyCounters(), bytes: emptyCounters(), uploads: {}, failuresRecorded: 0, throttleEvents: 0, partsResumed: 0 };
  const { limits } = input;
  return {
    // The wait's copies run as round 0 of its task: objects found in place count as verified, restores are requested.
    input: { job: input.job, runTag: input.runTag, taskId: input.waitId, parentId: input.parentId, round: 0, n: input.n, batch: input.call, range: { last: '' }, limits },
    src: ctx.provider(input.job.source),
    dst: ctx.provider(input.job.destination),
    signal,
    bandwidth: new TokenBucket(limits.bandwidth !== undefined ? limits.bandwidth / Math.max(1, limits.tasks) : undefined, 256 * 1024),
    objectRate: new TokenBucket(limits.objectsPerSecond !== undefined ? limits.objectsPerSecond / Math.max(1, limits.tasks) : undefined),
    checkpoint,
    failures,
    sample: [],
    failureCount: 0,
    control: undefined,
    copiedSizes: new Map(),
    checksOf: new Map(),
    priorCopied: [],
    verifying: [],
    lastBeat: 0,
    shared: [],
    plannedPages: ctx.plannedPages,
  };
}
