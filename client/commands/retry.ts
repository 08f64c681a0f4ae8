/**
 * `ferry retry JOB`: a new run of a finished job that copies only what is still missing or different.
 * Failed objects are already retried inside a run (`retries:` rounds of the failed tasks); this re-runs the
 * job with overwrite "if-different" ("always" is relaxed to it; "never"/"if-newer" stay), so both sides are
 * listed and only objects that are missing or differ are copied — in practice the ones that failed.
 */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { jobRef, readJobFile } from '../job-file';
import { runJobHere } from '../runner';
import { outcomeOf } from '../jobs';
import { jobWorkflowId } from '../../common/job';
import { previousRun } from './incremental';

export async function retryCommand(opts: CliOptions, io: Io): Promise<number> {
  const arg = opts.job!;
  if (jobRef(arg, 'retry').kind === 'file') readJobFile(arg);
  const say = info(io, opts.json);
  return runJobHere(
    async (s) => {
      const prev = await previousRun(s, arg, 'retry');
      if (prev.previousStatus) {
        const last = await outcomeOf(s.client.workflow.getHandle(jobWorkflowId(prev.spec.name)));
        const failed = last.result?.objects.failed;
        say(`Retrying ${prev.spec.name}: the last run ended ${last.result ? `${last.result.status}${failed ? ` with ${failed} failed object${failed === 1 ? '' : 's'}` : ''}` : prev.previousStatus.toLowerCase()}; copying what is missing or different.`);
      }
      return { ...prev.spec, mode: 'copy', overwrite: prev.spec.overwrite === 'always' ? 'if-different' : prev.spec.overwrite };
    },
    opts,
    io,
    { allowAttach: false, verb: 'retry', resumeHint: `Run \`ferry run ${arg}\` to resume it.` },
  );
}
