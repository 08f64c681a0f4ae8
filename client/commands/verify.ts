/** `ferry verify JOB.yaml`: the job file in mode verify (ossimport `jobType=audit`): compare, copy nothing. */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { readJobFile } from '../job-file';
import { runJobHere } from '../runner';

export async function verifyCommand(opts: CliOptions, io: Io): Promise<number> {
  const file = opts.job!;
  const spec = readJobFile(file, { mode: 'verify' });
  return runJobHere(spec, opts, io, {
    allowAttach: true,
    verb: 'verification',
    resumeHint: `Run \`ferry verify ${file}\` again to resume it.`,
  });
}
