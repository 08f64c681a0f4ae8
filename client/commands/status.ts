/**
 * `ferry status JOB`: a running job answers the `progress` query; a finished one shows its result.
 * Exit 0 while running or succeeded, 1 finished with failures, 3 failed.
 */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { jobNameOf } from '../job-file';
import { outcomeOf, queryProgress, requireJob } from '../jobs';
import { reportOutcome, withSession } from '../runner';
import { exitCodeForResult, renderStatus, summaryJson } from '../render';
import { ExitCode, JobStateError } from '../errors';

export async function statusCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'status');
  return withSession(opts, io, 'operate', async (s) => {
    const d = await requireJob(s.client, name);
    const handle = s.client.workflow.getHandle(d.workflowId);
    if (d.status === 'RUNNING') {
      const p = await queryProgress(s.client, handle, 8000);
      if (!p) {
        throw new JobStateError(
          `job ${name} is running (since ${d.startTime.toISOString()}) but no worker answered the progress query: start one — \`ferry run JOB.yaml\` (standalone) or \`ferry worker\` — and it continues where it stopped`,
        );
      }
      if (opts.json) io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, status: 'RUNNING', progress: p }, null, 2));
      else io.out(renderStatus(p, io.now(), d.workflowId));
      return ExitCode.ok;
    }
    const outcome = await outcomeOf(handle);
    if (opts.json) {
      if (!outcome.result) throw outcome.error;
      io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, status: d.status, closedAt: d.closeTime?.toISOString(), result: summaryJson(outcome.result) }, null, 2));
      return exitCodeForResult(outcome.result);
    }
    io.out(`Job ${name} (${d.workflowId}) finished${d.closeTime ? ` at ${d.closeTime.toISOString()}` : ''}:`);
    return reportOutcome(outcome, io, false);
  });
}
