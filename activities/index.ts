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
  };
}

export type FerryActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
