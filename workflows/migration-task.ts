/**
 * `migrationTask` (id `ferry-<name>/<round>/<n>`): copies one key range through `copyRange` batches until the
 * range is done, honouring pause/resume forwarded by the job, and signals its outcome to the job whatever
 * happens (the job's sliding window depends on it).
 */
import { setHandler, getExternalWorkflowHandle, workflowInfo, ApplicationFailure, log } from '@temporalio/workflow';
import type { TaskInput, TaskOutcome } from '../common/contracts';
import { pauseSignal, resumeSignal, taskDoneSignal, taskProgressQuery } from './messages';
import { runTaskBatches } from './task-run';
import { newTaskRun, taskErrorText } from './task-state';

export async function migrationTask(input: TaskInput): Promise<TaskOutcome> {
  const taskId = workflowInfo().workflowId;
  let paused = false;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  const run = newTaskRun(taskId, input.plan, input.round);
  const outcome = run.outcome;
  setHandler(taskProgressQuery, () => outcome);
  try {
    await runTaskBatches(run, { job: input.job, runTag: input.runTag, parentId: input.parentId, limits: () => input.limits, paused: () => paused });
  } catch (e) {
    outcome.error = taskErrorText(e);
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
