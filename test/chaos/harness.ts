/**
 * Shared pieces of the fault-injection suite (test/workflows/chaos-*.test.ts and faults-*.test.ts): strength
 * (`npm test` runs a short version; `FERRY_CHAOS=1`, set by `npm run test:chaos`, the full one), source trees
 * with small and multipart objects, and the end-of-test proof (every object byte-identical, no orphaned
 * multipart uploads, duplicates counted).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { ObjectProvider } from '../../storage/provider';
import type { JobResult } from '../../common/progress';
import { assertSameTree } from '../support/ferry';

/** True under `npm run test:chaos`. */
export const FULL = process.env.FERRY_CHAOS === '1';
export const MiB = 1024 * 1024;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `small` small files (spread over 20 directories) and `large` multipart-sized files; returns the total. */
export function writeTree(dir: string, small: number, large: number, largeSize = 12 * MiB): number {
  for (let i = 0; i < small; i++) {
    const p = join(dir, `small/${String(i % 20).padStart(2, '0')}/obj-${String(i).padStart(6, '0')}.bin`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, randomBytes(64 + (i % 512)));
  }
  for (let i = 0; i < large; i++) writeFileSync(join(dir, `large-${i}.bin`), randomBytes(largeSize + i * 12345));
  return small + large;
}

/** Waits for a job's result, failing (instead of hanging) after `ms`. */
export async function resultWithin(h: WorkflowHandle, ms: number): Promise<JobResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`job ${h.workflowId} did not finish within ${ms} ms`)), ms)));
  try {
    return (await Promise.race([h.result(), timeout])) as JobResult;
  } finally {
    clearTimeout(timer);
  }
}

/** The end of every chaos test: 0 missing, 0 corrupt, 0 orphaned uploads. Returns objects compared. */
export async function assertIntact(src: ObjectProvider, dst: ObjectProvider, expected: number, opts: { dstPrefix?: string } = {}): Promise<number> {
  const compared = await assertSameTree(src, dst, { dstPrefix: opts.dstPrefix });
  assert.equal(compared, expected, 'every source object compared');
  if (dst.listMultipartUploads) assert.deepEqual(await dst.listMultipartUploads(), [], 'no orphaned multipart uploads');
  return compared;
}

/** Objects written more than once, from the fault proxy's per-path write counts. */
export function duplicates(writes: Map<string, number>): { written: number; objects: number; extraWrites: number } {
  let written = 0;
  let objects = 0;
  let extraWrites = 0;
  for (const [path, n] of writes) {
    if (path.includes('.ferry-preflight-')) continue; // the preflight's write-permission probe
    written++;
    if (n > 1) {
      objects++;
      extraWrites += n - 1;
    }
  }
  return { written, objects, extraWrites };
}
