/**
 * A deliberately non-deterministic edit of the job workflow for the replay test: it schedules planning before
 * preflight, as an unguarded code change would. Replaying real histories against it must fail.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { FerryActivities } from '../../activities';
import type { JobSpec } from '../../common/job';
import { planOptions } from '../../workflows/activity-options';

const { planTasks, preflight } = proxyActivities<FerryActivities>(planOptions);

export async function migrationJob(spec: JobSpec): Promise<void> {
  await planTasks({ job: spec, firstTask: 0, maxTasks: 1 });
  await preflight(spec);
}

export { migrationTask } from '../../workflows/migration-task';
