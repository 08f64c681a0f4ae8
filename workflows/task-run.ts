/**
 * One task's batch loop — `copyRange` batches from the task's cursor until its range is done — shared by the
 * `migrationTask` child and by a job that runs its only task itself (see migration-job.ts). Its state and the
 * rules that update it are in task-state.ts.
 */
import { proxyActivities, condition, patched } from '@temporalio/workflow';
import { startRestoreWait } from './restore-wait';
import type { FerryActivities } from '../activities';
import type { JobSpec, Limits } from '../common/job';
import type { BatchResult } from '../common/contracts';
import { copyOptions } from './activity-options';
import { addBatchResult, type TaskRun } from './task-state';

const { copyRange } = proxyActivities<FerryActivities>(copyOptions);

export interface TaskRunContext {
  job: JobSpec;
  runTag: string;
  /** The job workflow: batches poll its `control` query for pause and limits. */
  parentId: string;
  limits: () => Limits;
  paused: () => boolean;
  /** Checked before each batch: true returns early (false) so the caller can continue-as-new. */
  stop?: () => boolean;
}

/** Runs batches until the range is done (true) or `stop` asks to break off (false). Batch failures throw. */
export async function runTaskBatches(run: TaskRun, context: TaskRunContext): Promise<boolean> {
  for (;;) {
    if (context.stop?.()) return false;
    await condition(() => !context.paused());
    const batchNumber = run.batch;
    const batch: BatchResult = await copyRange({
      job: context.job,
      runTag: context.runTag,
      taskId: run.outcome.taskId,
      parentId: context.parentId,
      round: run.round,
      n: run.plan.n,
      batch: run.batch,
      range: run.plan.range,
      cursor: run.cursor,
      uploads: run.uploads,
      doneAfterCursor: run.doneAfterCursor,
      limits: context.limits(),
    });
    addBatchResult(run, batch);
    // Archived objects the batch handed over wait for their restore in a child of their own (versioned: new in this release).
    if (batch.restoring?.length && patched('restore-wait')) {
      const wait = { job: context.job, runTag: context.runTag, parentId: context.parentId, round: run.round, n: run.plan.n, batch: batchNumber, limits: context.limits(), objects: batch.restoring };
      (run.outcome.restoreWaits ??= []).push(await startRestoreWait(wait));
    }
    if (batch.done) return true;
    // Paused mid-batch: wait for the resume (or re-check shortly if the pause signal is late).
    if (batch.paused) await condition(() => !context.paused(), '5s');
  }
}
