/** Benchmark output: bench/results/latest.json, the ratio chart (SVG) and the console table. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spread, type Machine, type Spread } from './measure';

export interface ToolFigures {
  seconds: number;
  objectsPerSec: number;
  mbPerSec: number;
  peakRssMiB: number | null;
  /** Wall seconds of every repeat (median is `seconds`). */
  spread: Spread;
  /** Median CPU seconds (user + system) of the tool's process per run. */
  cpuSeconds: number | null;
  /** Median CPU seconds of MinIO, versitygw and Temporal together while the tool ran. */
  serverCpuSeconds: number | null;
}

export interface CaseResult {
  name: string;
  description: string;
  objects: number;
  bytes: number;
  concurrency: number;
  ferry: ToolFigures;
  rclone: ToolFigures | null;
  /** The raw loop (large objects: multipart uploads of Ferry's part size). */
  raw: ToolFigures | null;
  /** The raw loop with single PUTs (large-object cases; information only, no ratio). */
  rawSinglePut?: ToolFigures;
  /** Ferry objects/s ÷ rclone objects/s (> 1: Ferry is faster). */
  ratioVsRclone: number | null;
  ratioVsRaw: number | null;
  historyEventsPer1k: number | null;
  extraRequestsPerObject: number | null;
  /** Non-data requests by kind, per repeat (median run). */
  extraRequests?: Record<string, number>;
  rcloneFlags?: string;
  /** Peak RSS of the Ferry worker process from its start until it polled (before the first run). */
  ferryWorkerStartRssMiB?: number | null;
  /** Median seconds from starting a Ferry job to its first object GET/PUT, and from the last one to its result (S3 cases). */
  ferryToFirstObjectSeconds?: number | null;
  ferryAfterLastObjectSeconds?: number | null;
  target?: Target;
}

/** A case's goal from its issue, and whether the median met it. */
export interface Target {
  text: string;
  met: boolean;
}

export interface BenchResults {
  machine: Machine;
  date: string;
  mode: 'quick' | 'full';
  repeats: number;
  cases: CaseResult[];
}

/** What one timed run of a tool measured. */
export interface RunFigures {
  seconds: number;
  peakRssMiB: number | null;
  cpuSeconds?: number;
  serverCpuSeconds?: number;
}

export function median(xs: (number | undefined)[]): number | null {
  const known = xs.filter((x): x is number => x !== undefined);
  return known.length ? Math.round(spread(known).median * 100) / 100 : null;
}

/** A tool's figures over the repeats of a case (medians; peak RSS is the highest). */
export function toolFigures(objects: number, bytes: number, runs: RunFigures[]): ToolFigures {
  const s = spread(runs.map((r) => r.seconds));
  const rss = runs.map((r) => r.peakRssMiB).filter((x): x is number => x !== null);
  return {
    seconds: s.median,
    objectsPerSec: objects / s.median,
    mbPerSec: bytes / 1e6 / s.median,
    peakRssMiB: rss.length ? Math.max(...rss) : null,
    spread: s,
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    serverCpuSeconds: median(runs.map((r) => r.serverCpuSeconds)),
  };
}

const RESULTS = join(__dirname, 'results');

const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));

export function table(r: BenchResults): string {
  const head = ['case', 'tool', 'seconds (min–max)', 'objects/s', 'MB/s', 'peak RSS MiB', 'CPU s tool / servers', '÷rclone', '÷raw', 'events/1k', 'extra req/obj', 'target'];
  const rows: string[][] = [head];
  for (const c of r.cases) {
    for (const tool of ['ferry', 'rclone', 'raw', 'rawSinglePut'] as const) {
      const t = c[tool];
      if (!t) continue;
      const isF = tool === 'ferry';
      rows.push([
        isF ? c.name : '',
        tool === 'rawSinglePut' ? 'raw, single PUTs' : tool === 'raw' && c.rawSinglePut ? 'raw, multipart' : tool,
        `${f(t.seconds)} (${f(t.spread.min)}–${f(t.spread.max)})`,
        f(t.objectsPerSec, 0),
        f(t.mbPerSec, 1),
        f(t.peakRssMiB, 0),
        `${f(t.cpuSeconds, 1)} / ${f(t.serverCpuSeconds, 1)}`,
        isF ? f(c.ratioVsRclone) : '',
        isF ? f(c.ratioVsRaw) : '',
        isF ? f(c.historyEventsPer1k, 1) : '',
        isF ? f(c.extraRequestsPerObject, 3) : '',
        isF && c.target ? `${c.target.text}: ${c.target.met ? 'met' : 'MISSED'}` : '',
      ]);
    }
  }
  const w = head.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(w[i]!)).join('  ')).join('\n');
}

/** Horizontal bars: Ferry ÷ rclone and Ferry ÷ raw per case, with the 1.0 line. */
export function ratioSvg(r: BenchResults): string {
  const cases = r.cases.filter((c) => c.ratioVsRclone !== null || c.ratioVsRaw !== null);
  const rowH = 44;
  const left = 230;
  const width = 760;
  const plotW = width - left - 60;
  const max = Math.max(2, ...cases.flatMap((c) => [c.ratioVsRclone ?? 0, c.ratioVsRaw ?? 0]));
  const x = (v: number) => left + (v / max) * plotW;
  const height = 70 + cases.length * rowH + 30;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Ferry throughput ÷ peer (higher is better; ${r.mode} run, ${r.date.slice(0, 10)}, ${r.machine.cores} cores, shared)</text>`,
    `<rect x="${left}" y="32" width="12" height="10" fill="#2b6cb0"/><text x="${left + 16}" y="41">÷ rclone v1.75.0</text>`,
    `<rect x="${left + 140}" y="32" width="12" height="10" fill="#dd6b20"/><text x="${left + 156}" y="41">÷ raw SDK GET→PUT loop</text>`,
  ];
  cases.forEach((c, i) => {
    const y = 60 + i * rowH;
    parts.push(`<text x="10" y="${y + 18}">${esc(c.name)}</text>`);
    const bar = (v: number | null, dy: number, color: string) => {
      if (v === null) return;
      parts.push(`<rect x="${left}" y="${y + dy}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="14" fill="${color}"/>`);
      parts.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + dy + 11}">${v.toFixed(2)}×</text>`);
    };
    bar(c.ratioVsRclone, 4, '#2b6cb0');
    bar(c.ratioVsRaw, 20, '#dd6b20');
  });
  const bottom = 60 + cases.length * rowH;
  parts.push(`<line x1="${x(1)}" y1="50" x2="${x(1)}" y2="${bottom}" stroke="black" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${x(1) - 8}" y="${bottom + 14}">1.0</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writeResults(r: BenchResults): { json: string; svg: string } {
  mkdirSync(RESULTS, { recursive: true });
  const json = join(RESULTS, 'latest.json');
  const svg = join(RESULTS, 'ratios.svg');
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  // Also kept per mode, so a quick run does not hide the last full run (and vice versa).
  writeFileSync(join(RESULTS, `latest-${r.mode}.json`), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(svg, ratioSvg(r));
  return { json, svg };
}
