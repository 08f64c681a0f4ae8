/**
 * `versions: all` on a real Temporal dev server: a 3-key × 4-version bucket with a delete marker (not the last version
 * of its key) copied MinIO → OSS protocol test server and back, the destination's history checked version by version
 * (order, delete markers, bytes, `ferry-source-version-id`) and the report's version map against it; a second run
 * copies nothing; an incremental run adds only the new versions; a destination without versioning fails preflight
 * with its message; a worker SIGKILLed mid-key leaves no duplicate version.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import OSS from 'ali-oss';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { runJob, startJob, startWorker, spawnWorkerProcess, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openS3Provider } from '../../storage/s3/s3';
import { openOssProvider } from '../../storage/oss/oss';
import type { ObjectInfo, ObjectProvider } from '../../storage/provider';
import { versionsOfKey } from '../../storage/versions';
import { SOURCE_VERSION_METADATA } from '../../activities/versions-copy';
import type { VersionMapLine } from '../../activities/version-map';
import type { JobResult } from '../../common/progress';
import { parseJob } from '../../common/job';
import { planJob } from '../../client/commands/plan';

const MiB = 1024 * 1024;
const AK = 'AKID-versions-job';
const SK = 'versions-job-secret';
const KEYS = ['a', 'b/é x+%', 'c'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let temporal: TemporalTestServer;
let minio: S3TestServer;
let oss: OssServer;
let worker: InProcessWorker;
let reports: string;
let env: Record<string, string>;
let n = 0;

before(async () => {
  [temporal, minio, oss] = await Promise.all([startTemporal(), startMinio(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
  reports = tempDir('versions-reports');
  env = { ...minio.credentialEnv('minio'), FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };
  worker = await startWorker(temporal, { env, reportDir: reports });
});
after(async () => {
  await worker?.stop();
  await Promise.all([temporal?.stop(), minio?.stop(), oss?.stop()]);
});

type Side = { spec: Record<string, string>; provider: ObjectProvider };

async function minioBucket(versioned = true): Promise<Side> {
  const bucket = `vj-${++n}`;
  await minio.createBucket(bucket);
  if (versioned) await minio.client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const spec = { type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' };
  return { spec, provider: openS3Provider(spec as never, { env }) };
}

async function ossBucket(versioned = true): Promise<Side> {
  const bucket = `vj-${++n}`;
  oss.createBucket(bucket);
  if (versioned) {
    const c = new OSS({ accessKeyId: AK, accessKeySecret: SK, endpoint: oss.endpoint, bucket, region: 'oss-cn-hangzhou', authorizationV4: true }) as unknown as { putBucketVersioning(b: string, s: string): Promise<unknown> };
    await c.putBucketVersioning(bucket, 'Enabled');
  }
  const spec = { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket, credentials: 'oss' };
  return { spec, provider: openOssProvider(spec as never, { env }) };
}

const body = (key: string, i: number, size = 100 + i * 37) => Buffer.alloc(size, `${key}#${i};`);

/** 3 keys × 4 versions; key `a` has a delete marker as its third version; `c`'s second version is 6 MiB (multipart). */
async function buildHistory(p: ObjectProvider): Promise<void> {
  for (let i = 0; i < 4; i++) {
    for (const key of KEYS) {
      if (key === 'a' && i === 2) await p.delete!(key);
      else {
        const b = key === 'c' && i === 1 ? body(key, i, 6 * MiB) : body(key, i);
        await p.put(key, b, { size: b.length, contentType: 'text/plain' });
      }
    }
  }
}

async function md5(p: ObjectProvider, key: string, versionId: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of (await p.get(key, { versionId })).body) h.update(c as Buffer);
  return h.digest('hex');
}

/** Asserts the destination's history of every key equals the source's, version by version; returns the destination versions by key. */
async function assertSameHistories(src: ObjectProvider, dst: ObjectProvider): Promise<Map<string, ObjectInfo[]>> {
  const out = new Map<string, ObjectInfo[]>();
  for (const key of KEYS) {
    const s = await versionsOfKey(src, key);
    const d = await versionsOfKey(dst, key);
    assert.deepEqual(d.map((v) => !!v.deleteMarker), s.map((v) => !!v.deleteMarker), `${key}: the same order of versions and delete markers`);
    for (const [i, v] of s.entries()) {
      if (v.deleteMarker) continue;
      const dv = d[i]!;
      assert.equal(dv.size, v.size, `${key} version ${i}: size`);
      assert.equal(await md5(dst, key, dv.versionId!), await md5(src, key, v.versionId!), `${key} version ${i}: bytes`);
      assert.equal((await dst.stat(key, { versionId: dv.versionId })).metadata?.[SOURCE_VERSION_METADATA], v.versionId, `${key} version ${i}: names its source version`);
    }
    out.set(key, d);
  }
  return out;
}

function versionMap(r: JobResult): VersionMapLine[] {
  return readFileSync(join(r.reportPath!, 'versions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VersionMapLine);
}

async function assertVersionMap(r: JobResult, src: ObjectProvider, dstVersions: Map<string, ObjectInfo[]>): Promise<void> {
  const lines = versionMap(r);
  const expected: [string, string, string, boolean][] = [];
  for (const key of KEYS) {
    const s = await versionsOfKey(src, key);
    s.forEach((v, i) => expected.push([key, v.versionId!, dstVersions.get(key)![i]!.versionId!, !!v.deleteMarker]));
  }
  assert.deepEqual(lines.map((l) => [l.key, l.sourceVersionId, l.destinationVersionId, !!l.deleteMarker]), expected);
}

const job = (name: string, src: Side, dst: Side, extra: Record<string, unknown> = {}) => ({
  name,
  source: src.spec,
  destination: dst.spec,
  versions: 'all',
  verify: 'checksum',
  multipart: { threshold: '5MiB', partSize: '5MiB' },
  ...extra,
});

for (const direction of ['MinIO → OSS', 'OSS → MinIO'] as const) {
  describe(`versions: all, ${direction}`, () => {
    it('copies every version in order, maps them, copies nothing the second time, and only new versions incrementally', async () => {
      const [src, dst] = direction === 'MinIO → OSS' ? [await minioBucket(), await ossBucket()] : [await ossBucket(), await minioBucket()];
      await buildHistory(src.provider);
      const client = await temporal.client();
      const name = `versions-${n}`;
      const planned = await planJob(parseJob(job(name, src, dst)), src.provider, dst.provider, { sampleSeconds: 0 });
      assert.deepEqual([planned.listed.objects, planned.copy.objects, planned.skip.objects], [12, 12, 0], '`ferry plan` counts versions');
      assert.deepEqual(planned.versions, { keys: 3, versions: 12, deleteMarkers: 1 });
      const r = await runJob(client, job(name, src, dst));
      assert.equal(r.status, 'succeeded', JSON.stringify(r));
      assert.equal(r.objects.copied, 12, 'every version counts as an object, the delete marker included');
      assert.equal(r.objects.verified, 12);
      const dstVersions = await assertSameHistories(src.provider, dst.provider);
      await assertVersionMap(r, src.provider, dstVersions);

      const again = await runJob(client, job(`${name}-again`, src, dst));
      assert.equal(again.status, 'succeeded', JSON.stringify(again));
      assert.deepEqual([again.objects.copied, again.objects.skipped], [0, 12], 'a second run copies no version');
      await assertSameHistories(src.provider, dst.provider);
      const replanned = await planJob(parseJob(job(name, src, dst)), src.provider, dst.provider, { sampleSeconds: 0 });
      assert.deepEqual([replanned.copy.objects, replanned.skip.objects], [0, 12]);

      await sleep(1100); // versions after the last run, on stores whose times have one second's resolution
      const since = Date.now();
      await sleep(1100);
      const fresh = body('a', 9);
      await src.provider.put('a', fresh, { size: fresh.length });
      await src.provider.delete!('c');
      const inc = await runJob(client, job(`${name}-inc`, src, dst, { filter: { modifiedSince: new Date(since).toISOString() } }));
      assert.equal(inc.status, 'succeeded', JSON.stringify(inc));
      assert.equal(inc.objects.copied, 2, `only the two new versions: ${JSON.stringify(inc.objects)}`);
      assert.equal(inc.objects.skipped + inc.objects.excluded, 12);
      const after = await assertSameHistories(src.provider, dst.provider);
      assert.equal(after.get('a')!.length, 5);
      assert.equal(after.get('c')![4]!.deleteMarker, true);
      // The map of a run holds every version of the keys it went through: found in place, or written by it.
      await assertVersionMap(inc, src.provider, after);
    });
  });
}

describe('versions: all preflight', () => {
  it('refuses a destination without versioning, naming the fix', async () => {
    const src = await minioBucket();
    await buildHistory(src.provider);
    const dst = await ossBucket(false);
    const client = await temporal.client();
    const r = await runJob(client, job(`versions-unversioned-${n}`, src, dst)).catch((e: Error & { cause?: Error }) => ({ status: 'failed', error: `${e.message} ${e.cause?.message ?? ''}` }) as JobResult);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /versions: all needs versioning enabled on the destination bucket \(it is not enabled\)/);
    assert.deepEqual(oss.keys(dst.spec.bucket!), [], 'nothing written');
  });
});

describe('versions: all with a worker killed mid-key', () => {
  it('resumes without duplicating a version', async () => {
    await worker.stop(); // only the worker processes below take the job
    const src = await minioBucket();
    const dst = await ossBucket();
    const VERSIONS = 30;
    for (let i = 0; i < VERSIONS; i++) {
      const b = body('k', i, 256 * 1024);
      await src.provider.put('k', b, { size: b.length });
    }
    const client = await temporal.client();
    const procEnv = { ...env, FERRY_REPORT_DIR: reports };
    const first = spawnWorkerProcess(temporal, procEnv, 'versions-worker-1');
    let second;
    try {
      const h = await startJob(client, job(`versions-kill-${n}`, src, dst, { throttle: { bandwidth: '1MiB/s' }, concurrency: { tasks: 1 } }));
      let before = 0;
      for (let i = 0; i < 300 && before < 5; i++) {
        await sleep(200);
        before = (await versionsOfKey(dst.provider, 'k')).length;
      }
      assert.ok(before >= 5 && before < VERSIONS, `killed after ${before} versions were written`);
      await first.kill();
      second = spawnWorkerProcess(temporal, procEnv, 'versions-worker-2');
      const r = (await h.result()) as JobResult;
      assert.equal(r.status, 'succeeded', JSON.stringify(r));
      const d = await versionsOfKey(dst.provider, 'k');
      const s = await versionsOfKey(src.provider, 'k');
      assert.equal(d.length, VERSIONS, `${d.length} destination versions for ${VERSIONS} source versions`);
      const named = await Promise.all(d.map(async (v) => (await dst.provider.stat('k', { versionId: v.versionId })).metadata?.[SOURCE_VERSION_METADATA]));
      assert.deepEqual(named, s.map((v) => v.versionId), 'each source version once, in order');
      assert.equal(new Set(versionMap(r).map((l) => l.sourceVersionId)).size, VERSIONS);
    } finally {
      await first.stop();
      await second?.stop();
      worker = await startWorker(temporal, { env, reportDir: reports });
    }
  });
});
