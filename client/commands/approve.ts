/**
 * `ferry approve JOB`: a mirror job whose deletion set is over `mirror.maxDelete` waits before deleting. This shows
 * the set (count, bytes, first keys) and executes the job's `approve` update for exactly that set (its digest); when
 * no worker takes the update in time, the same approval goes as the `approve` signal. Exit codes as `ferry pause`.
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobNameOf } from '../job-file';
import { hasWorkflowPollers, noWorkerAnswered, queryProgress, requireJob, type JobExecution } from '../jobs';
import { withSession, type Session } from '../runner';
import { formatCount, mirrorStatusLines } from '../render';
import { ExitCode, JobStateError } from '../errors';
import type { MirrorSummary } from '../../common/progress';
import type { ApproveArgs } from '../../workflows/messages';
import { errorMessage } from '../../common/errors';
import { formatBytes } from '../../common/units';

/** Executes the `approve` or `reject` update, or sends the signal when no worker answers; `update` = the job's answer. */
export async function answerMirror(s: Session, name: string, d: JobExecution, handle: WorkflowHandle, action: 'approve' | 'reject', args: ApproveArgs[]): Promise<{ applied: 'update' | 'signal'; mirror?: MirrorSummary }> {
  if (await hasWorkflowPollers(s.client, d.taskQueue).catch(() => true)) {
    try {
      const mirror = await s.connection.withDeadline(Date.now() + 10_000, () =>
        args.length ? handle.executeUpdate<MirrorSummary, [ApproveArgs]>(action, { args: [args[0]!] }) : handle.executeUpdate<MirrorSummary, []>(action),
      );
      return { applied: 'update', mirror };
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) throw new JobStateError(`job ${name} refused \`${action}\`: ${errorMessage(e.cause ?? e)}`);
      if (!noWorkerAnswered(e)) throw e;
    }
  }
  await handle.signal(action, ...args);
  return { applied: 'signal' };
}

/** The running job, or a JobStateError naming its state. */
export async function runningJob(s: Session, name: string, action: string): Promise<JobExecution> {
  const d = await requireJob(s.client, name);
  if (d.status !== 'RUNNING') throw new JobStateError(`job ${name} is not running (${d.status.toLowerCase()}): nothing to ${action}`);
  return d;
}

export async function approveCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'approve');
  const say = info(io, opts.json);
  return withSession(opts, io, 'operate', async (s) => {
    const d = await runningJob(s, name, 'approve');
    const handle = s.client.workflow.getHandle(d.workflowId);
    const p = await queryProgress(s.client, handle, 8000);
    if (!p) throw new JobStateError(`job ${name} is running but no worker answered: start one (\`ferry run JOB.yaml\` or \`ferry worker\`), then approve the set it shows`);
    const m = p.mirror;
    if (m?.stage !== 'awaiting-approval' || !m.set) throw new JobStateError(`no deletion set of job ${name} awaits approval (phase ${p.phase}${m ? `, deletions ${m.stage}` : ''})`);
    const set = m.set;
    const answer = await answerMirror(s, name, d, handle, 'approve', [{ digest: set.digest }]);
    if (opts.json) {
      io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, action: 'approve', applied: answer.applied, set, ...(answer.mirror ? { mirror: answer.mirror } : {}) }, null, 2));
      return ExitCode.ok;
    }
    for (const line of mirrorStatusLines(name, m).slice(0, -1)) say(line);
    const what = `${formatCount(set.objects)} objects (${formatBytes(set.bytes)}), set ${set.digest.slice(0, 12)}`;
    say(
      answer.applied === 'update'
        ? `Approved: ${d.workflowId} deletes ${what} now; each deletion goes to deletions.jsonl in its report.`
        : `No worker is running ${d.workflowId} right now; sent the approval of ${what} as the \`approve\` signal: it deletes as soon as a worker runs the job.`,
    );
    return ExitCode.ok;
  });
}
