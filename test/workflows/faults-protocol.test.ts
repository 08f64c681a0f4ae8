/**
 * S3/OSS protocol faults: through the in-repo fault proxy in front of MinIO (503 SlowDown with Retry-After and
 * 429 bursts, 500s, truncated bodies, a wrong ETag, 404 for a listed object) and through the OSS test server's
 * fault hooks (503 bursts, truncated bodies, a wrong CRC-64, an object overwritten between listing and copy, an
 * object deleted after listing). Throttling must show in progress; a vanished object must be reported with its
 * reason and never counted as copied; every other object must arrive byte-identical.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startFaultProxy, S3Match, type FaultProxy } from '../support/fault-proxy';
import { startWorker, startJob, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import { openOssProvider } from '../../storage/oss/oss';
import type { JobProgress } from '../../common/progress';
import { FULL, MiB, resultWithin } from '../chaos/harness';

const N = FULL ? 2000 : 400;
const AK = 'oss-fault-ak';
const SK = 'oss-fault-sk';

/** Job settings both fault runs share: small tasks, parallel transfers, multipart above 8 MiB, checksums verified. */
const FAULT_JOB = {
  tasks: { maxObjects: 100 },
  concurrency: { tasks: 3, objects: 8 },
  multipart: { threshold: '8MiB', partSize: '5MiB' },
  verify: 'checksum',
} as const;

describe('protocol faults (fault proxy, OSS test server hooks)', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let oss: OssServer;
  let proxy: FaultProxy;
  let worker: InProcessWorker;
  let client: Client;
  const dirs: string[] = [];
  const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };
  const injected: Record<string, number> = {};
  let compared = 0;

  before(async () => {
    [temporal, minio, oss] = await Promise.all([startTemporal(), startMinio(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
    proxy = await startFaultProxy(minio.endpoint);
    client = await temporal.client();
    worker = await startWorker(temporal, { env: { ...minio.credentialEnv('minio'), ...env }, reportDir: tempDir('fault-reports') });
  });
  after(async () => {
    await worker?.stop();
    await proxy?.stop();
    await Promise.all([temporal?.stop(), minio?.stop(), oss?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    console.log(`[chaos] protocol faults injected: ${JSON.stringify(injected)}; ${compared} objects compared`);
  });

  const add = (k: string, n: number) => (injected[k] = (injected[k] ?? 0) + n);

  it('S3 source behind the fault proxy: 503/429 bursts, 500s, truncated bodies, wrong ETags, a listed object that is gone', async () => {
    await minio.createBucket('src');
    const puts: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) puts.push(minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: `obj/${String(i).padStart(5, '0')}.bin`, Body: randomBytes(2000 + (i % 3000)) })));
    puts.push(minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: 'big.bin', Body: randomBytes(12 * MiB) })));
    await Promise.all(puts);
    const gone = 'obj/00042.bin';
    const isGone = (r: Parameters<typeof S3Match.keyOf>[0]) => S3Match.keyOf(r) === gone && (r.method === 'GET' || r.method === 'HEAD');
    const rules = [
      { k: '404 after list', h: proxy.add({ match: isGone, times: Infinity, fault: { kind: 'error', status: 404, code: 'NoSuchKey' } }) },
      { k: '503 SlowDown', h: proxy.add({ match: S3Match.getObject, times: FULL ? 400 : 100, fault: { kind: 'error', status: 503, code: 'SlowDown', retryAfterSec: 1 } }) },
      { k: '429', h: proxy.add({ match: S3Match.getObject, times: FULL ? 60 : 12, fault: { kind: 'error', status: 429, code: 'TooManyRequests' } }) },
      { k: '500', h: proxy.add({ match: S3Match.getObject, times: FULL ? 60 : 12, fault: { kind: 'error', status: 500, code: 'InternalError' } }) },
      { k: 'truncated body', h: proxy.add({ match: S3Match.getObject, times: FULL ? 60 : 12, fault: { kind: 'truncate', afterBytes: 700 } }) },
      { k: 'wrong ETag', h: proxy.add({ match: S3Match.getObject, times: FULL ? 30 : 6, fault: { kind: 'wrongEtag' } }) },
      { k: 'latency', h: proxy.add({ match: S3Match.getObject, times: FULL ? 200 : 40, fault: { kind: 'latency', ms: 300 } }) },
    ];
    const out = tempDir('s3-faults-out');
    dirs.push(out);
    const h = await startJob(client, {
      name: 's3-faults',
      source: { type: 's3', endpoint: proxy.endpoint, bucket: 'src', credentials: 'minio' },
      destination: { type: 'fs', path: out },
      ...FAULT_JOB,
    });
    const r = await resultWithin(h, 150_000);
    for (const { k, h: rule } of rules) add(`s3 ${k}`, rule.hits);
    proxy.clear();
    const p = await h.query<JobProgress>('progress');
    assert.equal(r.status, 'completed-with-failures', JSON.stringify(r));
    assert.equal(r.objects.failed, 1, JSON.stringify(r));
    assert.equal(r.objects.copied + r.objects.skipped, N, 'every object but the vanished one copied');
    // The S3 SDK's own 3 attempts absorb short bursts; a sustained burst exhausts them and Ferry backs off.
    assert.ok(p.throttleEvents > 0, `throttling visible in progress (throttleEvents ${p.throttleEvents})`);
    for (const { k, h: rule } of rules) assert.ok(rule.hits > 0, `fault "${k}" was injected`);
    const failures = readFileSync(join(r.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string; message: string });
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(failures[0]!.key, gone);
    assert.equal(failures[0]!.errorClass, 'NotFoundError');
    assert.match(failures[0]!.message, /deleted after listing/);
    const src = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'src', credentials: 'minio' }, { env: minio.credentialEnv('minio') });
    compared += await assertSameTree(src, openFsProvider({ type: 'fs', path: out }), { exclude: (k) => k === gone });
    assert.throws(() => readFileSync(join(out, gone)), 'the vanished object was not written');
    console.log(`[chaos] s3 faults: throttleEvents ${p.throttleEvents}, result ${JSON.stringify(r.objects)}`);
  });

  it('OSS source with server hooks: 503 bursts, truncated bodies, wrong CRC-64, overwritten and deleted after listing', async () => {
    oss.createBucket('osrc');
    const spec = { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'osrc', credentials: 'oss' } as const;
    const p0 = openOssProvider(spec, { env });
    const n = Math.floor(N / 2);
    for (let i = 0; i < n; i++) await p0.put(`o/${String(i).padStart(5, '0')}.bin`, randomBytes(1500 + (i % 2000)), { size: 1500 + (i % 2000) });
    await p0.put('big.bin', randomBytes(11 * MiB), { size: 11 * MiB });
    const changed = 'o/00010.bin';
    const deleted = 'o/00020.bin';
    const newBody = Buffer.from('the new content written after the listing');
    const rules = [
      { k: 'mutate after list', h: oss.faults.add({ op: ['GetObject', 'HeadObject'], key: changed, action: { kind: 'mutate', body: newBody } }) },
      { k: 'deleted after list', h: oss.faults.add({ op: ['GetObject', 'HeadObject'], key: deleted, times: Infinity, action: { kind: 'error', status: 404, code: 'NoSuchKey' } }) },
      { k: '503 SlowDown', h: oss.faults.add({ op: 'GetObject', times: FULL ? 100 : 20, action: { kind: 'error', status: 503, code: 'SlowDown' } }) },
      { k: 'truncate', h: oss.faults.add({ op: 'GetObject', times: FULL ? 30 : 6, action: { kind: 'truncate', afterBytes: 500 } }) },
      { k: 'wrong CRC-64', h: oss.faults.add({ op: 'GetObject', times: FULL ? 30 : 6, action: { kind: 'wrongCrc' } }) },
    ];
    const out = tempDir('oss-faults-out');
    dirs.push(out);
    const h = await startJob(client, {
      name: 'oss-faults',
      source: spec,
      destination: { type: 'fs', path: out },
      ...FAULT_JOB,
    });
    const r = await resultWithin(h, 150_000);
    for (const { k, h: rule } of rules) add(`oss ${k}`, rule.hits);
    oss.faults.clear();
    const p = await h.query<JobProgress>('progress');
    assert.equal(r.status, 'completed-with-failures', JSON.stringify(r));
    assert.ok(p.throttleEvents > 0, `throttling visible in progress (throttleEvents ${p.throttleEvents})`);
    const failures = readFileSync(join(r.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string; message: string });
    const failedKeys = failures.map((f) => f.key);
    assert.ok(failedKeys.includes(deleted), `the deleted object is reported: ${JSON.stringify(failures)}`);
    assert.match(failures.find((f) => f.key === deleted)!.message, /deleted after listing/);
    // The overwritten object: either reported as changed, or copied with its *new* content — never corrupt.
    if (failedKeys.includes(changed)) assert.equal(failures.find((f) => f.key === changed)!.errorClass, 'SourceChangedError');
    else assert.deepEqual(readFileSync(join(out, changed)), newBody, 'the overwritten object was copied with its new content');
    assert.deepEqual(failedKeys.filter((k) => k !== deleted && k !== changed), [], 'no other object failed');
    assert.throws(() => readFileSync(join(out, deleted)), 'the deleted object was not written');
    compared += await assertSameTree(openOssProvider(spec, { env }), openFsProvider({ type: 'fs', path: out }), { exclude: (k) => failedKeys.includes(k) });
    console.log(`[chaos] oss faults: throttleEvents ${p.throttleEvents}; failures ${JSON.stringify(failures.map((f) => [f.key, f.errorClass]))}; result ${JSON.stringify(r.objects)}`);
  });
});
