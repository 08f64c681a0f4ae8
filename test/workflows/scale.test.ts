/**
 * 100,000 keys: the job plans and runs with every workflow run's history under 10,000 events, continue-as-new
 * is observed, and the history cost per 1,000 objects is measured (printed for the issue notes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTemporal } from '../support/temporal';
import { runJob, historyEvents } from '../support/ferry';
import { startSyntheticWorker } from '../support/synthetic';

const N = 100_000;

test(`${N} keys: history per run < 10,000 events, continue-as-new observed`, async () => {
  // A low suggestion threshold makes continue-as-new happen at this scale (production: 4,096 events).
  const temporal = await startTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 150 } });
  const { sink, worker } = await startSyntheticWorker(temporal, N);
  try {
    const client = await temporal.client();
    const started = Date.now();
    const r = await runJob(client, {
      name: 'scale',
      source: { type: 'fs', path: '/synthetic/src' },
      destination: { type: 'fs', path: '/synthetic/sink' },
      overwrite: 'always',
      verify: 'none',
      tasks: { maxObjects: 2000 },
      concurrency: { tasks: 8, objects: 64 },
    });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, N);
    assert.equal(sink.stored.size, N);
    const h = await historyEvents(client, 'scale');
    const per1k = ((h.job + h.tasks) / N) * 1000;
    console.log(`# scale: ${N} objects in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} objects/s); job runs ${h.jobRuns}, max events per run ${h.maxPerRun}, job events ${h.job}, task events ${h.tasks}, ${per1k.toFixed(1)} events per 1,000 objects (tasks of 2,000)`);
    assert.ok(h.jobRuns >= 2, `continue-as-new observed (${h.jobRuns} runs)`);
    assert.ok(h.maxPerRun < 10_000, `largest run has ${h.maxPerRun} events`);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
