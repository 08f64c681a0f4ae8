/**
 * Archived objects at the provider layer, on real servers: the OSS protocol test server's archive classes and
 * restores (checked first with the real ali-oss client, then through Ferry's oss provider) and moto's S3 GLACIER,
 * DEEP_ARCHIVE and GLACIER_IR (Ferry's s3 provider on its lean path and on the SDK path): storage class in listings
 * and HEAD, `x-oss-restore`/`x-amz-restore`, restore() requested/already, and a GET of an unrestored object failing
 * as ArchivedObject naming its class.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import OSS from 'ali-oss';
import { PutObjectCommand, RestoreObjectCommand } from '@aws-sdk/client-s3';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startMoto, type S3TestServer } from '../support/s3-servers';
import { openOssProvider } from '../../storage/oss/oss';
import { openS3Provider } from '../../storage/s3/s3';
import { needsRestore, type ObjectProvider } from '../../storage/provider';
import { parseRestoreHeader } from '../../storage/archive-fields';
import { ArchivedObjectError } from '../../common/errors';
import { parseJob } from '../../common/job';
import { planJob, renderPlan } from '../../client/commands/plan';
import { openFsProvider } from '../../storage/fs/fs';
import { tempDir } from '../support/process';

const AK = 'AKID-archive';
const SK = 'archive-secret';
const BUCKET = 'cold';

async function readAll(p: ObjectProvider, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of (await p.get(key)).body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function rejectsArchived(p: Promise<unknown>, storageClass: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ArchivedObjectError, `ArchivedObjectError expected, got ${String(e)}`);
    assert.equal(e.name, 'ArchivedObject');
    assert.equal(e.retryable, false);
    assert.equal(e.jobFatal, false);
    assert.equal(e.storageClass, storageClass);
    assert.match(e.message, new RegExp(`storage class ${storageClass}`));
    return true;
  });
}

describe('restore header', () => {
  it('reads ongoing and finished restores, and nothing else', () => {
    assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
    assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), { ongoing: false, expiresAt: Date.UTC(2012, 11, 21) });
    assert.equal(parseRestoreHeader(undefined), undefined);
    assert.equal(parseRestoreHeader('garbage'), undefined);
  });
});

describe('OSS protocol server: archive classes, checked with ali-oss', () => {
  let server: OssServer;
  let client: OSS;
  before(async () => {
    server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    server.createBucket(BUCKET);
    client = new OSS({ endpoint: server.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: BUCKET, authorizationV4: true } as OSS.Options);
  });
  after(() => server.stop());

  it('refuses a GET until restored, reports the restore with x-oss-restore, and expires the restored copy', async () => {
    server.archive.restoreDelayMs = 600;
    await client.put('a.bin', Buffer.from('archived bytes'), { headers: { 'x-oss-storage-class': 'Archive' } });
    await client.put('c.bin', Buffer.from('cold bytes'), { headers: { 'x-oss-storage-class': 'ColdArchive' } });
    await client.put('s.bin', Buffer.from('standard'));
    const listed = await client.listV2({}, {});
    assert.deepEqual(listed.objects.map((o) => [o.name, o.storageClass]), [['a.bin', 'Archive'], ['c.bin', 'ColdArchive'], ['s.bin', 'Standard']]);
    const head = await client.head('a.bin');
    assert.equal((head.res.headers as Record<string, string>)['x-oss-storage-class'], 'Archive');
    assert.equal((head.res.headers as Record<string, string>)['x-oss-restore'], undefined);
    await assert.rejects(client.get('a.bin'), (e: { status?: number; code?: string }) => e.status === 403 && e.code === 'InvalidObjectState');
    await assert.rejects(client.restore('s.bin'), (e: { status?: number; code?: string }) => e.status === 400 && e.code === 'OperationNotSupported');

    const restored = await client.restore('a.bin', { type: 'Archive', Days: 1 } as never);
    assert.equal((restored as unknown as { res: { status: number } }).res.status, 202);
    await client.restore('c.bin', { type: 'ColdArchive', Days: 2, JobParameters: 'Bulk' } as never);
    assert.equal(((await client.head('a.bin')).res.headers as Record<string, string>)['x-oss-restore'], 'ongoing-request="true"');
    await assert.rejects(client.restore('a.bin', { type: 'Archive' } as never), (e: { status?: number; code?: string }) => e.status === 409 && e.code === 'RestoreAlreadyInProgress');
    await assert.rejects(client.get('a.bin'), (e: { code?: string }) => e.code === 'InvalidObjectState');

    await sleep(700);
    const after = ((await client.head('a.bin')).res.headers as Record<string, string>)['x-oss-restore']!;
    assert.match(after, /^ongoing-request="false", expiry-date="[^"]+ GMT"$/);
    assert.equal((await client.get('a.bin')).content.toString(), 'archived bytes');
    assert.equal((await client.get('c.bin')).content.toString(), 'cold bytes');

    server.archive.expire(BUCKET, 'a.bin');
    assert.equal(((await client.head('a.bin')).res.headers as Record<string, string>)['x-oss-restore'], undefined);
    await assert.rejects(client.get('a.bin'), (e: { code?: string }) => e.code === 'InvalidObjectState');
  });

  it("Ferry's oss provider: class in list and stat, restore state, restore(), and ArchivedObject on GET", async () => {
    server.archive.restoreDelayMs = 400;
    await client.put('d.bin', Buffer.from('deep cold'), { headers: { 'x-oss-storage-class': 'DeepColdArchive' } });
    const p = openOssProvider({ type: 'oss', endpoint: server.endpoint, region: 'cn-hangzhou', bucket: BUCKET, credentials: 'cold' }, { env: { FERRY_CREDENTIALS_COLD_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_COLD_SECRET_ACCESS_KEY: SK } });
    try {
      assert.equal(p.capabilities.archive, true);
      const listed = await p.list({ prefix: 'd' });
      assert.equal(listed.objects[0]!.storageClass, 'DeepColdArchive');
      const before = await p.stat('d.bin');
      assert.equal(before.storageClass, 'DeepColdArchive');
      assert.equal(before.restore, undefined);
      assert.equal(needsRestore(before), true);
      await rejectsArchived(p.get('d.bin'), 'DeepColdArchive');
      assert.equal(await p.restore!('d.bin', { days: 1, tier: 'Standard' }), 'requested');
      assert.equal(await p.restore!('d.bin', { days: 1, tier: 'Standard' }), 'already');
      assert.deepEqual((await p.stat('d.bin')).restore, { ongoing: true });
      await sleep(500);
      const ready = await p.stat('d.bin');
      assert.equal(ready.restore?.ongoing, false);
      assert.ok(ready.restore!.expiresAt! > Date.now(), JSON.stringify(ready.restore));
      assert.equal(needsRestore(ready), false);
      assert.equal(await p.restore!('d.bin', { days: 1, tier: 'Standard' }), 'already');
      assert.equal(await readAll(p, 'd.bin'), 'deep cold');
      assert.equal(await p.restore!('s.bin', { days: 1, tier: 'Bulk' }), 'already', 'a Standard object needs no restore');
    } finally {
      await p.close?.();
    }
  });
});

describe('moto: S3 GLACIER, DEEP_ARCHIVE and GLACIER_IR', () => {
  let moto: S3TestServer;
  before(async () => {
    moto = await startMoto();
    await moto.createBucket(BUCKET);
    for (const [key, cls] of [['g.bin', 'GLACIER'], ['d.bin', 'DEEP_ARCHIVE'], ['ir.bin', 'GLACIER_IR']] as const) {
      await moto.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `bytes of ${key}`, StorageClass: cls }));
    }
  });
  after(() => moto.stop());

  for (const sdkOnly of [false, true]) {
    it(`class in list and stat, restore(), ArchivedObject on GET (${sdkOnly ? 'SDK path' : 'lean path'})`, async () => {
      const key = sdkOnly ? 'd.bin' : 'g.bin';
      const cls = sdkOnly ? 'DEEP_ARCHIVE' : 'GLACIER';
      const p = openS3Provider({ type: 's3', endpoint: moto.endpoint, bucket: BUCKET, credentials: 'moto' }, { env: moto.credentialEnv('moto') }, { sdkOnly });
      try {
        assert.equal(p.capabilities.archive, true);
        const classes = Object.fromEntries((await p.list()).objects.map((o) => [o.key, o.storageClass]));
        assert.equal(classes[key], cls);
        assert.equal(classes['ir.bin'], 'GLACIER_IR');
        const before = await p.stat(key);
        assert.equal(before.storageClass, cls);
        assert.equal(needsRestore(before), true);
        assert.equal(needsRestore(await p.stat('ir.bin')), false, 'GLACIER_IR reads at once');
        assert.equal(await readAll(p, 'ir.bin'), 'bytes of ir.bin');
        await rejectsArchived(p.get(key), cls);
        assert.equal(await p.restore!(key, { days: 2, tier: 'Bulk' }), 'requested');
        const after = await p.stat(key);
        assert.equal(after.restore?.ongoing, false, 'moto restores at once');
        assert.ok((after.restore?.expiresAt ?? 0) > Date.now());
        assert.equal(await p.restore!(key, { days: 2, tier: 'Bulk' }), 'already');
        assert.equal(await readAll(p, key), `bytes of ${key}`);
      } finally {
        await p.close?.();
      }
    });
  }

  it('ferry plan counts archived objects by class and the restore requests the policy would make', async () => {
    const doc = (archived: string) => ({ name: 'plan-cold', source: { type: 's3', endpoint: moto.endpoint, bucket: BUCKET, credentials: 'moto' }, destination: { type: 'fs', path: tempDir('plan-cold') }, archived, ...(archived === 'restore' ? { restore: { days: 5, tier: 'Standard' } } : {}) });
    const src = openS3Provider({ type: 's3', endpoint: moto.endpoint, bucket: BUCKET, credentials: 'moto' }, { env: moto.credentialEnv('moto') });
    const dst = openFsProvider({ type: 'fs', path: tempDir('plan-cold-dst') });
    try {
      const spec = parseJob(doc('restore'));
      const p = await planJob(spec, src, dst, { sampleSeconds: 1 });
      assert.deepEqual(p.archived?.byClass, { DEEP_ARCHIVE: { objects: 1, bytes: 14 }, GLACIER: { objects: 1, bytes: 14 } });
      assert.deepEqual(p.archived?.readableAtOnce, { objects: 1, bytes: 15 });
      assert.deepEqual(p.archived?.restoreRequests, { count: 2, bytes: 28, days: 5, tier: 'Standard' });
      assert.equal(p.warnings.filter((w) => /sample/.test(w)).length, 0, 'archived objects are not read for the sample');
      const text = renderPlan(p, spec);
      assert.match(text, /archived +1 objects +14 B +\(GLACIER\)/);
      assert.match(text, /restores +2 restore request\(s\) for 28 B, 5 day\(s\), tier Standard/);
      assert.equal(JSON.parse(JSON.stringify(p)).archived.restoreRequests.count, 2, '--json carries them');
      const failing = await planJob(parseJob(doc('fail')), src, dst, { sampleSeconds: 0 });
      assert.equal(failing.archived?.restoreRequests, undefined);
      assert.match(renderPlan(failing, parseJob(doc('fail'))), /2 would fail as ArchivedObject/);
    } finally {
      await src.close?.();
    }
  });

  it('the SDK itself agrees with what the provider parsed', async () => {
    const out = await moto.client.send(new RestoreObjectCommand({ Bucket: BUCKET, Key: 'g.bin', RestoreRequest: { Days: 1 } }));
    assert.ok([200, 202].includes(out.$metadata.httpStatusCode ?? 0));
  });
});
