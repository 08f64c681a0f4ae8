/**
 * `ferry run JOB.yaml`: standalone mode — see {@link runJobHere}. `ferry run NAME` (a job that ran here before)
 * attaches to the running job, or runs it again with its last settings: how a detached `verify`,
 * `incremental` or `retry` run is resumed.
 */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { jobRef, readJobFile } from '../job-file';
import { describeJob, runInput } from '../jobs';
import { runJobHere } from '../runner';
import { JobStateError } from '../errors';

export async function runCommand(opts: CliOptions, io: Io): Promise<number> {
  const arg = opts.job!;
  const ref = jobRef(arg, 'run');
  const how = { allowAttach: true, verb: 'job', resumeHint: `Run \`ferry run ${arg}\` again to resume it.` };
  if (ref.kind === 'file') return runJobHere(readJobFile(ref.path), opts, io, how);
  return runJobHere(
    async (s) => {
      const d = await describeJob(s.client, ref.name);
      if (!d) throw new JobStateError(`no job named "${ref.name}" on this Temporal namespace: pass the job file (\`ferry run JOB.yaml\`)`);
      return (await runInput(s.client, d.workflowId, d.runId)).spec;
    },
    opts,
    io,
    how,
  );
}
