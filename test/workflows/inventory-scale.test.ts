/**
 * 10⁶ keys through the inventory path: an S3 Inventory report (10 gzip data files on fs) of a synthetic source,
 * planned and copied to a null sink by one in-process worker. The source is never listed; every key arrives once.
 * Prints the rate for the issue notes (`FERRY_INVENTORY_SCALE` sets another count).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTemporal } from '../support/temporal';
import { runJob, historyEvents } from '../support/ferry';
import { startSyntheticWorker } from '../support/synthetic';
import { tempDir } from '../support/process';
import { s3Inventory, writeReport } from '../support/inventory-fixtures';

const N = Number(process.env.FERRY_INVENTORY_SCALE ?? 1_000_000);

test(`${N} keys from an inventory to a null sink`, async () => {
  const temporal = await startTemporal();
  const { source, sink, worker } = await startSyntheticWorker(temporal, N);
  let lists = 0;
  const list = source.list.bind(source);
  source.list = (opts) => (lists++, list(opts));
  try {
    const dir = tempDir('inventory-scale');
    const objects = Array.from({ length: N }, (_, i) => ({ key: `k/${String(i).padStart(10, '0')}`, size: 64 }));
    const report = s3Inventory({ prefix: 'inv', sourceBucket: 'synthetic', inventoryBucket: 'reports', objects, files: 10, contiguous: true });
    writeReport(dir, report.files);
    const client = await temporal.client();
    const started = Date.now();
    const r = await runJob(client, {
      name: 'inventory-scale',
      source: { type: 'fs', path: '/synthetic/src', inventory: { type: 'fs', path: dir, key: report.manifestKey } },
      destination: { type: 'fs', path: '/synthetic/sink' },
      overwrite: 'always',
      verify: 'none',
      tasks: { maxObjects: 20_000 },
      concurrency: { tasks: 8, objects: 64 },
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, N);
    assert.equal(sink.stored.size, N);
    assert.equal(lists, 0, 'the source was never listed');
    const h = await historyEvents(client, 'inventory-scale');
    console.log(`# inventory scale: ${N} objects in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} objects/s); ${(((h.job + h.tasks) / N) * 1000).toFixed(1)} history events per 1,000 objects; max events per run ${h.maxPerRun}`);
    assert.ok(h.maxPerRun < 10_000, `largest run has ${h.maxPerRun} events`);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
