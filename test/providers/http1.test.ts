/**
 * The lean HTTP/1.1 client (activities/providers/http1.ts) against raw TCP servers that answer exactly as scripted:
 * framing (content-length, chunked, until close, HEAD, 204, interim 100), keep-alive reuse and its limits, the
 * socket cap, back-pressure, and every way a connection can break. The S3 layer above it is tested in
 * s3-http.test.ts and against MinIO and versitygw in the conformance suite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http1Pool, type Http1Request } from '../../activities/providers/http1';

interface Seen {
  head: string;
  body: Buffer;
  socket: Socket;
}

/**
 * A server that parses each request (head, and a content-length body) and calls `answer` with it; `answer` writes
 * whatever bytes it likes to the socket. Returns the port, the requests seen, the sockets accepted and `close`.
 */
async function rawServer(answer: (req: Seen, index: number) => void): Promise<{ port: number; seen: Seen[]; sockets: Socket[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let head: string | undefined;
    let need = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (head === undefined) {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          head = buf.toString('latin1', 0, i);
          need = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          buf = buf.subarray(i + 4);
        }
        if (buf.length < need) return;
        const req = { head, body: buf.subarray(0, need), socket };
        buf = buf.subarray(need);
        head = undefined;
        seen.push(req);
        answer(req, seen.length - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const pool = (port: number, maxSockets = 8, idleMs?: number) => new Http1Pool(new URL(`http://127.0.0.1:${port}`), maxSockets, idleMs);
const req = (port: number, o: Partial<Http1Request> = {}): Http1Request => ({ method: 'GET', path: '/b/k', headers: { host: `127.0.0.1:${port}` }, connectTimeoutMs: 2000, timeoutMs: 5000, ...o });
const text = async (body: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
};
const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

test('content-length, chunked, until-close, HEAD, 204 and an interim 100: each body framed right, keep-alive ones on one socket', async () => {
  const answers = [
    ok('hello', 'ETag: "e1"\r\nX-Dup: a\r\nX-Dup: b\r\nSet-Cookie: c1\r\nSet-Cookie: c2\r\n'),
    // chunked with an extension and a trailer, split so that sizes, data and CRLFs straddle writes
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r', '\nhel', 'lo\r\n6\r\n world\r', '\n0\r\nX-Trailer: t\r\n', '\r\n'],
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nContent-Length: 999\r\nETag: "h"\r\n\r\n',
    'HTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.1 200 OK\r\n\r\nuntil the end',
  ];
  const srv = await rawServer((r, i) => {
    const a = answers[i]!;
    if (Array.isArray(a)) {
      let t = 0;
      for (const part of a) setTimeout(() => r.socket.write(part), (t += 5));
    } else if (i === 5) r.socket.end(a);
    else r.socket.write(a);
  });
  const p = pool(srv.port);
  try {
    const r1 = await p.request(req(srv.port));
    assert.equal(r1.statusCode, 200);
    assert.equal(r1.headers.etag, '"e1"');
    assert.equal(r1.headers['x-dup'], 'a, b');
    assert.deepEqual(r1.headers['set-cookie'], ['c1', 'c2']);
    assert.equal(await text(r1.body), 'hello');
    const r2 = await p.request(req(srv.port));
    assert.equal(await text(r2.body), 'hello world');
    const r3 = await p.request(req(srv.port));
    assert.equal([r3.statusCode, await text(r3.body)].join(' '), '200 ok');
    const r4 = await p.request(req(srv.port, { method: 'HEAD' }));
    assert.equal([r4.statusCode, r4.headers['content-length'], await text(r4.body)].join('|'), '200|999|');
    const r5 = await p.request(req(srv.port, { method: 'DELETE' }));
    assert.equal([r5.statusCode, await text(r5.body)].join('|'), '204|');
    const r6 = await p.request(req(srv.port));
    assert.equal(await text(r6.body), 'until the end');
    assert.equal(srv.sockets.length, 1, 'every keep-alive answer left the socket reusable');
    // the server ended the socket after the until-close answer: the next request opens a new one
    answers.push(ok('again'));
    assert.equal(await text((await p.request(req(srv.port))).body), 'again');
    assert.equal(srv.sockets.length, 2);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('requests carry their head and body; a Buffer, a string and a stream of the declared length arrive whole', async () => {
  const srv = await rawServer((r) => r.socket.write(ok('')));
  const p = pool(srv.port);
  try {
    const big = Buffer.alloc(3 << 20, 7);
    await text((await p.request(req(srv.port, { method: 'PUT', headers: { host: 'h', 'content-length': '5', 'x-amz-meta-a': 'v a' }, body: Buffer.from('abcde') }))).body);
    await text((await p.request(req(srv.port, { method: 'POST', headers: { host: 'h', 'content-length': '3' }, body: 'xyz' }))).body);
    const stream = Readable.from((function* () {
      for (let i = 0; i < big.length; i += 100_000) yield big.subarray(i, i + 100_000);
    })());
    await text((await p.request(req(srv.port, { method: 'PUT', headers: { host: 'h', 'content-length': String(big.length) }, body: stream }))).body);
    assert.match(srv.seen[0]!.head, /^PUT \/b\/k HTTP\/1\.1\r\nhost: h\r\ncontent-length: 5\r\nx-amz-meta-a: v a$/);
    assert.equal(srv.seen[0]!.body.toString(), 'abcde');
    assert.equal(srv.seen[1]!.body.toString(), 'xyz');
    assert.ok(srv.seen[2]!.body.equals(big));
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('a header that would split the request, or a name that is no token, is refused before anything is sent', async () => {
  const srv = await rawServer((r) => r.socket.write(ok('')));
  const p = pool(srv.port);
  try {
    await assert.rejects(p.request(req(srv.port, { headers: { host: 'h', 'x-amz-meta-a': 'v\r\nx-evil: 1' } })), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_CHAR');
    await assert.rejects(p.request(req(srv.port, { headers: { host: 'h', 'x-amz-meta-a b': 'v' } })), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_HTTP_TOKEN');
    await assert.rejects(p.request(req(srv.port, { headers: { host: 'h', 'x-amz-meta-u': 'snow ☃' } })), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_CHAR');
    assert.equal(srv.seen.length, 0);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('a body cut short, a connection closed before the answer, garbage for an answer and a stream body of the wrong length all fail; the next request gets a fresh socket', async () => {
  const srv = await rawServer((r, i) => {
    if (i === 0) r.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
    else if (i === 1) r.socket.destroy();
    else if (i === 2) r.socket.write('SMTP ready\r\n\r\n');
    else if (i === 3) r.socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc');
    else r.socket.write(ok('fine'));
  });
  const p = pool(srv.port);
  try {
    const r0 = await p.request(req(srv.port));
    await assert.rejects(text(r0.body), (e: Error & { code?: string }) => e.code === 'ECONNRESET' && /aborted/.test(e.message));
    await assert.rejects(p.request(req(srv.port)), (e: Error & { code?: string }) => e.code === 'ECONNRESET');
    await assert.rejects(p.request(req(srv.port)), (e: Error & { code?: string }) => e.code === 'ERR_HTTP_PARSE' && /status line/.test(e.message));
    const r3 = await p.request(req(srv.port));
    await assert.rejects(text(r3.body), (e: Error & { code?: string }) => e.code === 'ECONNRESET');
    const short = Readable.from([Buffer.from('abc')]);
    await assert.rejects(p.request(req(srv.port, { method: 'PUT', headers: { host: 'h', 'content-length': '10' }, body: short })), /ended after 3 of 10 bytes/);
    const long = Readable.from([Buffer.from('abcdefghijkl')]);
    await assert.rejects(p.request(req(srv.port, { method: 'PUT', headers: { host: 'h', 'content-length': '10' }, body: long })), /longer than its content-length 10/);
    assert.equal(await text((await p.request(req(srv.port))).body), 'fine');
    assert.equal(srv.sockets.length, 7, 'no broken socket was reused');
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('an answer that comes while the upload is still going out: the caller sees it, and that socket is never reused', async () => {
  // answer 403 as soon as the head arrives, without reading the body
  const early = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied'));
  });
  await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
  const port = (early.address() as AddressInfo).port;
  const p = pool(port);
  try {
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    const res = await p.request(req(port, { method: 'PUT', headers: { host: 'h', 'content-length': String(1 << 30) }, body: source }));
    assert.equal(res.statusCode, 403);
    assert.equal(await text(res.body), 'denied');
    source.destroy();
    await new Promise((r) => setImmediate(r));
    assert.ok(pulled < 1000, `the source was read ${pulled} times`);
    // the socket is gone: a request now needs a new connection (which the early server answers the same way)
    const again = await p.request(req(port, { method: 'GET' }));
    assert.equal(again.statusCode, 403);
    await text(again.body);
  } finally {
    p.destroy();
    await new Promise((r) => early.close(r));
  }
});

test('after an error answer to a request with a body the socket is not reused (the server may not have read it all); after a success it is', async () => {
  const srv = await rawServer((r, i) => r.socket.write(i === 1 ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n' : ok('')));
  const p = pool(srv.port);
  try {
    const put = () => p.request(req(srv.port, { method: 'PUT', headers: { host: 'h', 'content-length': '3' }, body: 'abc' }));
    await text((await put()).body);
    assert.equal((await put()).statusCode, 403);
    await new Promise((r) => setImmediate(r));
    await text((await put()).body);
    await text((await put()).body);
    assert.equal(srv.sockets.length, 2, 'a new socket after the 403 only');
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('a large body is read up to 128 KiB at a time (node reads 64 KiB), each chunk its own bytes, and small responses after it intact', async () => {
  const size = 8 << 20;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 16)) & 0xff;
  const srv = await rawServer((r, i) => r.socket.write(i === 0 ? Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body]) : ok(`small ${i}`)));
  const p = pool(srv.port, 1);
  try {
    const res = await p.request(req(srv.port));
    await new Promise((r) => setTimeout(r, 100)); // the kernel's socket buffer fills meanwhile
    // 'data' in flowing mode hands out each read as it was pushed (an iterator's read() would join them). Chunks are
    // kept, not copied: one that a later read overwrote would show in the comparison.
    const chunks: Buffer[] = [];
    res.body.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((resolve, reject) => res.body.on('end', resolve).on('error', reject));
    const sizes = chunks.map((c) => c.length);
    assert.ok(Math.max(...sizes) > 64 * 1024, `largest read ${Math.max(...sizes)} bytes`);
    assert.ok(Math.max(...sizes) <= 128 * 1024, `largest read ${Math.max(...sizes)} bytes`);
    assert.ok(Buffer.concat(chunks).equals(body), 'the body arrives as sent');
    assert.deepEqual(await Promise.all([1, 2, 3].map(async () => text((await p.request(req(srv.port))).body))), ['small 1', 'small 2', 'small 3']);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('at most maxSockets connections; the requests beyond wait for one and then reuse it', async () => {
  const srv = await rawServer((r) => setTimeout(() => r.socket.write(ok('x')), 20));
  const p = pool(srv.port, 3);
  try {
    const all = await Promise.all(Array.from({ length: 12 }, async () => text((await p.request(req(srv.port))).body)));
    assert.deepEqual(all, Array(12).fill('x'));
    assert.equal(srv.sockets.length, 3);
    assert.equal(srv.seen.length, 12);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('a body read slowly pauses the socket (bounded buffering), then arrives whole', async () => {
  const size = 32 << 20;
  const srv = await rawServer((r) => {
    r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
    r.socket.write(Buffer.alloc(size, 1));
  });
  const p = pool(srv.port);
  try {
    const res = await p.request(req(srv.port));
    await new Promise((r) => setTimeout(r, 300));
    // unread: the stream holds at most its high-water mark (64 KiB) plus one socket read (128 KiB)
    assert.ok(res.body.readableLength <= 192 * 1024, `buffered ${res.body.readableLength} bytes unread`);
    let n = 0;
    for await (const c of res.body) n += (c as Buffer).length;
    assert.equal(n, size);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('a stalled answer times out; a server that closed an idle socket costs nothing; idle sockets close after idleMs', async () => {
  const srv = await rawServer((r, i) => {
    if (i === 0) r.socket.write(ok('one'));
    else if (i === 1) r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'); // then nothing
    else r.socket.write(ok('three'));
  });
  const p = pool(srv.port, 8, 200);
  try {
    assert.equal(await text((await p.request(req(srv.port))).body), 'one');
    const r1 = await p.request(req(srv.port, { timeoutMs: 300 }));
    const t0 = performance.now();
    await assert.rejects(text(r1.body), (e: Error & { code?: string }) => e.name === 'TimeoutError' && e.code === 'ETIMEDOUT' && /no response for 0\.3s/.test(e.message));
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(await text((await p.request(req(srv.port))).body), 'three');
    // the server closes the idle socket: the pool notices and the next request opens a new one
    srv.sockets.at(-1)!.end();
    await new Promise((r) => setTimeout(r, 50));
    const before = srv.sockets.length;
    srv.seen.length = 2;
    assert.equal(await text((await p.request(req(srv.port))).body), 'three');
    assert.equal(srv.sockets.length, before + 1);
    // idle for longer than idleMs: the client closes it
    const last = srv.sockets.at(-1)!;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(last.destroyed || last.readableEnded, 'idle socket closed by the client');
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('an aborted signal fails requests waiting for a socket, waiting for an answer and reading a body', async () => {
  const srv = await rawServer((r, i) => {
    if (i === 0) r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  });
  const p = pool(srv.port, 2);
  try {
    const ac = new AbortController();
    const reading = await p.request(req(srv.port, { signal: ac.signal }));
    const waitingAnswer = p.request(req(srv.port, { signal: ac.signal }));
    const waitingSocket = p.request(req(srv.port, { signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    const isAbort = (e: Error) => e.name === 'AbortError';
    await assert.rejects(text(reading.body), isAbort);
    await assert.rejects(waitingAnswer, isAbort);
    await assert.rejects(waitingSocket, isAbort);
    await assert.rejects(p.request(req(srv.port, { signal: ac.signal })), isAbort);
  } finally {
    p.destroy();
    await srv.close();
  }
});

test('https: a certificate this process does not trust is refused; one it trusts (NODE_EXTRA_CA_CERTS) carries the request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-http1-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
    assert.equal(made.status, 0, `openssl: ${made.stderr?.toString()}`);
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (q, res) => res.end(`secure ${q.method} ${q.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const p = new Http1Pool(new URL(`https://localhost:${port}`), 2);
      await assert.rejects(p.request(req(port)), (e: Error & { code?: string }) => /SELF_SIGNED|UNABLE_TO_VERIFY/.test(String(e.code)));
      p.destroy();
      // a process started with the certificate among its CAs gets through (NODE_EXTRA_CA_CERTS is read at start-up)
      const script = `const { Http1Pool } = require(${JSON.stringify(join(__dirname, '../../activities/providers/http1.ts'))});
        const p = new Http1Pool(new URL('https://localhost:${port}'), 2);
        p.request({ method: 'GET', path: '/b/k', headers: { host: 'localhost:${port}' }, connectTimeoutMs: 5000, timeoutMs: 5000 })
          .then(async (r) => { let t = ''; for await (const c of r.body) t += c; console.log(r.statusCode, t); p.destroy(); })
          .catch((e) => { console.log('failed', e.code, e.message); process.exitCode = 1; });`;
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.once('close', r));
      assert.equal(out.trim(), '200 secure GET /b/k');
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
