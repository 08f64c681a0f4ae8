/**
 * Versions on every store Ferry copies them between: the version conformance suite (versions-conformance.ts) against
 * MinIO (lean path and SDK), versitygw (`--versioning-dir`), moto and the OSS protocol test server; and the OSS test
 * server's versioning checked with the real `ali-oss` client.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OSS from 'ali-oss';
import { PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { runVersionConformance } from './versions-conformance';
import { openS3Provider } from '../../storage/s3/s3';
import { openOssProvider } from '../../storage/oss/oss';
import { startS3Server, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';

let n = 0;
const fresh = (prefix: string) => `${prefix}-${process.pid}-${++n}`;

for (const [kind, sdkOnly] of [['minio', false], ['minio', true], ['versitygw', false], ['moto', false]] as const) {
  let server: S3TestServer;
  before(async () => {
    server = await startS3Server(kind);
  });
  after(async () => {
    await server?.stop();
  });
  const open = async (versioned: boolean) => {
    const bucket = fresh('ver');
    await server.createBucket(bucket);
    if (versioned) await server.client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    return openS3Provider({ type: 's3', endpoint: server.endpoint, bucket, credentials: 'v' }, { env: server.credentialEnv('v') }, { sdkOnly });
  };
  runVersionConformance({ name: `s3 → ${kind}${sdkOnly ? ' (SDK)' : ''}`, versioned: () => open(true), unversioned: () => open(false) });
}

const AK = 'AKID-versions';
const SK = 'versions-secret';
let oss: OssServer;
before(async () => {
  oss = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
});
after(async () => {
  await oss?.stop();
});
/** The ali-oss calls used here (its typings lack the versioning ones). */
interface AliVersioning {
  put(name: string, body: Buffer): Promise<{ res: { headers: unknown } }>;
  get(name: string, file?: undefined, opts?: { versionId?: string }): Promise<{ content: Buffer }>;
  delete(name: string, opts?: { versionId?: string }): Promise<{ res: { headers: unknown } }>;
  putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<unknown>;
  getBucketVersioning(bucket: string): Promise<{ versionStatus?: string }>;
  getBucketVersions(query: { keyMarker?: string; versionIdMarker?: string; maxKeys?: number }): Promise<{ objects: { versionId: string }[]; deleteMarker: { versionId: string }[]; isTruncated: boolean; nextKeyMarker: string | null; nextVersionIdMarker: string | null }>;
}
const aliOss = (bucket: string) => new OSS({ accessKeyId: AK, accessKeySecret: SK, endpoint: oss.endpoint, bucket, region: 'oss-cn-hangzhou', authorizationV4: true }) as unknown as AliVersioning;
const openOss = async (versioned: boolean) => {
  const bucket = fresh('ver');
  oss.createBucket(bucket);
  if (versioned) await aliOss(bucket).putBucketVersioning(bucket, 'Enabled');
  return openOssProvider({ type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket, credentials: 'v' }, { env: { FERRY_CREDENTIALS_V_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_V_SECRET_ACCESS_KEY: SK } });
};
runVersionConformance({ name: 'oss → OSS protocol test server', versioned: () => openOss(true), unversioned: () => openOss(false) });

describe('OSS test server versioning through ali-oss', () => {
  it('putBucketVersioning, getBucketVersioning, put/get/delete with versionId, getBucketVersions with markers', async () => {
    const bucket = fresh('ali');
    oss.createBucket(bucket);
    const c = aliOss(bucket);
    assert.equal((await c.getBucketVersioning(bucket)).versionStatus, undefined);
    await c.putBucketVersioning(bucket, 'Enabled');
    assert.equal((await c.getBucketVersioning(bucket)).versionStatus, 'Enabled');
    const v1 = (await c.put('k', Buffer.from('first'))).res.headers as Record<string, string>;
    const v2 = (await c.put('k', Buffer.from('second!'))).res.headers as Record<string, string>;
    assert.ok(v1['x-oss-version-id'] && v2['x-oss-version-id'] && v1['x-oss-version-id'] !== v2['x-oss-version-id']);
    const got = await c.get('k', undefined, { versionId: v1['x-oss-version-id'] });
    assert.equal(String(got.content), 'first');
    const del = (await c.delete('k')).res.headers as Record<string, string>;
    assert.equal(del['x-oss-delete-marker'], 'true');
    await assert.rejects(c.get('k'), (e: { status?: number }) => e.status === 404);
    const listed = await c.getBucketVersions({ maxKeys: 10 });
    assert.deepEqual(listed.objects.map((o) => o.versionId), [v2['x-oss-version-id'], v1['x-oss-version-id']]);
    assert.deepEqual(listed.deleteMarker.map((o) => o.versionId), [del['x-oss-version-id']]);
    const page = await c.getBucketVersions({ maxKeys: 2 });
    assert.equal(page.isTruncated, true);
    assert.equal(page.nextKeyMarker, 'k');
    const rest = await c.getBucketVersions({ keyMarker: page.nextKeyMarker ?? undefined, versionIdMarker: page.nextVersionIdMarker ?? undefined, maxKeys: 2 });
    assert.deepEqual(rest.objects.map((o) => o.versionId), [v1['x-oss-version-id']]);
    await c.delete('k', { versionId: v1['x-oss-version-id'] });
    const after = await c.getBucketVersions({});
    assert.deepEqual(after.objects.map((o) => o.versionId), [v2['x-oss-version-id']]);
    await c.putBucketVersioning(bucket, 'Suspended');
    assert.equal((await c.getBucketVersioning(bucket)).versionStatus, 'Suspended');
    const suspended = (await c.put('k', Buffer.from('null one'))).res.headers as Record<string, string>;
    assert.equal(suspended['x-oss-version-id'], 'null');
  });
});
