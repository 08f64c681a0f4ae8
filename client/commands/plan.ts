/**
 * `ferry plan JOB.yaml`: a dry run from this machine, through the same providers as the workers. Lists the
 * source page by page, applies the job's filters, and matches each page against the destination (one LIST per
 * page of 1000 keys for key-ordered stores, a stat per key for list-ordered sources) to count what the
 * overwrite policy would copy and skip — without copying anything. Then estimates the duration from a short
 * measured read sample (or `--rate`) and, with `--deadline`, the workers needed.
 */
import { mirrorDeleteLimit, type JobSpec } from '../../common/job';
import { planMirror, type MirrorPlan } from '../../activities/mirror-walk';
import { compileFilter } from '../../common/glob';
import { formatBytes, formatDuration } from '../../common/units';
import { openProvider, type ProviderContext } from '../../storage/registry';
import { listsFromReport, openListedProvider, reportSummary } from '../../storage/inventory/open';
import type { ObjectInfo, ObjectProvider } from '../../storage/provider';
import { destinationIndex, overwriteDecision } from '../../activities/range';
import { mapKey } from '../../common/keys';
import { errorMessage } from '../../common/errors';
import { childSignal } from '../../common/signals';
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { readJobFile } from '../job-file';
import { formatCount, renderQuirks } from '../render';
import { probeQuirks } from '../../activities/quirks-probe';
import type { QuirksReport } from '../../common/contracts';
import { ExitCode } from '../errors';
import { RequestTally, costContext, planCost, type PlanCost } from '../../common/cost';
import { BUILT_IN_PRICES, type PriceBook } from '../../common/prices';
import { renderCost } from '../cost-render';
import { readPriceFile } from '../price-file';
import { ArchiveTally, archivePlanLines, type ArchivePlan } from '../plan-archive';
import { countKeyVersions, versionPlanLines, versionSides, type VersionPlan } from '../plan-versions';

export interface Amount {
  objects: number;
  bytes: number;
}

export interface PlanResult {
  name: string;
  mode: JobSpec['mode'];
  overwrite: JobSpec['overwrite'];
  /** Everything the source listing returned (under the source prefix). */
  listed: Amount;
  /** Where the listing came from when not a LIST of the source (an inventory report or manifest). */
  listing?: string;
  /** Filtered out by include/exclude or modifiedSince. */
  excluded: Amount;
  /** Copy mode: would be copied. Verify mode: would be compared. */
  copy: Amount;
  /** Copy mode: already at the destination (or kept by the policy). Verify mode: 0. */
  skip: Amount;
  /** Verify mode: not at the destination (would be reported as failures). */
  missing: Amount;
  /** Tasks the planner would cut (tasks.maxObjects / tasks.maxBytes over the listing). */
  tasks: number;
  /** The largest objects to copy (or to compare), largest first. */
  largest: { key: string; size: number }[];
  /** Per-worker rate used for the estimate. */
  rate?: { bytesPerSec: number; objectsPerSec?: number; source: 'measured' | 'given'; sample?: { objects: number; bytes: number; ms: number; concurrency: number } };
  /** Estimated duration with one worker, ms. */
  estimateMs?: number;
  /** The lower bound the job's own throttle sets, ms (bandwidth / objects per second), whatever the workers. */
  throttleFloorMs?: number;
  deadline?: { ms: number; workers: number; feasible: boolean };
  /** The quirks each s3/oss side runs with and what probing the store showed (as preflight reports them). */
  quirks: { source?: QuirksReport; destination?: QuirksReport };
  /** Mirror mode: what the run would delete after its copy, and whether it would wait for approval. */
  mirror?: MirrorPlan;
  /** Requests by kind, traffic and their price at list prices (common/cost.ts). */
  cost?: PlanCost;
  /** Archived objects among those to copy, by storage class, and what the `archived:` policy would do (client/plan-archive.ts). */
  archived?: ArchivePlan;
  /** `versions: all`: the versions of the selected keys (client/plan-versions.ts). */
  versions?: VersionPlan;
  warnings: string[];
}

export interface PlanOptions {
  /** Per-worker rate (bytes/s) instead of measuring. */
  rate?: number;
  deadlineMs?: number;
  /** Seconds to spend reading a sample (0 = none). Default 5. */
  sampleSeconds?: number;
  /** Listing progress (objects listed so far). */
  onProgress?: (listed: number) => void;
  signal?: AbortSignal;
  /** Price tables for the cost estimate (default: the built-in ones). */
  prices?: PriceBook;
}

const LARGEST = 10;
const SAMPLE_CANDIDATES = 200;

/** Whether a copy run would copy `o` given what the destination holds — the same rule as the copy activity. */
/** Whether the job would copy `o` (the copy activity's own overwrite decision). */
export function wouldCopy(spec: JobSpec, o: ObjectInfo, existing: ObjectInfo | undefined, srcEtagIsMd5: boolean, dstEtagIsMd5: boolean): boolean {
  return overwriteDecision(spec.overwrite, o, existing, srcEtagIsMd5, dstEtagIsMd5) === 'copy';
}

function keepLargest(list: { key: string; size: number }[], o: ObjectInfo): void {
  if (list.length === LARGEST && o.size <= list[LARGEST - 1]!.size) return;
  let i = list.length;
  while (i > 0 && list[i - 1]!.size < o.size) i--;
  list.splice(i, 0, { key: o.key, size: o.size });
  if (list.length > LARGEST) list.pop();
}

/** Preflight's quirk probe on both sides (≤ 2 LISTs each); what contradicts a preset becomes a warning. */
async function probeSides(res: PlanResult, spec: JobSpec, src: ObjectProvider, dst: ObjectProvider, signal?: AbortSignal): Promise<void> {
  const probe = (p: ObjectProvider, e: JobSpec['source']) => (listsFromReport(e) ? undefined : probeQuirks(p, e, signal));
  res.quirks = { source: await probe(src, spec.source), destination: await probe(dst, spec.destination) };
  for (const side of ['source', 'destination'] as const) for (const n of res.quirks[side]?.notes ?? []) res.warnings.push(`${side}: ${n}`);
}

/** Lists and matches without copying; then estimates. */
export async function planJob(spec: JobSpec, src: ObjectProvider, dst: ObjectProvider, opts: PlanOptions = {}): Promise<PlanResult> {
  const res: PlanResult = {
    name: spec.name,
    mode: spec.mode,
    overwrite: spec.overwrite,
    listed: { objects: 0, bytes: 0 },
    excluded: { objects: 0, bytes: 0 },
    copy: { objects: 0, bytes: 0 },
    skip: { objects: 0, bytes: 0 },
    missing: { objects: 0, bytes: 0 },
    tasks: 0,
    largest: [],
    quirks: {},
    warnings: [],
  };
  await probeSides(res, spec, src, dst, opts.signal);
  ({ src, dst } = versionSides(spec, src, dst));
  const include = compileFilter(spec.filter.include, spec.filter.exclude);
  const needIndex = spec.mode === 'verify' || spec.overwrite !== 'always';
  const add = (a: Amount, o: ObjectInfo) => {
    a.objects += o.versions?.length ?? 1;
    a.bytes += o.size;
  };
  // Task cutting as the planner does it: over every listed entry, before filters.
  let task = { objects: 0, bytes: 0 };
  const reservoir: ObjectInfo[] = [];
  let seen = 0;
  let startAfter: string | undefined;
  const tally = new RequestTally(costContext(spec, src, dst));
  const archived = new ArchiveTally();
  for (;;) {
    const page = await src.list({ prefix: spec.source.prefix, startAfter, limit: 1000, signal: opts.signal });
    tally.sourcePage();
    const candidates: ObjectInfo[] = [];
    for (const o of page.objects) {
      add(res.listed, o);
      if (task.objects > 0 && (task.objects + 1 > spec.tasks.maxObjects || task.bytes + o.size > spec.tasks.maxBytes)) {
        res.tasks++;
        task = { objects: 0, bytes: 0 };
      }
      task.objects++;
      task.bytes += o.size;
      const rel = spec.source.prefix && o.key.startsWith(spec.source.prefix) ? o.key.slice(spec.source.prefix.length) : o.key;
      if (!include(rel) || (spec.filter.modifiedSince !== undefined && o.lastModified < spec.filter.modifiedSince)) add(res.excluded, o);
      else candidates.push(o);
    }
    const index = needIndex && candidates.length ? await destinationIndex(src, dst, spec, candidates, opts.signal) : new Map<string, ObjectInfo>();
    if (needIndex) tally.comparePage(candidates.length, index.size);
    for (const o of candidates) {
      const existing = index.get(mapKey(o.key, spec.source.prefix, spec.destination.prefix));
      let selected: boolean;
      if (o.versions && spec.mode !== 'verify') {
        countKeyVersions(res, o, existing);
        continue;
      }
      if (spec.mode === 'verify') {
        selected = true;
        if (!existing) add(res.missing, o);
        tally.compare(o, existing);
      } else selected = wouldCopy(spec, o, existing, src.capabilities.etagIsMd5, dst.capabilities.etagIsMd5);
      if (!selected) {
        add(res.skip, o);
        continue;
      }
      add(res.copy, o);
      if (spec.mode !== 'verify') tally.copy(o);
      keepLargest(res.largest, o);
      if (archived.add(o)) continue; // unreadable until restored: no read sample
      // Reservoir sample (uniform by object) of what would be read, for the rate measurement.
      seen++;
      if (reservoir.length < SAMPLE_CANDIDATES) reservoir.push(o);
      else {
        const j = Math.floor(Math.random() * seen);
        if (j < SAMPLE_CANDIDATES) reservoir[j] = o;
      }
    }
    opts.onProgress?.(res.listed.objects);
    if (!page.next) break;
    startAfter = page.next;
  }
  if (task.objects > 0) res.tasks++;
  res.archived = archived.result(spec);
  if (spec.mode === 'mirror') res.mirror = await planMirror(src, dst, spec, (n) => mirrorDeleteLimit(spec.mirror, n), opts.signal);
  const report = await reportSummary(src, res.listed.objects);
  if (report) res.listing = report.line;
  res.cost = planCost(tally.usage(), spec, opts.prices ?? BUILT_IN_PRICES, report && { source: report.counts });

  if (opts.rate !== undefined) res.rate = { bytesPerSec: opts.rate, source: 'given' };
  else if ((opts.sampleSeconds ?? 5) > 0 && reservoir.length) {
    const sample = await measureReadRate(src, reservoir, (opts.sampleSeconds ?? 5) * 1000, Math.min(16, spec.limits.objects), opts.signal);
    if (sample.bytes > 0 && sample.ms > 0) {
      res.rate = {
        bytesPerSec: (sample.bytes / sample.ms) * 1000,
        objectsPerSec: sample.objects >= 5 ? (sample.objects / sample.ms) * 1000 : undefined,
        source: 'measured',
        sample,
      };
    } else if (sample.error) res.warnings.push(`the read sample failed (${sample.error}); pass --rate to estimate the duration`);
  }
  if (res.rate && res.copy.objects > 0) {
    const byBytes = (res.copy.bytes / res.rate.bytesPerSec) * 1000;
    const byObjects = res.rate.objectsPerSec ? (res.copy.objects / res.rate.objectsPerSec) * 1000 : 0;
    res.estimateMs = Math.round(Math.max(byBytes, byObjects));
  } else if (res.copy.objects === 0) res.estimateMs = 0;
  const floors: number[] = [];
  if (spec.limits.bandwidth) floors.push((res.copy.bytes / spec.limits.bandwidth) * 1000);
  if (spec.limits.objectsPerSecond) floors.push((res.copy.objects / spec.limits.objectsPerSecond) * 1000);
  if (floors.length) res.throttleFloorMs = Math.round(Math.max(...floors));
  if (opts.deadlineMs !== undefined && res.estimateMs !== undefined) {
    const workers = Math.max(1, Math.ceil(res.estimateMs / opts.deadlineMs));
    const feasible = res.throttleFloorMs === undefined || res.throttleFloorMs <= opts.deadlineMs;
    res.deadline = { ms: opts.deadlineMs, workers, feasible };
    if (!feasible) res.warnings.push(`the job's throttle alone needs ${formatDuration(res.throttleFloorMs!)}, longer than the deadline: raise throttle.bandwidth / objectsPerSecond`);
    if (workers > 1 && res.tasks < workers) res.warnings.push(`only ${res.tasks} task${res.tasks === 1 ? '' : 's'} would be cut: lower tasks.maxObjects / tasks.maxBytes so ${workers} workers all have work`);
  }
  if (res.listed.objects === 0) res.warnings.push('the source lists no objects: check source.prefix / path / list');
  return res;
}

/**
 * Reads sample objects (discarding the bytes) with `concurrency` lanes for up to `budgetMs`: this machine's read
 * throughput from the source, the transfer half a worker would do.
 */
export async function measureReadRate(src: ObjectProvider, sample: readonly ObjectInfo[], budgetMs: number, concurrency: number, outer?: AbortSignal): Promise<{ objects: number; bytes: number; ms: number; concurrency: number; error?: string }> {
  const abort = childSignal(outer);
  const timer = setTimeout(() => abort.abort(new Error('sample time is up')), budgetMs);
  const started = performance.now();
  let objects = 0;
  let bytes = 0;
  let next = 0;
  let error: string | undefined;
  const lane = async () => {
    while (next < sample.length && !abort.signal.aborted) {
      const o = sample[next++]!;
      try {
        const got = await src.get(o.key, { signal: abort.signal });
        for await (const chunk of got.body) bytes += (chunk as Buffer).length;
        objects++;
      } catch (e) {
        if (abort.signal.aborted) return;
        error ??= errorMessage(e);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, sample.length)) }, lane));
  } finally {
    clearTimeout(timer);
    abort.release();
  }
  return { objects, bytes, ms: Math.max(1, Math.round(performance.now() - started)), concurrency: Math.max(1, Math.min(concurrency, sample.length)), error };
}

const amount = (a: Amount) => `${formatCount(a.objects).padStart(12)} objects  ${formatBytes(a.bytes).padStart(10)}`;

export function renderPlan(p: PlanResult, spec: JobSpec): string {
  const lines = [`Plan for job ${p.name} (${p.mode === 'verify' ? 'verify only' : `${p.mode}, overwrite ${p.overwrite}`}) — nothing was copied${p.mirror ? ' or deleted' : ''}`];
  for (const side of ['source', 'destination'] as const) if (p.quirks[side]) lines.push(`  quirks     ${renderQuirks(side, p.quirks[side])}`);
  lines.push(`  listed     ${amount(p.listed)}${p.listing ? `   (${p.listing})` : ''}`);
  if (p.excluded.objects) lines.push(`  excluded   ${amount(p.excluded)}   (filters)`);
  if (p.mode === 'verify') {
    lines.push(`  compare    ${amount(p.copy)}`);
    lines.push(`  missing    ${amount(p.missing)}   (not at the destination: would be reported as failures)`);
  } else {
    lines.push(`  to copy    ${amount(p.copy)}`);
    lines.push(`  to skip    ${amount(p.skip)}   (already at the destination${p.overwrite === 'never' || p.overwrite === 'if-newer' ? ', or kept by the overwrite policy' : ''})`);
  }
  if (p.mirror) lines.push(...mirrorPlanLines(p.mirror));
  if (p.archived) lines.push(...archivePlanLines(p.archived));
  if (p.versions) lines.push(...versionPlanLines(p.versions));
  lines.push(`  tasks      ${formatCount(p.tasks)} (at most ${formatCount(spec.tasks.maxObjects)} objects / ${formatBytes(spec.tasks.maxBytes)} each)`);
  if (p.largest.length) {
    lines.push(`  largest objects to ${p.mode === 'verify' ? 'compare' : 'copy'}:`);
    for (const o of p.largest) lines.push(`    ${formatBytes(o.size).padStart(10)}  ${JSON.stringify(o.key)}`);
  }
  if (p.rate) {
    const r = p.rate;
    const how = r.source === 'given' ? 'given with --rate' : `measured: read ${r.sample!.objects} objects, ${formatBytes(r.sample!.bytes)} in ${formatDuration(r.sample!.ms)} with ${r.sample!.concurrency} parallel reads from this machine`;
    lines.push(`  rate       ${formatBytes(r.bytesPerSec)}/s${r.objectsPerSec ? `, ${r.objectsPerSec.toFixed(1)} objects/s` : ''} per worker (${how})`);
  }
  if (p.estimateMs !== undefined) lines.push(`  estimate   ${p.estimateMs === 0 ? 'nothing to copy' : `${formatDuration(p.estimateMs)} with 1 worker`}`);
  else if (p.copy.objects) lines.push('  estimate   unknown: pass --rate RATE, or let plan read a sample (--sample-seconds N)');
  if (p.throttleFloorMs !== undefined) lines.push(`  throttle   the job's limits alone need at least ${formatDuration(p.throttleFloorMs)}`);
  if (p.deadline) lines.push(`  deadline   ${formatDuration(p.deadline.ms)}: ${p.deadline.feasible ? `${p.deadline.workers} worker${p.deadline.workers === 1 ? '' : 's'} needed` : 'not reachable with the job\'s throttle'}`);
  if (p.cost) lines.push(...renderCost(p.cost));
  for (const w of p.warnings) lines.push(`  warning    ${w}`);
  return lines.join('\n');
}

function mirrorPlanLines(m: MirrorPlan): string[] {
  const why = m.sourceEmpty
    ? 'the source lists nothing the job selects: the run would delete nothing'
    : m.overLimit
      ? `over the limit of ${formatCount(m.limit)}: the run would stop before deleting and wait for \`ferry approve\``
      : `within the limit of ${formatCount(m.limit)}: deleted after the copy`;
  return [
    `  to delete  ${amount(m.deletions)}   (absent from the source, of ${formatCount(m.destinationObjects)} at the destination; ${why})`,
    ...(m.protected.objects ? [`  protected  ${amount(m.protected)}   (absent from the source but excluded by filters: kept)`] : []),
  ];
}

export async function planCommand(opts: CliOptions, io: Io): Promise<number> {
  const spec = readJobFile(opts.job!);
  const prices = readPriceFile(opts.prices);
  const ctx: ProviderContext = { env: io.env, credentialsFile: opts.credentials ?? (io.env.FERRY_CREDENTIALS_FILE || undefined) };
  const src = openListedProvider(spec.source, (e) => openProvider(e, ctx));
  const dst = openListedProvider(spec.destination, (e) => openProvider(e, ctx));
  let lastShown = 0;
  try {
    const res = await planJob(spec, src, dst, {
      rate: opts.rate,
      deadlineMs: opts.deadline,
      sampleSeconds: opts.sampleSeconds,
      prices,
      onProgress: (n) => {
        if (io.stderrIsTTY && n - lastShown >= 10_000) {
          io.rawErr(`\r\x1b[2Klisting… ${formatCount(n)} objects`);
          lastShown = n;
        }
      },
    });
    if (lastShown) io.rawErr('\r\x1b[2K');
    io.out(opts.json ? JSON.stringify(res, null, 2) : renderPlan(res, spec));
    return ExitCode.ok;
  } finally {
    await Promise.all([src.close?.(), dst.close?.()]);
  }
}
