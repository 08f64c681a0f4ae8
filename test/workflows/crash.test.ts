/**
 * A worker process killed with SIGKILL in the middle of a multipart copy: a new worker finishes the job, the
 * large object resumes from its completed parts (not from byte 0), the destination is byte-identical and no
 * multipart upload is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startJob, spawnWorkerProcess, assertSameTree } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import type { JobResult } from '../../common/progress';
import type { BatchCheckpoint } from '../../common/contracts';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILL mid-multipart: a new worker resumes the large object from its completed parts', async () => {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const src = tempDir('crash-src');
  const reports = tempDir('crash-reports');
  const workers = [];
  try {
    writeFileSync(join(src, 'huge.bin'), randomBytes(100 * MiB));
    for (let i = 0; i < 20; i++) writeFileSync(join(src, `small-${i}.txt`), `small ${i}`);
    await minio.createBucket('crash');
    const env = { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports };
    workers.push(spawnWorkerProcess(temporal, env, 'worker-1'));
    const client = await temporal.client();
    const h = await startJob(client, {
      name: 'crash',
      source: { type: 'fs', path: src },
      destination: { type: 's3', endpoint: minio.endpoint, bucket: 'crash', credentials: 'minio' },
      multipart: { threshold: '8MiB', partSize: '5MiB' },
      throttle: { bandwidth: '10MiB/s' },
      verify: 'checksum',
    });
    // Wait until the batch has heartbeated at least 5 completed parts of huge.bin, then kill the worker.
    let partsAtKill = 0;
    for (let i = 0; i < 300 && partsAtKill < 5; i++) {
      await sleep(200);
      // A one-task job runs its batches in the job workflow itself (no ferry-crash/0/0 child).
      const d = await h.describe().catch(() => undefined);
      const pending = d?.raw.pendingActivities?.find((a) => a.activityType?.name === 'copyRange')?.heartbeatDetails?.payloads?.[0]?.data;
      if (!pending) continue;
      const cp = JSON.parse(Buffer.from(pending).toString()) as BatchCheckpoint;
      partsAtKill = cp.uploads['huge.bin']?.parts.length ?? 0;
    }
    assert.ok(partsAtKill >= 5, `saw ${partsAtKill} heartbeated parts before the kill`);
    await workers[0]!.kill();
    const uploadsAfterKill = await openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'crash', credentials: 'minio' }, { env }).listMultipartUploads!();
    assert.equal(uploadsAfterKill.length, 1, 'the killed worker left its upload open (to be resumed)');
    workers.push(spawnWorkerProcess(temporal, env, 'worker-2'));
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.ok(r.partsResumed >= partsAtKill, `resumed ${r.partsResumed} parts (≥ ${partsAtKill} done before the kill), not from byte 0`);
    const dst = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'crash', credentials: 'minio' }, { env });
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dst), 21);
    assert.deepEqual(await dst.listMultipartUploads!(), [], 'no orphaned multipart uploads');
    const info = await dst.stat('huge.bin');
    assert.match(info.metadata?.['ferry-crc64ecma'] ?? '', /^\d+$/, 'whole-object CRC-64 recorded in metadata');
  } finally {
    for (const w of workers) await w.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
});
