/**
 * Pure rendering of job progress and results for the terminal and for `--json`: a live bar (TTY), plain
 * periodic lines (logs, CI), the `ferry status` snapshot and the final summary. No I/O, no clocks: callers
 * pass `now` and the terminal width, so every function is unit-tested.
 */
import { emptyVerifiedBy, formatVerifiedBy, type Counters, type JobProgress, type JobResult, type MirrorSummary, type VerifiedBy } from '../common/progress';
import { mirrorLine } from '../workflows/mirror-state';
import { archiveLine } from '../workflows/restore-wait-state';
import type { ArchiveCounts } from '../common/progress';
import { formatBytes, formatDuration } from '../common/units';
import { ExitCode } from './errors';
import type { QuirksReport } from '../common/contracts';

/** Objects and bytes finished so far (copied, skipped, failed or excluded by a filter) and listed so far. */
export interface Done {
  objects: number;
  bytes: number;
  listedObjects: number;
  listedBytes: number;
  /** 0..1, by bytes when any are listed, else by objects; undefined while nothing is listed. */
  fraction: number | undefined;
}

const finished = (c: Counters) => c.copied + c.skipped + c.failed + c.excluded;

export function doneOf(p: JobProgress): Done {
  const objects = finished(p.objects);
  const bytes = finished(p.bytes);
  const listedObjects = Math.max(p.objects.listed, objects);
  const listedBytes = Math.max(p.bytes.listed, bytes);
  let fraction: number | undefined;
  if (listedBytes > 0) fraction = bytes / listedBytes;
  else if (listedObjects > 0) fraction = objects / listedObjects;
  else if (p.listingDone) fraction = 1;
  return { objects, bytes, listedObjects, listedBytes, fraction: fraction === undefined ? undefined : Math.min(1, fraction) };
}

/** `1234567` → `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `[#########...........]` of `width` characters inside the brackets. */
export function renderBar(fraction: number | undefined, width: number): string {
  const w = Math.max(1, width);
  if (fraction === undefined) return `[${'.'.repeat(w)}]`;
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * w);
  return `[${'#'.repeat(full)}${'.'.repeat(w - full)}]`;
}

function percent(f: number | undefined): string {
  if (f === undefined) return '  ?%';
  return `${Math.floor(f * 100)}%`.padStart(4);
}

function phaseLabel(p: JobProgress): string {
  if (p.paused) return 'paused';
  if (p.mirror?.stage === 'awaiting-approval') return `awaiting \`ferry approve|reject ${p.name}\``;
  if (p.phase === 'retrying' || p.round > 0) return `retry ${p.round}`;
  return p.phase;
}

/** The listed total, marked `+` while listing continues (more objects may come). */
function totalLabel(n: string, listingDone: boolean): string {
  return listingDone ? n : `${n}+`;
}

function etaLabel(p: JobProgress): string {
  if (p.paused) return 'ETA —';
  if (p.etaMs !== undefined) return `ETA ${formatDuration(p.etaMs)}`;
  return p.listingDone ? 'ETA —' : 'listing…';
}

/**
 * One line for a TTY, fitted to `columns`: phase, bar, percentage, objects, bytes, rate, ETA, failures.
 * Less important parts are dropped first when the terminal is narrow.
 */
export function renderProgressLine(p: JobProgress, columns = 100): string {
  const d = doneOf(p);
  const parts = {
    phase: phaseLabel(p).padEnd(9),
    pct: percent(d.fraction),
    objects: `${formatCount(d.objects)}/${totalLabel(formatCount(d.listedObjects), p.listingDone)} obj`,
    bytes: `${formatBytes(d.bytes)}/${totalLabel(formatBytes(d.listedBytes), p.listingDone)}`,
    rate: `${formatBytes(p.rateBytesPerSec)}/s`,
    eta: etaLabel(p),
    failed: p.objects.failed ? `${formatCount(p.objects.failed)} failed` : '',
  };
  const order: (keyof typeof parts)[] = ['phase', 'pct', 'objects', 'bytes', 'rate', 'eta', 'failed'];
  // Drop parts from least to most important until the line fits with a bar of at least 10 characters.
  const dropOrder: (keyof typeof parts)[] = ['rate', 'bytes', 'eta', 'phase'];
  const keep = new Set(order.filter((k) => parts[k] !== ''));
  const text = () => order.filter((k) => keep.has(k)).map((k) => parts[k]);
  const fixed = () => text().join('  ').length + 4;
  while (fixed() + 12 > columns && dropOrder.length) keep.delete(dropOrder.shift()!);
  const barWidth = Math.max(10, Math.min(40, columns - fixed() - 2));
  const [first, ...rest] = text();
  const line = keep.has('phase') ? [first, renderBar(d.fraction, barWidth), ...rest].join('  ') : [renderBar(d.fraction, barWidth), first, ...rest].join('  ');
  return line.length > columns ? line.slice(0, Math.max(0, columns - 1)) : line;
}

/**
 * A plain line for logs (no TTY): everything spelled out, stable order, no control characters.
 * `elapsedMs` is shown first so a log reads as a timeline.
 */
export function renderProgressPlain(p: JobProgress, now: number): string {
  const d = doneOf(p);
  const o = p.objects;
  const pct = d.fraction === undefined ? '?' : `${Math.floor(d.fraction * 100)}%`;
  return [
    `[${formatDuration(Math.max(0, now - p.startedAt))}]`,
    `${p.name}: ${phaseLabel(p)} ${pct}`,
    `objects ${formatCount(d.objects)}/${totalLabel(formatCount(d.listedObjects), p.listingDone)} (copied ${formatCount(o.copied)}, skipped ${formatCount(o.skipped)}, failed ${formatCount(o.failed)})`,
    `bytes ${formatBytes(d.bytes)}/${totalLabel(formatBytes(d.listedBytes), p.listingDone)}`,
    `rate ${formatBytes(p.rateBytesPerSec)}/s`,
    etaLabel(p),
  ].join('  ');
}

/** The `ferry status` snapshot of a running job: every counter, tasks, limits and recent failures. */
export function renderStatus(p: JobProgress, now: number, workflowId: string): string {
  const d = doneOf(p);
  const row = (label: string, c: Counters, fmt: (n: number) => string) =>
    `  ${label.padEnd(8)} ${fmt(c.listed).padStart(12)} listed${p.listingDone ? '' : ' so far'}  ${fmt(c.copied)} copied  ${fmt(c.skipped)} skipped  ${fmt(c.failed)} failed  ${fmt(c.verified)} verified  ${fmt(c.excluded)} excluded`;
  const l = p.limits;
  const lines = [
    `Job ${p.name} (${workflowId}): ${p.paused ? 'PAUSED, ' : ''}${p.phase}${p.round ? `, retry round ${p.round}` : ''}`,
    `  progress ${renderBar(d.fraction, 30)} ${percent(d.fraction).trim()}  running ${formatDuration(Math.max(0, now - p.startedAt))}  ${etaLabel(p)}`,
    row('objects', p.objects, formatCount),
    row('bytes', p.bytes, formatBytes),
    ...(p.verifiedBy ? [`  verified by ${formatVerifiedBy(p.verifiedBy)}`] : []),
    `  tasks    ${p.tasks.done}/${p.tasks.planned} done, ${p.tasks.inFlight} in flight, ${p.tasks.failed} with failures; listing ${p.listingDone ? 'done' : 'in progress'}`,
    `  rate     ${formatBytes(p.rateBytesPerSec)}/s, ${p.rateObjectsPerSec} objects/s${p.throttleEvents ? `; store throttled us ${p.throttleEvents}×` : ''}${p.partsResumed ? `; ${formatCount(p.partsResumed)} multipart parts reused after a resume` : ''}`,
    `  limits   bandwidth ${l.bandwidth !== undefined ? `${formatBytes(l.bandwidth)}/s` : 'unlimited'}, objects/s ${l.objectsPerSecond ?? 'unlimited'}, ${l.tasks} tasks × ${l.objects} objects in flight`,
  ];
  if (p.error) lines.push(`  error    ${p.error}`);
  if (p.mirror) lines.push(...mirrorStatusLines(p.name, p.mirror));
  if (p.archive) lines.push(`  ${archiveLine(p.archive)}`);
  if (p.recentFailures.length) {
    lines.push('  recent failures:');
    for (const f of p.recentFailures) lines.push(`    ${f.errorClass}  ${JSON.stringify(f.key)} (${formatBytes(f.size)}): ${f.message}`);
  }
  if (p.reportPath) lines.push(`  report   ${p.reportPath}`);
  return lines.join('\n');
}

/** The deletions of a mirror job, and while a set awaits a decision its first keys and the two answers. */
export function mirrorStatusLines(name: string, m: MirrorSummary): string[] {
  const lines = [`  ${mirrorLine(m)}`];
  if (m.stage !== 'awaiting-approval') return lines;
  for (const k of m.sample ?? []) lines.push(`    ${JSON.stringify(k)}`);
  if ((m.set?.objects ?? 0) > (m.sample?.length ?? 0)) lines.push(`    … every key in deletions.jsonl (\`ferry report ${name}\` after the job, or the report folder now)`);
  lines.push(`  \`ferry approve ${name}\` deletes exactly this set; \`ferry reject ${name}\` ends the job deleting nothing`);
  return lines;
}

/** `--json` shape of a finished job (`ferry run`, `ferry status` on a closed job). */
export interface SummaryJson {
  name: string;
  status: JobResult['status'];
  objects: { total: number; copied: number; skipped: number; failed: number; verified: number; excluded: number };
  bytes: { total: number; copied: number; skipped: number; failed: number; verified: number; excluded: number };
  durationMs: number;
  rounds: number;
  /** Multipart parts reused after a resume (a killed or detached worker's large object continued). */
  partsResumed: number;
  /**
   * Verified objects by check: an object counts under every check it passed (`size` alone: no checksum compared).
   * Absent for jobs that ran before checks were counted.
   */
  verifiedBy?: VerifiedBy;
  reportPath?: string;
  error?: string;
  /** Mirror mode's deletions (mirror jobs only). */
  mirror?: MirrorSummary;
  /** Archived source objects: skipped, restored, restore requests (jobs that met any). */
  archive?: ArchiveCounts;
}

const pickCounters = (c: Counters & { total: number }) => ({ total: c.total, copied: c.copied, skipped: c.skipped, failed: c.failed, verified: c.verified, excluded: c.excluded });

export function summaryJson(r: JobResult): SummaryJson {
  const out: SummaryJson = {
    name: r.name,
    status: r.status,
    objects: pickCounters(r.objects),
    bytes: pickCounters(r.bytes),
    durationMs: r.durationMs,
    rounds: r.rounds,
    partsResumed: r.partsResumed ?? 0,
  };
  if (r.verifiedBy) out.verifiedBy = { ...emptyVerifiedBy(), ...r.verifiedBy };
  if (r.reportPath) out.reportPath = r.reportPath;
  if (r.error) out.error = r.error;
  if (r.mirror) out.mirror = r.mirror;
  if (r.archive) out.archive = r.archive;
  return out;
}

/** Exit code of a finished job: 0 succeeded, 1 completed with failures, 3 failed as a whole. */
export function exitCodeForResult(r: Pick<JobResult, 'status'>): ExitCode {
  if (r.status === 'succeeded') return ExitCode.ok;
  if (r.status === 'completed-with-failures') return ExitCode.failures;
  return ExitCode.cannotRun;
}

/** The final summary printed when a job ends. */
export function renderSummary(r: JobResult): string {
  const o = r.objects;
  const b = r.bytes;
  const rate = r.durationMs > 0 ? (b.copied / r.durationMs) * 1000 : 0;
  const head =
    r.status === 'succeeded'
      ? `Job ${r.name} succeeded in ${formatDuration(r.durationMs)}`
      : r.status === 'completed-with-failures'
        ? `Job ${r.name} completed with failures in ${formatDuration(r.durationMs)}: ${formatCount(o.failed)} object${o.failed === 1 ? '' : 's'} failed`
        : `Job ${r.name} failed after ${formatDuration(r.durationMs)}${r.error ? `: ${r.error}` : ''}`;
  const lines = [
    head,
    `  objects  ${formatCount(o.total)} total: ${formatCount(o.copied)} copied, ${formatCount(o.skipped)} skipped, ${formatCount(o.failed)} failed, ${formatCount(o.verified)} verified${o.excluded ? ` (${formatCount(o.excluded)} excluded by filter)` : ''}`,
    `  bytes    ${formatBytes(b.total)} total: ${formatBytes(b.copied)} copied, ${formatBytes(b.skipped)} skipped, ${formatBytes(b.failed)} failed`,
    ...(r.verifiedBy ? [`  verified by ${formatVerifiedBy(r.verifiedBy)}`] : []),
    `  rate     ${formatBytes(rate)}/s${r.rounds > 1 ? `   rounds ${r.rounds} (failed tasks retried)` : ''}`,
  ];
  if (r.mirror) lines.push(`  ${mirrorLine(r.mirror)}`);
  if (r.archive) lines.push(`  ${archiveLine(r.archive)}`);
  if (r.status === 'completed-with-failures' && r.error) lines.push(`  error    ${r.error}`);
  if (r.reportPath) lines.push(`  report   ${r.reportPath}`);
  if (r.status === 'completed-with-failures') lines.push(`The failure list is in the report (ferry report ${r.name}); \`ferry retry ${r.name}\` copies what is still missing.`);
  return lines.join('\n');
}

/**
 * One line on the quirks a side runs with: preset (named by the job or the type's default), overrides and, once
 * probed, what the store showed. E.g. `source: preset minio, overrides listVersion=1; start-after honoured, ETag md5-like`.
 */
export function renderQuirks(side: 'source' | 'destination', r: QuirksReport): string {
  const parts = [`${side}: preset ${r.preset}${r.presetFrom === 'default' ? ' (default)' : ''}`, r.overrides.length ? `overrides ${r.overrides.join(', ')}` : 'no overrides', `ListObjects V${r.listVersion}`];
  const probed = [r.startAfter !== 'untested' ? `start-after ${r.startAfter}` : '', r.etag !== 'untested' ? `ETag ${r.etag}` : ''].filter(Boolean);
  return `${parts.join(', ')}${probed.length ? `; probed: ${probed.join(', ')}` : ''}`;
}
