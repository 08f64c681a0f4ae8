/**
 * User metadata through the copy engine (copyRange, no Temporal server) to real destinations: the OSS test server
 * and MinIO. Non-ASCII values arrive as RFC 2047 encoded-words (single put and multipart, MinIO's CRC-64 self-copy
 * included), an encoded-word read from S3 arrives byte-exact, and a CR/LF value fails that one object with
 * InvalidMetadataError, once (not retried) and before any write, while the others copy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createActivities } from '../../activities';
import { openProvider } from '../../storage/registry';
import type { EndpointSpec, ObjectProvider } from '../../storage/provider';
import { parseJob } from '../../common/job';
import type { BatchInput, BatchResult } from '../../common/contracts';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startMinio, type S3TestServer } from '../support/s3-servers';

const MiB = 1024 ** 2;
/** Source objects (fs has no metadata: the source provider is wrapped to report these) and what must arrive. */
const OBJECTS: { key: string; size: number; metadata: Record<string, string>; arrives?: Record<string, string> }[] = [
  { key: 'a-ascii.txt', size: 10, metadata: { owner: 'team-a', tabbed: 'a\tb' }, arrives: { owner: 'team-a', tabbed: 'a\tb' } },
  { key: 'b-non-ascii.txt', size: 10, metadata: { title: '你好', emoji: '🎉', latin: 'é' }, arrives: { title: '=?UTF-8?B?5L2g5aW9?=', emoji: '=?UTF-8?B?8J+OiQ==?=', latin: '=?UTF-8?B?w6k=?=' } },
  { key: 'c-crlf.txt', size: 10, metadata: { owner: 'team-a', note: 'line1\r\nX-Injected: yes' } },
  { key: 'd-encoded-word.txt', size: 10, metadata: { title: '=?UTF-8?B?5L2g5aW9?=' }, arrives: { title: '=?UTF-8?B?5L2g5aW9?=' } },
  { key: 'e-multipart.bin', size: 6 * MiB, metadata: { title: 'größe 大' }, arrives: { title: '=?UTF-8?B?Z3LDtsOfZSDlpKc=?=' } },
  { key: 'f-multipart-lf.bin', size: 6 * MiB, metadata: { note: 'a\nb' } },
];
const REFUSED = OBJECTS.filter((o) => !o.arrives);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-metadata-'));
  for (const o of OBJECTS) writeFileSync(join(dir, o.key), Buffer.alloc(o.size, 7));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fs source, reporting OBJECTS' metadata on stat and get and counting reads per key. */
function sourceWithMetadata(p: ObjectProvider, reads: Map<string, number>): ObjectProvider {
  const meta = (key: string) => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
    return { ...OBJECTS.find((o) => o.key === key)!.metadata };
  };
  return Object.assign(Object.create(p) as ObjectProvider, {
    stat: async (key: string, opts?: { signal?: AbortSignal }) => ({ ...(await p.stat(key, opts)), metadata: meta(key) }),
    get: async (key: string, opts?: Parameters<ObjectProvider['get']>[1]) => {
      const got = await p.get(key, opts);
      return { ...got, info: { ...got.info, metadata: meta(key) } };
    },
  });
}

/** Runs one copyRange (verify: checksum, multipart from 5 MiB) up to key `last`; `wrap` may replace an opened provider. */
async function copyBatch(source: EndpointSpec, destination: EndpointSpec, env: NodeJS.ProcessEnv, last: string, wrap: (spec: EndpointSpec, p: ObjectProvider) => ObjectProvider): Promise<BatchResult> {
  const activities = createActivities({ reportDir: join(dir, 'reports'), providers: { env }, openProvider: (spec, ctx) => wrap(spec, openProvider(spec, ctx)) });
  const job = parseJob({ name: `metadata-${destination.type}`, source, destination, verify: 'checksum', multipart: { threshold: '5MiB', partSize: '5MiB' }, concurrency: { tasks: 1, objects: 4 } });
  const input: BatchInput = { job, runTag: 'r', taskId: 't', parentId: 'p', round: 0, n: 0, batch: 0, range: { last }, limits: job.limits };
  return (await new MockActivityEnvironment().run(activities.copyRange, input)) as BatchResult;
}

/** Copies OBJECTS from the fs source, with their metadata, to `destination`. */
function copyObjects(destination: EndpointSpec, env: NodeJS.ProcessEnv, reads: Map<string, number>): Promise<BatchResult> {
  return copyBatch({ type: 'fs', path: dir }, destination, env, OBJECTS.at(-1)!.key, (spec, p) => (spec.type === 'fs' ? sourceWithMetadata(p, reads) : p));
}

/** The batch copied the others and reported each refused object once, as InvalidMetadataError naming key and field. */
function assertRefusedOnly(result: BatchResult, reads: Map<string, number>): void {
  assert.equal(result.objects.copied, OBJECTS.length - REFUSED.length, JSON.stringify(result));
  assert.equal(result.objects.failed, REFUSED.length, JSON.stringify(result));
  assert.deepEqual(result.failures.map((f) => [f.key, f.errorClass]).sort(), REFUSED.map((o) => [o.key, 'InvalidMetadataError']));
  for (const f of result.failures) {
    assert.ok(f.message.includes(JSON.stringify(f.key)), f.message);
    assert.match(f.message, /"note".*control character/);
    assert.equal(reads.get(f.key), 1, `${f.key} was read once: not retried`);
  }
}

describe('metadata through the copy engine → OSS test server', () => {
  let oss: OssServer;
  before(async () => {
    oss = await startOssServer({ accessKeyId: 'AK', secretAccessKey: 'SK' });
    oss.createBucket('meta');
  });
  after(() => oss?.stop());

  it('non-ASCII arrives as encoded-words, a CR/LF value fails only its object', async () => {
    const reads = new Map<string, number>();
    const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: 'AK', FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: 'SK' };
    const destination = { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'meta', credentials: 'oss' } as const;
    const result = await copyObjects(destination, env, reads);
    assertRefusedOnly(result, reads);
    for (const o of OBJECTS) assert.deepEqual(oss.inspect('meta', o.key)?.metadata, o.arrives, o.key);
    assert.ok(!oss.requests.some((r) => REFUSED.some((o) => o.key === r.key)), 'no request for a refused object');
  });
});

describe('metadata through the copy engine → MinIO', () => {
  let minio: S3TestServer;
  before(async () => {
    minio = await startMinio();
    for (const b of ['meta', 'meta-src', 'meta-dst']) await minio.createBucket(b);
  });
  after(() => minio?.stop());
  const spec = (bucket: string) => ({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' }) as const;
  const head = async (bucket: string, key: string) => (await minio.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata;

  it('non-ASCII arrives as encoded-words (CRC-64 self-copy included), a CR/LF value fails only its object', async () => {
    const reads = new Map<string, number>();
    const result = await copyObjects(spec('meta'), minio.credentialEnv('minio'), reads);
    assertRefusedOnly(result, reads);
    for (const o of OBJECTS.filter((x) => x.arrives)) {
      const got = await head('meta', o.key);
      // The multipart copy records its whole-object CRC-64 by a self-copy that replaces the metadata.
      const { 'ferry-crc64ecma': crc, ...rest } = got ?? {};
      assert.deepEqual(rest, o.arrives, o.key);
      assert.equal(crc !== undefined, o.size > 5 * MiB, `${o.key}: ferry-crc64ecma`);
    }
    for (const o of REFUSED) await assert.rejects(head('meta', o.key), { name: 'NotFound' });
    const uploads = await minio.client.send(new ListMultipartUploadsCommand({ Bucket: 'meta' }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'no upload was created for the refused multipart object');
  });

  it('S3 → S3 through the engine (not server-side): an encoded-word arrives byte-exact', async () => {
    const metadata = { title: '=?UTF-8?B?5L2g5aW9?=', plain: 'x' };
    await minio.client.send(new PutObjectCommand({ Bucket: 'meta-src', Key: 'word.txt', Body: 'hello', Metadata: metadata }));
    // Another endpoint id for the destination, so the engine reads and writes rather than copying server-side.
    const otherEndpoint = (p: ObjectProvider) => Object.assign(Object.create(p) as ObjectProvider, { endpointId: `${p.endpointId}-other` });
    const result = await copyBatch(spec('meta-src'), spec('meta-dst'), minio.credentialEnv('minio'), 'word.txt', (s, p) => (s.bucket === 'meta-dst' ? otherEndpoint(p) : p));
    assert.equal(result.objects.copied, 1, JSON.stringify(result));
    assert.deepEqual(await head('meta-dst', 'word.txt'), metadata);
  });
});
