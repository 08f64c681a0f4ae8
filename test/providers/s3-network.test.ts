/**
 * The `s3` provider's lean path (s3-http.ts) on networks as they are, against a real MinIO: a worker clock 20
 * minutes off the server's (the signer learns the server's time from RequestTimeTooSkewed and sends again), and an
 * HTTP proxy named by the environment (`HTTP_PROXY`/`NO_PROXY`, through the CONNECT-and-forward test proxy).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy';
import { openS3Provider } from '../../storage/s3/s3';
import { signV4 } from '../../storage/s3/sigv4';
import type { ObjectProvider } from '../../storage/provider';
import type { ProviderContext } from '../../storage/registry';
import { AccessDeniedError, NotFoundError, TransientError, isRetryable } from '../../common/errors';

const SKEW_MS = 20 * 60_000;
/** A signer clock 20 minutes behind this machine's (and MinIO's); SigV4 allows 15. */
const slowClock = () => Date.now() - SKEW_MS;

let minio: S3TestServer;
before(async () => {
  minio = await startMinio();
  await minio.createBucket('skew');
  await minio.createBucket('proxied');
});
after(async () => {
  await minio?.stop();
});

/** A provider on MinIO and the requests it sent (`METHOD /path`, query left off), in order. */
function open(bucket: string, ctx: ProviderContext = {}, sdkOnly = false): { p: ObjectProvider; sent: string[] } {
  const sent: string[] = [];
  const p = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' }, { ...ctx, env: { ...minio.credentialEnv('minio'), ...ctx.env } }, { onRequest: (method, path) => sent.push(`${method} ${path}`), sdkOnly });
  return { p, sent };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A ListObjectsV2 of `bucket` signed at `date`, sent by hand: status and body. */
function rawList(bucket: string, date: Date): Promise<{ status: number; text: string }> {
  const path = `/${bucket}`;
  const query = 'list-type=2';
  const headers: Record<string, string> = { host: `127.0.0.1:${minio.port}` };
  signV4('GET', path, query, headers, { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey }, 'us-east-1', date);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: minio.port, method: 'GET', path: `${path}?${query}`, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('clock skew', () => {
  it('MinIO refuses a request signed 20 minutes off (and takes the same request signed now)', async () => {
    const skewed = await rawList('skew', new Date(slowClock()));
    assert.equal(skewed.status, 403);
    assert.match(skewed.text, /<Code>RequestTimeTooSkewed<\/Code>/);
    assert.equal((await rawList('skew', new Date())).status, 200);
  });

  it('a correct clock sends the first request once', async () => {
    const { p, sent } = open('skew');
    try {
      await p.list();
      assert.deepEqual(sent, ['GET /skew']);
    } finally {
      await p.close?.();
    }
  });

  it('list, put, get, stat, multipart, copy and delete succeed; only the first request is sent twice', async () => {
    const { p, sent } = open('skew', { now: slowClock });
    try {
      assert.deepEqual((await p.list()).objects, []);
      const body = Buffer.from('skewed but fine');
      await p.put('a.txt', body, { contentType: 'text/plain', metadata: { m: '1' } });
      assert.deepEqual(await readAll((await p.get('a.txt')).body), body);
      const info = await p.stat('a.txt');
      assert.equal(info.size, body.length);
      assert.deepEqual(info.metadata, { m: '1' });

      const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
      const part2 = Buffer.from('tail');
      const id = await p.createMultipart!('mp.bin');
      const parts = [await p.uploadPart!('mp.bin', id, 1, part1, part1.length), await p.uploadPart!('mp.bin', id, 2, part2, part2.length)];
      const done = await p.completeMultipart!('mp.bin', id, parts);
      assert.match(done.etag ?? '', /-2$/);
      assert.equal((await p.stat('mp.bin')).size, part1.length + part2.length);

      await p.copyObject!({ bucket: 'skew', key: 'a.txt' }, 'copy.txt');
      assert.deepEqual(await readAll((await p.get('copy.txt')).body), body);
      await p.delete!('copy.txt');
      assert.deepEqual((await p.list()).objects.map((o) => o.key), ['a.txt', 'mp.bin']);

      // The refused list is sent again at the server's time; every later request is dated by the corrected clock.
      assert.deepEqual(sent, [
        'GET /skew',
        'GET /skew',
        'PUT /skew/a.txt',
        'GET /skew/a.txt',
        'HEAD /skew/a.txt',
        'POST /skew/mp.bin',
        'PUT /skew/mp.bin',
        'PUT /skew/mp.bin',
        'POST /skew/mp.bin',
        'HEAD /skew/mp.bin',
        'PUT /skew/copy.txt',
        'GET /skew/copy.txt',
        'DELETE /skew/copy.txt',
        'GET /skew',
      ]);
    } finally {
      await p.close?.();
    }
  });

  it('a stat as the first request (HEAD: a 403 without a body) is corrected too', async () => {
    const { p, sent } = open('skew', { now: slowClock });
    try {
      await assert.rejects(p.stat('missing.txt'), NotFoundError);
      assert.deepEqual(sent, ['HEAD /skew/missing.txt', 'HEAD /skew/missing.txt']);
    } finally {
      await p.close?.();
    }
  });

  it('a HEAD refused for its keys (clock right) is not taken for skew: AccessDeniedError, sent once', async () => {
    const { p, sent } = open('skew', { env: { FERRY_CREDENTIALS_MINIO_SECRET_ACCESS_KEY: 'not-the-secret' } });
    try {
      await assert.rejects(p.stat('missing.txt'), AccessDeniedError);
      assert.deepEqual(sent, ['HEAD /skew/missing.txt']);
    } finally {
      await p.close?.();
    }
  });

  for (const size of [8, 6 * 1024 * 1024]) {
    it(`a streamed put (${size} bytes) as the first request cannot be sent again: a retryable TransientError naming the clock, and the next put succeeds`, async () => {
      const { p, sent } = open('skew', { now: slowClock });
      const key = `stream-${size}.bin`;
      const data = Buffer.alloc(size, 7);
      const stream = () => Readable.from([data.subarray(0, size >> 1), data.subarray(size >> 1)]);
      try {
        await assert.rejects(p.put(key, stream(), { size }), (e: unknown) => {
          assert.ok(e instanceof TransientError, `expected a TransientError, got ${String(e)}`);
          assert.ok(isRetryable(e));
          assert.equal(e.code, 'RequestTimeTooSkewed');
          assert.match(e.message, /clock/);
          return true;
        });
        assert.deepEqual(sent, [`PUT /skew/${key}`], 'a streamed body is not sent again');
        await assert.rejects(p.stat(key), NotFoundError, 'the refused put stored nothing');
        await p.put(key, stream(), { size });
        assert.deepEqual(await readAll((await p.get(key)).body), data);
        assert.deepEqual(sent, [`PUT /skew/${key}`, `HEAD /skew/${key}`, `PUT /skew/${key}`, `GET /skew/${key}`]);
      } finally {
        await p.close?.();
      }
    });
  }
});

describe('proxy from the environment', () => {
  let proxy: ConnectProxy;
  let target: string;
  before(async () => {
    proxy = await startConnectProxy();
    target = `127.0.0.1:${minio.port}`;
  });
  after(async () => {
    await proxy?.close();
  });

  async function putGetList(env: NodeJS.ProcessEnv, key: string, sdkOnly = false): Promise<void> {
    const { p } = open('proxied', { env }, sdkOnly);
    try {
      await p.put(key, Buffer.from(`via ${key}`));
      assert.equal((await readAll((await p.get(key)).body)).toString(), `via ${key}`);
      assert.ok((await p.list()).objects.some((o) => o.key === key));
    } finally {
      await p.close?.();
    }
  }

  it('HTTP_PROXY: put, get and list of an http endpoint go through the proxy, to MinIO host:port', async () => {
    assert.equal(proxy.count(), 0);
    await putGetList({ HTTP_PROXY: proxy.url }, 'proxied.txt');
    assert.ok(proxy.count() > 0, 'the proxy carried nothing');
    assert.deepEqual([...proxy.seen.keys()], [target]);
  });

  it('HTTP_PROXY on the SDK path (as for AWS itself): the requests go through the proxy too', async () => {
    const before = proxy.count();
    await putGetList({ HTTP_PROXY: proxy.url }, 'proxied-sdk.txt', true);
    assert.ok(proxy.count() > before, 'the proxy carried nothing of the SDK path');
  });

  it('NO_PROXY=127.0.0.1: the same requests bypass the proxy', async () => {
    const before = proxy.count();
    assert.ok(before > 0, 'the HTTP_PROXY test ran first and used the proxy');
    await putGetList({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, 'direct.txt');
    assert.equal(proxy.count(), before);
  });
});
