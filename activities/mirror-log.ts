/**
 * Mirror mode's files in the run's report folder, all JSON lines in destination key order, so a resumed activity
 * cuts them at its heartbeat cursor and the report merges them without holding a set in memory:
 * - `mirror/set.jsonl`: the deletion set `mirrorDiff` found (key, size, reason);
 * - `mirror/deleted.jsonl`: one record per key `mirrorDelete` deleted (or could not), with the time;
 * - `mirror/inflight.json`: the keys being deleted now, written before the requests go out (a killed worker's
 *   deletions are found again from it and the destination's listing);
 * - `deletions.jsonl`: for readers, the set with each key's outcome (written after the diff and by the report).
 */
import { appendFileSync, createReadStream, mkdirSync, promises as fsp, writeFileSync, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { compareKeys } from '../common/keys';

export interface SetLine {
  key: string;
  size: number;
  reason: string;
}

export interface DeletionRecord extends SetLine {
  status: 'deleted' | 'failed';
  /** ISO time the deletion was sent. */
  at: string;
  /** Why the store refused it (status failed). */
  error?: string;
  errorClass?: string;
  /** Version id of the delete marker a versioned destination added. */
  deleteMarker?: string;
}

/** A line of the report's deletions.jsonl. */
export interface DeletionLine extends SetLine {
  status: DeletionRecord['status'] | 'planned' | 'awaiting approval' | 'not deleted';
  at?: string;
  error?: string;
  errorClass?: string;
  deleteMarker?: string;
}

export const mirrorFiles = (runDir: string) => {
  const dir = join(runDir, 'mirror');
  return {
    dir,
    set: join(dir, 'set.jsonl'),
    deleted: join(dir, 'deleted.jsonl'),
    inflight: join(dir, 'inflight.json'),
    pending: join(dir, 'pending.jsonl'),
    deletions: join(runDir, 'deletions.jsonl'),
  };
};

/** The JSON lines of a file in order; none when it does not exist. */
export async function* readLines<T>(file: string): AsyncGenerator<T> {
  const exists = await fsp.stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line) yield JSON.parse(line) as T;
}

/** Appends lines (synchronously: on disk before the requests they stand for go out). */
export function appendLines(file: string, lines: readonly object[]): void {
  if (!lines.length) return;
  mkdirSync(join(file, '..'), { recursive: true });
  appendFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
}

/** Replaces a file at once (a reader or a crash sees the old or the new content). */
export function writeAtomically(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Writes JSON lines to `<file>.tmp` in chunks, then puts it in place of `file`. */
class Rewrite {
  private readonly tmp: string;
  private buffered: string[] = [];
  constructor(private readonly file: string) {
    this.tmp = `${file}.tmp`;
  }
  async open(): Promise<void> {
    await fsp.mkdir(join(this.file, '..'), { recursive: true });
    await fsp.writeFile(this.tmp, '');
  }
  async add(line: object): Promise<void> {
    this.buffered.push(`${JSON.stringify(line)}\n`);
    if (this.buffered.length >= 1000) await this.flush();
  }
  private async flush(): Promise<void> {
    await fsp.appendFile(this.tmp, this.buffered.join(''));
    this.buffered = [];
  }
  async commit(): Promise<void> {
    await this.flush();
    await fsp.rename(this.tmp, this.file);
  }
}

/**
 * Keeps the lines with keys up to `after` (none when `after` is undefined) and returns the others, the last line
 * per key: what an interrupted attempt wrote past its heartbeat cursor (a few windows at most). `beforeCut` sees
 * them before the file is cut (to keep them elsewhere first).
 */
export async function cutAfter<T extends { key: string }>(file: string, after: string | undefined, beforeCut?: (past: T[]) => void): Promise<T[]> {
  const past = new Map<string, T>();
  const rewrite = new Rewrite(file);
  await rewrite.open();
  for await (const line of readLines<T>(file)) {
    if (after !== undefined && compareKeys(line.key, after) <= 0) await rewrite.add(line);
    else past.set(line.key, line);
  }
  const lines = [...past.values()].sort((a, b) => compareKeys(a.key, b.key));
  beforeCut?.(lines);
  await rewrite.commit();
  return lines;
}

/**
 * Writes deletions.jsonl: every key of the set once, with its record when one was made (merging two files in key
 * order), else `undecided` as its status. Returns the counts by status.
 */
export async function writeDeletions(runDir: string, undecided: DeletionLine['status']): Promise<Record<string, number>> {
  const f = mirrorFiles(runDir);
  const counts: Record<string, number> = {};
  const records = readLines<DeletionRecord>(f.deleted)[Symbol.asyncIterator]();
  let record = await records.next();
  const rewrite = new Rewrite(f.deletions);
  await rewrite.open();
  for await (const entry of readLines<SetLine>(f.set)) {
    while (!record.done && compareKeys(record.value.key, entry.key) < 0) record = await records.next();
    let line: DeletionLine = { key: entry.key, size: entry.size, reason: entry.reason, status: undecided };
    // Records are in key order, one per key; a second line for a key would be the same deletion written again.
    while (!record.done && record.value.key === entry.key) {
      line = { ...entry, ...record.value };
      record = await records.next();
    }
    counts[line.status] = (counts[line.status] ?? 0) + 1;
    await rewrite.add(line);
  }
  await rewrite.commit();
  return counts;
}

/**
 * The report's deletions.jsonl when the run found a deletion set (none otherwise): keys without a record are
 * `awaiting approval` while a decision is pending, else `not deleted`. Returns the counts by status.
 */
export async function reportDeletions(runDir: string, awaiting: boolean): Promise<Record<string, number> | undefined> {
  const exists = await fsp.stat(mirrorFiles(runDir).set).then(
    () => true,
    () => false,
  );
  return exists ? writeDeletions(runDir, awaiting ? 'awaiting approval' : 'not deleted') : undefined;
}
