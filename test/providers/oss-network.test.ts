/**
 * The `oss` provider on networks as they are: a worker clock 20 minutes off the server's (the provider learns the
 * server's time from RequestTimeTooSkewed and sends again), and an HTTP(S) proxy named by the environment
 * (`HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`, through the CONNECT-and-forward test proxy).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startOssServer, type OssServer, type OssOperation } from '../support/oss-server';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy';
import { openOssProvider } from '../../storage/oss/oss';
import { bypassesProxy, proxyAwareAgents } from '../../storage/proxy/proxy-agent';
import type { ObjectProvider } from '../../storage/provider';
import type { ProviderContext } from '../../storage/registry';
import { AccessDeniedError, InvalidConfigError, TransientError, isRetryable } from '../../common/errors';

const AK = 'AKID-network';
const SK = 'network-secret';
const SKEW_MS = 20 * 60_000;
const credentialsEnv: NodeJS.ProcessEnv = { FERRY_CREDENTIALS_NET_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_NET_SECRET_ACCESS_KEY: SK };

/** A signer clock 20 minutes behind this machine's (the machine's own clock is left alone). */
const slowClock = () => Date.now() - SKEW_MS;

function open(s: OssServer, bucket: string, sig: 'v1' | 'v4', ctx: ProviderContext = {}): ObjectProvider {
  return openOssProvider({ type: 'oss', endpoint: s.endpoint, region: 'cn-hangzhou', bucket, credentials: 'net', signatureVersion: sig }, { ...ctx, env: { ...credentialsEnv, ...ctx.env } });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `fn` and returns the statuses the server answered to requests of `op` meanwhile. */
async function statusesOf(s: OssServer, op: OssOperation, fn: () => Promise<unknown>): Promise<number[]> {
  const from = s.requests.length;
  await fn();
  // The server records a request once its handler has finished, which can be just after the client got the answer.
  for (let seen = -1; seen !== s.requests.length; ) {
    seen = s.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return s.requests.slice(from).filter((r) => r.op === op).map((r) => r.status);
}

let server: OssServer;
before(async () => {
  server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK, maxCopySize: 256 * 1024 });
});
after(async () => server.stop());

for (const sig of ['v1', 'v4'] as const) {
  describe(`clock skew (signature ${sig})`, () => {
    const bucket = `skew-${sig}`;
    const skewed = () => open(server, bucket, sig, { now: slowClock });
    before(() => server.createBucket(bucket));

    it('a list, a put and a get are refused once, then sent again at the server time and succeed', async () => {
      const body = Buffer.from(`skewed ${sig}`);
      assert.deepEqual(await statusesOf(server, 'PutObject', () => skewed().put('a.txt', body)), [403, 200]);
      assert.deepEqual(await statusesOf(server, 'ListObjectsV2', async () => assert.deepEqual((await skewed().list()).objects.map((o) => o.key), ['a.txt'])), [403, 200]);
      assert.deepEqual(await statusesOf(server, 'GetObject', async () => assert.deepEqual(await readAll((await skewed().get('a.txt')).body), body)), [403, 200]);
    });

    it('later requests are dated by the corrected clock: one refusal per provider', async () => {
      const p = skewed();
      const from = server.requests.length;
      await p.put('b.txt', Buffer.from('b'));
      await p.stat('b.txt');
      await p.list();
      assert.deepEqual(server.requests.slice(from).map((r) => r.status), [403, 200, 200, 200]);
    });

    it('multipart: initiate and a first part from a buffer are sent again; complete succeeds', async () => {
      const part1 = Buffer.alloc(100 * 1024, 1);
      const part2 = Buffer.from('tail');
      const p = skewed();
      let uploadId = '';
      assert.deepEqual(await statusesOf(server, 'InitiateMultipartUpload', async () => (uploadId = await p.createMultipart!('mp.bin'))), [403, 200]);
      const q = skewed(); // a worker whose first request is a part
      const parts = [];
      assert.deepEqual(await statusesOf(server, 'UploadPart', async () => parts.push(await q.uploadPart!('mp.bin', uploadId, 1, part1, part1.length))), [403, 200]);
      parts.push(await q.uploadPart!('mp.bin', uploadId, 2, part2, part2.length));
      await p.completeMultipart!('mp.bin', uploadId, parts);
      assert.equal(server.inspect(bucket, 'mp.bin')?.size, part1.length + part2.length);
    });

    it('a server-side copy is sent again and succeeds', async () => {
      await open(server, bucket, sig).put('src.txt', Buffer.from('copy me'));
      assert.deepEqual(await statusesOf(server, 'CopyObject', () => skewed().copyObject!({ bucket, key: 'src.txt' }, 'dst.txt')), [403, 200]);
      assert.equal(server.inspect(bucket, 'dst.txt')?.size, 7);
    });

    it('a stream body cannot be sent again: a retryable TransientError, and the next attempt succeeds', async () => {
      const p = skewed();
      await assert.rejects(p.put('s.txt', Readable.from([Buffer.from('stream')]), { size: 6 }), (e: unknown) => e instanceof TransientError && isRetryable(e) && (e as TransientError).code === 'RequestTimeTooSkewed');
      assert.deepEqual(await statusesOf(server, 'PutObject', () => p.put('s.txt', Readable.from([Buffer.from('stream')]), { size: 6 })), [200]);
    });
  });
}

describe('clock skew the correction cannot cure', () => {
  let strict: OssServer;
  before(async () => {
    // Tolerance below zero: every request time counts as skewed, whatever the clock.
    strict = await startOssServer({ accessKeyId: AK, secretAccessKey: SK, maxSkewMs: -1 });
    strict.createBucket('strict');
  });
  after(async () => strict.stop());

  it('is sent again once, then fails as AccessDeniedError naming the clock', async () => {
    const statuses = await statusesOf(strict, 'ListObjectsV2', () =>
      assert.rejects(open(strict, 'strict', 'v4', { now: slowClock }).list(), (e: unknown) => e instanceof AccessDeniedError && /clock/.test((e as Error).message)),
    );
    assert.deepEqual(statuses, [403, 403]);
  });

  it('a correct clock is not "corrected": no second request', async () => {
    assert.deepEqual(await statusesOf(strict, 'ListObjectsV2', () => assert.rejects(open(strict, 'strict', 'v4').list(), AccessDeniedError)), [403]);
  });
});

describe('proxies from the environment', () => {
  const bucket = 'proxied';
  let proxy: ConnectProxy;
  let target: string;
  before(async () => {
    proxy = await startConnectProxy();
    server.createBucket(bucket);
    target = `127.0.0.1:${server.port}`;
  });
  after(async () => proxy.close());

  async function putGetList(p: ObjectProvider): Promise<void> {
    await p.put('k.txt', Buffer.from('via proxy'));
    assert.equal((await readAll((await p.get('k.txt')).body)).toString(), 'via proxy');
    assert.ok((await p.list()).objects.some((o) => o.key === 'k.txt'));
    await p.close?.();
  }

  for (const name of ['HTTP_PROXY', 'http_proxy']) {
    it(`${name}: put, get and list of an http endpoint go through the proxy`, async () => {
      const before = proxy.seen.get(target) ?? 0;
      await putGetList(open(server, bucket, 'v4', { env: { [name]: proxy.url } }));
      assert.ok((proxy.seen.get(target) ?? 0) - before >= 3, `the proxy carried ${(proxy.seen.get(target) ?? 0) - before} requests`);
    });
  }

  it('NO_PROXY=127.0.0.1 goes direct', async () => {
    const before = proxy.count();
    await putGetList(open(server, bucket, 'v1', { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }));
    assert.equal(proxy.count(), before);
  });

  it('an unreachable proxy is a retryable TransientError; a non-http one an InvalidConfigError', async () => {
    await assert.rejects(open(server, bucket, 'v4', { env: { HTTP_PROXY: 'http://127.0.0.1:1' } }).list(), TransientError);
    assert.throws(() => open(server, bucket, 'v4', { env: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' } }), InvalidConfigError);
  });

  it('https targets go through a CONNECT tunnel that keep-alive reuses', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-oss-proxy-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
    assert.equal(made.status, 0, `openssl: ${made.stderr?.toString()}`);
    const cert = readFileSync(join(dir, 'cert.pem'));
    const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (q, res) => res.end(`secure ${q.url}`));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    t.after(() => tls.close());
    const port = (tls.address() as AddressInfo).port;
    const agents = proxyAwareAgents({ httpProxy: '', httpsProxy: proxy.url, noProxy: '' }, { keepAlive: true, ca: cert });
    t.after(() => agents.https.destroy());
    assert.equal(await fetchVia(agents.https, port, '/one'), 'secure /one');
    assert.equal(await fetchVia(agents.https, port, '/two'), 'secure /two');
    assert.equal(proxy.seen.get(`localhost:${port}`), 1, 'one tunnel for both requests');
  });

  it('NO_PROXY rules: *, a domain and its subdomains, a leading dot, a port', () => {
    assert.ok(bypassesProxy('*', 'oss-cn-hangzhou.aliyuncs.com', 443));
    assert.ok(bypassesProxy('aliyuncs.com', 'b.oss-cn-hangzhou.aliyuncs.com', 443));
    assert.ok(bypassesProxy('foo, .aliyuncs.com', 'aliyuncs.com', 443));
    assert.ok(!bypassesProxy('aliyuncs.com', 'notaliyuncs.com', 443));
    assert.ok(bypassesProxy('127.0.0.1:9000', '127.0.0.1', 9000));
    assert.ok(!bypassesProxy('127.0.0.1:9000', '127.0.0.1', 9001));
    assert.ok(bypassesProxy('[::1]', '::1', 80));
    assert.ok(!bypassesProxy('', '127.0.0.1', 80));
  });
});

function fetchVia(agent: HttpsAgent, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: 'localhost', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
