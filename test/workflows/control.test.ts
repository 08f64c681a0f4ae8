/**
 * Steering a running job: pause stops new copies for a measured interval and resume completes; a bandwidth
 * limit is honoured within ±25%, and a throttle update reaches in-flight batches within seconds; the job is
 * findable in visibility by its name; no credential value appears in any workflow history.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startWorker, startJob, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { jobWorkflowId } from '../../common/job';
import type { JobProgress, JobResult } from '../../common/progress';

const MiB = 1024 * 1024;

function dirBytes(dir: string): { files: number; bytes: number; names: string[] } {
  let files = 0;
  let bytes = 0;
  const names: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.ferry-uploads') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files++;
        names.push(p.slice(dir.length + 1));
        bytes += statSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes, names };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('steering a running job', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let worker: InProcessWorker;
  let client: Client;
  const dirs: string[] = [];
  // Distinctive secrets: the scan below proves they never reach a history.
  const SECRET = `FERRY-SECRET-${randomBytes(6).toString('hex')}`;

  before(async () => {
    [temporal, minio] = await Promise.all([startTemporal(), startMinio({ secretAccessKey: SECRET })]);
    client = await temporal.client();
    worker = await startWorker(temporal, { env: minio.credentialEnv('minio') });
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([temporal?.stop(), minio?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pause stops new copies for a measured interval; resume completes the job', async () => {
    const src = tempDir('pause-src');
    const out = tempDir('pause-out');
    dirs.push(src, out);
    for (let i = 0; i < 300; i++) writeFileSync(join(src, `f-${String(i).padStart(4, '0')}.txt`), `file ${i}`);
    const h = await startJob(client, { name: 'pause-me', source: { type: 'fs', path: src }, destination: { type: 'fs', path: out }, throttle: { objectsPerSecond: 40 }, tasks: { maxObjects: 100 }, concurrency: { tasks: 2, objects: 4 } });
    // Wait until copying is under way.
    for (let i = 0; i < 200 && dirBytes(out).files < 20; i++) await sleep(100);
    await h.signal('pause');
    await sleep(2500); // in-flight batches see the pause within one control poll (500 ms in tests)
    const atPause = dirBytes(out).files;
    await sleep(3000);
    const afterInterval = dirBytes(out).files;
    assert.equal(afterInterval, atPause, `no new copies while paused (${atPause} → ${afterInterval} over 3 s)`);
    const p = await h.query<JobProgress>('progress');
    assert.equal(p.paused, true);
    assert.ok(atPause < 300, 'paused before the end');
    await h.signal('resume');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    const got = dirBytes(out);
    assert.equal(got.files, 300, `${JSON.stringify(r)} ${got.names.filter((n) => !/^f-\d{4}\.txt$/.test(n))}`);
    assert.equal(r.objects.copied + r.objects.skipped, 300);
  });

  it('a bandwidth limit holds within ±25%, and a throttle update reaches running batches within seconds', async () => {
    const src = tempDir('bw-src');
    const out = tempDir('bw-out');
    dirs.push(src, out);
    for (let i = 0; i < 192; i++) writeFileSync(join(src, `part-${String(i).padStart(3, '0')}.bin`), randomBytes(MiB / 4));
    const limit = 4 * MiB;
    const h = await startJob(client, { name: 'throttled', source: { type: 'fs', path: src }, destination: { type: 'fs', path: out }, throttle: { bandwidth: limit }, tasks: { maxObjects: 48 }, concurrency: { tasks: 4, objects: 4 } });
    // Measure the arrival rate over a steady window (after the first burst second).
    for (let i = 0; i < 100 && dirBytes(out).bytes < 4 * MiB; i++) await sleep(100);
    const t0 = performance.now();
    const b0 = dirBytes(out).bytes;
    await sleep(4000);
    const rate = (dirBytes(out).bytes - b0) / ((performance.now() - t0) / 1000);
    assert.ok(Math.abs(rate - limit) <= 0.25 * limit, `measured ${(rate / MiB).toFixed(2)} MiB/s against a limit of ${limit / MiB} MiB/s`);
    const limits = await h.executeUpdate<JobProgress['limits'], [{ bandwidth: number }]>('throttle', { args: [{ bandwidth: 1 * MiB }] });
    assert.equal(limits.bandwidth, 1 * MiB);
    await sleep(2500); // a control poll plus the bucket's one-second burst
    const t1 = performance.now();
    const b1 = dirBytes(out).bytes;
    await sleep(4000);
    const slow = (dirBytes(out).bytes - b1) / ((performance.now() - t1) / 1000);
    assert.ok(slow <= 1.25 * MiB, `after throttling to 1 MiB/s the rate dropped to ${(slow / MiB).toFixed(2)} MiB/s`);
    await h.executeUpdate('throttle', { args: [{ bandwidth: null }] });
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded');
    assert.equal(dirBytes(out).bytes, 48 * MiB);
    await assert.rejects(h.executeUpdate('throttle', { args: [{ bandwidth: -5 }] }), 'a finished job takes no update');
  });

  it('jobs are found by name in visibility; no secret appears in any history', async () => {
    const src = tempDir('vis-src');
    dirs.push(src);
    mkdirSync(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(src, 'd', `x${i}`), `x${i}`);
    await minio.createBucket('vis');
    const h = await startJob(client, { name: 'findable', source: { type: 'fs', path: src }, destination: { type: 's3', endpoint: minio.endpoint, bucket: 'vis', credentials: 'minio' } });
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    let found: string[] = [];
    for (let i = 0; i < 50 && !found.length; i++) {
      found = [];
      for await (const wf of client.workflow.list({ query: `FerryJob = 'findable' AND FerryPhase = 'done'` })) found.push(wf.workflowId);
      if (!found.length) await sleep(200);
    }
    assert.deepEqual(found, [jobWorkflowId('findable')]);
    // Every history of every workflow in the namespace (jobs, all runs, all task children).
    let scanned = 0;
    for await (const wf of client.workflow.list()) {
      const hist = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const text = JSON.stringify(hist);
      assert.ok(!text.includes(SECRET), `secret found in the history of ${wf.workflowId}`);
      assert.ok(!text.includes(Buffer.from(SECRET).toString('base64')), `base64 secret found in ${wf.workflowId}`);
      scanned++;
    }
    assert.ok(scanned >= 4, `scanned ${scanned} histories`);
  });
});
