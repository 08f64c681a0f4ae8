/**
 * `scheduledRound`: one incremental round of a job, started by the Temporal Schedule that `ferry schedule`
 * creates (schedule id `ferry-<name>`). It runs the job (`migrationJob`, id `ferry-<name>`) as a child with
 * `filter.modifiedSince` = the start time of the previous *successful* round, minus a one-minute overlap
 * (INCREMENTAL_SINCE_MARGIN_MS: clock skew, cached listings), from visibility (see
 * activities/rounds.ts; rounds never overlap, the schedule skips a start while one runs). The first round
 * uses the job file's own filter (usually a full copy). A round whose job did not succeed fails, so the next round still
 * starts from the last good round and nothing that failed is skipped later.
 */
import { executeChild, proxyActivities, ApplicationFailure, ParentClosePolicy, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { FerryActivities } from '../activities';
import { preflightOptions } from './activity-options';
import { INCREMENTAL_SINCE_MARGIN_MS, jobWorkflowId, type JobSpec } from '../common/job';
import type { JobResult } from '../common/progress';
import { FerryJob, FerryPhase } from '../common/search-attributes';
import { migrationJob } from './migration-job';

const { lastRoundStart } = proxyActivities<FerryActivities>(preflightOptions);

export interface ScheduledRoundInput {
  spec: JobSpec;
}

/** The round's result; Temporal passes it to the next scheduled round. */
export interface ScheduledRoundResult {
  /** Workflow time when this round started (the next round uses this run's StartTime, a moment earlier). */
  roundStartedAt: number;
  /** The `modifiedSince` this round used (undefined = everything). */
  since?: number;
  result: JobResult;
}

export async function scheduledRound(input: ScheduledRoundInput): Promise<ScheduledRoundResult> {
  const roundStartedAt = Date.now();
  const previous = await lastRoundStart(input.spec.name);
  const since = previous !== undefined ? previous - INCREMENTAL_SINCE_MARGIN_MS : input.spec.filter.modifiedSince;
  const spec: JobSpec = { ...input.spec, filter: { ...input.spec.filter, ...(since !== undefined ? { modifiedSince: since } : {}) } };
  const result = await executeChild(migrationJob, {
    workflowId: jobWorkflowId(spec.name),
    args: [spec],
    // A round cut short (schedule deleted, round terminated) takes its job with it; the next round redoes it.
    parentClosePolicy: ParentClosePolicy.TERMINATE,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: FerryJob, value: spec.name },
      { key: FerryPhase, value: 'preflight' },
    ],
    staticSummary: `${spec.name}: scheduled incremental round${since !== undefined ? ` since ${new Date(since).toISOString()}` : ' (full)'}`.slice(0, 200),
  });
  if (result.status !== 'succeeded') {
    throw ApplicationFailure.nonRetryable(`round of ${spec.name} ended ${result.status}: ${result.objects.failed} object(s) failed; the next round starts again from ${since !== undefined ? new Date(since).toISOString() : 'the beginning'}`, 'RoundFailed', result);
  }
  return { roundStartedAt, since, result };
}
