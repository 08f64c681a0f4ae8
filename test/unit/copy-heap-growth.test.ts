/**
 * The copy path marks streamed transfers for the worker's heap policy (activities/heap-growth.ts): a streamed
 * single put and every part upload run inside heapGrowth.streaming(), a small object read whole does not, and
 * none is left marked after the batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { openProvider } from '../../activities/providers/registry';
import type { ObjectProvider } from '../../activities/providers/provider';
import { heapGrowth } from '../../activities/heap-growth';
import { HEAP_GROWING_PERCENT } from '../../workers/worker';
import { parseJob } from '../../common/job';
import type { BatchInput, BatchResult } from '../../workflows/types';

test('streamed copies and part uploads run as streamed transfers; small objects do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-heap-growth-'));
  try {
    for (const d of ['src', 'dst']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'src', 'a-small.bin'), Buffer.alloc(1024, 1));
    writeFileSync(join(dir, 'src', 'b-streamed.bin'), Buffer.alloc(1024 ** 2, 2));
    writeFileSync(join(dir, 'src', 'c-multipart.bin'), Buffer.alloc(6 * 1024 ** 2, 3));
    heapGrowth.cap(HEAP_GROWING_PERCENT);
    const seen: string[] = [];
    const record = (what: string) => seen.push(`${what} ${heapGrowth.streams > 0 ? 'streaming' : 'not streaming'}`);
    const activities = createActivities({
      reportDir: join(dir, 'reports'),
      openProvider: (spec, ctx) => {
        const p = openProvider(spec, ctx);
        if ((spec as { path: string }).path !== join(dir, 'dst')) return p;
        // Another endpoint than the source's, so objects are read and written rather than copied by the fs itself.
        return Object.assign(Object.create(p) as ObjectProvider, {
          endpointId: 'fs-destination-under-test',
          put: (key: string, ...rest: Parameters<ObjectProvider['put']> extends [unknown, ...infer R] ? R : never) => (record(`put ${key}`), p.put(key, ...rest)),
          uploadPart: (key: string, uploadId: string, n: number, ...rest: unknown[]) => (record(`part ${n}`), (p.uploadPart as (...a: unknown[]) => unknown)(key, uploadId, n, ...rest)),
        });
      },
    });
    const job = parseJob({ name: 'heap-growth', source: { type: 'fs', path: join(dir, 'src') }, destination: { type: 'fs', path: join(dir, 'dst') }, multipart: { threshold: '5MiB', partSize: '1MiB' }, concurrency: { tasks: 1, objects: 1 } });
    const input: BatchInput = { job, runTag: 'r', taskId: 't', parentId: 'p', round: 0, n: 0, batch: 0, range: { last: 'c-multipart.bin' }, limits: job.limits };
    const result = (await new MockActivityEnvironment().run(activities.copyRange, input)) as BatchResult;
    assert.equal(result.objects.copied, 3, JSON.stringify(result));
    assert.deepEqual(seen, [
      'put a-small.bin not streaming',
      'put b-streamed.bin streaming',
      ...Array.from({ length: 6 }, (_, i) => `part ${i + 1} streaming`),
    ]);
    assert.equal(heapGrowth.streams, 0, 'every streamed transfer ended');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
