/**
 * The size check of a window's copies (a destination LIST) runs while the next window copies: with a destination
 * whose LIST takes 300 ms, puts go on during those LISTs, every object is still verified, and an object that is
 * missing after its copy is still reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTemporal } from '../support/temporal';
import { startJob, startWorker } from '../support/ferry';
import { syntheticSink, syntheticSource } from '../support/synthetic';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import type { EndpointConfig } from '../../common/job';
import type { JobResult } from '../../common/progress';

const N = 3000; // three 1,000-object windows in one batch

test('a window is size-checked while the next one copies; every object is verified and a lost one reported', async () => {
  const temporal = await startTemporal();
  const source = syntheticSource(N, 64);
  const sink = syntheticSink();
  const lists: { start: number; end: number }[] = [];
  const puts: number[] = [];
  const lost = 'k/0000001500'; // in the second window: its check overlaps the third window's copies
  const slowSink: ObjectProvider = {
    ...sink,
    async list(opts) {
      const start = performance.now();
      await sleep(300);
      const page = await sink.list(opts);
      lists.push({ start, end: performance.now() });
      return page;
    },
    async put(key, body, opts) {
      const r = await sink.put(key, body, opts);
      puts.push(performance.now());
      if (key === lost) sink.stored.delete(key); // stored, then gone before the check: the check must report it
      return r;
    },
  };
  const worker = await startWorker(temporal, {
    deps: { openProvider: (spec: EndpointConfig, ctx) => (spec.path === '/synthetic/src' ? source : spec.path === '/synthetic/sink' ? slowSink : openProvider(spec, ctx)) },
  });
  try {
    const client = await temporal.client();
    // overwrite: always — no destination index per window, so every destination LIST is a size check.
    const job = { name: 'verify-overlap', source: { type: 'fs', path: '/synthetic/src' }, destination: { type: 'fs', path: '/synthetic/sink' }, overwrite: 'always', verify: 'size', retries: 0, concurrency: { tasks: 1, objects: 16 } };
    const r = (await (await startJob(client, job)).result()) as JobResult;
    assert.equal(r.objects.copied, N - 1, JSON.stringify(r.objects));
    assert.equal(r.objects.verified, N - 1, JSON.stringify(r.objects));
    assert.equal(r.objects.failed, 1, JSON.stringify(r.objects));
    const failures = readFileSync(join(r.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; message: string });
    assert.deepEqual(failures.map((f) => f.key), [lost]);
    assert.match(failures[0]!.message, /missing at the destination/);
    assert.ok(lists.length >= 3, `${lists.length} size-check LISTs`);
    const during = puts.filter((t) => lists.some((l) => t > l.start && t < l.end)).length;
    console.log(`# ${lists.length} size-check LISTs of 300 ms; ${during} of ${puts.length} puts finished during one`);
    assert.ok(during >= 100, `copies go on while a window is checked (${during} puts during the LISTs)`);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
