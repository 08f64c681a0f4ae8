/**
 * Where the previous scheduled round of a job started: the `since` of the next round. Read from visibility
 * (the latest *completed* `scheduledRound` workflow tagged with the job's FerryJob search attribute), because
 * Temporal does not hand a schedule's last completion result to every started action (not to triggered ones).
 */
import type { Client } from '@temporalio/client';

export type LastRoundSource = (jobName: string) => Promise<number | undefined>;

/** The start time (ms) of the job's latest completed scheduled round, or undefined when none completed. */
export function visibilityLastRoundSource(client: Client): LastRoundSource {
  return async (jobName) => {
    let latest: number | undefined;
    const query = `WorkflowType = 'scheduledRound' AND FerryJob = '${jobName.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Completed'`;
    for await (const wf of client.workflow.list({ query })) {
      const t = wf.startTime.getTime();
      if (latest === undefined || t > latest) latest = t;
    }
    return latest;
  };
}
