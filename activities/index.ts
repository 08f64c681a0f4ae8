/**
 * `createActivities(deps)`: the activities the worker registers. Each is a thin wrapper that binds the
 * per-worker context (provider cache, report dir, live control) to the implementation in its file.
 */
import type { ActivityDeps } from './context';
import { createActivityContext } from './context';
import { copyRange } from './copy';
import { planTasks, preflight } from './plan';
import { writeReport } from './report';
import type { BatchInput, PlanTasksInput, ReportInput } from '../workflows/types';
import type { JobSpec } from '../common/job';

export function createActivities(deps: ActivityDeps = {}) {
  const ctx = createActivityContext(deps);
  return {
    preflight: (job: JobSpec) => preflight(ctx, job),
    planTasks: (input: PlanTasksInput) => planTasks(ctx, input),
    copyRange: (input: BatchInput) => copyRange(ctx, input),
    writeReport: (input: ReportInput) => writeReport(ctx, input),
    /** Start time (ms) of the job's latest completed scheduled round, if any. */
    lastRoundStart: async (jobName: string): Promise<number | undefined> => {
      if (!deps.lastRound) throw new Error('this worker has no Temporal client for scheduled rounds');
      return deps.lastRound(jobName);
    },
  };
}

export type FerryActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
