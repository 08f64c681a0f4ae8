/**
 * `ferry cutover JOB.yaml [--threshold 100]`: ossimport's T1/T2 recipe automated. Round 1 copies everything
 * (or, when the job already completed on this namespace, what changed since that run started); every further
 * round copies what changed since the previous round started (minus a one-minute overlap, see
 * INCREMENTAL_SINCE_MARGIN_MS). When a round copies fewer than `threshold`
 * objects the delta is small enough to switch traffic: it prints "ready to switch" and the time T to pass to the
 * final `ferry incremental JOB --since T` after the switch. A round with failures stops the loop (exit 1).
 */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { readJobFile } from '../job-file';
import { chainStartTime, describeJob, startOrAttach } from '../jobs';
import { followJob, openSession, startSessionWorker } from '../runner';
import type { InProcessWorker } from '../in-process-worker';
import { ExitCode, JobStateError } from '../errors';
import { renderSummary, summaryJson, exitCodeForResult } from '../render';
import { INCREMENTAL_SINCE_MARGIN_MS, jobWorkflowId, type JobSpec } from '../../common/job';

export const DEFAULT_CUTOVER_THRESHOLD = 100;
/** A safety stop: the source keeps changing faster than rounds finish. */
export const MAX_CUTOVER_ROUNDS = 50;

interface RoundReport {
  round: number;
  since?: string;
  startedAt: string;
  copied: number;
  status: string;
}

export async function cutoverCommand(opts: CliOptions, io: Io): Promise<number> {
  const base = readJobFile(opts.job!);
  const threshold = opts.threshold ?? DEFAULT_CUTOVER_THRESHOLD;
  const say = info(io, opts.json);
  const session = await openSession(opts, io, 'run');
  let worker: InProcessWorker | undefined;
  const rounds: RoundReport[] = [];
  try {
    const prev = await describeJob(session.client, base.name);
    if (prev?.status === 'RUNNING') throw new JobStateError(`job ${base.name} is running (${prev.workflowId}): wait for it (\`ferry watch ${base.name}\`) before a cutover`);
    let since = prev?.status === 'COMPLETED' ? (await chainStartTime(session.client, prev)) - INCREMENTAL_SINCE_MARGIN_MS : base.filter.modifiedSince;
    if (!opts.noWorker) worker = await startSessionWorker(session, opts, io);
    for (let round = 1; round <= MAX_CUTOVER_ROUNDS; round++) {
      const spec: JobSpec = { ...base, filter: { ...base.filter, ...(since !== undefined ? { modifiedSince: since } : {}) } };
      const { handle, started } = await startOrAttach(session.client, spec, session.settings.taskQueue);
      if (!started) throw new JobStateError(`job ${base.name} was started by someone else during the cutover (${jobWorkflowId(base.name)})`);
      const d = await describeJob(session.client, base.name);
      const roundStart = d ? d.startTime.getTime() : Date.now();
      say(`Round ${round}: ${since !== undefined ? `objects modified since ${new Date(since).toISOString()}` : 'full copy'} (${jobWorkflowId(base.name)}).`);
      const end = await followJob(session.client, handle, io, { signal: session.signal, json: true, intervalMs: opts.interval, worker: worker?.running });
      if (end.kind === 'error') throw end.error;
      if (end.kind === 'interrupted') {
        io.out(`Interrupted in round ${round}; the round keeps its state in Temporal. Run \`ferry cutover ${opts.job}\` again to continue.`);
        return ExitCode.interrupted;
      }
      const r = end.outcome.result;
      if (!r) throw end.outcome.error ?? new JobStateError('the round ended without a result');
      rounds.push({ round, since: since !== undefined ? new Date(since).toISOString() : undefined, startedAt: new Date(roundStart).toISOString(), copied: r.objects.copied, status: r.status });
      if (r.status !== 'succeeded') {
        if (opts.json) io.out(JSON.stringify({ name: base.name, ready: false, rounds, result: summaryJson(r) }, null, 2));
        else io.out(`${renderSummary(r)}\nRound ${round} did not succeed: fix the failures (\`ferry report ${base.name}\`) and run the cutover again.`);
        return exitCodeForResult(r);
      }
      say(`Round ${round}: copied ${r.objects.copied} object(s), ${r.objects.skipped} already in place.`);
      if (r.objects.copied < threshold) {
        const t = new Date(roundStart - INCREMENTAL_SINCE_MARGIN_MS).toISOString();
        if (opts.json) io.out(JSON.stringify({ name: base.name, ready: true, threshold, rounds, finalSince: t }, null, 2));
        else {
          io.out(`ready to switch: round ${round} copied ${r.objects.copied} object(s) (< ${threshold}).`);
          io.out(`Switch traffic to the destination, then copy what changed meanwhile: \`ferry incremental ${base.name} --since ${t}\`.`);
        }
        return ExitCode.ok;
      }
      since = roundStart - INCREMENTAL_SINCE_MARGIN_MS;
    }
    throw new JobStateError(`not converging: ${MAX_CUTOVER_ROUNDS} rounds each copied ${threshold} or more objects; raise --threshold or slow the writers`);
  } finally {
    await worker?.shutdown();
    await session.end();
  }
}
