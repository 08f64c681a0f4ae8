/**
 * A job on a real network's terms: the worker reaches MinIO only through an HTTP proxy (HTTP_PROXY in the worker's
 * environment, a CONNECT proxy started here), and its request signer's clock is 20 minutes slow (the clock source
 * is faked, not the machine's). MinIO refuses requests signed that far off, so the job completes only if the
 * provider corrects its clock from the server's answer, and the proxy proves where the traffic went.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startConnectProxy } from '../support/connect-proxy';
import { startJob, startWorker, listAllObjects } from '../support/ferry';
import { tempDir } from '../support/process';
import { openS3Provider } from '../../storage/s3/s3';
import type { JobResult } from '../../common/progress';

test('a job through an HTTP proxy with the worker\'s clock 20 minutes slow completes', { timeout: 240_000 }, async () => {
  const [temporal, minio, proxy] = await Promise.all([startTemporal(), startMinio(), startConnectProxy()]);
  const env = { ...minio.credentialEnv('minio'), HTTP_PROXY: proxy.url };
  const worker = await startWorker(temporal, { deps: { providers: { env, now: () => Date.now() - 20 * 60_000 } } });
  try {
    await minio.createBucket('net');
    const src = join(tempDir('network-job'), 'src');
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `f${i}.txt`), `object ${i}`);
    const client = await temporal.client();
    const h = await startJob(client, { name: 'network', source: { type: 'fs', path: src }, destination: { type: 's3', endpoint: minio.endpoint, bucket: 'net', credentials: 'minio' }, verify: 'checksum' });
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 20);
    assert.ok(proxy.count() > 0, 'the traffic went through the proxy');
    assert.deepEqual([...proxy.seen.keys()], [new URL(minio.endpoint).host]);
    const direct = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'net', credentials: 'minio' }, { env: minio.credentialEnv('minio') });
    assert.equal((await listAllObjects(direct)).length, 20);
    await direct.close?.();
  } finally {
    await worker.stop();
    await proxy.close();
    await Promise.all([minio.stop(), temporal.stop()]);
  }
});
