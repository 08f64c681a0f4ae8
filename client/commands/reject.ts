/**
 * `ferry reject JOB`: a mirror job deletes nothing in this run. A set awaiting approval ends the job at once (the
 * report lists it as not deleted); a job still copying ends after its copy. Executes the `reject` update, or sends
 * the signal when no worker answers. Exit codes as `ferry pause`.
 */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobNameOf } from '../job-file';
import { withSession } from '../runner';
import { ExitCode } from '../errors';
import { answerMirror, runningJob } from './approve';

export async function rejectCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'reject');
  const say = info(io, opts.json);
  return withSession(opts, io, 'operate', async (s) => {
    const d = await runningJob(s, name, 'reject');
    const answer = await answerMirror(s, name, d, s.client.workflow.getHandle(d.workflowId), 'reject', []);
    if (opts.json) io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, action: 'reject', applied: answer.applied, ...(answer.mirror ? { mirror: answer.mirror } : {}) }, null, 2));
    else if (answer.applied === 'update') say(`Rejected: ${d.workflowId} deletes nothing in this run${answer.mirror?.set ? ` (${answer.mirror.set.objects} objects stay, listed in deletions.jsonl)` : ''}.`);
    else say(`No worker is running ${d.workflowId} right now; sent \`reject\` as a signal: the job deletes nothing once a worker runs it.`);
    return ExitCode.ok;
  });
}
