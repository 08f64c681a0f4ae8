/**
 * `restoreWait` (id `ferry-<name>/restore/<round>/<task>/<batch>`): the archived objects one batch handed over
 * (`archived: restore`), waited for on durable timers — 1, 2, 5, 15, 30 minutes, then hourly — across worker and
 * server restarts at no cost. After each timer `checkRestored` HEADs the pending objects (requesting a restore again
 * for one whose restored copy expired) and `copyRestored` copies the ready ones through the engine's per-object
 * copy. It gives up after RESTORE_GIVE_UP_MS (7 days): the objects left fail as ArchivedObject. Started by the task
 * with ABANDON, it reports to the job with `restoreDone`; the job does not finish before every wait has reported.
 * The pure rules are in restore-wait-state.ts.
 */
import {
  proxyActivities,
  sleep,
  workflowInfo,
  continueAsNew,
  startChild,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  log,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FerryActivities } from '../activities';
import type { RestoreWaitInput, RestoreWaitOutcome, RestoreWaitStarted } from '../common/contracts';
import { formatDuration } from '../common/units';
import { copyOptions } from './activity-options';
import { CHECKS_PER_RUN, RESTORE_CHECK_INTERVALS_MS, RESTORE_GIVE_UP_MS, addCopyResult, checkDelayMs, newRestoreWait, restoreWaitId, restoreWaitSummary, takeReady, timeLeftMs, type RestoreWaitState } from './restore-wait-state';

const { checkRestored, copyRestored } = proxyActivities<FerryActivities>(copyOptions);

/** Sent by a restore wait to its job when every object it held is copied or failed. */
export const restoreDoneSignal = defineSignal<[RestoreWaitOutcome]>('restoreDone');

export async function restoreWait(input: RestoreWaitInput, carried?: RestoreWaitState): Promise<RestoreWaitOutcome> {
  const id = workflowInfo().workflowId;
  const state = carried ?? newRestoreWait(id, input, Date.now());
  const archived = input.job.archived!;
  const restore = { days: archived.days, tier: archived.tier };
  const giveUpMs = archived.giveUpMs ?? RESTORE_GIVE_UP_MS;
  const copy = (objects: RestoreWaitState['pending'], giveUp?: string) =>
    copyRestored({ job: input.job, runTag: input.runTag, parentId: input.parentId, waitId: id, call: state.copyCalls++, round: input.round, n: input.n, limits: input.limits, objects, ...(giveUp ? { giveUp } : {}) });
  let checksThisRun = 0;
  while (state.pending.length) {
    const left = timeLeftMs(state, Date.now(), giveUpMs);
    if (left === 0) {
      const gaveUp = state.pending.splice(0);
      addCopyResult(state, gaveUp, await copy(gaveUp, `no restored copy after ${formatDuration(giveUpMs)} of waiting`));
      break;
    }
    await sleep(Math.min(left, checkDelayMs(state.checks, archived.checkIntervalsMs ?? RESTORE_CHECK_INTERVALS_MS)), { summary: `restore check ${state.checks + 1}: ${state.pending.length} object(s)` });
    state.checks++;
    const checked = await checkRestored({ job: input.job, restore, objects: state.pending });
    state.outcome.requests += checked.requests;
    const ready = takeReady(state, checked.ready);
    if (ready.length) addCopyResult(state, ready, await copy(ready));
    if (state.pending.length && (++checksThisRun >= CHECKS_PER_RUN || workflowInfo().continueAsNewSuggested)) {
      // The keys travel in the state; the input's copy of them is dropped.
      await continueAsNew<typeof restoreWait>({ ...input, objects: [] }, state);
    }
  }
  try {
    await getExternalWorkflowHandle(input.parentId).signal(restoreDoneSignal, state.outcome);
  } catch (e) {
    log.info('job gone, restore outcome not delivered', { id, error: String(e) });
  }
  return state.outcome;
}

/** Starts the restore wait of one batch's handover (ABANDON: it outlives the task); what the task's outcome records. */
export async function startRestoreWait(input: RestoreWaitInput): Promise<RestoreWaitStarted> {
  const workflowId = restoreWaitId(input.job.name, input.round, input.n, input.batch);
  try {
    await startChild(restoreWait, {
      workflowId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      staticSummary: restoreWaitSummary(input.job.name, input.objects),
    });
  } catch (e) {
    // Already running (started before a crash of this workflow task): it reports to the job when done.
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
  }
  return { id: workflowId, objects: input.objects.length, bytes: input.objects.reduce((n, o) => n + o.size, 0) };
}
