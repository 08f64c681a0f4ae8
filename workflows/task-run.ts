/**
 * One task's batch loop — `copyRange` batches from the task's cursor until its range is done — shared by the
 * `migrationTask` child and by a job that runs its only task itself (see migration-job.ts). The state is plain
 * JSON so a job can carry it across continue-as-new.
 */
import { proxyActivities, condition } from '@temporalio/workflow';
import type { FerryActivities } from '../activities';
import type { JobSpec, Limits } from '../common/job';
import type { BatchResult, MultipartCheckpoint, TaskOutcome, TaskPlan } from './types';
import { copyOptions } from './activity-options';
import { addCounters, emptyCounters } from '../common/progress';

const { copyRange } = proxyActivities<FerryActivities>(copyOptions);

/** Where a task is: the resume point for its next batch, and its counters so far (finished batches). */
export interface TaskRun {
  plan: TaskPlan;
  round: number;
  batch: number;
  cursor?: string;
  uploads?: Record<string, MultipartCheckpoint>;
  doneAfterCursor?: string[];
  outcome: TaskOutcome;
}

export function newTaskRun(taskId: string, plan: TaskPlan, round: number): TaskRun {
  return {
    plan,
    round,
    batch: 0,
    cursor: plan.range.startAfter,
    outcome: { taskId, n: plan.n, round, objects: emptyCounters(), bytes: emptyCounters(), failures: [], throttleEvents: 0, partsResumed: 0 },
  };
}

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
export async function runTaskBatches(run: TaskRun, c: TaskRunContext): Promise<boolean> {
  const outcome = run.outcome;
  for (;;) {
    if (c.stop?.()) return false;
    await condition(() => !c.paused());
    const r: BatchResult = await copyRange({
      job: c.job,
      runTag: c.runTag,
      taskId: outcome.taskId,
      parentId: c.parentId,
      round: run.round,
      n: run.plan.n,
      batch: run.batch,
      range: run.plan.range,
      cursor: run.cursor,
      uploads: run.uploads,
      doneAfterCursor: run.doneAfterCursor,
      limits: c.limits(),
    });
    run.batch++;
    addCounters(outcome.objects, r.objects);
    addCounters(outcome.bytes, r.bytes);
    outcome.throttleEvents += r.throttleEvents;
    outcome.partsResumed += r.partsResumed;
    for (const f of r.failures) if (outcome.failures.length < 10) outcome.failures.push(f);
    run.cursor = r.cursor;
    run.uploads = r.uploads;
    run.doneAfterCursor = r.doneAfterCursor;
    if (r.done) return true;
    // Paused mid-batch: wait for the resume (or re-check shortly if the pause signal is late).
    if (r.paused) await condition(() => !c.paused(), '5s');
  }
}
