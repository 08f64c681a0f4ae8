/**
 * Archived source objects through the whole engine on a real Temporal dev server: each `archived:` policy on the OSS
 * protocol server (Archive, ColdArchive) and on moto (GLACIER, DEEP_ARCHIVE; GLACIER_IR read at once), a restore that
 * completes while the worker is SIGKILLed and the Temporal server restarted during the wait, and a restored copy
 * that expired before its copy being requested again. The restore waits' timers are shortened through the job's
 * hidden `archived.checkIntervalsMs`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import OSS from 'ali-oss';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startMoto, type S3TestServer } from '../support/s3-servers';
import { startWorker, spawnWorkerProcess, type InProcessWorker } from '../support/ferry';
import { tempDir, type ManagedProcess } from '../support/process';
import { parseJob, jobWorkflowId } from '../../common/job';
import { queryProgress } from '../../client/jobs';
import { openFsProvider } from '../../storage/fs/fs';
import type { JobResult } from '../../common/progress';

const AK = 'AKID-archived';
const SK = 'archived-secret';
const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };

/** Starts a job as `ferry start` does, with the restore checks every `checkMs` (the hidden test field). */
async function startArchivedJob(client: Client, doc: Record<string, unknown>, checkMs = 1000): Promise<WorkflowHandle> {
  const spec = parseJob(doc);
  if (spec.archived) spec.archived.checkIntervalsMs = [checkMs];
  return client.workflow.start('migrationJob', { taskQueue: 'ferry', workflowId: jobWorkflowId(spec.name), args: [spec] });
}

async function readFs(dir: string, key: string): Promise<string | undefined> {
  const p = openFsProvider({ type: 'fs', path: dir });
  try {
    const chunks: Buffer[] = [];
    for await (const c of (await p.get(key)).body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  } catch {
    return undefined;
  }
}

const jsonl = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);

describe('archived objects on the OSS protocol server', () => {
  let temporal: TemporalTestServer;
  let oss: OssServer;
  let worker: InProcessWorker;
  let client: Client;
  const reports = tempDir('archived-reports');

  before(async () => {
    [temporal, oss] = await Promise.all([startTemporal(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
    oss.createBucket('src');
    const put = new OSS({ endpoint: oss.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: 'src', authorizationV4: true } as OSS.Options);
    for (const [key, cls] of [['a/arch-1', 'Archive'], ['a/arch-2', 'Archive'], ['a/cold', 'ColdArchive'], ['a/plain-1', 'Standard'], ['a/plain-2', 'Standard']]) {
      await put.put(key!, Buffer.from(`body of ${key}`), { headers: { 'x-oss-storage-class': cls! } });
    }
    worker = await startWorker(temporal, { env, reportDir: reports });
    client = await temporal.client();
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([temporal?.stop(), oss?.stop()]);
  });

  const job = (name: string, archived: string | undefined, out: string, prefix = 'a/') => ({
    name,
    source: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'src', credentials: 'oss', prefix },
    destination: { type: 'fs', path: out },
    ...(archived ? { archived } : {}),
    retries: 0,
  });

  it('fail (the default): one ArchivedObject failure per archived object naming its class; the rest is copied', async () => {
    const out = tempDir('archived-fail');
    const r = (await (await startArchivedJob(client, job('arch-fail', undefined, out))).result()) as JobResult;
    assert.equal(r.status, 'completed-with-failures', JSON.stringify(r));
    assert.equal(r.objects.copied, 2);
    assert.equal(r.objects.failed, 3);
    const failures = jsonl(join(r.reportPath!, 'failures.jsonl'));
    assert.deepEqual(failures.map((f) => [f.key, f.errorClass]), [['a/arch-1', 'ArchivedObject'], ['a/arch-2', 'ArchivedObject'], ['a/cold', 'ArchivedObject']]);
    assert.match(String(failures[2]!.message), /storage class ColdArchive/);
    assert.equal(await readFs(out, 'plain-1'), 'body of a/plain-1');
    assert.equal(await readFs(out, 'arch-1'), undefined);
  });

  it('skip: counted as skipped with the reason, listed in skipped.jsonl and the summary', async () => {
    const out = tempDir('archived-skip');
    const r = (await (await startArchivedJob(client, job('arch-skip', 'skip', out))).result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 2);
    assert.equal(r.objects.skipped, 3);
    assert.equal(r.archive?.skipped, 3);
    const skipped = jsonl(join(r.reportPath!, 'skipped.jsonl'));
    assert.deepEqual(skipped.map((s) => [s.key, s.storageClass]), [['a/arch-1', 'Archive'], ['a/arch-2', 'Archive'], ['a/cold', 'ColdArchive']]);
    assert.match(String(skipped[0]!.reason), /archived \(storage class Archive\)/);
    assert.match(readFileSync(join(r.reportPath!, 'summary.txt'), 'utf8'), /archived: .*3 skipped/);
    assert.equal(await readFs(out, 'arch-1'), undefined);
  });

  it('restore: requested, waited for on a durable timer while progress shows the wait, then copied', async () => {
    oss.archive.restoreDelayMs = 2500;
    const out = tempDir('archived-restore');
    const h = await startArchivedJob(client, job('arch-restore', 'restore', out));
    let sawWaiting = false;
    for (let i = 0; i < 40 && !sawWaiting; i++) {
      const p = await queryProgress(client, h).catch(() => undefined);
      sawWaiting = (p?.archive?.waiting ?? 0) === 3;
      if (!sawWaiting) await sleep(100);
    }
    assert.ok(sawWaiting, 'progress showed 3 objects waiting for their restore');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 5);
    assert.equal(r.objects.verified, 5);
    assert.equal(r.archive?.restored, 3);
    assert.equal(r.archive?.requests, 3);
    for (const k of ['arch-1', 'arch-2', 'cold', 'plain-1']) assert.equal(await readFs(out, k), `body of a/${k}`);
    const summary = readFileSync(join(r.reportPath!, 'summary.txt'), 'utf8');
    assert.match(summary, /archived: 0 waiting for restore \(0 B\), 3 restored/);
  });

  it('restore: a restored copy that expired before its copy is requested again', async () => {
    oss.archive.restoreDelayMs = 1500;
    oss.archive.restoredForMs = 1; // gone before any check sees it
    const put = new OSS({ endpoint: oss.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: 'src', authorizationV4: true } as OSS.Options);
    for (const key of ['b/1', 'b/2', 'b/3']) await put.put(key, Buffer.from(`body of ${key}`), { headers: { 'x-oss-storage-class': 'ColdArchive' } });
    const before = oss.archive.restoresStarted;
    const out = tempDir('archived-expired');
    const h = await startArchivedJob(client, job('arch-expired', 'restore', out, 'b/'));
    // Once every object was requested again, restored copies last long enough to be copied.
    for (let i = 0; i < 200 && oss.archive.restoresStarted - before < 6; i++) await sleep(100);
    oss.archive.restoredForMs = undefined;
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.archive?.restored, 3);
    assert.ok((r.archive?.requests ?? 0) >= 6, `restores requested again: ${JSON.stringify(r.archive)}`);
    for (const k of ['1', '2', '3']) assert.equal(await readFs(out, k), `body of b/${k}`);
  });
});

describe('archived objects on moto (AWS semantics)', () => {
  let temporal: TemporalTestServer;
  let moto: S3TestServer;
  let worker: InProcessWorker;
  let client: Client;

  before(async () => {
    [temporal, moto] = await Promise.all([startTemporal(), startMoto()]);
    await moto.createBucket('src');
    for (const [key, cls] of [['g', 'GLACIER'], ['d', 'DEEP_ARCHIVE'], ['ir', 'GLACIER_IR'], ['s', 'STANDARD']] as const) {
      await moto.client.send(new PutObjectCommand({ Bucket: 'src', Key: key, Body: `moto ${key}`, StorageClass: cls }));
    }
    worker = await startWorker(temporal, { env: moto.credentialEnv('moto'), reportDir: tempDir('moto-archived-reports') });
    client = await temporal.client();
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([temporal?.stop(), moto?.stop()]);
  });

  const job = (name: string, archived: string, out: string) => ({
    name,
    source: { type: 's3', endpoint: moto.endpoint, bucket: 'src', credentials: 'moto' },
    destination: { type: 'fs', path: out },
    archived,
    retries: 0,
  });

  it('fail: GLACIER and DEEP_ARCHIVE fail as ArchivedObject, GLACIER_IR is copied at once', async () => {
    const out = tempDir('moto-fail');
    const r = (await (await startArchivedJob(client, job('moto-fail', 'fail', out))).result()) as JobResult;
    assert.equal(r.objects.copied, 2, JSON.stringify(r));
    assert.equal(r.objects.failed, 2);
    const failures = jsonl(join(r.reportPath!, 'failures.jsonl'));
    assert.deepEqual(failures.map((f) => [f.key, f.errorClass]), [['d', 'ArchivedObject'], ['g', 'ArchivedObject']]);
    assert.match(String(failures[0]!.message), /DEEP_ARCHIVE/);
    assert.equal(await readFs(out, 'ir'), 'moto ir');
  });

  it('skip, then restore: skipped ones are listed; restored ones (moto restores at once) are copied', async () => {
    const skipOut = tempDir('moto-skip');
    const skipped = (await (await startArchivedJob(client, job('moto-skip', 'skip', skipOut))).result()) as JobResult;
    assert.equal(skipped.status, 'succeeded');
    assert.equal(skipped.archive?.skipped, 2);
    assert.equal(await readFs(skipOut, 'ir'), 'moto ir');

    const out = tempDir('moto-restore');
    const r = (await (await startArchivedJob(client, job('moto-restore', 'restore', out), 500)).result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 4);
    assert.equal(r.archive?.restored, 2);
    assert.equal(r.archive?.requests, 2, 'no restore for GLACIER_IR or STANDARD');
    for (const k of ['g', 'd', 'ir', 's']) assert.equal(await readFs(out, k), `moto ${k}`);
  });
});

describe('a restore wait survives a worker SIGKILL and a Temporal server restart', () => {
  let temporal: TemporalTestServer;
  let oss: OssServer;
  let workerProcess: ManagedProcess | undefined;
  let worker: InProcessWorker | undefined;

  after(async () => {
    await workerProcess?.kill();
    await worker?.stop();
    await Promise.all([temporal?.stop(), oss?.stop()]);
  });

  it('the restore completes during the outage; the copy happens after it', { timeout: 180_000 }, async () => {
    const dataDir = tempDir('archived-temporal');
    [temporal, oss] = await Promise.all([startTemporal({ dbFile: join(dataDir, 'temporal.db') }), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
    oss.createBucket('src');
    oss.archive.restoreDelayMs = 20_000;
    const put = new OSS({ endpoint: oss.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: 'src', authorizationV4: true } as OSS.Options);
    for (const key of ['deep-1', 'deep-2']) await put.put(key, Buffer.from(`kept ${key}`), { headers: { 'x-oss-storage-class': 'DeepColdArchive' } });
    await put.put('plain', Buffer.from('kept plain'));
    const reports = tempDir('archived-restart-reports');
    const out = tempDir('archived-restart');
    workerProcess = spawnWorkerProcess(temporal, { ...env, FERRY_REPORT_DIR: reports }, 'archive-worker');
    let client = await temporal.client();
    const doc = { name: 'arch-restart', source: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'src', credentials: 'oss' }, destination: { type: 'fs', path: out }, archived: 'restore', restore: { days: 2, tier: 'Bulk' } };
    const h = await startArchivedJob(client, doc, 2000);
    let waiting = 0;
    for (let i = 0; i < 300 && waiting !== 2; i++) {
      waiting = (await queryProgress(client, h).catch(() => undefined))?.archive?.waiting ?? 0;
      if (waiting !== 2) await sleep(100);
    }
    assert.equal(waiting, 2, 'both objects wait for their restore');
    assert.equal(await readFs(out, 'plain'), 'kept plain', 'the readable object did not wait');

    await workerProcess.kill();
    workerProcess = undefined;
    const port = temporal.port;
    await temporal.stop();
    await sleep(20_000); // the restore completes while nothing runs
    temporal = await startTemporal({ dbFile: join(dataDir, 'temporal.db'), port });
    client = await temporal.client();
    worker = await startWorker(temporal, { env, reportDir: reports });
    const r = (await client.workflow.getHandle(jobWorkflowId('arch-restart')).result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 3);
    assert.equal(r.archive?.restored, 2);
    assert.equal(r.archive?.requests, 2);
    for (const k of ['deep-1', 'deep-2']) assert.equal(await readFs(out, k), `kept ${k}`);
  });
});
