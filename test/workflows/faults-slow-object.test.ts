/**
 * One object whose transfer alone takes longer than the copy activity's heartbeat timeout (30 s): a 36 MiB
 * single put (below the multipart threshold) under a 1 MiB/s bandwidth limit. The batch must keep heartbeating
 * while bytes flow, or Temporal times the attempt out and starts it again — forever. Ends with the object compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { openS3Provider } from '../../storage/s3/s3';
import { startWorker, startJob, assertSameTree } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { MiB, resultWithin } from '../chaos/harness';

test('a single transfer longer than the heartbeat timeout completes without an activity timeout', async () => {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const worker = await startWorker(temporal, { env: minio.credentialEnv('minio') });
  const src = tempDir('slow-src');
  await minio.createBucket('slow');
  const dst = { type: 's3', endpoint: minio.endpoint, bucket: 'slow', credentials: 'minio' } as const;
  try {
    writeFileSync(join(src, 'slow.bin'), randomBytes(36 * MiB));
    const client = await temporal.client();
    const h = await startJob(client, { name: 'slow-object', source: { type: 'fs', path: src }, destination: dst, throttle: { bandwidth: '1MiB/s' }, multipart: { threshold: '64MiB' } });
    const t0 = Date.now();
    const r = await resultWithin(h, 80_000);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    // No attempt of any activity (the copy batches run in the task children) timed out.
    for await (const wf of client.workflow.list()) {
      const hist = JSON.stringify(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      assert.ok(!/activityTaskTimedOut/i.test(hist), `an activity attempt timed out in ${wf.workflowId}`);
    }
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), openS3Provider(dst, { env: minio.credentialEnv('minio') })), 1);
    console.log(`[chaos] slow object: 36 MiB at 1 MiB/s in ${((Date.now() - t0) / 1000).toFixed(0)} s, no heartbeat timeout`);
  } finally {
    await worker.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
  }
});
