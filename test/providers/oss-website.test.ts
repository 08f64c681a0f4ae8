/**
 * Back-to-origin on OSS: the test server's website configuration and mirror behaviour checked with the real
 * `ali-oss` client, then Ferry's `backToOriginOn`/`backToOriginOff` activities against it (rules kept, restored
 * byte for byte, idempotent) with a node:http origin that counts its requests.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OSS from 'ali-oss';
import { parseStringPromise } from 'xml2js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startOssServer, type OssServer } from '../support/oss-server';
import { createActivities } from '../../activities';
import type { BackToOriginOnResult } from '../../common/contracts';
import type { EndpointConfig } from '../../common/job';
import { InvalidConfigError } from '../../common/errors';
import { FERRY_RULE_HEADER } from '../../storage/oss/website-rules';

const AK = 'AKID-website';
const SK = 'website-secret';
const env: NodeJS.ProcessEnv = { FERRY_CREDENTIALS_DST_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_DST_SECRET_ACCESS_KEY: SK };

/** What the tests use of ali-oss: its website calls, and its signed raw request for byte-exact reads. */
type Client = Omit<OSS, 'putBucketWebsite' | 'getBucketWebsite' | 'deleteBucketWebsite'> & {
  putBucketWebsite(bucket: string, config: Record<string, unknown>): Promise<unknown>;
  getBucketWebsite(bucket: string): Promise<{ index: string; error: string | null; routingRules: Record<string, unknown>[] }>;
  deleteBucketWebsite(bucket: string): Promise<unknown>;
  _bucketRequestParams(method: string, bucket: string, subres: string, opts: object): Record<string, unknown>;
  request(params: Record<string, unknown>): Promise<{ data: Buffer }>;
};

interface OriginObject {
  body: string;
  headers?: Record<string, string>;
}

/** An HTTP origin serving `objects` by URL path; `hits` counts requests per path (with query). */
async function startOrigin(objects: Record<string, OriginObject>) {
  const hits = new Map<string, number>();
  const seenHeaders: Record<string, string | string[] | undefined>[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    seenHeaders.push(req.headers);
    const o = objects[url.split('?')[0]!];
    if (!o) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...o.headers }).end(o.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, seenHeaders, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

async function rejection(p: Promise<unknown>): Promise<{ status?: number; code?: string; name?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { status?: number; code?: string };
  }
  assert.fail('expected a rejection');
}

describe('OSS back-to-origin (bucket website configuration, mirror rules)', () => {
  let server: OssServer;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let oss: (bucket: string) => Client;
  const activities = createActivities({ providers: { env } });
  const on = (input: Parameters<typeof activities.backToOriginOn>[0]) => new MockActivityEnvironment().run(activities.backToOriginOn, input) as Promise<BackToOriginOnResult>;
  const off = (input: Parameters<typeof activities.backToOriginOff>[0]) => new MockActivityEnvironment().run(activities.backToOriginOff, input) as Promise<void>;
  const destination = (bucket: string, prefix?: string): EndpointConfig => ({ type: 'oss', endpoint: server.endpoint, region: 'cn-hangzhou', bucket, credentials: 'dst', ...(prefix ? { prefix } : {}) });

  /** The configuration bytes as the server sends them (null: none). */
  async function rawWebsite(bucket: string): Promise<string | null> {
    const c = oss(bucket);
    try {
      const { data } = await c.request({ ...c._bucketRequestParams('GET', bucket, 'website', {}), successStatuses: [200] });
      return data.toString('utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'NoSuchWebsiteConfiguration') return null;
      throw e;
    }
  }

  before(async () => {
    server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    for (const b of ['site', 'mirror', 'keep', 'fresh', 'full']) server.createBucket(b);
    origin = await startOrigin({
      '/src/a.txt': { body: 'from the origin', headers: { 'content-type': 'text/plain', 'x-amz-meta-colour': 'blue' } },
      '/src/dir/b%20c.bin': { body: 'spaced', headers: { 'x-oss-meta-owner': 'ops' } },
      '/src/q.txt': { body: 'query' },
      '/src/late.txt': { body: 'late' },
      '/src/bad-md5.txt': { body: 'damaged', headers: { 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' } },
    });
    oss = (bucket) => new OSS({ endpoint: server.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket, authorizationV4: true } as OSS.Options) as unknown as Client;
  });
  after(async () => {
    await server?.stop();
    await origin?.stop();
  });

  it('PutBucketWebsite / GetBucketWebsite / DeleteBucketWebsite round-trip with ali-oss', async () => {
    const c = oss('site');
    await assert.rejects(c.getBucketWebsite('site'), (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'NoSuchWebsiteConfiguration');
    const mirror = {
      RuleNumber: 1,
      Condition: { KeyPrefixEquals: 'img/', HttpErrorCodeReturnedEquals: 404 },
      Redirect: {
        RedirectType: 'Mirror',
        MirrorURL: 'https://origin.example.com/',
        MirrorPassQueryString: true,
        MirrorFollowRedirect: true,
        MirrorCheckMd5: false,
        MirrorHeaders: { PassAll: true, Pass: 'x-pass', Remove: 'x-drop', Set: { Key: 'x-set', Value: 'v' } },
      },
    };
    const external = { RuleNumber: 2, Condition: { KeyPrefixEquals: 'old/' }, Redirect: { RedirectType: 'External', HostName: 'example.com', Protocol: 'https', HttpRedirectCode: 301 } };
    await c.putBucketWebsite('site', { index: 'index.html', error: 'error.html', routingRules: [mirror, external] });
    const got = await c.getBucketWebsite('site');
    assert.equal(got.index, 'index.html');
    assert.equal(got.error, 'error.html');
    assert.equal(got.routingRules.length, 2);
    assert.deepEqual(got.routingRules[0], {
      RuleNumber: '1',
      Condition: { KeyPrefixEquals: 'img/', HttpErrorCodeReturnedEquals: '404' },
      Redirect: { RedirectType: 'Mirror', MirrorURL: 'https://origin.example.com/', MirrorPassQueryString: 'true', MirrorFollowRedirect: 'true', MirrorCheckMd5: 'false', MirrorHeaders: { PassAll: 'true', Pass: 'x-pass', Remove: 'x-drop', Set: { Key: 'x-set', Value: 'v' } } },
    });
    assert.equal((got.routingRules[1]!.Redirect as Record<string, string>).HostName, 'example.com');
    // Equal configurations read back byte-identical.
    const raw = await rawWebsite('site');
    await c.putBucketWebsite('site', { index: 'index.html', error: 'error.html', routingRules: [mirror, external] });
    assert.equal(await rawWebsite('site'), raw);

    const badMirror = { ...mirror, Condition: { HttpErrorCodeReturnedEquals: 403 } };
    const bad = await rejection(c.putBucketWebsite('site', { routingRules: [badMirror] }));
    assert.equal(bad.status, 400);
    assert.equal(bad.code, 'InvalidArgument');
    const twice = await rejection(c.putBucketWebsite('site', { routingRules: [mirror, { ...external, RuleNumber: 1 }] }));
    assert.equal(twice.code, 'InvalidArgument');

    await c.deleteBucketWebsite('site');
    await c.deleteBucketWebsite('site'); // none left: still 204
    assert.equal(await rawWebsite('site'), null);
  });

  it('a Mirror rule fetches a missing key from the origin once, stores it with type and metadata; origin 404 is NoSuchKey', async () => {
    const c = oss('mirror');
    await c.putBucketWebsite('mirror', {
      routingRules: [{ RuleNumber: 1, Condition: { HttpErrorCodeReturnedEquals: 404 }, Redirect: { RedirectType: 'Mirror', MirrorURL: `${origin.base}/src/`, MirrorPassQueryString: true, MirrorCheckMd5: true } }],
    });
    const got = await c.get('a.txt');
    assert.equal(String(got.content), 'from the origin');
    assert.equal(origin.hits.get('/src/a.txt'), 1);
    const stored = server.inspect('mirror', 'a.txt');
    assert.equal(stored?.contentType, 'text/plain');
    assert.deepEqual(stored?.metadata, { colour: 'blue' });
    assert.equal(String((await c.get('a.txt')).content), 'from the origin');
    assert.equal(origin.hits.get('/src/a.txt'), 1, 'the second GET is served from the bucket');

    const head = await c.head('dir/b c.bin'); // HEAD mirrors too; the key is percent-encoded for the origin
    assert.equal(head.status, 200);
    assert.equal((head.res.headers as Record<string, string>)['x-oss-meta-owner'], 'ops');
    assert.equal(server.inspect('mirror', 'dir/b c.bin')?.size, 6);

    await c.get('q.txt', { subres: { v: '2' } } as OSS.GetObjectOptions);
    assert.equal(origin.hits.get('/src/q.txt?v=2'), 1, 'MirrorPassQueryString passes the query on');

    const missing = await rejection(c.get('nowhere.txt'));
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'NoSuchKey');
    assert.equal(server.inspect('mirror', 'nowhere.txt'), undefined);
    assert.equal((await rejection(c.get('bad-md5.txt'))).code, 'NoSuchKey', 'MirrorCheckMd5: a body that differs from its Content-MD5 is not stored');
    assert.equal(server.inspect('mirror', 'bad-md5.txt'), undefined);
  });

  it('backToOriginOn keeps the bucket rules, adds one rule however often it runs; backToOriginOff restores byte for byte', async () => {
    const c = oss('keep');
    const own = { RuleNumber: 3, Condition: { KeyPrefixEquals: 'old/', HttpErrorCodeReturnedEquals: 404 }, Redirect: { RedirectType: 'External', HostName: 'example.com', Protocol: 'https', HttpRedirectCode: 302 } };
    await c.putBucketWebsite('keep', { index: 'index.html', routingRules: [own] });
    const before = await rawWebsite('keep');
    const input = { destination: destination('keep', 'to/'), originUrl: `${origin.base}/src/`, passQueryString: false };

    const first = await on(input);
    assert.equal(first.applied, true);
    assert.equal(first.previous, before);
    assert.equal(first.note, undefined);
    assert.match(first.rule!, /<RuleNumber>4<\/RuleNumber>/);
    const second = await on(input); // a retried activity
    assert.equal(second.applied, true);
    assert.deepEqual(await parseStringPromise(second.previous!), await parseStringPromise(before!), 'the configuration from before Ferry (rebuilt), not the one with its rule');
    assert.match(second.note!, /already set/);
    const rules = (await c.getBucketWebsite('keep')).routingRules;
    assert.deepEqual(rules.map((r) => r.RuleNumber), ['3', '4']);
    assert.equal(JSON.stringify(rules).split(FERRY_RULE_HEADER).length - 1, 1, 'one Ferry rule');

    // The destination prefix is cut off: to/late.txt comes from <origin>/src/late.txt.
    assert.equal(String((await c.get('to/late.txt')).content), 'late');
    assert.equal(origin.seenHeaders.at(-1)?.[FERRY_RULE_HEADER], '1');
    assert.equal((await rejection(c.get('elsewhere/late.txt'))).code, 'NoSuchKey', 'keys outside the destination prefix are not fetched');

    await off({ destination: input.destination, previous: first.previous });
    assert.equal(await rawWebsite('keep'), before);
    await off({ destination: input.destination, previous: first.previous });
    assert.equal(await rawWebsite('keep'), before);
  });

  it('a bucket without a configuration gets none back; a full rule table and a bad origin URL are refused', async () => {
    const input = { destination: destination('fresh'), originUrl: `${origin.base}/src/` };
    const first = await on(input);
    assert.equal(first.previous, null);
    assert.equal((await on(input)).previous, null);
    await off({ destination: input.destination, previous: null });
    assert.equal(await rawWebsite('fresh'), null);
    await off({ destination: input.destination, previous: null });

    await assert.rejects(on({ ...input, originUrl: `${origin.base}/src` }), (e: Error) => e.name === InvalidConfigError.errorName && /originUrl/.test(e.message));
    const rules = Array.from({ length: 20 }, (_, i) => ({ RuleNumber: i + 1, Condition: { KeyPrefixEquals: `p${i}/` }, Redirect: { RedirectType: 'External', HostName: 'example.com' } }));
    await oss('full').putBucketWebsite('full', { routingRules: rules });
    const full = await rawWebsite('full');
    await assert.rejects(on({ ...input, destination: destination('full') }), (e: Error) => e.name === InvalidConfigError.errorName && /20 website routing rules/.test(e.message));
    assert.equal(await rawWebsite('full'), full);
  });

  it('s3 and fs destinations are skipped with a note', async () => {
    const s3Destination: EndpointConfig = { type: 's3', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'b', credentials: 'dst' };
    const s3 = await on({ destination: s3Destination, originUrl: 'http://origin.example/' });
    assert.deepEqual(s3, { applied: false, previous: null, note: 'S3 (and s3-compatible stores) have no back-to-origin feature: skipped' });
    const fs = await on({ destination: { type: 'fs', path: '/nonexistent-ferry-root' }, originUrl: 'http://origin.example/' });
    assert.equal(fs.applied, false);
    assert.match(fs.note!, /filesystem/);
    await off({ destination: s3Destination, previous: null });
  });
});
