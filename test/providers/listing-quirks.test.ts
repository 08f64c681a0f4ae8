/**
 * Listings that would loop: s3 (both paths, through test/support/s3-quirk-proxy.ts in front of MinIO) and oss (the
 * quirk modes of test/support/oss-server.ts) against stores that ignore `start-after`, know only ListObjects V1,
 * ignore `marker` too, or shuffle their pages. 1,105 keys: more than one page of 1,000, as the real code lists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import OSS from 'ali-oss';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startS3QuirkProxy, type S3QuirkProxy, type S3Quirks } from '../support/s3-quirk-proxy';
import { startOssServer, type OssServer, type OssQuirks } from '../support/oss-server';
import { listAllObjects } from '../support/ferry';
import { openS3Provider } from '../../storage/s3/s3';
import { S3Http } from '../../storage/s3/s3-http';
import { openOssProvider } from '../../storage/oss/oss';
import { compareKeys } from '../../common/keys';
import { ListingNotAdvancingError } from '../../common/errors';
import type { ObjectProvider } from '../../storage/provider';

const N = 1100;
/** 1,100 plain keys and a few whose UTF-8 order differs from UTF-16's (U+FFFD before U+1F600). */
const KEYS = [...Array.from({ length: N }, (_, i) => `k/${String(i).padStart(5, '0')}`), 'z/\uFFFD', 'z/\u{1F600}', 'z/a b+c', 'z/日本'].sort(compareKeys);
const AK = 'quirk-ak';
const SK = 'quirk-sk';
const BUCKET = 'quirks';

let minio: S3TestServer;
let proxy: S3QuirkProxy;
let oss: OssServer;
const ossQuirks: OssQuirks = {};

/** Puts every key (a 1-byte body) with at most 32 requests in flight. */
async function putAll(put: (key: string) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (i < KEYS.length) await put(KEYS[i++]!);
  }));
}

before(async () => {
  [minio, oss] = await Promise.all([startMinio(), startOssServer({ accessKeyId: AK, secretAccessKey: SK, quirks: ossQuirks })]);
  proxy = await startS3QuirkProxy(minio);
  await minio.createBucket(BUCKET);
  oss.createBucket(BUCKET);
  await putAll((key) => minio.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })));
  const writer = ossProvider();
  await putAll((key) => writer.put(key, Buffer.from('x')));
  await writer.close?.();
});

after(async () => {
  await proxy?.stop();
  await Promise.all([minio?.stop(), oss?.stop()]);
});

const warnings: string[] = [];
function s3Provider(sdkOnly: boolean, listVersion?: 1 | 2): ObjectProvider {
  return openS3Provider({ type: 's3', endpoint: proxy.endpoint, bucket: BUCKET, credentials: 'minio' }, { env: minio.credentialEnv('minio') }, { sdkOnly, listVersion, onWarning: (m) => warnings.push(m) });
}
function ossProvider(listVersion?: 1 | 2): ObjectProvider {
  const env = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };
  return openOssProvider({ type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: BUCKET, credentials: 'oss' }, { env }, { listVersion, onWarning: (m) => warnings.push(m) });
}

/** The three ways Ferry lists: s3 lean path, s3 through the SDK, oss. Each sets its store's quirks. */
const sides = [
  { name: 's3 (lean path)', open: (v?: 1 | 2) => s3Provider(false, v), quirks: (q: S3Quirks) => setQuirks(proxy.quirks, q), endpoint: () => proxy.endpoint },
  { name: 's3 (SDK)', open: (v?: 1 | 2) => s3Provider(true, v), quirks: (q: S3Quirks) => setQuirks(proxy.quirks, q), endpoint: () => proxy.endpoint },
  { name: 'oss', open: (v?: 1 | 2) => ossProvider(v), quirks: (q: OssQuirks) => setQuirks(ossQuirks, q), endpoint: () => oss.endpoint },
];

function setQuirks<Q extends object>(target: Q, q: Q): void {
  for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, q);
}

/** V1 list requests (with a marker) the store under `name` received since `since` requests. */
function v1Lists(name: string, since: number): number {
  if (name === 'oss') return oss.requests.slice(since).filter((r) => r.op === 'ListObjects' && r.query.marker).length;
  return proxy.lists.slice(since).filter((r) => r.query['list-type'] !== '2' && r.query.marker).length;
}
const seen = (name: string) => (name === 'oss' ? oss.requests.length : proxy.lists.length);

/** The keys of the store's first page of 1,000 as sent, not put in order by a provider. */
async function rawPageKeys(name: string): Promise<string[]> {
  if (name === 'oss') {
    const client = new OSS({ endpoint: oss.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: BUCKET, authorizationV4: true });
    return (await client.listV2({ 'max-keys': '1000' }, {})).objects.map((o) => o.name);
  }
  const http = new S3Http({ endpoint: proxy.endpoint, region: 'us-east-1', bucket: BUCKET, credentials: async () => ({ accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey }), maxSockets: 1, connectionTimeoutMs: 5000, requestTimeoutMs: 5000 });
  try {
    return (await http.list(undefined, undefined, 1000)).objects.map((o) => o.key);
  } finally {
    http.close();
  }
}

/** Lists everything with the provider, failing (not hanging) when a listing would go on for ever. */
async function listEverything(p: ObjectProvider): Promise<string[]> {
  const keys = (await listAllObjects(p)).map((o) => o.key);
  assert.ok(keys.length <= KEYS.length * 2, `listed ${keys.length} keys`);
  return keys;
}

for (const side of sides) {
  test(`${side.name}: a store that ignores start-after is listed in full through V1 marker; the switch is logged once`, async () => {
    side.quirks({ ignoreStartAfter: true });
    warnings.length = 0;
    const since = seen(side.name);
    const p = side.open();
    try {
      assert.deepEqual(await listEverything(p), KEYS, 'every key exactly once, in order');
      assert.ok(v1Lists(side.name, since) >= 1, 'asked again with marker');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0]!.includes(side.endpoint()), warnings[0]);
      // Remembered: a second listing goes to V1 from its second page on, without asking V2 first.
      const before = seen(side.name);
      assert.deepEqual(await listEverything(p), KEYS);
      assert.equal(v1Lists(side.name, before), 1);
      assert.equal(warnings.length, 1, 'logged once per provider');
    } finally {
      await p.close?.();
    }
  });

  test(`${side.name}: a store that knows only ListObjects V1 is listed in full`, async () => {
    side.quirks({ v1Only: true });
    const p = side.open();
    try {
      assert.deepEqual(await listEverything(p), KEYS);
    } finally {
      await p.close?.();
    }
  });

  test(`${side.name}: a store that ignores start-after and marker fails within seconds, naming endpoint and key`, async () => {
    side.quirks({ ignoreStartAfter: true, ignoreMarker: true });
    const p = side.open();
    const t0 = Date.now();
    try {
      await assert.rejects(listEverything(p), (e: unknown) => {
        assert.ok(e instanceof ListingNotAdvancingError, String(e));
        assert.equal(e.code, 'ListingNotAdvancing');
        assert.equal(e.retryable, false);
        assert.ok(e.message.includes(side.endpoint()) && e.message.includes(`bucket ${BUCKET}`), e.message);
        assert.ok(e.message.includes(`after ${JSON.stringify(KEYS[999])}`), e.message);
        return true;
      });
      assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    } finally {
      await p.close?.();
    }
  });

  test(`${side.name}: shuffled pages are put in order: every key once`, async () => {
    side.quirks({ unorderedPages: true });
    const p = side.open();
    try {
      assert.notDeepEqual(await rawPageKeys(side.name), KEYS.slice(0, 1000), 'the store does shuffle');
      const first = await p.list({ limit: 1000 });
      assert.deepEqual(first.objects.map((o) => o.key), KEYS.slice(0, 1000));
      assert.equal(first.next, KEYS[999]);
      assert.deepEqual(await listEverything(p), KEYS);
    } finally {
      await p.close?.();
    }
  });

  test(`${side.name}: listVersion 1 lists with marker from the first page on`, async () => {
    side.quirks({ ignoreStartAfter: true });
    warnings.length = 0;
    const since = seen(side.name);
    const p = side.open(1);
    try {
      assert.deepEqual(await listEverything(p), KEYS);
      const lists = side.name === 'oss' ? oss.requests.slice(since).filter((r) => r.op.startsWith('ListObjects')).map((r) => r.op) : proxy.lists.slice(since).map((r) => (r.query['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects'));
      assert.deepEqual(lists, ['ListObjects', 'ListObjects']);
      assert.deepEqual(warnings, []);
    } finally {
      await p.close?.();
      side.quirks({});
    }
  });
}
