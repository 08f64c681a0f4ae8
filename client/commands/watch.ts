/** `ferry watch JOB`: live progress of a running job until it ends; exits with the job's code. */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { jobNameOf } from '../job-file';
import { outcomeOf, requireJob } from '../jobs';
import { followJob, reportOutcome, withSession } from '../runner';
import { ExitCode } from '../errors';

export async function watchCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'watch');
  return withSession(opts, io, 'operate', async (s) => {
    const d = await requireJob(s.client, name);
    const handle = s.client.workflow.getHandle(d.workflowId);
    if (d.status !== 'RUNNING') return reportOutcome(await outcomeOf(handle), io, opts.json);
    const end = await followJob(s.client, handle, io, { json: opts.json, intervalMs: opts.interval, signal: s.signal });
    if (end.kind === 'done') return reportOutcome(end.outcome, io, opts.json);
    if (end.kind === 'error') throw end.error;
    io.err(`Stopped watching; job ${name} keeps running.`);
    return ExitCode.interrupted;
  });
}
