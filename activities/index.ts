/**
 * `createActivities(deps)`: the activities the worker registers. Each is a thin wrapper that runs the
 * implementation in its file with the per-worker context (provider pool, report dir, live control); the
 * providers an execution opened are released when it ends.
 */
import type { ActivityDeps } from './context';
import { createActivityContext } from './context';
import { copyRange } from './copy';
import { planTasks, preflight } from './plan';
import { writeReport } from './report';
import { backToOriginOff, backToOriginOn } from './back-to-origin';
import { checkRestored, copyRestored } from './archive-restore';
import type { CheckRestoredInput, CopyRestoredInput } from '../common/contracts';
import { mirrorDiff } from './mirror';
import { mirrorDelete } from './mirror-delete';
import type { BackToOriginOffInput, BackToOriginOnInput, BatchInput, MirrorDeleteInput, MirrorDiffInput, PlanTasksInput, ReportInput } from '../common/contracts';
import type { JobSpec } from '../common/job';

export function createActivities(deps: ActivityDeps = {}) {
  const ctx = createActivityContext(deps);
  return {
    preflight: (job: JobSpec) => ctx.run((c) => preflight(c, job)),
    planTasks: (input: PlanTasksInput) => ctx.run((c) => planTasks(c, input)),
    copyRange: (input: BatchInput) => ctx.run((c) => copyRange(c, input)),
    writeReport: (input: ReportInput) => ctx.run((c) => writeReport(c, input)),
    backToOriginOn: (input: BackToOriginOnInput) => ctx.run((c) => backToOriginOn(c, input)),
    backToOriginOff: (input: BackToOriginOffInput) => ctx.run((c) => backToOriginOff(c, input)),
    checkRestored: (input: CheckRestoredInput) => ctx.run((c) => checkRestored(c, input)),
    copyRestored: (input: CopyRestoredInput) => ctx.run((c) => copyRestored(c, input)),
    mirrorDiff: (input: MirrorDiffInput) => ctx.run((c) => mirrorDiff(c, input)),
    mirrorDelete: (input: MirrorDeleteInput) => ctx.run((c) => mirrorDelete(c, input)),
    /** Start time (ms) of the job's latest completed scheduled round, if any. */
    lastRoundStart: async (jobName: string): Promise<number | undefined> => {
      if (!deps.lastRound) throw new Error('this worker has no Temporal client for scheduled rounds');
      return deps.lastRound(jobName);
    },
  };
}

export type FerryActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
