/**
 * `ferry incremental JOB [--since T]`: a new run of the job that copies only objects modified at or after T
 * (default: when the previous run started — the cut-over recipe's "copy what changed since T1"). JOB is a job
 * name (the last run's settings are reused, read from its workflow input) or a job file.
 */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { jobRef, readJobFile } from '../job-file';
import { chainStartTime, describeJob, runInput } from '../jobs';
import { runJobHere, type Session } from '../runner';
import { JobStateError } from '../errors';
import type { JobSpec } from '../../common/job';
import { info } from '../io';
import { openProvider } from '../../storage/registry';
import { incrementalAfterReport } from '../../storage/inventory/incremental';

/** The job's settings and previous run: from the file when given, else from the last run's input. */
export async function previousRun(s: Session, arg: string, command: string): Promise<{ spec: JobSpec; previousStart?: number; previousStatus?: string }> {
  const ref = jobRef(arg, command);
  const fileSpec = ref.kind === 'file' ? readJobFile(ref.path) : undefined;
  const name = fileSpec?.name ?? (ref.kind === 'name' ? ref.name : '');
  const d = await describeJob(s.client, name);
  if (!d) {
    if (fileSpec) return { spec: fileSpec };
    throw new JobStateError(`no earlier run of job "${name}" on this Temporal namespace: pass the job file instead of the name (\`ferry ${command} JOB.yaml\`)`);
  }
  if (d.status === 'RUNNING') throw new JobStateError(`job ${name} is still running (${d.workflowId}): wait for it to finish (\`ferry watch ${name}\`) before a new run`);
  const spec = fileSpec ?? (await runInput(s.client, d.workflowId, d.runId)).spec;
  return { spec, previousStart: await chainStartTime(s.client, d), previousStatus: d.status };
}

export async function incrementalCommand(opts: CliOptions, io: Io): Promise<number> {
  const arg = opts.job!;
  if (jobRef(arg, 'incremental').kind === 'file') readJobFile(arg); // invalid file: exit 2 before any server starts
  const say = info(io, opts.json);
  return runJobHere(
    async (s) => {
      const prev = await previousRun(s, arg, 'incremental');
      // A source listed from an inventory is listed normally this time (storage/inventory/incremental.ts).
      const next = await incrementalAfterReport(prev.spec, { given: opts.since, previousStart: prev.previousStart }, (e) => openProvider(e, { env: io.env, credentialsFile: opts.credentials ?? (io.env.FERRY_CREDENTIALS_FILE || undefined) }));
      if (next.error) throw new JobStateError(next.error);
      if (next.note) say(next.note);
      const since = next.since;
      if (since === undefined) throw new JobStateError(`job ${prev.spec.name} has no earlier run to continue from: pass --since TIME (or run it once with \`ferry run\`)`);
      say(`Incremental run of ${prev.spec.name}: objects modified since ${new Date(since).toISOString()}${opts.since === undefined ? ' (when the previous run started)' : ''}.`);
      return { ...next.spec, filter: { ...next.spec.filter, modifiedSince: since } };
    },
    opts,
    io,
    { allowAttach: false, verb: 'incremental run', resumeHint: `Run \`ferry run ${arg}\` to resume it.` },
  );
}
