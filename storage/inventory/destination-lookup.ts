/**
 * What a destination holds at given keys, answered from its inventory (`destination.inventory`) instead of a stat
 * per key. Works when the report is sorted by key, as S3 and OSS write theirs: each data file in key order and the
 * files' key ranges apart. That is checked once per process by reading the whole report (one pass, no request to
 * the destination), which also records every SPARSE-th key, so a lookup reads at most SPARSE rows per key block.
 * Memory: one key per SPARSE rows (10⁵ keys for 10⁸ rows). An unsorted report answers nothing (the caller stats).
 */
import { compareKeys } from '../../common/keys';
import type { ObjectInfo } from '../provider';
import type { ReportReader } from './report-reader';

/** Rows between two recorded keys. */
const SPARSE = 1024;

interface FileRange {
  file: number;
  first: string;
  last: string;
  /** Recorded keys: `key` is the first object of the block that starts after line `after`. */
  blocks: { key: string; after: number }[];
}

/** Why a report cannot answer lookups, or its sorted ranges. */
type SortedReport = { ranges: FileRange[] } | { unsorted: string };

async function scanSorted(reader: ReportReader): Promise<SortedReport> {
  const report = await reader.report();
  const ranges: FileRange[] = [];
  for (let file = 0; file < report.files.length; file++) {
    let prev: string | undefined;
    let prevLine = 0;
    let n = 0;
    let range: FileRange | undefined;
    for await (const rows of reader.rows(file, 0)) {
      for (const row of rows) {
        if (!('object' in row.result)) continue;
        const key = row.result.object.key;
        if (prev !== undefined && compareKeys(prev, key) >= 0) return { unsorted: `${reader.where(file, row.line)} is not in key order` };
        if (!range) range = { file, first: key, last: key, blocks: [] };
        if (n++ % SPARSE === 0) range.blocks.push({ key, after: prevLine });
        range.last = key;
        prev = key;
        prevLine = row.line;
      }
    }
    if (range) ranges.push(range);
  }
  ranges.sort((a, b) => compareKeys(a.first, b.first));
  for (let i = 1; i < ranges.length; i++) {
    if (compareKeys(ranges[i - 1]!.last, ranges[i]!.first) >= 0) return { unsorted: `the key ranges of ${reader.where(ranges[i - 1]!.file, 0)} and ${reader.where(ranges[i]!.file, 0)} overlap` };
  }
  return { ranges };
}

/** Index of the last element of `xs` whose key is ≤ `key` (-1 when none). */
function floorIndex<T>(xs: readonly T[], key: string, keyOf: (x: T) => string): number {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keyOf(xs[mid]!), key) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class DestinationLookup {
  private sorted: Promise<SortedReport> | undefined;

  constructor(private readonly reader: ReportReader) {}

  /** Why lookups are not answered, once the report was checked (undefined: they are, or not checked yet). */
  async unsortedReason(): Promise<string | undefined> {
    const s = await this.check();
    return 'unsorted' in s ? s.unsorted : undefined;
  }

  private check(): Promise<SortedReport> {
    if (!this.sorted) {
      const p = scanSorted(this.reader);
      this.sorted = p;
      p.catch(() => this.sorted === p && (this.sorted = undefined));
    }
    return this.sorted;
  }

  /**
   * The report's rows for those of `keys` it lists (absent keys: not in the report). Undefined when the report is
   * not sorted by key. Throws what reading the report throws.
   */
  async lookup(keys: readonly string[]): Promise<Map<string, ObjectInfo> | undefined> {
    const s = await this.check();
    if ('unsorted' in s) return undefined;
    // Keys grouped by the block that may hold them, so each block is read once.
    const blocks = new Map<string, { file: number; after: number; keys: Set<string> }>();
    for (const key of keys) {
      const r = floorIndex(s.ranges, key, (x) => x.first);
      const range = s.ranges[r];
      if (!range || compareKeys(key, range.last) > 0) continue;
      const b = range.blocks[floorIndex(range.blocks, key, (x) => x.key)]!;
      const id = `${range.file}:${b.after}`;
      let group = blocks.get(id);
      if (!group) blocks.set(id, (group = { file: range.file, after: b.after, keys: new Set() }));
      group.keys.add(key);
    }
    const out = new Map<string, ObjectInfo>();
    for (const b of blocks.values()) await this.readBlock(b.file, b.after, b.keys, out);
    return out;
  }

  private async readBlock(file: number, after: number, keys: Set<string>, out: Map<string, ObjectInfo>): Promise<void> {
    const last = [...keys].reduce((a, k) => (compareKeys(k, a) > 0 ? k : a));
    const gen = this.reader.rows(file, after);
    try {
      for await (const rows of gen) {
        for (const row of rows) {
          if (!('object' in row.result)) continue;
          const o = row.result.object;
          if (keys.has(o.key)) out.set(o.key, { ...o, position: o.key });
          if (compareKeys(o.key, last) >= 0) return;
        }
      }
    } finally {
      await gen.return(undefined);
    }
  }
}
