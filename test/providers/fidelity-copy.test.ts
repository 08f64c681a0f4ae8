/**
 * What travels with an object, end to end through the copy engine (copyRange, no Temporal server) between real
 * stores: MinIO → OSS test server → moto, single put and multipart. Standard headers, user metadata (an RFC 2047
 * encoded-word included) and tags arrive byte-exact at the end; the source's last-modified travels as
 * `ferry-source-last-modified` (the original time, kept by the second hop); the storage class (one, then a map),
 * SSE-KMS with a key id and a private ACL are asserted on each destination. A destination whose tags changed
 * afterwards fails a checksum verify with MetadataMismatch. An fs destination with `metadata.sidecar` keeps it all:
 * S3 → fs → S3 → fs, and fs without sidecars still drops them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { GetObjectAclCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { createActivities } from '../../activities';
import { parseJob } from '../../common/job';
import type { BatchInput, BatchResult } from '../../common/contracts';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startMinio, startMoto, type S3TestServer } from '../support/s3-servers';

const MiB = 1024 ** 2;
const OBJECTS = [
  { key: 'a/single.txt', body: Buffer.from('hello fidelity') },
  { key: 'b/multi.bin', body: Buffer.alloc(6 * MiB, 3) },
];
const FIELDS = {
  ContentType: 'application/pdf',
  CacheControl: 'max-age=3600, public',
  ContentDisposition: "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
  ContentEncoding: 'identity',
  ContentLanguage: 'de-CH',
  Metadata: { owner: 'team-a', title: '=?UTF-8?B?5L2g5aW9?=' },
};
const EXPIRES = 'Wed, 21 Oct 2037 07:28:00 GMT';
const TAGS = { project: 'ferry', 'with space': 'a+b=c/d', empty: '' };

let dir: string;
let minio: S3TestServer;
let moto: S3TestServer;
let oss: OssServer;
const ossEnv = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: 'AK', FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: 'SK' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-fidelity-'));
  [minio, moto, oss] = await Promise.all([startMinio(), startMoto(), startOssServer({ accessKeyId: 'AK', secretAccessKey: 'SK' })]);
  for (const b of ['src', 'back']) await minio.createBucket(b);
  await moto.createBucket('dst');
  oss.createBucket('mid');
  const tagging = Object.entries(TAGS).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  for (const o of OBJECTS) await minio.client.send(new PutObjectCommand({ Bucket: 'src', Key: o.key, Body: o.body, ...FIELDS, Expires: new Date(EXPIRES), Tagging: tagging }));
});
after(async () => {
  await Promise.all([minio?.stop(), moto?.stop(), oss?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const s3 = (server: S3TestServer, bucket: string) => ({ type: 's3', endpoint: server.endpoint, bucket, credentials: server.kind }) as const;
const ossSpec = { type: 'oss', endpoint: '', region: 'cn-hangzhou', bucket: 'mid', credentials: 'oss' } as const;

/** One copyRange over every key (verify: checksum, multipart from 5 MiB). */
async function run(doc: Record<string, unknown>): Promise<BatchResult> {
  const env = { ...minio.credentialEnv('minio'), ...moto.credentialEnv('moto'), ...ossEnv };
  const activities = createActivities({ reportDir: join(dir, 'reports'), providers: { env } });
  const job = parseJob({ name: 'fidelity', verify: 'checksum', multipart: { threshold: '5MiB', partSize: '5MiB' }, concurrency: { tasks: 1, objects: 2 }, ...doc });
  const input: BatchInput = { job, runTag: 'r', taskId: 't', parentId: 'p', round: 0, n: 0, batch: 0, range: { last: OBJECTS.at(-1)!.key }, limits: job.limits };
  return (await new MockActivityEnvironment().run(activities.copyRange, input)) as BatchResult;
}

async function s3Fields(client: S3Client, bucket: string, key: string) {
  const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const t = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return {
    head: h,
    fields: { ContentType: h.ContentType, CacheControl: h.CacheControl, ContentDisposition: h.ContentDisposition, ContentEncoding: h.ContentEncoding, ContentLanguage: h.ContentLanguage, Expires: h.ExpiresString, Metadata: h.Metadata },
    tags: Object.fromEntries((t.TagSet ?? []).map((x) => [x.Key!, x.Value ?? ''])),
  };
}

describe('S3 → OSS → S3 through the copy engine', () => {
  const modified = new Map<string, string>();

  it('MinIO → OSS: every field and tag, the source time as metadata, class IA, KMS with a key id, private ACL', async () => {
    for (const o of OBJECTS) modified.set(o.key, (await minio.client.send(new HeadObjectCommand({ Bucket: 'src', Key: o.key }))).LastModified!.toISOString());
    const result = await run({ source: s3(minio, 'src'), destination: { ...ossSpec, endpoint: oss.endpoint, storageClass: 'IA', encryption: { type: 'KMS', keyId: 'oss-key-1' }, acl: 'private' }, metadata: { sourceLastModified: true } });
    assert.equal(result.objects.copied, OBJECTS.length, JSON.stringify(result));
    assert.equal(result.objects.failed, 0, JSON.stringify(result.failures));
    for (const o of OBJECTS) {
      const got = oss.inspect('mid', o.key)!;
      assert.equal(got.contentType, FIELDS.ContentType);
      assert.deepEqual(got.fields.headers, { 'cache-control': FIELDS.CacheControl, 'content-disposition': FIELDS.ContentDisposition, 'content-encoding': FIELDS.ContentEncoding, 'content-language': FIELDS.ContentLanguage, expires: EXPIRES }, o.key);
      assert.deepEqual(got.metadata, { ...FIELDS.Metadata, 'ferry-source-last-modified': modified.get(o.key) }, o.key);
      assert.deepEqual(got.fields.tags, TAGS, o.key);
      assert.equal(got.fields.storageClass, 'IA', o.key);
      assert.deepEqual(got.fields.encryption, { algorithm: 'KMS', keyId: 'oss-key-1' }, o.key);
      assert.equal(got.fields.acl, 'private', o.key);
    }
  });

  it('OSS → moto: byte-exact at the end; class by map (IA → STANDARD_IA), SSE-KMS with a key id and a private ACL by HEAD', async () => {
    const result = await run({ source: { ...ossSpec, endpoint: oss.endpoint }, destination: { ...s3(moto, 'dst'), storageClass: { IA: 'STANDARD_IA', '*': 'STANDARD' }, encryption: { type: 'SSE-KMS', keyId: 'aws-key-1' }, acl: 'private' }, metadata: { sourceLastModified: true } });
    assert.equal(result.objects.copied, OBJECTS.length, JSON.stringify(result));
    assert.equal(result.objects.failed, 0, JSON.stringify(result.failures));
    for (const o of OBJECTS) {
      const start = await s3Fields(minio.client, 'src', o.key);
      const end = await s3Fields(moto.client, 'dst', o.key);
      // The multipart copy records its CRC-64 where the store keeps none (multipart.ts): Ferry's own, not the source's.
      const { 'ferry-crc64ecma': _, ...metadata } = end.fields.Metadata ?? {};
      // The first hop's stamp is kept: the original source's time, not the OSS copy's.
      assert.deepEqual({ ...end.fields, Metadata: metadata }, { ...start.fields, Metadata: { ...start.fields.Metadata, 'ferry-source-last-modified': modified.get(o.key) } }, o.key);
      assert.deepEqual(end.tags, start.tags, o.key);
      assert.equal(end.head.StorageClass, 'STANDARD_IA', o.key);
      assert.equal(end.head.ServerSideEncryption, 'aws:kms', o.key);
      assert.match(end.head.SSEKMSKeyId ?? '', /aws-key-1$/, o.key);
      const acl = await moto.client.send(new GetObjectAclCommand({ Bucket: 'dst', Key: o.key }));
      assert.deepEqual(acl.Grants?.map((g) => g.Permission), ['FULL_CONTROL'], `${o.key}: the owner alone`);
    }
  });

  it('a destination whose tags changed afterwards fails a checksum verify with MetadataMismatch naming the tag', async () => {
    const changed = OBJECTS[0]!.key;
    await moto.client.send(new PutObjectTaggingCommand({ Bucket: 'dst', Key: changed, Tagging: { TagSet: [{ Key: 'project', Value: 'other' }] } }));
    const result = await run({ mode: 'verify', source: { ...ossSpec, endpoint: oss.endpoint }, destination: { ...s3(moto, 'dst'), storageClass: { IA: 'STANDARD_IA', '*': 'STANDARD' }, encryption: { type: 'SSE-KMS', keyId: 'aws-key-1' } }, metadata: { sourceLastModified: true } });
    assert.equal(result.objects.failed, 1, JSON.stringify(result));
    const [f] = result.failures;
    assert.equal(f?.key, changed);
    assert.equal(f?.errorClass, 'MetadataMismatch');
    assert.match(f!.message, /tag project: destination "other", source "ferry"/);
    assert.match(f!.message, /tag with space: destination none/);
  });

  it('objects found in place are compared too: a re-run copy reports the changed tags', async () => {
    const result = await run({ source: { ...ossSpec, endpoint: oss.endpoint }, destination: { ...s3(moto, 'dst'), storageClass: { IA: 'STANDARD_IA', '*': 'STANDARD' }, encryption: { type: 'SSE-KMS', keyId: 'aws-key-1' } }, metadata: { sourceLastModified: true } });
    assert.equal(result.objects.failed, 1, JSON.stringify(result));
    assert.equal(result.failures[0]?.errorClass, 'MetadataMismatch');
    assert.equal(result.objects.skipped, OBJECTS.length - 1, JSON.stringify(result));
  });
});

describe('fs sidecars: S3 → fs → S3 → fs', () => {
  it('keeps headers, metadata and tags beside the files, never lists them, and restores them to S3', async () => {
    const first = join(dir, 'fs-first');
    const second = join(dir, 'fs-second');
    for (const d of [first, second]) mkdirSync(d);
    let result = await run({ source: s3(minio, 'src'), destination: { type: 'fs', path: first }, metadata: { sidecar: true } });
    assert.equal(result.objects.copied, OBJECTS.length, JSON.stringify(result));
    assert.ok(existsSync(join(first, '.ferry-meta')), 'sidecars written');
    result = await run({ source: { type: 'fs', path: first }, destination: s3(minio, 'back'), metadata: { sidecar: true } });
    assert.equal(result.objects.copied, OBJECTS.length, `sidecars are not listed as objects: ${JSON.stringify(result)}`);
    for (const o of OBJECTS) {
      const start = await s3Fields(minio.client, 'src', o.key);
      const back = await s3Fields(minio.client, 'back', o.key);
      const { 'ferry-crc64ecma': _, ...metadata } = back.fields.Metadata ?? {};
      assert.deepEqual({ ...back.fields, Metadata: metadata }, start.fields, o.key);
      assert.deepEqual(back.tags, start.tags, o.key);
    }
    result = await run({ source: s3(minio, 'back'), destination: { type: 'fs', path: second }, metadata: { sidecar: true } });
    assert.equal(result.objects.failed, 0, JSON.stringify(result.failures));
    const sidecars = (root: string) => readdirSync(join(root, '.ferry-meta'), { recursive: true }).filter((f) => String(f).endsWith('.json')).length;
    assert.equal(sidecars(second), OBJECTS.length);
  });

  it('an fs destination without sidecars keeps none (as before)', async () => {
    const plain = join(dir, 'fs-plain');
    mkdirSync(plain);
    const result = await run({ source: s3(minio, 'src'), destination: { type: 'fs', path: plain } });
    assert.equal(result.objects.copied, OBJECTS.length, JSON.stringify(result));
    assert.equal(existsSync(join(plain, '.ferry-meta')), false);
  });
});
