/**
 * Temporal server restarts: the dev server is stopped and started again (same SQLite file, same port) three
 * times in the middle of a job. The worker process is *not* restarted: it must ride out each outage and
 * reconnect by itself. Ends with every destination object compared with its source and no orphaned uploads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startFaultProxy } from '../support/fault-proxy';
import { startJob, spawnWorkerProcess } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import type { JobResult } from '../../common/progress';
import { jobWorkflowId } from '../../common/job';
import { FULL, writeTree, assertIntact, duplicates, sleep } from '../chaos/harness';

const RESTARTS = FULL ? 6 : 3;

test(`the Temporal server restarts ${RESTARTS} times mid-job; the same worker process reconnects and the job completes intact`, async () => {
  const dataDir = tempDir('restart-temporal');
  const dbFile = join(dataDir, 'temporal.db');
  // The first start picks its ports (started again on fresh ones if another process takes one before the server
  // binds it: CI once lost a pinned port that way, exit 2); the restarts reuse its port.
  let temporal: TemporalTestServer = await startTemporal({ dbFile });
  const port = temporal.port;
  const minio = await startMinio();
  const proxy = await startFaultProxy(minio.endpoint);
  const src = tempDir('restart-src');
  const reports = tempDir('restart-reports');
  const env = { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports };
  const worker = spawnWorkerProcess(temporal, env, 'worker');
  const t0 = Date.now();
  try {
    const total = writeTree(src, FULL ? 5000 : 1500, FULL ? 3 : 1);
    await minio.createBucket('dst');
    const dstSpec = { type: 's3', endpoint: proxy.endpoint, bucket: 'dst', credentials: 'minio' } as const;
    await startJob(await temporal.client(), {
      name: 'restarts',
      source: { type: 'fs', path: src },
      destination: dstSpec,
      tasks: { maxObjects: 250 },
      concurrency: { tasks: 3, objects: 8 },
      multipart: { threshold: '8MiB', partSize: '5MiB' },
      throttle: { objectsPerSecond: 60, bandwidth: '4MiB/s' },
      verify: 'checksum',
    });
    for (let i = 0; i < 600 && proxy.writes.size === 0; i++) await sleep(100);
    const writesAt: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(3000 + Math.random() * 2000);
      writesAt.push(proxy.writes.size);
      await temporal.stop();
      await sleep(1000 + Math.random() * 2000); // the server stays down for a moment
      temporal = await startTemporal({ dbFile, port });
      assert.equal(worker.child.exitCode, null, `the worker process survived restart ${i + 1}\n${worker.tail()}`);
    }
    const client = await temporal.client();
    const h = client.workflow.getHandle(jobWorkflowId('restarts'));
    let timer: NodeJS.Timeout | undefined;
    const r = (await Promise.race([
      h.result(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`job did not finish; worker log:\n${worker.tail()}`)), (FULL ? 600 : 150) * 1000))),
    ])) as JobResult;
    clearTimeout(timer);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied + r.objects.skipped, total, JSON.stringify(r.objects));
    assert.equal(worker.child.exitCode, null, 'the same worker process finished the job');
    const dst = openS3Provider({ ...dstSpec, endpoint: minio.endpoint }, { env });
    const compared = await assertIntact(openFsProvider({ type: 'fs', path: src }), dst, total);
    const dup = duplicates(proxy.writes);
    console.log(`[chaos] restarts: ${RESTARTS} Temporal server restarts (objects written before each: ${writesAt.join(', ')}); one worker process throughout; ${compared} objects compared; ${dup.objects} written more than once; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await worker.stop();
    await proxy.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    for (const d of [src, reports, dataDir]) rmSync(d, { recursive: true, force: true });
  }
});
