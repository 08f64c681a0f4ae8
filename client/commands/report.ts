/**
 * `ferry report JOB`: the report of the job's last finished run — the summary, the report folder
 * (`summary.txt`, `report.json`, `failures.jsonl`) (the failure list: key, size, error class, message, task; the first
 * `--failures N` printed). The report folder lives where the worker that finished the job wrote it.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { jobNameOf } from '../job-file';
import { outcomeOf, requireJob } from '../jobs';
import { withSession } from '../runner';
import { renderSummary, summaryJson } from '../render';
import { ExitCode, JobStateError } from '../errors';
import type { FailureRecord } from '../../common/progress';
import { formatBytes } from '../../common/units';

/** Reads the first `limit` failures of a failures.jsonl and counts them all (streaming: the list can be huge). */
export async function readFailures(file: string, limit: number): Promise<{ count: number; first: FailureRecord[] }> {
  const first: FailureRecord[] = [];
  let count = 0;
  if (!existsSync(file)) return { count, first };
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    count++;
    if (first.length < limit) {
      try {
        first.push(JSON.parse(line) as FailureRecord);
      } catch {
        first.push({ key: line, size: 0, errorClass: 'Unparsable', message: 'line of failures.jsonl is not JSON', task: '' });
      }
    }
  }
  return { count, first };
}

export async function reportCommand(opts: CliOptions, io: Io): Promise<number> {
  const name = jobNameOf(opts.job!, 'report');
  const limit = opts.failures ?? 20;
  return withSession(opts, io, 'operate', async (s) => {
    const d = await requireJob(s.client, name);
    if (d.status === 'RUNNING') throw new JobStateError(`job ${name} is still running: its report is written when it ends (\`ferry status ${name}\` shows progress and recent failures)`);
    const outcome = await outcomeOf(s.client.workflow.getHandle(d.workflowId));
    if (!outcome.result) throw outcome.error ?? new JobStateError(`job ${name} ended without a result`);
    const result = outcome.result;
    const dir = result.reportPath;
    if (!dir) throw new JobStateError(`job ${name} (${result.status}) recorded no report location: the report could not be written (see the worker's log)`);
    const summaryFile = join(dir, 'summary.txt');
    const failuresFile = join(dir, 'failures.jsonl');
    const local = existsSync(summaryFile);
    const failures = local ? await readFailures(failuresFile, limit) : { count: result.objects.failed, first: [] };
    if (opts.json) {
      const reportJson = local && existsSync(join(dir, 'report.json')) ? (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as unknown) : undefined;
      io.out(JSON.stringify({ workflowId: d.workflowId, runId: d.runId, reportPath: dir, local, result: summaryJson(result), report: reportJson, failuresFile, failures: failures.count, firstFailures: failures.first }, null, 2));
      return ExitCode.ok;
    }
    io.out(renderSummary(result));
    if (!local) {
      io.out(`The report folder ${dir} is on the machine of the worker that finished the job (not readable here).`);
      return ExitCode.ok;
    }
    io.out(`Report folder:`);
    io.out(`  summary.txt     the summary as text`);
    io.out(`  report.json     the summary, machine-readable`);
    io.out(`  failures.jsonl  ${failures.count} failed object${failures.count === 1 ? '' : 's'} (key, size, error class, message, task)`);
    if (failures.first.length) {
      io.out(`${failures.count > failures.first.length ? `First ${failures.first.length} of ${failures.count}` : 'All'} failures:`);
      for (const f of failures.first) io.out(`  ${f.errorClass}  ${JSON.stringify(f.key)} (${formatBytes(f.size)}): ${f.message}`);
      if (failures.count > failures.first.length) io.out(`  … ${failures.count - failures.first.length} more in ${failuresFile} (--failures N lists more)`);
      io.out(`\`ferry retry ${name}\` copies what is still missing or different.`);
    }
    return ExitCode.ok;
  });
}
