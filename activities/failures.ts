/**
 * Per-object failures are bulk data: they go to files in the report location, never into workflow history
 * (only counts and a bounded sample travel back). One JSON-lines file per batch:
 * `<reportDir>/<job>/<runTag>/failures/r<round>-t<task>-b<batch>.jsonl`. Appended as failures happen (so a
 * crash loses none); a resumed batch drops the lines after its heartbeat cursor that it will redo.
 */
import { appendFileSync, mkdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { FailureRecord } from '../common/progress';

export interface StoredFailure extends FailureRecord {
  round: number;
  n: number;
  position: string;
}

/**
 * Where a job's reports go: its `report.path`, else the worker's report directory. Every file of a run (failures,
 * version maps, restore copies, stale rows, the report itself) is under this one root, or the report misses them.
 */
export function jobReportRoot(workerReportDir: string, job: { report: { path?: string } }): string {
  return job.report.path ?? workerReportDir;
}

/** Folder of one job run's report. */
export function runReportDir(reportDir: string, jobName: string, runTag: string): string {
  return join(reportDir, jobName, runTag.replace(/[:]/g, '-'));
}

export class FailureLog {
  readonly file: string;
  constructor(
    reportDir: string,
    jobName: string,
    runTag: string,
    private readonly round: number,
    private readonly n: number,
    batch: number,
  ) {
    const dir = join(runReportDir(reportDir, jobName, runTag), 'failures');
    this.file = join(dir, `r${round}-t${n}-b${batch}.jsonl`);
  }

  add(rec: FailureRecord, position: string): void {
    const line: StoredFailure = { ...rec, round: this.round, n: this.n, position };
    mkdirSync(join(this.file, '..'), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }

  /**
   * Keeps only the failures at or before `cursor` and at the positions in `done` (finished after the cursor, out of
   * order): a resumed attempt redoes the rest.
   */
  async truncateAfter(cursor: string | undefined, cmp: (a: string, b: string) => number, done: readonly string[] = []): Promise<void> {
    const text = await fsp.readFile(this.file, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const finished = new Set(done);
    const keep = text
      .split('\n')
      .filter(Boolean)
      .filter((l) => {
        const { position } = JSON.parse(l) as StoredFailure;
        return (cursor !== undefined && cmp(position, cursor) <= 0) || finished.has(position);
      });
    await fsp.writeFile(this.file, keep.map((l) => `${l}\n`).join(''));
  }
}

/**
 * All failures of a run, for the report: per task only its last round counts (a retry replaces the earlier
 * outcome), and within it the last line per key.
 */
export async function collectFailures(reportDir: string, jobName: string, runTag: string, lastRoundOfTask: Record<string, number>): Promise<StoredFailure[]> {
  const dir = join(runReportDir(reportDir, jobName, runTag), 'failures');
  const files = await fsp.readdir(dir).catch(() => [] as string[]);
  const byKey = new Map<string, StoredFailure>();
  for (const f of files.sort()) {
    const m = /^r(\d+)-t(\d+)-b(\d+)\.jsonl$/.exec(f);
    if (!m) continue;
    const round = Number(m[1]);
    const n = m[2]!;
    if (round !== (lastRoundOfTask[n] ?? 0)) continue;
    const text = await fsp.readFile(join(dir, f), 'utf8');
    for (const l of text.split('\n')) if (l) {
      const rec = JSON.parse(l) as StoredFailure;
      byKey.set(rec.key, rec);
    }
  }
  return [...byKey.values()].sort((a, b) => a.n - b.n || (a.key < b.key ? -1 : 1));
}
