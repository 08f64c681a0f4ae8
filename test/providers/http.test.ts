/**
 * The `http` source: the shared conformance suite against a local static server, then what only an http list
 * has — list formats, bad lines, redirects, status mapping, short bodies, servers that ignore Range or refuse
 * HEAD, resume by line position, aborts, timeouts and keep-alive.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { runConformance } from './conformance';
import { HttpFixtureServer, type FixtureObject } from '../support/http-fixture-server';
import { freePort, tempDir } from '../support/process';
import { openHttpProvider, type HttpProviderOptions } from '../../storage/http/http';
import { parseListLine } from '../../storage/http/list-file';
import type { EndpointSpec, ObjectProvider } from '../../storage/provider';
import {
  AccessDeniedError,
  BucketNotFoundError,
  FerryError,
  InvalidConfigError,
  InvalidKeyError,
  NotFoundError,
  SizeMismatchError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  UnsupportedError,
  isAbortError,
} from '../../common/errors';

const dir = tempDir('http-lists');
const servers: HttpFixtureServer[] = [];
const providers: ObjectProvider[] = [];
let listCounter = 0;

after(async () => {
  for (const p of providers) await p.close?.();
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function fixture(objects: readonly FixtureObject[] = []): Promise<HttpFixtureServer> {
  const server = await HttpFixtureServer.start();
  servers.push(server);
  await server.addAll(objects);
  return server;
}

/** Writes a list file (lines joined with `\n`, or raw bytes) and returns its path. */
function writeList(content: readonly string[] | Buffer): string {
  const path = join(dir, `list-${++listCounter}.txt`);
  writeFileSync(path, Buffer.isBuffer(content) ? content : content.join('\n') + '\n');
  return path;
}

/** Opens a list with an empty environment, so a proxy set for the test run does not carry loopback requests. */
function openList(list: string, options: HttpProviderOptions = {}, spec: Partial<EndpointSpec> = {}): ObjectProvider {
  const p = openHttpProvider({ type: 'http', list, ...spec }, { env: {} }, { idleTimeoutMs: 10_000, ...options });
  providers.push(p);
  return p;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const pos = (line: number) => String(line).padStart(12, '0');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

runConformance({
  name: 'http',
  async withObjects(objects) {
    const server = await fixture(objects.map((o) => ({ key: o.key, body: o.body, ...(o.contentType ? { contentType: o.contentType } : {}) })));
    return openList(writeList(objects.map((o) => server.url(o.key))));
  },
  wrongCredentials: { reason: 'http sources have no credentials' },
  async missingBucket() {
    return openList(join(dir, 'no-such-list.txt'));
  },
  // Every hostile key survives: the fixture percent-encodes keys in URLs and the provider decodes paths.
  refusedKeys: {},
});

describe('http source', () => {
  it('one URL per line: keys are decoded paths in file order; comments, blank lines, CRLF and BOM are ignored', async () => {
    const objects = [
      { key: 'z/last.txt', body: Buffer.from('zzz'), contentType: 'text/plain' },
      { key: 'a/first.txt', body: Buffer.from('a') },
      { key: 'm id/naïve.txt', body: Buffer.from('middle') },
    ];
    const server = await fixture(objects);
    const list = writeList(
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(
          [
            `${server.url('z/last.txt')}\r`, // 1 (after the BOM)
            '# exported 2024-05-06', // 2
            '', // 3
            '   \t ', // 4
            `  ${server.url('a/first.txt')}?sig=abc#frag  `, // 5
            '#commented http://x/y', // 6
            server.url('m id/naïve.txt'), // 7
          ].join('\n'),
        ),
      ]),
    );
    const p = openList(list);
    const page = await p.list();
    assert.deepEqual(page.objects.map((o) => o.key), ['z/last.txt', 'a/first.txt', 'm id/naïve.txt'], 'file order, not key order');
    assert.deepEqual(page.objects.map((o) => o.position), [pos(1), pos(5), pos(7)]);
    assert.equal(page.next, undefined);
    const [z, a] = page.objects;
    assert.equal(z!.size, 3);
    assert.equal(z!.etag, md5(Buffer.from('zzz')));
    assert.equal(z!.contentType, 'text/plain');
    assert.equal(z!.lastModified, Date.UTC(2024, 4, 6, 7, 8, 9));
    assert.equal(a!.size, 1);
    // The query is sent (pre-signed URLs need it); the fragment is not.
    const got = await p.get('a/first.txt');
    assert.equal((await readAll(got.body)).toString(), 'a');
    assert.ok(server.requests.some((r) => r.method === 'GET' && r.target === '/a/first.txt?sig=abc'), JSON.stringify(server.requests));
    assert.equal((await readAll((await p.get('m id/naïve.txt')).body)).toString(), 'middle');
  });

  it("two-column lists (ossimport's prefix + relative key form)", async () => {
    const server = await fixture([
      { key: 'aa/bb.jpg', body: Buffer.from('bb') },
      { key: 'cc.jpg', body: Buffer.from('cc!') },
      { key: 'with space.jpg', body: Buffer.from('space') },
      { key: 'x/y/z.txt', body: Buffer.from('xyz') },
    ]);
    const hostPort = server.origin.replace('http://', '');
    const p = openList(
      writeList([
        `${hostPort}/aa/  bb.jpg`, // scheme-less prefix, as in ossimport's template
        `${server.origin}/\taa/bb.jpg`,
        `${server.origin}/   cc.jpg`,
        `${server.origin}/ with%20space.jpg`,
        `${server.origin}/x/  y/z.txt`,
      ]),
    );
    const { objects } = await p.list();
    assert.deepEqual(objects.map((o) => [o.key, o.size]), [
      ['bb.jpg', 2],
      ['aa/bb.jpg', 2],
      ['cc.jpg', 3],
      ['with space.jpg', 5],
      ['y/z.txt', 3],
    ]);
    assert.equal((await readAll((await p.get('bb.jpg')).body)).toString(), 'bb');
    assert.equal((await readAll((await p.get('with space.jpg')).body)).toString(), 'space');
    assert.equal((await readAll((await p.get('y/z.txt')).body)).toString(), 'xyz');
    assert.equal((await p.stat('cc.jpg')).size, 3);
  });

  it('bad lines are listed in place (size 0, whatever the prefix) and stat/get throw InvalidKeyError naming line and reason', async () => {
    const server = await fixture([{ key: 'good/1', body: Buffer.from('one') }, { key: 'good/2', body: Buffer.from('two') }]);
    const lines = [
      server.url('good/1'), // 1
      'not-a-url', // 2
      'ftp://example.com/file.txt', // 3
      `${server.origin}/`, // 4
      'a b c', // 5
      `${server.origin}/a/../b`, // 6
      `${server.origin}/bad%ZZ`, // 7
      `${server.origin}/p?sig=SECRET123 two three`, // 8
      `${server.origin}/  ?only-query`, // 9
    ];
    const list = writeList(
      Buffer.concat([
        Buffer.from(lines.join('\n') + '\n'),
        Buffer.from([0x68, 0x74, 0x74, 0x70, 0xff, 0xfe, 0x0a]), // 10: invalid UTF-8
        Buffer.from(`http://h/${'x'.repeat(70 * 1024)}\n`), // 11: too long
        Buffer.from(server.url('good/2') + '\n'), // 12
      ]),
    );
    const p = openList(list);
    const { objects } = await p.list({ prefix: 'good/' });
    const expected: [number, RegExp][] = [
      [2, /not an absolute http\(s\) URL/],
      [3, /unsupported URL scheme "ftp:"/],
      [4, /empty key/],
      [5, /found 3 whitespace-separated columns/],
      [6, /"\." or "\.\." segment/],
      [7, /malformed percent-encoding/],
      [8, /found 3 whitespace-separated columns/],
      [9, /empty key/],
      [10, /not valid UTF-8/],
      [11, /longer than 65536 bytes/],
    ];
    assert.deepEqual(objects.map((o) => o.position), [1, ...expected.map(([n]) => n), 12].map(pos));
    assert.equal(objects[0]!.key, 'good/1');
    assert.equal(objects[0]!.size, 3);
    assert.equal(objects.at(-1)!.key, 'good/2');
    for (const [i, [line, reason]] of expected.entries()) {
      const o = objects[i + 1]!;
      assert.equal(o.size, 0, `line ${line} size`);
      assert.equal(o.lastModified, 0, `line ${line} lastModified`);
      assert.ok(!o.key.includes('SECRET123'), `query masked in key ${o.key}`);
      const check = (e: unknown) => {
        assert.ok(e instanceof InvalidKeyError, `line ${line}: ${String(e)}`);
        assert.match(e.message, new RegExp(`line ${line}: `));
        assert.match(e.message, reason);
        assert.ok(e.message.includes(list), 'names the list file');
        return true;
      };
      await assert.rejects(p.stat(o.key), check);
      await assert.rejects(p.get(o.key), check);
    }
    // The same answers from a fresh provider (lookup by scanning, not from the listing cache).
    const fresh = openList(list);
    await assert.rejects(fresh.get(objects[4]!.key), /line 5: /);
    // A key that merely equals a good line's text is not that line's key.
    await assert.rejects(fresh.stat(lines[0]!), (e: unknown) => e instanceof NotFoundError && /is not in http list file/.test((e as Error).message));
    // A pure parse of the good forms, for the record.
    assert.deepEqual(parseListLine('# c', 1), undefined);
    // Looking for one key: other lines are passed over, bad lines only when the key is their text.
    assert.equal(parseListLine('http://h/a', 1, 'b'), undefined);
    assert.equal(parseListLine('http://h/a', 1, 'a')?.key, 'a');
    assert.equal(parseListLine('ftp://h/a', 1, 'a'), undefined);
    assert.match(parseListLine('ftp://h/a', 1, 'ftp://h/a')?.invalid ?? '', /unsupported URL scheme/);
    assert.equal(parseListLine('http://h/%E2%82%AC%2Fx', 1)?.key, '€/x');
    assert.equal(parseListLine('http://h/back\\slash', 1)?.url?.pathname, '/back%5Cslash');
    assert.equal(parseListLine('http://h/back\\slash', 1)?.key, 'back\\slash');
  });

  it('redirects are followed (relative, absolute, cross-server) up to 5 hops; more, or a loop, fail clearly', async () => {
    const body = randomBytes(5000);
    const a = await fixture([{ key: 'target.bin', body }]);
    const b = await fixture();
    a.redirect('r1', '/r2', 301);
    a.redirect('r2', b.url('on-b'), 307);
    b.redirect('on-b', a.url('target.bin'), 308);
    for (let i = 1; i <= 5; i++) a.redirect(`five/${i}`, i === 5 ? '/target.bin' : `/five/${i + 1}`, 302);
    for (let i = 1; i <= 6; i++) a.redirect(`six/${i}`, i === 6 ? '/target.bin' : `/six/${i + 1}`, 302);
    a.redirect('loop/a', '/loop/b');
    a.redirect('loop/b', '/loop/a');
    // Both servers are on loopback, where redirects may only go when the job allows it.
    const p = openList(writeList([a.url('r1'), a.url('five/1'), a.url('six/1'), a.url('loop/a')]), {}, { allowPrivateRedirects: true });

    const info = await p.stat('r1');
    assert.equal(info.size, 5000);
    assert.equal(info.key, 'r1');
    const got = await p.get('r1', { range: { start: 100, end: 199 } });
    assert.deepEqual(await readAll(got.body), body.subarray(100, 200));
    assert.equal(md5(await readAll((await p.get('five/1')).body)), md5(body));

    for (const key of ['six/1', 'loop/a']) {
      await assert.rejects(p.stat(key), (e: unknown) => e instanceof TransientError && /too many redirects \(more than 5/.test(e.message));
      await assert.rejects(p.get(key), (e: unknown) => e instanceof TransientError && /too many redirects/.test(e.message));
    }
    const loopRequests = a.requests.filter((r) => r.method === 'HEAD' && r.key.startsWith('loop/')).length;
    assert.equal(loopRequests, 6, 'the first request plus 5 followed redirects, then stop');
    // In a listing, redirect loops are retryable failures of the page (the activity retries).
    await assert.rejects(p.list(), TransientError);
  });

  it('HTTP statuses map to the shared error classes', async () => {
    const server = await fixture();
    const cases: [number, (e: unknown) => boolean, Record<string, string>?][] = [
      [404, (e) => e instanceof NotFoundError && !(e instanceof BucketNotFoundError)],
      [410, (e) => e instanceof NotFoundError],
      [401, (e) => e instanceof AccessDeniedError],
      [403, (e) => e instanceof AccessDeniedError],
      [500, (e) => e instanceof TransientError && e.status === 500],
      [502, (e) => e instanceof TransientError],
      [408, (e) => e instanceof TransientError],
      [429, (e) => e instanceof ThrottledError && e.retryAfterMs === undefined],
      [503, (e) => e instanceof ThrottledError && e.retryAfterMs === 7000, { 'retry-after': '7' }],
      [400, (e) => e instanceof FerryError && e.name === 'FerryError' && !e.retryable && e.status === 400],
    ];
    for (const [status] of cases) await server.add({ key: `s/${status}`, body: Buffer.from('hidden') });
    const p = openList(writeList(cases.map(([status]) => `${server.url(`s/${status}`)}?token=SECRET456`)));
    for (const [status, check, headers] of cases) {
      server.fault(`s/${status}`, { status, ...(headers ? { headers } : {}) });
      const verify = (e: unknown) => {
        assert.ok(check(e), `${status}: ${String(e)}`);
        assert.ok(!(e as Error).message.includes('SECRET456'), 'query masked in message');
        assert.match((e as Error).message, new RegExp(`HTTP ${status}`));
        return true;
      };
      await assert.rejects(p.stat(`s/${status}`), verify);
      await assert.rejects(p.get(`s/${status}`), verify);
    }
    // Retry-After as an HTTP date.
    server.fault('s/429', { status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } });
    await assert.rejects(p.get('s/429'), (e: unknown) => e instanceof ThrottledError && e.retryAfterMs! > 20_000 && e.retryAfterMs! <= 31_000);
  });

  it('list: per-object failures are listed with size 0, retryable failures fail the page', async () => {
    const server = await fixture([
      { key: 'ok', body: Buffer.from('12345') },
      { key: 'forbidden', body: Buffer.from('x') },
      { key: 'flaky', body: Buffer.from('y') },
    ]);
    const p = openList(writeList([server.url('ok'), server.url('gone'), server.url('forbidden'), server.url('flaky')]));
    server.fault('forbidden', { status: 403 });
    const { objects } = await p.list();
    assert.deepEqual(objects.map((o) => [o.key, o.size]), [['ok', 5], ['gone', 0], ['forbidden', 0], ['flaky', 1]]);
    await assert.rejects(p.get('gone'), NotFoundError);
    await assert.rejects(p.get('forbidden'), AccessDeniedError);
    server.fault('flaky', { status: 500, methods: ['HEAD'] });
    await assert.rejects(p.list(), (e: unknown) => e instanceof TransientError && /HEAD .*\/flaky: HTTP 500/.test((e as Error).message));
    server.fault('flaky', { status: 503, methods: ['HEAD'], headers: { 'retry-after': '2' } });
    await assert.rejects(p.list(), (e: unknown) => e instanceof ThrottledError && e.retryAfterMs === 2000);
    server.clearFaults();
    assert.equal((await p.list()).objects[3]!.size, 1);
  });

  it('connection refused and idle servers are TransientError', async () => {
    const port = await freePort();
    const server = await fixture([{ key: 'slow', body: Buffer.from('slow') }]);
    const p = openList(writeList([`http://127.0.0.1:${port}/nobody-listens`, server.url('slow')]), { idleTimeoutMs: 300 });
    await assert.rejects(p.stat('nobody-listens'), (e: unknown) => e instanceof TransientError && e.code === 'ECONNREFUSED');
    await assert.rejects(p.list(), TransientError);
    server.fault('slow', { stallMs: 1500 });
    const t0 = Date.now();
    await assert.rejects(p.stat('slow'), (e: unknown) => e instanceof TransientError && /no data for 300 ms/.test((e as Error).message));
    assert.ok(Date.now() - t0 < 1400, 'gave up at the idle timeout, not when the server answered');
  });

  it('a body cut short fails with SizeMismatchError', async () => {
    const body = randomBytes(200_000);
    const server = await fixture([{ key: 'cut.bin', body }]);
    const p = openList(writeList([server.url('cut.bin')]));
    server.fault('cut.bin', { dropAfterBytes: 70_000, times: 2 });
    const whole = await p.get('cut.bin');
    assert.equal(whole.contentLength, 200_000);
    await assert.rejects(readAll(whole.body), (e: unknown) => e instanceof SizeMismatchError && /connection (closed|lost) after 70000 of 200000 bytes/.test((e as Error).message));
    const part = await p.get('cut.bin', { range: { start: 1000, end: 150_999 } });
    assert.equal(part.contentLength, 150_000);
    await assert.rejects(readAll(part.body), (e: unknown) => e instanceof SizeMismatchError && /70000 of 150000/.test((e as Error).message));
    // The fault is spent: the next read is whole.
    assert.equal(md5(await readAll((await p.get('cut.bin')).body)), md5(body));
  });

  it('ranged reads: exact bytes from 206, and from 200 when the server ignores Range', async () => {
    const body = randomBytes(300_000);
    const server = await fixture([{ key: 'r.bin', body }, { key: 'plain.bin', body }]);
    const p = openList(writeList([server.url('r.bin'), server.url('plain.bin')]));
    server.fault('r.bin', { ignoreRange: true });
    const ranges: [number, number | undefined][] = [
      [10, 19],
      [0, 0],
      [299_990, undefined],
      [250_000, 10_000_000], // past the end: clamped
      [1, 299_999],
    ];
    for (const key of ['r.bin', 'plain.bin']) {
      for (const [start, end] of ranges) {
        const got = await p.get(key, { range: { start, ...(end !== undefined ? { end } : {}) } });
        const expected = body.subarray(start, end === undefined ? undefined : end + 1);
        assert.equal(got.contentLength, expected.length, `${key} ${start}-${end ?? ''} length`);
        assert.equal(got.info.size, body.length, 'info.size is the whole object');
        const bytes = await readAll(got.body);
        assert.equal(bytes.length, expected.length);
        assert.ok(bytes.equals(expected), `${key} ${start}-${end ?? ''} bytes`);
      }
      await assert.rejects(p.get(key, { range: { start: 300_000 } }), (e: unknown) => e instanceof SourceChangedError && /300000 bytes/.test((e as Error).message));
    }
    const rGets = server.requests.filter((r) => r.method === 'GET' && r.key === 'r.bin');
    assert.ok(rGets.every((r) => r.range !== undefined), 'every ranged read sent Range');
    await assert.rejects(p.get('r.bin', { range: { start: 5, end: 4 } }), InvalidConfigError);
  });

  it('sizes without HEAD: 405 and a missing Content-Length fall back to GET Range: bytes=0-0', async () => {
    const server = await fixture([
      { key: 'a.bin', body: randomBytes(1234) },
      { key: 'empty', body: Buffer.alloc(0) },
      { key: 'nolen', body: Buffer.from('no length here') },
      { key: 'nosize', body: Buffer.from('no size at all') },
    ]);
    const p = openList(writeList(['a.bin', 'empty', 'nolen', 'nosize'].map((k) => server.url(k))));
    server.fault('nolen', { noLength: true, methods: ['HEAD'] });
    server.fault('nosize', { noLength: true, ignoreRange: true });
    server.headAllowed = false;
    const { objects } = await p.list();
    assert.deepEqual(objects.map((o) => [o.key, o.size]), [['a.bin', 1234], ['empty', 0], ['nolen', 14], ['nosize', 0]]);
    assert.ok(objects[0]!.lastModified > 0 && objects[0]!.etag !== undefined);
    assert.equal((await p.stat('a.bin')).size, 1234);
    assert.equal((await p.stat('empty')).size, 0);
    await assert.rejects(p.stat('nosize'), (e: unknown) => e instanceof UnsupportedError && /reports no size/.test((e as Error).message));
    await assert.rejects(p.get('nosize'), UnsupportedError);
    assert.ok(server.requests.some((r) => r.method === 'GET' && r.key === 'a.bin' && r.range === 'bytes=0-0'));
    server.headAllowed = true;
    assert.equal((await p.stat('nolen')).size, 14);
  });

  it('resume by position over a long list; positions are line numbers', async () => {
    const server = await fixture();
    const lines: string[] = [];
    const lineOfKey = new Map<string, number>();
    for (let i = 0; lines.length < 20_000; i++) {
      if (i % 997 === 0) lines.push(`# block ${i}`);
      const key = `k/${(50_000 - i).toString().padStart(6, '0')}`; // descending: list order is not key order
      lines.push(server.url(key));
      lineOfKey.set(key, lines.length);
    }
    const list = writeList(lines);
    const p = openList(list);
    const keyAtLine = (n: number) => decodeURIComponent(lines[n - 1]!.slice(server.origin.length + 1));
    for (const after of [0, 4095, 4096, 4097, 8191, 12_288, 15_000, 19_997]) {
      const page = await p.list({ ...(after ? { startAfter: pos(after) } : {}), limit: 3 });
      const want = [];
      for (let n = after + 1; n <= lines.length && want.length < 3; n++) if (!lines[n - 1]!.startsWith('#')) want.push(n);
      assert.deepEqual(page.objects.map((o) => o.position), want.map(pos), `after ${after}`);
      assert.deepEqual(page.objects.map((o) => o.key), want.map(keyAtLine));
      assert.equal(page.next, want.length === 3 && want.at(-1)! < lines.length ? pos(want.at(-1)!) : undefined);
    }
    // Unpadded positions are accepted too; garbage is not.
    assert.equal((await p.list({ startAfter: '19999', limit: 5 })).objects.length, 1);
    await assert.rejects(p.list({ startAfter: 'k/1' }), InvalidConfigError);
    // Lookups far into the list (a scan on a fresh provider).
    const far = keyAtLine(19_990);
    await assert.rejects(openList(list).stat(far), NotFoundError); // the fixture has no such object
    // A rewritten list file is re-read (the offset index resets).
    writeFileSync(list, [server.url('new/1'), server.url('new/2'), server.url('new/3')].join('\n'));
    assert.deepEqual((await p.list({ startAfter: pos(1) })).objects.map((o) => o.key), ['new/2', 'new/3']);
    await assert.rejects(p.stat(far), (e: unknown) => e instanceof NotFoundError && /is not in http list file/.test((e as Error).message));
  });

  it('aborts stop requests and bodies', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const server = await fixture([{ key: 'big.bin', body }, { key: 'slow', body: Buffer.from('s') }]);
    const p = openList(writeList([server.url('big.bin'), server.url('slow')]));
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(p.stat('big.bin', { signal: pre.signal }), isAbortError);
    await assert.rejects(p.list({ signal: pre.signal }), isAbortError);

    const mid = new AbortController();
    const got = await p.get('big.bin', { signal: mid.signal });
    let read = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of got.body) {
          read += (chunk as Buffer).length;
          if (read > 64 * 1024) mid.abort();
        }
      })(),
      isAbortError,
    );
    assert.ok(read < body.length, 'stopped before the end');

    server.fault('slow', { stallMs: 2000 });
    const waiting = new AbortController();
    const t0 = Date.now();
    const pending = p.get('slow', { signal: waiting.signal });
    setTimeout(() => waiting.abort(), 100);
    await assert.rejects(pending, isAbortError);
    assert.ok(Date.now() - t0 < 1500, 'abort did not wait for the server');
  });

  it('keep-alive: sequential and parallel requests reuse connections', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `obj/${i}`);
    const server = await fixture(keys.map((key) => ({ key, body: Buffer.from(key) })));
    const p = openList(writeList(keys.map((k) => server.url(k))));
    for (const key of keys.slice(0, 20)) {
      await p.stat(key);
      await readAll((await p.get(key)).body);
    }
    assert.equal(server.connectionCount, 1, 'one connection for 40 sequential requests');
    // Slow HEADs, so that the page's requests overlap at the server.
    for (const key of keys) server.fault(key, { stallMs: 20, methods: ['HEAD'] });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const { objects } = await p.list({ signal: new AbortController().signal });
      assert.equal(objects.length, 40);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.ok(server.maxInFlight > 1 && server.maxInFlight <= 16, `at most 16 parallel HEADs, got ${server.maxInFlight}`);
    assert.ok(server.connectionCount <= 17, `the parallel HEADs reuse their connections, got ${server.connectionCount}`);
    assert.deepEqual(warnings, [], 'parallel HEADs do not pile listeners on the caller signal');
  });

  it('a keep-alive connection the server dropped is retried once on a fresh one', async () => {
    const server = await fixture([{ key: 'a', body: Buffer.from('a') }, { key: 'b', body: Buffer.from('bb') }]);
    const p = openList(writeList([server.url('a'), server.url('b')]));
    await p.stat('a');
    server.fault('b', { resetIfReused: true, times: 1 });
    assert.equal((await p.stat('b')).size, 2);
    assert.deepEqual(server.requests.filter((r) => r.key === 'b').map((r) => r.connection), [1, 2]);
    server.fault('b', { resetIfReused: true, times: 1 });
    assert.equal((await readAll((await p.get('b')).body)).toString(), 'bb');
  });

  it('is a read-only source with list order and no credentials', async () => {
    const server = await fixture([{ key: 'x', body: Buffer.from('x') }]);
    const list = writeList([server.url('x')]);
    const p = openList(list);
    assert.equal(p.type, 'http');
    assert.equal(p.endpointId, `http|${list}`);
    assert.equal(p.bucket, list);
    assert.deepEqual(p.capabilities, {
      checksums: [],
      etagIsMd5: false,
      maxSinglePut: 0,
      multipart: null,
      serverSideCopy: false,
      maxServerSideCopy: 0,
      uploadPartCopy: false,
      writable: false,
      trailingSlashKeys: true,
      emptyPathSegments: true,
      metadata: false,
      order: 'list',
    });
    await assert.rejects(p.put('x', Buffer.from('y')), UnsupportedError);
    assert.doesNotThrow(() => p.validateKey('/any//key/'));
    assert.throws(() => openHttpProvider({ type: 'http' }, {}), (e: unknown) => e instanceof InvalidConfigError && /list:/.test(e.issues[0]!));
  });

  it('a missing list file, or a directory in its place, is BucketNotFoundError', async () => {
    const missing = openList(join(dir, 'gone', 'list.txt'));
    await assert.rejects(missing.stat('x'), BucketNotFoundError);
    await assert.rejects(missing.get('x'), BucketNotFoundError);
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    await assert.rejects(openList(folder).list(), (e: unknown) => e instanceof BucketNotFoundError && /is a directory/.test((e as Error).message));
  });

  it('a prefix (from the spec or the call) filters by key', async () => {
    const server = await fixture(['a/1', 'b/1', 'a/2', 'ab'].map((key) => ({ key, body: Buffer.from(key) })));
    const list = writeList(['a/1', 'b/1', 'a/2', 'ab'].map((k) => server.url(k)));
    const p = openHttpProvider({ type: 'http', list, prefix: 'a' }, {});
    providers.push(p);
    assert.deepEqual((await p.list()).objects.map((o) => o.key), ['a/1', 'a/2', 'ab']);
    assert.deepEqual((await p.list({ prefix: 'a/' })).objects.map((o) => o.key), ['a/1', 'a/2']);
    const paged = await p.list({ limit: 2 });
    assert.deepEqual(paged.objects.map((o) => o.key), ['a/1', 'a/2']);
    assert.equal(paged.next, pos(3));
    assert.deepEqual((await p.list({ startAfter: paged.next! })).objects.map((o) => o.key), ['ab']);
  });
});
