/**
 * The state of one task's batch loop and the pure rules that update it, shared by the `migrationTask` child and
 * by a job that runs its only task itself. No Temporal imports: unit tests use it without a server. The state is
 * plain JSON so a job can carry it across continue-as-new.
 */
import { addArchiveCounts, addCounters, addVerifiedBy, emptyArchiveCounts, emptyCounters, emptyVerifiedBy } from '../common/progress';
import type { BatchResult, MultipartCheckpoint, TaskOutcome, TaskPlan } from '../common/contracts';

/** Failures a task keeps in its outcome (the full list is in the report location). */
export const MAX_TASK_FAILURES = 10;

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

/** A task before its first batch: empty counters, cursor at the start of its range. */
export function newTaskRun(taskId: string, plan: TaskPlan, round: number): TaskRun {
  return {
    plan,
    round,
    batch: 0,
    cursor: plan.range.startAfter,
    outcome: { taskId, n: plan.n, round, objects: emptyCounters(), bytes: emptyCounters(), failures: [], throttleEvents: 0, partsResumed: 0 },
  };
}

/** Adds a finished batch to the task's outcome (in place) and moves its resume point to where the batch stopped. */
export function addBatchResult(run: TaskRun, batch: BatchResult): void {
  const outcome = run.outcome;
  run.batch++;
  addCounters(outcome.objects, batch.objects);
  addCounters(outcome.bytes, batch.bytes);
  outcome.throttleEvents += batch.throttleEvents;
  outcome.partsResumed += batch.partsResumed;
  if (batch.verifiedBy) addVerifiedBy((outcome.verifiedBy ??= emptyVerifiedBy()), batch.verifiedBy);
  if (batch.archive) addArchiveCounts((outcome.archive ??= emptyArchiveCounts()), batch.archive);
  for (const failure of batch.failures) if (outcome.failures.length < MAX_TASK_FAILURES) outcome.failures.push(failure);
  run.cursor = batch.cursor;
  run.uploads = batch.uploads;
  run.doneAfterCursor = batch.doneAfterCursor;
}

/**
 * The text a task records for the error that ended it: the first failure along the cause chain that has a type
 * (the activity's error), as `type: message`, e.g. `UnexpectedError: list source in bucket b after "k09": …`. An
 * ActivityFailure's own message ("Activity task failed") names nothing.
 */
export function taskErrorText(e: unknown): string {
  let failure: unknown = e;
  for (let depth = 0; failure && depth < 6; depth++) {
    const { type, message, cause } = failure as { type?: unknown; message?: unknown; cause?: unknown };
    if (typeof type === 'string' && type && typeof message === 'string') return message.startsWith(type) ? message : `${type}: ${message}`;
    failure = cause;
  }
  return e instanceof Error ? e.message : String(e);
}
