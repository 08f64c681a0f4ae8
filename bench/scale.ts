/**
 * The scale case (`npm run bench -- --scale [N]`, default 10⁸): case f's synthetic source of N 64-byte keys planned
 * and copied to a null sink by ONE worker, after a 10⁶-key reference job on the same worker in the same invocation.
 * Measures the time to the first object copied, the worker's peak RSS against the reference's, every workflow run's
 * history (events and bytes: the job's continue-as-new runs and every task child, fetched with the Temporal client),
 * history events per 1,000 objects, and the rate against the reference's. Prints each figure with its target and
 * met/MISSED, and writes bench/results/run-<date>-scale.json. Only Temporal is started (no storage servers, no rclone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { buildWorkflowBundle } from '../workers/worker';
import { startTemporal, type TemporalTestServer } from '../test/support/temporal';
import { startJob } from '../test/support/ferry';
import { tempDir } from '../test/support/process';
import { jobWorkflowId } from '../common/job';
import type { JobResult } from '../common/progress';
import type { RequestCounts } from './worker';
import type { Target } from './report';
import { cpuSeconds, machine, peakRssMiB, resetPeakRss } from './measure';

/** Keys of the reference job every scale run is compared with. */
const REFERENCE_KEYS = 1_000_000;
/** The untimed job a fresh worker runs first (as case f: by then its resident set has stopped growing). */
const WARM_UP_KEYS = 200_000;
const TARGETS = {
  firstObjectSeconds: 2,
  rssSpread: 0.15,
  eventsPerRun: 10_000,
  bytesPerRun: 4_000_000,
  eventsPer1k: 3,
  rateSpread: 0.2,
};
/** Histories fetched at once. */
const FETCH_CONCURRENCY = 8;

/** The bench worker as bench/run.ts starts it. */
export interface ScaleWorker {
  pid: number;
  counts(): Promise<RequestCounts>;
  stop(): Promise<void>;
}

/** What bench/run.ts lends the scale case: its worker launcher, case f's job document, and its log. */
export interface ScaleDeps {
  startWorker(temporal: TemporalTestServer, env: Record<string, string>): Promise<ScaleWorker>;
  job(keys: number): Record<string, unknown>;
  log(line: string): void;
}

/** Every workflow run of one job: the job's runs and its task children's, with their history sizes. */
export interface HistoryFigures {
  runs: number;
  jobRuns: number;
  taskRuns: number;
  events: number;
  bytes: number;
  maxEventsPerRun: number;
  maxBytesPerRun: number;
  /** The run with the most events (workflow id / run id). */
  largestRun: string;
}

export interface ScaleRun {
  keys: number;
  seconds: number;
  objectsPerSec: number;
  firstObjectSeconds: number | null;
  peakRssMiB: number | null;
  cpuSeconds: number | null;
  history: HistoryFigures;
  eventsPer1k: number;
}

export interface ScaleFigure {
  figure: string;
  value: string;
  target: Target;
}

export interface ScaleResults {
  machine: ReturnType<typeof machine> & { loadAverageAtEnd: number[] };
  date: string;
  keys: number;
  reference: ScaleRun;
  scale: ScaleRun;
  figures: ScaleFigure[];
}

/** Fetches every run's history of the job `name` (job runs and task children, every continue-as-new run). */
export async function jobHistories(client: Client, name: string): Promise<HistoryFigures> {
  const id = jobWorkflowId(name);
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}' OR WorkflowId STARTS_WITH '${id}/'` })) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
  const out: HistoryFigures = { runs: runs.length, jobRuns: 0, taskRuns: 0, events: 0, bytes: 0, maxEventsPerRun: 0, maxBytesPerRun: 0, largestRun: '' };
  let next = 0;
  const lane = async () => {
    while (next < runs.length) {
      const r = runs[next++]!;
      const h = await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      const events = h.events?.length ?? 0;
      const bytes = proto.api.history.v1.History.encode(h).finish().length;
      if (r.workflowId === id) out.jobRuns++;
      else out.taskRuns++;
      out.events += events;
      out.bytes += bytes;
      if (events > out.maxEventsPerRun) out.largestRun = `${r.workflowId} / ${r.runId}`;
      out.maxEventsPerRun = Math.max(out.maxEventsPerRun, events);
      out.maxBytesPerRun = Math.max(out.maxBytesPerRun, bytes);
    }
  };
  await Promise.all(Array.from({ length: FETCH_CONCURRENCY }, lane));
  return out;
}

let seq = 0;
/** One job of `keys` synthetic keys on `worker`: its time, first object, peak RSS, CPU and histories. */
async function runJob(client: Client, worker: ScaleWorker, deps: ScaleDeps, keys: number, withHistory: boolean): Promise<ScaleRun> {
  const name = `scale-${keys}-${Date.now().toString(36)}-${seq++}`;
  await worker.counts(); // clears the worker's first-object stamp
  resetPeakRss(worker.pid);
  const cpuBefore = cpuSeconds(worker.pid);
  const startedAt = Date.now();
  const started = performance.now();
  const handle = await startJob(client, { ...deps.job(keys), name });
  const r = (await handle.result()) as JobResult;
  const seconds = (performance.now() - started) / 1000;
  const peak = peakRssMiB(worker.pid) ?? null;
  const cpuAfter = cpuSeconds(worker.pid);
  if (r.status !== 'succeeded' || r.objects.copied !== keys) throw new Error(`${name}: ${r.status}, copied ${r.objects.copied} of ${keys}: ${r.error ?? ''}`);
  const counts = await worker.counts();
  const history = withHistory ? await jobHistories(client, name) : { runs: 0, jobRuns: 0, taskRuns: 0, events: 0, bytes: 0, maxEventsPerRun: 0, maxBytesPerRun: 0, largestRun: '' };
  return {
    keys,
    seconds,
    objectsPerSec: keys / seconds,
    firstObjectSeconds: counts.firstDataAt ? (counts.firstDataAt - startedAt) / 1000 : null,
    peakRssMiB: peak,
    cpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : null,
    history,
    eventsPer1k: (history.events / keys) * 1000,
  };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

/** Each figure of the scale run with its target (the issue's) and whether it was met. */
export function scaleFigures(ref: ScaleRun, run: ScaleRun): ScaleFigure[] {
  const f: ScaleFigure[] = [];
  const first = run.firstObjectSeconds;
  f.push({ figure: 'time to first object copied', value: first === null ? '-' : `${first.toFixed(2)} s`, target: { text: `≤ ${TARGETS.firstObjectSeconds} s`, met: first !== null && first <= TARGETS.firstObjectSeconds } });
  const rss = ref.peakRssMiB && run.peakRssMiB ? run.peakRssMiB / ref.peakRssMiB - 1 : null;
  f.push({ figure: 'worker peak RSS vs the 10⁶ run', value: rss === null ? '-' : `${run.peakRssMiB!.toFixed(0)} MiB vs ${ref.peakRssMiB!.toFixed(0)} MiB (${pct(rss)})`, target: { text: `within ±${TARGETS.rssSpread * 100} %`, met: rss !== null && Math.abs(rss) <= TARGETS.rssSpread } });
  const h = run.history;
  f.push({ figure: 'most events in one workflow run', value: `${h.maxEventsPerRun.toLocaleString('en')} (${h.runs.toLocaleString('en')} runs: ${h.jobRuns} job, ${h.taskRuns.toLocaleString('en')} task)`, target: { text: `< ${TARGETS.eventsPerRun.toLocaleString('en')}`, met: h.runs > 0 && h.maxEventsPerRun < TARGETS.eventsPerRun } });
  f.push({ figure: 'largest history of one workflow run', value: `${(h.maxBytesPerRun / 1e6).toFixed(2)} MB`, target: { text: `< ${TARGETS.bytesPerRun / 1e6} MB`, met: h.runs > 0 && h.maxBytesPerRun < TARGETS.bytesPerRun } });
  f.push({ figure: 'history events per 1,000 objects', value: `${run.eventsPer1k.toFixed(2)} (${h.events.toLocaleString('en')} events, ${(h.bytes / 1e6).toFixed(1)} MB)`, target: { text: `≤ ${TARGETS.eventsPer1k}`, met: h.runs > 0 && run.eventsPer1k <= TARGETS.eventsPer1k } });
  const rate = run.objectsPerSec / ref.objectsPerSec - 1;
  f.push({ figure: 'rate vs the 10⁶ run', value: `${run.objectsPerSec.toFixed(0)} vs ${ref.objectsPerSec.toFixed(0)} objects/s (${pct(rate)})`, target: { text: `within ±${TARGETS.rateSpread * 100} %`, met: Math.abs(rate) <= TARGETS.rateSpread } });
  return f;
}

export function scaleTable(figures: ScaleFigure[]): string {
  const rows = [['figure', 'measured', 'target', ''], ...figures.map((x) => [x.figure, x.value, x.target.text, x.target.met ? 'met' : 'MISSED'])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n');
}

/** Runs the scale case: Temporal, one worker, warm-up, the 10⁶ reference, then `keys`. Writes the results file. */
export async function runScaleBench(keys: number, deps: ScaleDeps): Promise<ScaleResults> {
  const { log } = deps;
  log(`scale case: ${keys.toLocaleString('en')} synthetic keys → null sink on one worker (reference: ${REFERENCE_KEYS.toLocaleString('en')})`);
  const mach = machine();
  const temporal = await startTemporal();
  let worker: ScaleWorker | undefined;
  try {
    const client = await temporal.client();
    const bundleFile = join(tempDir('bench-scale'), 'workflow-bundle.js');
    writeFileSync(bundleFile, (await buildWorkflowBundle()).code);
    worker = await deps.startWorker(temporal, { FERRY_WORKFLOW_BUNDLE: bundleFile });
    const warm = await runJob(client, worker, deps, WARM_UP_KEYS, false);
    log(`  worker pid ${worker.pid} warmed by an untimed ${WARM_UP_KEYS.toLocaleString('en')}-key job (${warm.seconds.toFixed(1)} s, peak RSS ${warm.peakRssMiB?.toFixed(0) ?? '?'} MiB)`);
    const describe = (r: ScaleRun) => `${r.seconds.toFixed(1)} s, ${r.objectsPerSec.toFixed(0)} objects/s, first object after ${r.firstObjectSeconds?.toFixed(2) ?? '?'} s, peak RSS ${r.peakRssMiB?.toFixed(0) ?? '?'} MiB, CPU ${r.cpuSeconds?.toFixed(1) ?? '?'} s, ${r.history.runs} runs, ${r.history.events} events (${r.eventsPer1k.toFixed(2)}/1k), largest run ${r.history.maxEventsPerRun} events / ${(r.history.maxBytesPerRun / 1e6).toFixed(2)} MB`;
    const reference = await runJob(client, worker, deps, REFERENCE_KEYS, true);
    log(`  reference ${REFERENCE_KEYS.toLocaleString('en')}: ${describe(reference)}`);
    const scale = await runJob(client, worker, deps, keys, true);
    log(`  scale ${keys.toLocaleString('en')}: ${describe(scale)}`);
    const figures = scaleFigures(reference, scale);
    const date = new Date().toISOString();
    const out: ScaleResults = { machine: { ...mach, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) }, date, keys, reference, scale, figures };
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `run-${date.slice(0, 10)}-scale.json`);
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    console.log(scaleTable(figures));
    log(`wrote ${file}`);
    return out;
  } finally {
    await worker?.stop();
    await temporal.stop();
  }
}
