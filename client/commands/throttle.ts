/**
 * `ferry throttle JOB --bandwidth 50MiB/s --objects-per-second 200 --concurrency N --tasks N`: executes the
 * `throttle` update and prints the limits in force. When no worker takes the update in time (none running),
 * the same change goes as the `throttle` signal, which applies as soon as a worker runs the job.
 */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobNameOf } from '../job-file';
import { hasWorkflowPollers, noWorkerAnswered, requireJob } from '../jobs';
import { withSession } from '../runner';
import { ExitCode, JobStateError, UsageError } from '../errors';
import type { ThrottleArgs } from '../../workflows/messages';
import type { JobProgress } from '../../common/progress';
import { errorMessage } from '../../common/errors';
import { formatBytes } from '../../common/units';

/** The update/signal argument from the flags: only what was given; null removes a limit. */
export function throttleArgs(opts: Pick<CliOptions, 'bandwidth' | 'objectsPerSecond' | 'concurrency' | 'tasks'>): ThrottleArgs {
  const a: ThrottleArgs = {};
  if (opts.bandwidth !== undefined) a.bandwidth = opts.bandwidth;
  if (opts.objectsPerSecond !== undefined) a.objectsPerSecond = opts.objectsPerSecond;
  if (opts.concurrency !== undefined) a.concurrency = opts.concurrency;
  if (opts.tasks !== undefined) a.tasks = opts.tasks;
  return a;
}

export function renderLimits(l: JobProgress['limits']): string {
  return `bandwidth ${l.bandwidth !== undefined && l.bandwidth !== null ? `${formatBytes(l.bandwidth)}/s` : 'unlimited'}, objects/s ${l.objectsPerSecond ?? 'unlimited'}, concurrency ${l.objects} objects per task, ${l.tasks} tasks`;
}

export async function throttleCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'throttle');
  const args = throttleArgs(opts);
  const say = info(io, opts.json);
  return withSession(opts, io, 'operate', async (s) => {
    const d = await requireJob(s.client, name);
    if (d.status !== 'RUNNING') throw new JobStateError(`job ${name} is not running (${d.status.toLowerCase()}): limits apply to running jobs; set them in the job file's throttle/concurrency for the next run`);
    const handle = s.client.workflow.getHandle(d.workflowId);
    const viaSignal = async () => {
      await handle.signal('throttle', args);
      if (opts.json) io.out(JSON.stringify({ workflowId: d.workflowId, applied: 'signal', args }, null, 2));
      else say(`No worker is running ${d.workflowId} right now; sent the change as the \`throttle\` signal: it applies as soon as a worker runs the job.`);
      return ExitCode.ok;
    };
    if (!(await hasWorkflowPollers(s.client, d.taskQueue).catch(() => true))) return viaSignal();
    let limits: JobProgress['limits'] | undefined;
    try {
      limits = await s.connection.withDeadline(Date.now() + 10_000, () => handle.executeUpdate<JobProgress['limits'], [ThrottleArgs]>('throttle', { args: [args] }));
    } catch (e) {
      const msg = errorMessage(e);
      const cause = errorMessage((e as { cause?: unknown }).cause ?? '');
      if (/must be|throttle /i.test(`${msg} ${cause}`) && !/deadline/i.test(msg)) throw new UsageError(`the job refused the new limits: ${cause || msg}`, 'throttle');
      if (!noWorkerAnswered(e)) throw e;
      return viaSignal();
    }
    if (opts.json) io.out(JSON.stringify({ workflowId: d.workflowId, applied: 'update', limits }, null, 2));
    else say(`Limits of ${d.workflowId} now: ${renderLimits(limits)} (every worker picks them up within seconds).`);
    return ExitCode.ok;
  });
}
