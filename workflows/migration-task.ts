/**
 * `migrationTask` (id `ferry-<name>/<round>/<n>`): copies one key range through `copyRange` batches until the
 * range is done, honouring pause/resume forwarded by the job, and signals its outcome to the job whatever
 * happens (the job's sliding window depends on it).
 */
import { proxyActivities, setHandler, condition, getExternalWorkflowHandle, workflowInfo, ApplicationFailure, log } from '@temporalio/workflow';
import type { FerryActivities } from '../activities';
import type { BatchResult, MultipartCheckpoint, TaskInput, TaskOutcome } from './types';
import { pauseSignal, resumeSignal, taskDoneSignal, taskProgressQuery } from './messages';
import { copyOptions } from './activity-options';
import { addCounters, emptyCounters } from '../common/progress';

const { copyRange } = proxyActivities<FerryActivities>(copyOptions);

export async function migrationTask(input: TaskInput): Promise<TaskOutcome> {
  const taskId = workflowInfo().workflowId;
  let paused = false;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  const outcome: TaskOutcome = { taskId, n: input.plan.n, round: input.round, objects: emptyCounters(), bytes: emptyCounters(), failures: [], throttleEvents: 0, partsResumed: 0 };
  setHandler(taskProgressQuery, () => outcome);
  let cursor = input.plan.range.startAfter;
  let uploads: Record<string, MultipartCheckpoint> | undefined;
  let doneAfterCursor: string[] | undefined;
  try {
    for (let batch = 0; ; batch++) {
      await condition(() => !paused);
      const r: BatchResult = await copyRange({
        job: input.job,
        runTag: input.runTag,
        taskId,
        parentId: input.parentId,
        round: input.round,
        n: input.plan.n,
        batch,
        range: input.plan.range,
        cursor,
        uploads,
        doneAfterCursor,
        limits: input.limits,
      });
      addCounters(outcome.objects, r.objects);
      addCounters(outcome.bytes, r.bytes);
      outcome.throttleEvents += r.throttleEvents;
      outcome.partsResumed += r.partsResumed;
      for (const f of r.failures) if (outcome.failures.length < 10) outcome.failures.push(f);
      cursor = r.cursor;
      uploads = r.uploads;
      doneAfterCursor = r.doneAfterCursor;
      if (r.done) break;
      // Paused mid-batch: wait for the forwarded resume (or re-check shortly if the pause signal is late).
      if (r.paused) await condition(() => !paused, '5s');
    }
  } catch (e) {
    outcome.error = e instanceof Error ? e.message : String(e);
    log.warn('task failed', { taskId, error: outcome.error });
  } finally {
    try {
      await getExternalWorkflowHandle(input.parentId).signal(taskDoneSignal, outcome);
    } catch (e) {
      // The job finished or was terminated: nobody is waiting for this outcome.
      log.info('job gone, outcome not delivered', { taskId, error: String(e) });
    }
  }
  if (outcome.error) throw ApplicationFailure.nonRetryable(outcome.error, 'TaskFailed');
  return outcome;
}
