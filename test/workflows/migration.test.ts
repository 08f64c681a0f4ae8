/**
 * The engine on real servers: fs → S3, S3 → S3 across endpoints, S3 → S3 on one endpoint (server-side copy),
 * S3 → fs; hostile keys and a multipart object; a re-run copies nothing; modifiedSince copies only newer objects.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, utimesSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, startVersitygw, type S3TestServer } from '../support/s3-servers';
import { startWorker, runJob, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import { HOSTILE_KEYS } from '../providers/conformance';
import type { Client } from '@temporalio/client';

const MiB = 1024 * 1024;
const SMALL = 3000;
// Keys every provider in this test can hold (fs refuses `//` and trailing `/`; MinIO refuses `//`).
const KEYS = HOSTILE_KEYS.filter((k) => !k.includes('//') && !k.endsWith('/'));

describe('migration engine on real servers', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let vgw: S3TestServer;
  let worker: InProcessWorker;
  let client: Client;
  let srcDir: string;
  const dirs: string[] = [];
  const s3 = (server: S3TestServer, bucket: string, prefix?: string) => ({ type: 's3', endpoint: server.endpoint, bucket, prefix, credentials: server.kind });

  before(async () => {
    [temporal, minio, vgw] = await Promise.all([startTemporal(), startMinio(), startVersitygw()]);
    client = await temporal.client();
    worker = await startWorker(temporal, { env: { ...minio.credentialEnv('minio'), ...vgw.credentialEnv('versitygw') } });
    srcDir = tempDir('src');
    dirs.push(srcDir);
    for (let i = 0; i < SMALL; i++) {
      const p = join(srcDir, `small/${String(i % 30).padStart(2, '0')}/obj-${i}.txt`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, `object ${i} ${'x'.repeat(i % 200)}`);
    }
    for (const k of KEYS) {
      mkdirSync(dirname(join(srcDir, 'hostile', k)), { recursive: true });
      writeFileSync(join(srcDir, 'hostile', k), `hostile ${k}`);
    }
    writeFileSync(join(srcDir, 'large.bin'), randomBytes(23 * MiB));
    writeFileSync(join(srcDir, 'empty.txt'), '');
    for (const b of ['fs-dst', 'same-dst']) await minio.createBucket(b);
    await vgw.createBucket('x-dst');
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([temporal?.stop(), minio?.stop(), vgw?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const common = { tasks: { maxObjects: 500 }, concurrency: { tasks: 4, objects: 16 }, multipart: { threshold: '8MiB', partSize: '5MiB' }, verify: 'checksum' };
  const total = SMALL + KEYS.length + 2;

  it('fs → s3 (MinIO): every object byte-identical, multipart and hostile keys included; a re-run copies nothing', async () => {
    const job = { name: 'fs-to-minio', source: { type: 'fs', path: srcDir }, destination: s3(minio, 'fs-dst', 'copy/'), ...common };
    const r = await runJob(client, job);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, total);
    assert.equal(r.objects.failed, 0);
    assert.equal(r.objects.verified, total);
    const compared = await assertSameTree(openFsProvider({ type: 'fs', path: srcDir }), openS3Provider(s3(minio, 'fs-dst') as never, { env: minio.credentialEnv('minio') }), { dstPrefix: 'copy/' });
    assert.equal(compared, total);
    const again = await runJob(client, job);
    assert.equal(again.status, 'succeeded');
    assert.equal(again.objects.copied, 0, 're-run copies nothing');
    assert.equal(again.objects.skipped, total);
  });

  it('s3 → s3 across endpoints (MinIO → versitygw)', async () => {
    const r = await runJob(client, { name: 'minio-to-vgw', source: s3(minio, 'fs-dst', 'copy/'), destination: s3(vgw, 'x-dst'), ...common });
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, total);
    await assertSameTree(openS3Provider(s3(minio, 'fs-dst') as never, { env: minio.credentialEnv('minio') }), openS3Provider(s3(vgw, 'x-dst') as never, { env: vgw.credentialEnv('versitygw') }), { srcPrefix: 'copy/' });
  });

  it('s3 → s3 on one endpoint copies server-side', async () => {
    const r = await runJob(client, { name: 'minio-same', source: s3(minio, 'fs-dst', 'copy/'), destination: s3(minio, 'same-dst', 'ss/'), ...common });
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, total);
    await assertSameTree(openS3Provider(s3(minio, 'fs-dst') as never, { env: minio.credentialEnv('minio') }), openS3Provider(s3(minio, 'same-dst') as never, { env: minio.credentialEnv('minio') }), { srcPrefix: 'copy/', dstPrefix: 'ss/' });
  });

  it('s3 → fs, then modifiedSince copies only newer objects', async () => {
    const out = tempDir('fs-out');
    dirs.push(out);
    const r = await runJob(client, { name: 'vgw-to-fs', source: s3(vgw, 'x-dst'), destination: { type: 'fs', path: out }, ...common });
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    await assertSameTree(openFsProvider({ type: 'fs', path: srcDir }), openFsProvider({ type: 'fs', path: out }));

    // Incremental: age every source file, then touch two; only those two are copied.
    const old = new Date(Date.UTC(2020, 0, 1));
    const since = new Date(Date.UTC(2024, 0, 1));
    const walkTouch = (rel: string) => utimesSync(join(srcDir, rel), old, old);
    for (let i = 0; i < SMALL; i++) walkTouch(`small/${String(i % 30).padStart(2, '0')}/obj-${i}.txt`);
    for (const k of KEYS) walkTouch(join('hostile', k));
    walkTouch('large.bin');
    walkTouch('empty.txt');
    writeFileSync(join(srcDir, 'small/00/obj-0.txt'), 'changed after T1');
    writeFileSync(join(srcDir, 'new-after-T1.txt'), 'new');
    const inc = await runJob(client, { name: 'fs-to-minio', source: { type: 'fs', path: srcDir }, destination: s3(minio, 'fs-dst', 'copy/'), ...common, overwrite: 'always', filter: { modifiedSince: since.toISOString() } });
    assert.equal(inc.status, 'succeeded', JSON.stringify(inc));
    assert.equal(inc.objects.copied, 2);
    assert.equal(inc.objects.excluded, total - 1);
  });
});
