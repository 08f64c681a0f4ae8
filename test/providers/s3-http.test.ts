/**
 * The s3 provider's lean path (storage/s3/s3-http.ts) against a local HTTP server that answers
 * like a misbehaving S3 store: error XML, throttling with Retry-After, a body that stalls, a source that fails
 * mid-upload. (The conformance suite runs the same path against MinIO and versitygw, which verify signatures.)
 */
import { copyHeaders, writeHeaders } from '../../storage/s3/write-fields';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createHash, createHmac } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { S3Http } from '../../storage/s3/s3-http';
import { uriEncodePath, signV4, canonicalQuery } from '../../storage/s3/sigv4';
import { mapS3Error, openS3Provider } from '../../storage/s3/s3';
import { NotFoundError, ThrottledError, TransientError, AccessDeniedError } from '../../common/errors';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let handler: Handler = (_q, res) => res.end();
const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    handler(req, res, body);
  });
  req.on('error', () => undefined);
});
let port = 0;
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

const client = (requestTimeoutMs = 5000, target = port) =>
  new S3Http({
    endpoint: `http://127.0.0.1:${target}`,
    region: 'us-east-1',
    bucket: 'bkt',
    credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok' }),
    maxSockets: 16,
    connectionTimeoutMs: 2000,
    requestTimeoutMs,
  });

/** The whole s3 provider on the local server: its lean path, or the SDK as for AWS endpoints. */
const provider = (sdkOnly = false) =>
  openS3Provider({ type: 's3', endpoint: `http://127.0.0.1:${port}`, bucket: 'bkt', credentials: 't' }, { env: { FERRY_CREDENTIALS_T_ACCESS_KEY_ID: 'AKID', FERRY_CREDENTIALS_T_SECRET_ACCESS_KEY: 'secret' } }, { sdkOnly });

test('keys are encoded like AWS UriEncode: only A-Z a-z 0-9 - . _ ~ and "/" stay', () => {
  assert.equal(uriEncodePath("a b/c+d%e!'()*~._-/日"), "a%20b/c%2Bd%25e%21%27%28%29%2A~._-/%E6%97%A5");
  assert.equal(uriEncodePath('dir-1/a_b.c~/Z9'), 'dir-1/a_b.c~/Z9');
  assert.equal(uriEncodePath('dir/a=b'), 'dir/a%3Db');
});

test('the query string is sorted and encoded the same way', () => {
  assert.equal(canonicalQuery({ uploadId: 'a+b/c=', partNumber: '3' }), 'partNumber=3&uploadId=a%2Bb%2Fc%3D');
  assert.equal(canonicalQuery({}), '');
});

test('SigV4: every header sent is signed, values canonicalised, the session token included', () => {
  const h: Record<string, string> = { host: 'h:9', 'x-amz-meta-a': '  two  spaces ' };
  signV4('PUT', '/b/k', '', h, { accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' }, 'eu-west-1', new Date('2026-01-02T03:04:05.678Z'));
  assert.equal(h['x-amz-date'], '20260102T030405Z');
  assert.equal(h['x-amz-security-token'], 't');
  assert.match(h.authorization!, /^AWS4-HMAC-SHA256 Credential=AKID\/20260102\/eu-west-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  const again: Record<string, string> = { host: 'h:9', 'x-amz-meta-a': 'two spaces' };
  signV4('PUT', '/b/k', '', again, { accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' }, 'eu-west-1', new Date('2026-01-02T03:04:05.678Z'));
  assert.equal(again.authorization, h.authorization, 'whitespace runs are collapsed before signing');
});

test('SigV4 signs exactly as the AWS SDK\'s signer: query, encoded path, whitespace in values, session token, hostile keys', async () => {
  // @smithy/signature-v4 comes with @aws-sdk/client-s3; it needs a SHA-256 class (HMAC when given a secret).
  const { SignatureV4 } = await import('@smithy/signature-v4');
  type Data = string | ArrayBuffer | ArrayBufferView;
  const bytes = (d: Data) => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d));
  class Sha256 {
    private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(secret?: Data) {
      this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
    }
    update(data: Data): void {
      this.h.update(bytes(data));
    }
    reset(): void {
      throw new Error('not used by the signer');
    }
    async digest(): Promise<Uint8Array> {
      return this.h.digest();
    }
  }
  const creds = { accessKeyId: 'AKID', secretAccessKey: 'wJalr/K7MDENG+bPxRfi', sessionToken: 'tok+en/=' };
  const sdk = new SignatureV4({ service: 's3', region: 'eu-central-1', credentials: creds, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  type Case = { method: string; key: string; query: Record<string, string>; headers: Record<string, string> };
  const cases: Case[] = [
    { method: 'GET', key: 'plain/key.bin', query: {}, headers: { range: 'bytes=0-99' } },
    { method: 'PUT', key: 'dir/a b+c(1)*ü.txt', query: { partNumber: '3', uploadId: 'a+b/c=' }, headers: { 'content-length': '5', 'content-type': ' text/plain ', 'x-amz-meta-note': 'two  spaces\tand a tab' } },
    { method: 'POST', key: 'k', query: { uploads: '' }, headers: {} },
    // Hostile keys, each as a GET and with a list query naming it.
    ...[
      'with space', 'plus+sign', 'per%cent', 'enc%2Fslash', 'ünïcødé/日本語', 'emoji 😀/🚀', 'double//slash', './dot', '../dotdot', 'trailing/',
      'x'.repeat(1024), "?#;=&!'()*~", 'tab\there',
    ].flatMap((key): Case[] => [
      { method: 'GET', key, query: {}, headers: {} },
      { method: 'GET', key: '', query: { 'list-type': '2', prefix: key, 'start-after': key, 'max-keys': '1000' }, headers: {} },
    ]),
  ];
  for (const [i, c] of cases.entries()) {
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5 + i, 678));
    const path = c.key ? `/bkt/${uriEncodePath(c.key)}` : '/bkt';
    const ours: Record<string, string> = { host: '127.0.0.1:9000', ...c.headers };
    signV4(c.method, path, canonicalQuery(c.query), ours, creds, 'eu-central-1', at);
    const signed = await sdk.sign(
      { method: c.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: c.query, headers: { host: '127.0.0.1:9000', ...c.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { signingDate: at },
    );
    assert.equal(ours.authorization, signed.headers.authorization, `${c.method} ${JSON.stringify(c.key.slice(0, 40))} ${JSON.stringify(c.query)}`);
    assert.equal(ours['x-amz-date'], signed.headers['x-amz-date']);
  }
});

test('SigV4 signing keys are cached per secret and region: a second secret or region never signs with the first one\'s key', () => {
  const sig = (secret: string, region: string, at: string) => {
    const h: Record<string, string> = { host: 'h:9' };
    signV4('GET', '/b/k', '', h, { accessKeyId: 'AKID', secretAccessKey: secret }, region, new Date(at));
    return h.authorization!.replace(/^.*Signature=/, '');
  };
  const base = sig('s', 'eu-west-1', '2026-01-02T03:04:05Z');
  assert.notEqual(sig('other', 'eu-west-1', '2026-01-02T03:04:05Z'), base, 'another secret');
  assert.notEqual(sig('s', 'us-east-1', '2026-01-02T03:04:05Z'), base, 'another region');
  assert.equal(sig('s', 'eu-west-1', '2026-01-02T03:04:05Z'), base, 'the same inputs sign the same');
});

test('PUT sends length, type, metadata and a signature; returns the ETag', async () => {
  handler = (_q, res) => res.writeHead(200, { etag: '"abc"' }).end();
  seen.length = 0;
  const etag = await client().put('dir/a b.txt', Readable.from([Buffer.from('hel'), Buffer.from('lo')]), 5, writeHeaders({ contentType: 'text/plain', metadata: { Owner: 'me' } }));
  assert.equal(etag.etag, '"abc"');
  const r = seen[0]!;
  assert.equal(r.method, 'PUT');
  assert.equal(r.url, '/bkt/dir/a%20b.txt');
  assert.equal(r.body.toString(), 'hello');
  assert.equal(r.headers['content-length'], '5');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers['x-amz-meta-owner'], 'me');
  assert.equal(r.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
  assert.match(String(r.headers.authorization), /SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-owner;x-amz-security-token,/);
});

test('error responses map like SDK errors: NoSuchKey, AccessDenied, SlowDown with Retry-After, bodiless 500', async () => {
  const xml = (code: string) => `<?xml version="1.0"?><Error><Code>${code}</Code><Message>msg ${code}</Message></Error>`;
  const cases: [number, string | undefined, Record<string, string>, (e: unknown) => boolean][] = [
    [404, xml('NoSuchKey'), {}, (e) => e instanceof NotFoundError && /NoSuchKey — msg NoSuchKey \(HTTP 404\)/.test((e as Error).message)],
    [403, xml('AccessDenied'), {}, (e) => e instanceof AccessDeniedError],
    [503, xml('SlowDown'), { 'retry-after': '2' }, (e) => e instanceof ThrottledError && e.retryAfterMs === 2000],
    [500, undefined, {}, (e) => e instanceof TransientError],
  ];
  for (const [status, body, headers, check] of cases) {
    handler = (_q, res) => res.writeHead(status, headers).end(body);
    const err = await client().get('k', undefined).then(() => undefined, (e: unknown) => mapS3Error(e, 'get k'));
    assert.ok(check(err), `HTTP ${status}: got ${String(err)}`);
  }
});

test('CopyObject sends the copy headers, returns the new ETag; a 200 whose body is an <Error> fails (retryable)', async () => {
  handler = (_q, res) => res.writeHead(200).end('<?xml version="1.0"?><CopyObjectResult><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&#34;new&quot;</ETag></CopyObjectResult>');
  seen.length = 0;
  const etag = await client().copy('to/b c', 'src/a%20b', 'old', copyHeaders({}));
  assert.equal(etag.etag, '"new"');
  const r = seen[0]!;
  assert.equal(r.method, 'PUT');
  assert.equal(r.url, '/bkt/to/b%20c');
  assert.equal(r.body.length, 0);
  assert.equal(r.headers['x-amz-copy-source'], 'src/a%20b');
  assert.equal(r.headers['x-amz-copy-source-if-match'], '"old"');
  assert.equal(r.headers['x-amz-metadata-directive'], 'COPY');
  assert.match(String(r.headers.authorization), /SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-copy-source;x-amz-copy-source-if-match;x-amz-date;x-amz-metadata-directive;x-amz-security-token,/);
  for (const body of ['<?xml version="1.0"?><Error><Code>InternalError</Code><Message>copy broke</Message></Error>', '']) {
    handler = (_q, res) => res.writeHead(200).end(body);
    const err = await client().copy('k', 'src/k', undefined, copyHeaders({})).then(() => undefined, (e: unknown) => mapS3Error(e, 'copy k'));
    assert.ok(err instanceof TransientError, `200 with body ${JSON.stringify(body)}: got ${String(err)}`);
  }
  handler = (_q, res) => res.writeHead(412).end('<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
  const failed = await client().copy('k', 'src/k', undefined, copyHeaders({})).then(() => undefined, (e: unknown) => mapS3Error(e, 'copy k'));
  assert.match(String(failed), /PreconditionFailed/);
});

test('a response body that stalls fails with a timeout instead of hanging', async () => {
  handler = (_q, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('only part of it');
  };
  const r = await client(400).get('stall', 'bytes=0-99');
  const t0 = Date.now();
  await assert.rejects(
    (async () => {
      for await (const _ of r.body) void _;
    })(),
    (e: Error) => mapS3Error(e, 'get') instanceof TransientError,
  );
  assert.ok(Date.now() - t0 < 5000);
});

test('an upload the server stops reading, and a request it never answers, fail with a timeout instead of hanging', async () => {
  // A peer that accepts connections and then neither reads nor answers.
  const sockets: Socket[] = [];
  const silent = createTcpServer((socket) => {
    socket.pause();
    socket.on('error', () => undefined);
    sockets.push(socket);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const c = client(500, (silent.address() as AddressInfo).port);
  const timedOut = (e: Error) => /Timeout/.test(e.name) && mapS3Error(e, 'x') instanceof TransientError;
  try {
    // 64 MiB: more than the loopback socket buffers hold, so the write itself stalls.
    let t0 = Date.now();
    await assert.rejects(c.put('big', Buffer.alloc(64 << 20), 64 << 20, {}), timedOut);
    assert.ok(Date.now() - t0 < 5000, `upload stall noticed after ${Date.now() - t0} ms`);
    t0 = Date.now();
    await assert.rejects(c.get('k', undefined), timedOut);
    assert.ok(Date.now() - t0 < 5000, `missing answer noticed after ${Date.now() - t0} ms`);
  } finally {
    c.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('a source stream that fails mid-upload aborts the PUT with the source error', async () => {
  handler = (_q, res) => res.writeHead(200).end();
  const failing = new Readable({
    read() {
      this.push(Buffer.alloc(1024));
      this.destroy(new Error('source broke'));
    },
  });
  await assert.rejects(client().put('k', failing, 10_000, {}), /source broke/);
});

test('an aborted signal cancels every request in flight on it (headers awaited, body being read, body being sent) and sends no new one', async () => {
  const arrived: IncomingMessage[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    arrived.push(req);
    // The GET of 'streaming' gets its headers and part of a body that never ends; the others get nothing.
    if (req.url === '/bkt/streaming') res.writeHead(200, { 'content-length': '100' }).write('partial');
  };
  server.prependListener('request', onRequest);
  handler = () => undefined;
  try {
    const ac = new AbortController();
    const c = client(3000);
    const waiting = c.get('waiting', undefined, ac.signal);
    let sent = false;
    const stalled = new Readable({
      read() {
        if (!sent) this.push(Buffer.alloc(10));
        sent = true;
      },
    });
    const sending = c.put('sending', stalled, 1000, {}, ac.signal);
    const listing = c.list(undefined, undefined, 10, ac.signal);
    const streaming = await c.get('streaming', undefined, ac.signal);
    const reading = (async () => {
      for await (const chunk of streaming.body) void chunk;
    })();
    while (arrived.length < 4) await new Promise((r) => setTimeout(r, 10));
    const closed = Promise.all(arrived.map((r) => new Promise((resolve) => (r.socket.destroyed ? resolve(undefined) : r.socket.once('close', resolve)))));
    ac.abort(new Error('operator cancelled'));
    for (const p of [waiting, sending, listing, reading]) {
      await assert.rejects(p, (e: Error & { code?: string }) => {
        // The body being read fails with the socket's reset, as with node's own `signal` option.
        if (p === reading) return true;
        assert.equal(e.name, 'AbortError');
        assert.equal(e.code, 'ABORT_ERR');
        assert.equal((e.cause as Error).message, 'operator cancelled');
        return true;
      });
    }
    await closed;
    const before = arrived.length;
    await assert.rejects(c.get('later', undefined, ac.signal), { name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(arrived.length, before, 'nothing is sent on an aborted signal');
  } finally {
    server.off('request', onRequest);
  }
});

test('requests that completed on a signal are not touched when it aborts later', async () => {
  handler = (_q, res) => res.writeHead(200, { 'content-length': '5' }).end('hello');
  const ac = new AbortController();
  const c = client();
  for (let i = 0; i < 20; i++) await c.put(`k${i}`, Buffer.from('x'), 1, {}, ac.signal);
  const got = await c.get('k', undefined, ac.signal);
  const chunks: Buffer[] = [];
  for await (const chunk of got.body) chunks.push(chunk as Buffer);
  ac.abort();
  assert.equal(Buffer.concat(chunks).toString(), 'hello');
  assert.equal(got.body.destroyed, true);
  assert.equal(got.body.errored, null);
});

test('LIST: keys with XML entities decoded, sizes and ETags read, truncation seen; a 503 is retried in place', async () => {
  let calls = 0;
  handler = (_q, res) => {
    if (++calls === 1) return void res.writeHead(503).end('<Error><Code>SlowDown</Code><Message>later</Message></Error>');
    res.writeHead(200, { 'content-type': 'application/xml' }).end(
      '<?xml version="1.0"?><ListBucketResult><Name>bkt</Name><IsTruncated>true</IsTruncated>' +
        '<Contents><Key>a &amp; b&#xA;&lt;c&gt;</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>&#34;e1&#34;</ETag><Size>7</Size></Contents>' +
        '<Contents><Key>z/ü</Key><LastModified>2026-01-02T03:04:06.000Z</LastModified><ETag>&quot;e2-2&quot;</ETag><Size>0</Size><Owner><ID>x</ID></Owner></Contents></ListBucketResult>',
    );
  };
  seen.length = 0;
  const page = await client().list('a b/', 'a b/k+1', 1000);
  assert.deepEqual(page, {
    objects: [
      { key: 'a & b\n<c>', size: 7, lastModified: Date.parse('2026-01-02T03:04:05.000Z'), etag: '"e1"' },
      { key: 'z/ü', size: 0, lastModified: Date.parse('2026-01-02T03:04:06.000Z'), etag: '"e2-2"' },
    ],
    truncated: true,
  });
  assert.equal(seen.length, 2, 'the 503 was retried');
  assert.equal(seen[1]!.method, 'GET');
  assert.equal(seen[1]!.url, '/bkt?list-type=2&max-keys=1000&prefix=a%20b%2F&start-after=a%20b%2Fk%2B1');
  // A 4xx is an answer, not a hiccup: no retry.
  handler = (_q, res) => res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
  seen.length = 0;
  await assert.rejects(client().list(undefined, undefined, 10), (e: unknown) => mapS3Error(e, 'list') instanceof AccessDeniedError);
  assert.equal(seen.length, 1);
});

test('multipart on the lean path: create (POST ?uploads), complete with the parts and quoted ETags, abort; a complete answered 200 with <Error> fails (retryable)', async () => {
  handler = (_q, res) => res.writeHead(200).end('<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>up/1+2</UploadId></InitiateMultipartUploadResult>');
  seen.length = 0;
  assert.equal(await client().createMultipart('big file', writeHeaders({ contentType: 'video/mp4', metadata: { a: '1' } })), 'up/1+2');
  assert.equal(seen[0]!.method, 'POST');
  assert.equal(seen[0]!.url, '/bkt/big%20file?uploads=');
  assert.equal(seen[0]!.headers['content-type'], 'video/mp4');
  assert.equal(seen[0]!.headers['x-amz-meta-a'], '1');
  assert.equal(seen[0]!.headers['content-length'], '0');

  handler = (_q, res) => res.writeHead(200).end('<CompleteMultipartUploadResult><Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>');
  seen.length = 0;
  const etag = await client().complete('big file', 'up/1+2', [
    { partNumber: 1, etag: 'p1' },
    { partNumber: 2, etag: 'p2' },
  ]);
  assert.equal(etag.etag, '"abc-2"');
  assert.equal(seen[0]!.url, '/bkt/big%20file?uploadId=up%2F1%2B2');
  assert.equal(seen[0]!.body.toString(), '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"p1"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"p2"</ETag></Part></CompleteMultipartUpload>');
  assert.equal(seen[0]!.headers['content-length'], String(seen[0]!.body.length));

  handler = (_q, res) => res.writeHead(200).end('<Error><Code>InternalError</Code><Message>assembly failed</Message></Error>');
  const err = await client().complete('k', 'u', [{ partNumber: 1, etag: 'p1' }]).then(() => undefined, (e: unknown) => mapS3Error(e, 'complete k'));
  assert.ok(err instanceof TransientError && /assembly failed/.test(err.message), String(err));

  handler = (_q, res) => res.writeHead(204).end();
  seen.length = 0;
  await client().abort('k', 'u');
  assert.equal(seen[0]!.method, 'DELETE');
  assert.equal(seen[0]!.url, '/bkt/k?uploadId=u');
});

test('a CreateMultipartUpload whose connection breaks is not sent again (the server may have made the upload), on the lean path and through the SDK; one answered 503 is', async () => {
  const created = '<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>';
  let calls = 0;
  handler = (q, res) => {
    calls++;
    q.socket.destroy(); // the upload is made, the answer lost
    void res;
  };
  await assert.rejects(client().createMultipart('k', {}), (e: Error) => mapS3Error(e, 'create k') instanceof TransientError);
  assert.equal(calls, 1);

  calls = 0;
  handler = (_q, res) => (++calls === 1 ? res.writeHead(503).end('<Error><Code>SlowDown</Code><Message>later</Message></Error>') : res.writeHead(200).end(created));
  assert.equal(await client().createMultipart('k', {}), 'u1');
  assert.equal(calls, 2);

  // Other requests are still retried in place after a broken connection.
  calls = 0;
  handler = (q, res) => (++calls === 1 ? q.socket.destroy() : res.writeHead(204).end());
  await client().abort('k', 'u1');
  assert.equal(calls, 2);

  // The SDK path (AWS endpoints) sends the create once too, though its client retries other requests.
  const viaSdk = provider(true);
  try {
    calls = 0;
    handler = (q) => {
      calls++;
      q.socket.destroy();
    };
    await assert.rejects(viaSdk.createMultipart!('k'), (e: Error) => e instanceof TransientError);
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(viaSdk.delete!('k'), (e: Error) => e instanceof TransientError);
    assert.equal(calls, 3);
  } finally {
    await viaSdk.close?.();
  }
});

test('a CompleteMultipartUpload whose answer was lost, then NoSuchUpload on the retry, counts as done when the object is there', async () => {
  const p = provider();
  const parts = [
    { partNumber: 2, etag: 'p2', size: 10 },
    { partNumber: 1, etag: 'p1', size: 20 },
  ];
  let completes = 0;
  const object = { size: 30, etag: '"abc-2"', modified: new Date() };
  handler = (q, res) => {
    if (q.method === 'HEAD') {
      if (!object.size) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-length': String(object.size), etag: object.etag, 'last-modified': object.modified.toUTCString() }).end();
    }
    // The store completes the upload, but its answer is lost; the retry finds the upload gone.
    if (++completes === 1) return void q.socket.destroy();
    res.writeHead(404).end('<Error><Code>NoSuchUpload</Code><Message>The specified multipart upload does not exist.</Message></Error>');
  };
  try {
    assert.deepEqual(await p.completeMultipart!('k', 'u1', parts), { etag: 'abc-2' });
    assert.equal(completes, 2);
    // Not the object this upload makes: the NoSuchUpload stands.
    for (const other of [{ size: 29 }, { etag: '"abc"' }, { etag: '"abc-3"' }, { modified: new Date(Date.now() - 3_600_000) }, { size: 0 }]) {
      Object.assign(object, { size: 30, etag: '"abc-2"', modified: new Date() }, other);
      completes = 0;
      await assert.rejects(p.completeMultipart!('k', 'u1', parts), (e: Error) => e instanceof NotFoundError && /NoSuchUpload/.test(e.message), JSON.stringify(other));
    }
  } finally {
    await p.close?.();
  }
});

test('a request that meets a keep-alive connection the server had closed is sent again at once on a new one (GET, PUT of a Buffer); a streamed PUT is not', async () => {
  // Every connection serves one request; a second one on it is dropped unanswered (a server closing an idle socket).
  const served = new WeakMap<object, number>();
  let connections = 0;
  const dropping = createServer((req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n > 1) return void req.socket.destroy();
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '2', etag: '"e"' }).end('ok'));
  });
  dropping.on('connection', () => connections++);
  await new Promise<void>((r) => dropping.listen(0, '127.0.0.1', r));
  const c = client(5000, (dropping.address() as AddressInfo).port);
  try {
    await drain((await c.get('first', undefined)).body);
    const got = await c.get('second', undefined);
    assert.equal((await readBody(got.body)).toString(), 'ok');
    assert.equal((await c.put('buffer', Buffer.from('xy'), 2, {})).etag, '"e"');
    assert.equal(connections, 3, 'each refused reuse cost one new connection, no more');
    const streamed = Readable.from([Buffer.from('xy')]);
    await assert.rejects(c.put('stream', streamed, 2, {}), (e: Error) => mapS3Error(e, 'put') instanceof TransientError);
  } finally {
    c.close();
    await new Promise((r) => dropping.close(r));
  }
});

async function drain(body: Readable): Promise<void> {
  for await (const chunk of body) void chunk;
}

async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
