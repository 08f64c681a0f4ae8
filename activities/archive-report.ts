/**
 * The report's part on archived objects: the skipped ones (`archived: skip`), written by batches to `<run>/archived/`,
 * become `skipped.jsonl`; the failures of restore waits (`<run>/restore/…/failures/`) join failures.jsonl.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { StoredFailure } from './failures';

/** One object skipped as archived. */
export interface SkippedArchived {
  key: string;
  size: number;
  storageClass: string;
  reason: string;
  task: string;
}

/** Every JSON line of the `.jsonl` files under `dir` (recursively), in file-name order; none when it does not exist. */
async function jsonLines<T>(dir: string): Promise<T[]> {
  const files = (await fsp.readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl')).sort();
  const out: T[] = [];
  for (const f of files) for (const l of (await fsp.readFile(join(dir, f), 'utf8')).split('\n')) if (l) out.push(JSON.parse(l) as T);
  return out;
}

/** The last record per key (a retried batch or round writes an object's line again). */
function lastPerKey<T extends { key: string }>(records: T[]): T[] {
  return [...new Map(records.map((r) => [r.key, r])).values()];
}

/** Objects skipped as archived, and failures of restore waits, of the run in `runDir`. */
export async function archiveReport(runDir: string): Promise<{ skipped: SkippedArchived[]; failures: StoredFailure[] }> {
  return {
    skipped: lastPerKey(await jsonLines<SkippedArchived>(join(runDir, 'archived'))),
    failures: lastPerKey(await jsonLines<StoredFailure>(join(runDir, 'restore'))),
  };
}
