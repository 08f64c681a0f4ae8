/**
 * Distributed mode: three worker processes (FERRY_WORKER_IDENTITY w1..w3) on one Temporal dev server share one
 * fs → MinIO job of a few thousand objects in many tasks. The copy batches spread over all three (w1 and w2 counted
 * from the `identity` of ActivityTaskStarted/Completed events in the task histories, w3 seen holding a started batch
 * when it is SIGKILLed in the middle of the job), and the destination still ends byte-identical to the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type { Client } from '@temporalio/client';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startJob, spawnWorkerProcess, assertSameTree } from '../support/ferry';
import { tempDir, waitUntil, type ManagedProcess } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import type { JobProgress, JobResult } from '../../common/progress';

const OBJECTS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while worker `identity` runs a batch of the job (a pending, started activity; histories record a start only at its end). */
async function runningOn(client: Client, jobId: string, identity: string): Promise<boolean> {
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH '${jobId}' AND ExecutionStatus = 'Running'` })) {
    const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    if ((d.raw.pendingActivities ?? []).some((a) => a.lastWorkerIdentity === identity && a.state === 2)) return true; // PENDING_ACTIVITY_STATE_STARTED
  }
  return false;
}

/** Copy batches started and completed per worker identity, over every task workflow of the job. */
async function batchesPerWorker(client: Client, jobId: string): Promise<{ started: Record<string, number>; completed: Record<string, number>; retried: number }> {
  const started: Record<string, number> = {};
  const completed: Record<string, number> = {};
  let retried = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH '${jobId}/'` })) {
    const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    for (const e of h.events ?? []) {
      const s = e.activityTaskStartedEventAttributes?.identity;
      if (s) started[s] = (started[s] ?? 0) + 1;
      // Temporal records a retried activity's Started event once, for its last attempt.
      if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried++;
      const c = e.activityTaskCompletedEventAttributes?.identity;
      if (c) completed[c] = (completed[c] ?? 0) + 1;
    }
  }
  return { started, completed, retried };
}

test('three worker processes share one job; SIGKILL of one mid-job loses nothing', { timeout: 300_000 }, async () => {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const src = tempDir('multi-src');
  const reports = tempDir('multi-reports');
  const workers: ManagedProcess[] = [];
  try {
    for (let i = 0; i < OBJECTS; i++) {
      const p = join(src, `d${String(i % 20).padStart(2, '0')}/obj-${String(i).padStart(5, '0')}.txt`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, `object ${i} ${'y'.repeat(i % 300)}`);
    }
    await minio.createBucket('multi');
    const env = { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports, FERRY_MAX_ACTIVITIES: '4' };
    for (const id of ['w1', 'w2', 'w3']) workers.push(spawnWorkerProcess(temporal, { ...env, FERRY_WORKER_IDENTITY: id }, id));
    // Every worker is polling before the job starts (each logs one line once its Worker is created).
    for (const w of workers) await waitUntil(w, `worker ${w.logFile}`, async () => readFileSync(w.logFile, 'utf8').includes('polling task queue'), 120_000);

    const client = await temporal.client();
    const t0 = Date.now();
    const h = await startJob(client, {
      name: 'multi',
      source: { type: 'fs', path: src },
      destination: { type: 's3', endpoint: minio.endpoint, bucket: 'multi', credentials: 'minio' },
      tasks: { maxObjects: 100 },
      concurrency: { tasks: 9, objects: 4 },
      // Slow enough that the job is still running when a worker dies.
      throttle: { objectsPerSecond: 250 },
      verify: 'size',
    });

    // Kill w3 once about a fifth of the objects are done and it holds a batch it has not finished (a kill between
    // its batches would leave nothing to take over).
    let killedAt: JobProgress | undefined;
    for (let i = 0; i < 600 && !killedAt; i++) {
      await sleep(250);
      const p = await h.query<JobProgress>('progress').catch(() => undefined);
      if (!p || p.objects.copied < OBJECTS / 5) continue;
      if (await runningOn(client, 'ferry-multi', 'w3')) killedAt = p;
    }
    assert.ok(killedAt, 'w3 held a batch before the kill point');
    assert.ok(killedAt.objects.copied < OBJECTS, 'the job was still running at the kill');
    await workers[2]!.kill();

    const r = (await h.result()) as JobResult;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    // Objects the killed worker copied after its last heartbeat are found in place by the retry: skipped, not lost.
    assert.equal(r.objects.copied + r.objects.skipped, OBJECTS, JSON.stringify(r.objects));
    assert.equal(r.objects.failed, 0);

    const per = await batchesPerWorker(client, 'ferry-multi');
    console.log(
      `multi-worker: ${OBJECTS} objects in ${seconds.toFixed(1)} s; copy batches started per worker ${JSON.stringify(per.started)}, ` +
        `completed ${JSON.stringify(per.completed)}; w3 killed at ${killedAt.objects.copied} copied; ${per.retried} batch(es) retried after the kill; ` +
        `objects ${JSON.stringify(r.objects)}`,
    );
    // w3 died holding batches: they timed out (heartbeat) and another worker finished them from their cursors.
    assert.ok(per.retried >= 1, 'at least one batch was retried after the kill');
    // w3's part is proven by the describe above (it held a started batch): a history records a Started event only for
    // an activity's last attempt, so w3 shows in it only if it also finished a batch before the kill, which depends on timing.
    for (const id of ['w1', 'w2']) assert.ok((per.started[id] ?? 0) > 0, `${id} started batches: ${JSON.stringify(per.started)}`);
    for (const id of ['w1', 'w2']) assert.ok((per.completed[id] ?? 0) > 0, `${id} completed batches: ${JSON.stringify(per.completed)}`);
    for (const id of Object.keys(per.started)) assert.ok(['w1', 'w2', 'w3'].includes(id), `only the three workers ran batches: ${JSON.stringify(per.started)}`);

    const dst = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'multi', credentials: 'minio' }, { env });
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dst), OBJECTS);
  } finally {
    for (const w of workers) await w.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
});
