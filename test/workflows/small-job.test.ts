/**
 * A job whose listing yields a single task runs that task's batches in the job workflow itself (no child):
 * 5,000 synthetic objects cost at most 10 history events per 1,000 objects, and pause, resume and live progress
 * (`ferry status`) work on it as on a child task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTemporal } from '../support/temporal';
import { startJob, historyEvents } from '../support/ferry';
import { startSyntheticWorker } from '../support/synthetic';
import { queryProgress } from '../../client/jobs';
import type { JobResult } from '../../common/progress';

const N = 5000;

test(`a single-task job of ${N} objects runs in the job workflow: ≤ 10 events per 1,000 objects; pause, resume and live progress`, async () => {
  const temporal = await startTemporal();
  const { sink, worker } = await startSyntheticWorker(temporal, N);
  try {
    const client = await temporal.client();
    const job = (name: string, extra: object = {}) => ({
      name,
      source: { type: 'fs', path: '/synthetic/src' },
      destination: { type: 'fs', path: `/synthetic/sink` },
      concurrency: { tasks: 4, objects: 16 },
      ...extra,
    });

    // History: one job workflow, no child, ≤ 10 events per 1,000 objects.
    const r1 = (await (await startJob(client, job('small'))).result()) as JobResult;
    assert.equal(r1.status, 'succeeded', JSON.stringify(r1));
    assert.equal(r1.objects.copied, N);
    assert.equal(r1.objects.verified, N);
    assert.equal(sink.stored.size, N);
    const ev = await historyEvents(client, 'small');
    const per1k = ((ev.job + ev.tasks) / N) * 1000;
    console.log(`# small job: ${N} objects: job events ${ev.job}, task child events ${ev.tasks} (${per1k.toFixed(1)} per 1,000 objects)`);
    assert.equal(ev.tasks, 0, 'no task child was started');
    assert.ok(per1k <= 10, `${per1k} events per 1,000 objects`);

    // Pause, resume and live progress on the task the job runs itself (a second sink key space: prefix).
    sink.stored.clear();
    const h = await startJob(client, job('small-paused', { overwrite: 'always', throttle: { objectsPerSecond: 1500 } }));
    for (let i = 0; i < 100 && sink.stored.size < 800; i++) await sleep(100);
    // Live progress while the task runs: the running batch's heartbeat is added to the job's counts.
    await sleep(1200); // > one heartbeat interval (1 s) after the first objects
    const live = await queryProgress(client, h);
    assert.ok(live, 'a worker answered');
    assert.equal(live.tasks.inFlight, 1, JSON.stringify(live.tasks));
    assert.ok(live.objects.copied > 0, `live progress counts the running batch: ${JSON.stringify(live.objects)}`);

    await h.signal('pause');
    await sleep(1500); // the batch sees the pause within one control poll (500 ms here)
    const atPause = sink.stored.size;
    await sleep(1000);
    assert.equal(sink.stored.size, atPause, 'nothing is copied while paused');
    assert.ok(atPause < N, `paused before the end (${atPause} of ${N})`);
    const paused = await queryProgress(client, h);
    assert.equal(paused?.paused, true);
    assert.ok(paused!.objects.copied >= atPause - 16 && paused!.objects.copied <= atPause, `paused progress ${paused!.objects.copied}, stored ${atPause}`);

    await h.signal('resume');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    // overwrite: always — objects finished before the pause are not copied again (the batch handed over its cursor).
    assert.equal(r.objects.copied, N, JSON.stringify(r));
    assert.equal(sink.stored.size, N);
    assert.equal((await historyEvents(client, 'small-paused')).tasks, 0);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});

test('a job running its single task itself carries the task across continue-as-new', async () => {
  // A low suggestion threshold: the job continues-as-new at the first batch boundary (here: a pause).
  const temporal = await startTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 20 } });
  const { sink, worker } = await startSyntheticWorker(temporal, N);
  try {
    const client = await temporal.client();
    const h = await startJob(client, {
      name: 'small-can',
      source: { type: 'fs', path: '/synthetic/src' },
      destination: { type: 'fs', path: '/synthetic/sink' },
      overwrite: 'always',
      concurrency: { tasks: 4, objects: 16 },
      throttle: { objectsPerSecond: 1500 },
    });
    for (let i = 0; i < 100 && sink.stored.size < 800; i++) await sleep(100);
    await h.signal('pause');
    await sleep(1500);
    const atPause = sink.stored.size;
    assert.ok(atPause < N, `paused before the end (${atPause} of ${N})`);
    await h.signal('resume');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, N, 'the new run went on from the carried cursor: nothing copied twice, nothing left out');
    assert.equal(r.objects.verified, N);
    assert.equal(sink.stored.size, N);
    const ev = await historyEvents(client, 'small-can');
    assert.ok(ev.jobRuns >= 2, `continued as new (${ev.jobRuns} runs)`);
    // Some run after the first resumed the task from a carried cursor (its first batch starts past key 0).
    let resumedMidTask = false;
    for await (const wf of client.workflow.list({ query: `WorkflowId = 'ferry-small-can'` })) {
      const hist = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const started = hist.events?.[0]?.workflowExecutionStartedEventAttributes;
      const carried = started?.input?.payloads?.[1]?.data;
      if (carried && /"inline":\{[^]*"cursor":"k\//.test(Buffer.from(carried).toString())) resumedMidTask = true;
    }
    assert.ok(resumedMidTask, 'a run started with the task part-way done');
    assert.equal(ev.tasks, 0);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
