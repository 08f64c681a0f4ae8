/**
 * Inventory-listed jobs on a real Temporal dev server: objects on MinIO (behind the counting fault proxy), their
 * S3 Inventory report on the OSS protocol server (another provider and bucket), copied to fs. The source is never
 * LISTed; a gone object is SourceMissing, a bad row InvalidInventoryRow (with data file and line), a stale row is
 * copied as the object is now and written to stale-rows.jsonl. A key manifest on fs drives a second job.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startFaultProxy, S3Match, type FaultProxy } from '../support/fault-proxy';
import { startWorker, runJob, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openOssProvider } from '../../storage/oss/oss';
import { putReport, s3Inventory, encodeInventoryKey, writeReport, type InventoryObject } from '../support/inventory-fixtures';

const AK = 'inv-oss-ak';
const SK = 'inv-oss-sk';

describe('inventory-listed jobs', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let oss: OssServer;
  let proxy: FaultProxy;
  let worker: InProcessWorker;
  let client: Client;
  const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };

  before(async () => {
    [temporal, minio, oss] = await Promise.all([startTemporal(), startMinio(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
    proxy = await startFaultProxy(minio.endpoint);
    client = await temporal.client();
    worker = await startWorker(temporal, { env: { ...minio.credentialEnv('minio'), ...env }, reportDir: tempDir('inventory-reports') });
  });
  after(async () => {
    await worker?.stop();
    await proxy?.stop();
    await Promise.all([temporal?.stop(), minio?.stop(), oss?.stop()]);
  });

  /** Rows as the bucket holds them now (listed on MinIO directly, not through the proxy). */
  async function rowsOf(bucket: string): Promise<InventoryObject[]> {
    const out: InventoryObject[] = [];
    let token: string | undefined;
    do {
      const page = await minio.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size!, etag: o.ETag!.replace(/"/g, ''), lastModified: o.LastModified!.getTime() });
      token = page.NextContinuationToken;
    } while (token);
    return out;
  }

  it('S3 Inventory on the OSS server, objects on MinIO: no LIST of the source; stale, gone and bad rows reported', async () => {
    await minio.createBucket('src');
    const keys = Array.from({ length: 90 }, (_, i) => `photos/${i % 3 ? 'a b' : 'c+d'}/ü-${String(i).padStart(3, '0')}.jpg`);
    await Promise.all(keys.map((k, i) => minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: k, Body: Buffer.alloc(100 + i, i) }))));
    await minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: 'stale.bin', Body: Buffer.alloc(10, 1) }));
    const rows = [...(await rowsOf('src')), { key: 'gone.bin', size: 5, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified: Date.UTC(2025, 0, 1) }];
    // The object changes after the inventory was taken.
    await minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: 'stale.bin', Body: Buffer.alloc(30, 2) }));
    oss.createBucket('reports');
    const report = s3Inventory({ prefix: 'inventories', sourceBucket: 'src', inventoryBucket: 'reports', objects: rows, files: 3, extraLines: [{ file: 2, after: 7, text: `"src","${encodeInventoryKey('x')}","not-a-size","2025-01-01T00:00:00.000Z","","STANDARD","false"` }] });
    const store = openOssProvider({ type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'reports', credentials: 'oss' }, { env });
    await putReport(store, report.files);
    await store.close?.();
    const out = tempDir('inventory-out');
    proxy.log.length = 0;
    const r = await runJob(client, {
      name: 'inventory-s3',
      source: { type: 's3', endpoint: proxy.endpoint, bucket: 'src', credentials: 'minio', inventory: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'reports', credentials: 'oss', key: report.manifestKey } },
      destination: { type: 'fs', path: out },
      tasks: { maxObjects: 20 },
      retries: 0,
    });
    assert.equal(r.status, 'completed-with-failures', JSON.stringify(r));
    assert.equal(r.objects.copied, keys.length + 1);
    assert.equal(r.objects.failed, 2);
    assert.equal(proxy.log.filter(S3Match.list).length, 0, 'the source was never listed');
    assert.ok(proxy.log.filter(S3Match.getObject).length >= keys.length + 1);
    for (const [i, k] of keys.entries()) assert.deepEqual(readFileSync(join(out, k)), Buffer.alloc(100 + i, i), k);
    assert.deepEqual(readFileSync(join(out, 'stale.bin')), Buffer.alloc(30, 2), 'a stale row is copied as the object is now');
    const failures = readFileSync(join(r.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string; message: string });
    const byClass = Object.fromEntries(failures.map((f) => [f.errorClass, f]));
    assert.deepEqual(Object.keys(byClass).sort(), ['InvalidInventoryRow', 'SourceMissing']);
    assert.equal(byClass.SourceMissing!.key, 'gone.bin');
    const thirdFile = [...report.files.keys()].filter((k) => k.includes('/data/'))[2]!;
    assert.equal(byClass.InvalidInventoryRow!.message, `bad row in inventory data file ${thirdFile} line 8: size "not-a-size" is not a whole number of bytes`);
    const staleFile = join(r.reportPath!, 'stale-rows.jsonl');
    assert.ok(existsSync(staleFile), `stale rows in ${readdirSync(r.reportPath!).join(', ')}`);
    const stale = readFileSync(staleFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; row: { size: number }; now: { size: number } });
    assert.deepEqual(stale.map((s) => [s.key, s.row.size, s.now.size]), [['stale.bin', 10, 30]]);
  });

  it('with both inventories, a re-run compares by the reports alone: no LIST and no HEAD on either bucket', async () => {
    await minio.createBucket('isrc');
    await minio.createBucket('idst');
    const keys = Array.from({ length: 40 }, (_, i) => `k ${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => minio.client.send(new PutObjectCommand({ Bucket: 'isrc', Key: k, Body: `body ${k}` }))));
    const dir = tempDir('both-inventories');
    const source = s3Inventory({ prefix: 'src-inv', sourceBucket: 'isrc', inventoryBucket: 'fs', objects: (await rowsOf('isrc')).reverse(), files: 2 });
    writeReport(dir, source.files);
    const job = {
      name: 'both-inventories',
      source: { type: 's3', endpoint: proxy.endpoint, bucket: 'isrc', credentials: 'minio', inventory: { type: 'fs', path: dir, key: source.manifestKey } },
      destination: { type: 's3', endpoint: proxy.endpoint, bucket: 'idst', credentials: 'minio' },
    };
    const first = await runJob(client, job);
    assert.equal(first.objects.copied, keys.length, JSON.stringify(first));
    // The destination's inventory, as S3 writes it: sorted by key.
    const destination = s3Inventory({ prefix: 'dst-inv', sourceBucket: 'idst', inventoryBucket: 'fs', objects: await rowsOf('idst'), files: 2, contiguous: true });
    writeReport(dir, destination.files);
    proxy.log.length = 0;
    const again = await runJob(client, { ...job, destination: { ...job.destination, inventory: { type: 'fs', path: dir, key: destination.manifestKey } } });
    assert.equal(again.status, 'succeeded', JSON.stringify(again));
    assert.equal(again.objects.copied, 0);
    assert.equal(again.objects.skipped, keys.length);
    const onBucket = (b: string) => proxy.log.filter((r) => r.path.split('/')[1] === b);
    assert.deepEqual(onBucket('isrc').filter((r) => S3Match.list(r) || S3Match.headObject(r)), [], 'no LIST or HEAD on the source');
    assert.deepEqual(onBucket('idst').filter((r) => S3Match.list(r) || S3Match.headObject(r)), [], 'no LIST or HEAD on the destination');
  });

  it('a CSV manifest of keys on fs drives a job from MinIO; a re-run copies nothing', async () => {
    await minio.createBucket('msrc');
    const keys = ['one.txt', 'two words.txt', 'dir/three,comma.txt'];
    await Promise.all(keys.map((k) => minio.client.send(new PutObjectCommand({ Bucket: 'msrc', Key: k, Body: `body ${k}` }))));
    const dir = tempDir('manifest');
    writeFileSync(join(dir, 'keys.csv'), `key,size\n${keys.map((k) => `"${k}",${Buffer.byteLength(`body ${k}`)}`).join('\n')}\n`);
    const out = tempDir('manifest-out');
    const job = {
      name: 'manifest-keys',
      source: { type: 's3', endpoint: proxy.endpoint, bucket: 'msrc', credentials: 'minio', manifest: { type: 'fs', path: join(dir, 'keys.csv') } },
      destination: { type: 'fs', path: out },
    };
    proxy.log.length = 0;
    const r = await runJob(client, job);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 3);
    for (const k of keys) assert.equal(readFileSync(join(out, k), 'utf8'), `body ${k}`);
    const again = await runJob(client, job);
    assert.equal(again.objects.copied, 0);
    assert.equal(again.objects.skipped, 3);
    assert.equal(proxy.log.filter(S3Match.list).length, 0, 'the source was never listed');
  });
});
