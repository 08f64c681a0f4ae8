/** `ferry pause JOB`: the `pause` signal — no new copies start; in-flight batches stop and keep their position. */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobNameOf } from '../job-file';
import { requireJob } from '../jobs';
import { withSession } from '../runner';
import { ExitCode, JobStateError } from '../errors';

/** Sends `pause` or `resume` to a running job. */
export async function sendControlSignal(opts: CliOptions, io: Io, signal: 'pause' | 'resume'): Promise<number> {
  const name = jobNameOf(opts.job!, signal);
  const say = info(io, opts.json);
  return withSession(opts, io, 'operate', async (s) => {
    const d = await requireJob(s.client, name);
    if (d.status !== 'RUNNING') throw new JobStateError(`job ${name} is not running (${d.status.toLowerCase()}): nothing to ${signal}`);
    await s.client.workflow.getHandle(d.workflowId).signal(signal);
    if (opts.json) io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, signal, paused: signal === 'pause' }, null, 2));
    else if (signal === 'pause') say(`Paused ${d.workflowId}: no new copies start; in-flight batches stop and keep their position. \`ferry resume ${name}\` continues.`);
    else say(`Resumed ${d.workflowId}: copying continues where it stopped.`);
    return ExitCode.ok;
  });
}

export function pauseCommand(opts: CliOptions, io: Io): Promise<number> {
  return sendControlSignal(opts, io, 'pause');
}
