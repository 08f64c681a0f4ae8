/**
 * The copy path marks streamed transfers for the worker's heap policy (activities/heap-growth.ts): a streamed
 * single put, a put of a body read whole from HEAP_BODY_BYTES on, and every part upload run inside
 * heapGrowth.streaming(); a tiny object does not, and none is left marked after the batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { HEAP_BODY_BYTES } from '../../activities/copy';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import { heapGrowth } from '../../activities/heap-growth';
import { HEAP_GROWING_PERCENT } from '../../workers/worker';
import { parseJob } from '../../common/job';
import type { BatchInput, BatchResult } from '../../workflows/types';

test('streamed copies, part uploads and bodies from 4 KiB run as streamed transfers; tiny objects do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-heap-growth-'));
  try {
    for (const d of ['src', 'dst']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'src', 'a-tiny.bin'), Buffer.alloc(HEAP_BODY_BYTES - 1, 1));
    writeFileSync(join(dir, 'src', 'ab-whole.bin'), Buffer.alloc(16 * 1024, 4));
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
    assert.equal(result.objects.copied, 4, JSON.stringify(result));
    assert.deepEqual(seen, [
      'put a-tiny.bin not streaming',
      'put ab-whole.bin streaming',
      'put b-streamed.bin streaming',
      ...Array.from({ length: 6 }, (_, i) => `part ${i + 1} streaming`),
    ]);
    assert.equal(heapGrowth.streams, 0, 'every streamed transfer ended');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
