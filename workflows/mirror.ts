/**
 * Mirror mode's step of the job workflow, after the copy: find the destination objects absent from the source
 * (`mirrorDiff`), wait for `approve`/`reject` when they are more than `mirror.maxDelete`, delete exactly the set
 * found (`mirrorDelete`). Only counts and a digest are in the workflow's state; the set itself is in the report
 * folder. The rules are in mirror-state.ts.
 */
import { ActivityFailure, ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FerryActivities } from '../activities';
import type { JobSpec } from '../common/job';
import type { JobPhase, MirrorSummary } from '../common/progress';
import type { MirrorDeleteResult } from '../common/contracts';
import { mirrorOptions } from './activity-options';
import { approveSignal, approveUpdate, rejectSignal, rejectUpdate, type ApproveArgs } from './messages';
import type { JobState } from './job-state';
import { MIRROR_PHASES, applyDeleteResult, applyDiff, approveMirror, initialMirror, mirrorBlocker, rejectMirror, skipMirror, validateApproval, validateRejection } from './mirror-state';

const { mirrorDiff, mirrorDelete } = proxyActivities<FerryActivities>(mirrorOptions);

/** What the mirror step needs of the job run. */
export interface MirrorHost {
  readonly spec: JobSpec;
  readonly state: JobState;
  setPhase(phase: JobPhase): void;
  refresh(): void;
  recordError(e: unknown, context?: string): void;
}

/** `approve` and `reject`, as Updates (validated) and as signals (an invalid one is logged and ignored). */
export function registerMirrorHandlers(job: MirrorHost): void {
  const mirror = () => (job.state.mirror ??= initialMirror());
  const approve = (): MirrorSummary => {
    approveMirror(mirror());
    job.refresh();
    return { ...mirror() };
  };
  const reject = (): MirrorSummary => {
    rejectMirror(mirror());
    job.refresh();
    return { ...mirror() };
  };
  setHandler(approveUpdate, approve, { validator: (args?: ApproveArgs) => validateApproval(job.spec, job.state.mirror, args) });
  setHandler(rejectUpdate, reject, { validator: () => validateRejection(job.spec, job.state.mirror) });
  setHandler(approveSignal, (args?: ApproveArgs) => {
    try {
      validateApproval(job.spec, job.state.mirror, args);
      approve();
    } catch (e) {
      log.warn('ignored approve signal', { error: String(e) });
    }
  });
  setHandler(rejectSignal, () => {
    try {
      validateRejection(job.spec, job.state.mirror);
      reject();
    } catch (e) {
      log.warn('ignored reject signal', { error: String(e) });
    }
  });
}

function enter(job: MirrorHost, m: MirrorSummary, stage: MirrorSummary['stage']): void {
  m.stage = stage;
  const phase = MIRROR_PHASES[stage];
  if (phase) job.setPhase(phase);
  job.refresh();
}

/**
 * Runs the step: guards, diff, the wait for a decision when over the limit, deletions. A listing that fails or a
 * set that changed after approval fails the job (recorded error) having deleted nothing more.
 */
export async function runMirror(job: MirrorHost): Promise<void> {
  const m = (job.state.mirror ??= initialMirror());
  if (m.stage === 'rejected') return;
  const blocker = mirrorBlocker(job.state);
  if (blocker) return skipMirror(m, 'skipped', blocker);
  const input = { job: job.spec, runTag: job.state.runTag };
  enter(job, m, 'diffing');
  let next: ReturnType<typeof applyDiff>;
  try {
    next = applyDiff(m, await mirrorDiff(input), job.spec);
  } catch (e) {
    if (!(e instanceof ActivityFailure)) throw e;
    skipMirror(m, 'failed', 'listing for the deletion set failed: deleting nothing');
    return job.recordError(e, 'mirror: listing for the deletion set failed, nothing was deleted: ');
  }
  if (next === 'none') return job.refresh();
  if (next === 'wait') {
    enter(job, m, 'awaiting-approval');
    await condition(() => m.stage !== 'awaiting-approval');
    if (m.stage !== 'deleting') return job.refresh(); // rejected
  }
  enter(job, m, 'deleting');
  try {
    applyDeleteResult(m, await mirrorDelete({ ...input, approved: m.set! }));
  } catch (e) {
    if (!(e instanceof ActivityFailure)) throw e;
    // A set that changed reports what earlier attempts deleted before it was noticed.
    const done = e.cause instanceof ApplicationFailure ? (e.cause.details?.[0] as MirrorDeleteResult | undefined) : undefined;
    if (done) applyDeleteResult(m, done);
    skipMirror(m, 'failed', 'the deletions stopped (see the error)');
    job.recordError(e, 'mirror: ');
  }
  job.refresh();
}
