/**
 * The version map of a `versions: all` job: which destination version holds each source version. Like the failure
 * lists (failures.ts) it is bulk data kept out of workflow history: one JSON-lines file per batch next to the batch's
 * failure file, `<run report dir>/versions/r<round>-t<task>-b<batch>.jsonl`, appended as versions are written or
 * found in place. The report merges them into `versions.jsonl`.
 *
 * Lines are facts about the destination, so a retried or resumed batch never has to drop any: it writes the lines of
 * the versions it finds in place again, and the merge keeps one line per source version.
 */
import { appendFileSync, mkdirSync, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compareKeys } from '../common/keys';

/** One source version and the destination version that holds it. */
export interface VersionMapLine {
  key: string;
  sourceVersionId: string;
  destinationKey: string;
  destinationVersionId: string;
  /** The version is a delete marker (reproduced as a delete at its place in the order). */
  deleteMarker?: true;
  /** Place of the version in its key's history, 0 = oldest (orders the merged map). */
  n: number;
}

function parsed(l: string): VersionMapLine | undefined {
  try {
    return l ? (JSON.parse(l) as VersionMapLine) : undefined;
  } catch {
    return undefined;
  }
}

/** Folder of a run's per-batch version maps, from the run's report folder. */
const mapDir = (runDir: string) => join(runDir, 'versions');

/** The version map file of one batch: the batch's failure file's name in the `versions` folder of its run. */
export class VersionMapLog {
  readonly file: string;
  /** `failureFile`: the batch's FailureLog file (`<run>/failures/r…-t…-b….jsonl`). */
  constructor(failureFile: string) {
    this.file = join(mapDir(dirname(dirname(failureFile))), basename(failureFile));
  }

  add(line: VersionMapLine): void {
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}

/**
 * Merges a run's version maps into `<runDir>/versions.jsonl`: one line per source version (the last one written), in
 * key order and oldest first within a key. Returns how many lines it wrote.
 */
export async function writeVersionMap(runDir: string): Promise<number> {
  const dir = mapDir(runDir);
  const files = (await fsp.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl')).sort();
  const lines = new Map<string, VersionMapLine>();
  for (const f of files) {
    for (const l of (await fsp.readFile(join(dir, f), 'utf8')).split('\n')) {
      // A worker killed mid-append may leave a torn last line: the version's next attempt writes it whole.
      const line = parsed(l);
      if (line) lines.set(`${line.key}\n${line.sourceVersionId}`, line);
    }
  }
  const merged = [...lines.values()].sort((a, b) => compareKeys(a.key, b.key) || a.n - b.n);
  await fsp.writeFile(join(runDir, 'versions.jsonl'), merged.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return merged.length;
}
