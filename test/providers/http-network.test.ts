/**
 * The `http` source on real networks: bodies that break before anyone reads them, redirects that may not reach
 * the worker's own networks (or downgrade https), and proxies named by the environment.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HttpFixtureServer, type FixtureObject } from '../support/http-fixture-server';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy';
import { tempDir } from '../support/process';
import { openHttpProvider, type HttpProviderOptions } from '../../storage/http/http';
import { restrictedKind } from '../../storage/http/redirects';
import type { EndpointSpec, ObjectProvider } from '../../storage/provider';
import { RedirectRefusedError, SizeMismatchError, isAbortError } from '../../common/errors';

const dir = tempDir('http-network');
const servers: HttpFixtureServer[] = [];
const providers: ObjectProvider[] = [];
const closers: (() => Promise<void>)[] = [];
let listCounter = 0;

after(async () => {
  for (const p of providers) await p.close?.();
  for (const s of servers) await s.stop();
  for (const close of closers) await close();
  rmSync(dir, { recursive: true, force: true });
});

async function fixture(objects: readonly FixtureObject[] = []): Promise<HttpFixtureServer> {
  const server = await HttpFixtureServer.start();
  servers.push(server);
  await server.addAll(objects);
  return server;
}

function writeList(lines: readonly string[]): string {
  const path = join(dir, `list-${++listCounter}.txt`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

interface Opening {
  spec?: Partial<EndpointSpec>;
  /** The provider's environment; empty by default, so the test run's own proxy settings do not apply. */
  env?: NodeJS.ProcessEnv;
  options?: HttpProviderOptions;
}

function openList(list: string, { spec = {}, env = {}, options = {} }: Opening = {}): ObjectProvider {
  const p = openHttpProvider({ type: 'http', list, ...spec }, { env }, { idleTimeoutMs: 10_000, ...options });
  providers.push(p);
  return p;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` and returns the uncaught exceptions the process saw meanwhile. */
async function uncaughtDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (err: unknown) => seen.push(err);
  process.on('uncaughtException', record);
  try {
    await fn();
  } finally {
    process.off('uncaughtException', record);
  }
  return seen;
}

/** A self-signed certificate for 127.0.0.1 and localhost (openssl, as test/providers/http1.test.ts does). */
function makeCertificate(): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'];
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', ...subject]);
  assert.equal(made.status, 0, `openssl: ${made.stderr?.toString()}`);
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** An https server that redirects every request to `location(path)`, or serves `body` when `location` is undefined. */
async function httpsServer(tls: { key: Buffer; cert: Buffer }, location?: (path: string) => string, body = Buffer.from('secure')): Promise<string> {
  const server: HttpsServer = createHttpsServer(tls, (req, res) => {
    if (location) res.writeHead(302, { location: location(req.url ?? '/'), 'content-length': '0' }).end();
    else res.writeHead(200, { 'content-length': String(body.length) }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('http source bodies', () => {
  it('a body aborted before anyone reads it fails its reader, not the process', async () => {
    const body = randomBytes(1 << 20);
    const server = await fixture([{ key: 'big.bin', body }, { key: 'sliced.bin', body }]);
    server.fault('sliced.bin', { ignoreRange: true });
    const p = openList(writeList([server.url('big.bin'), server.url('sliced.bin')]));
    for (const [key, range] of [['big.bin', undefined], ['sliced.bin', { start: 1000, end: 900_000 }]] as const) {
      const abort = new AbortController();
      let got: Readable | undefined;
      const uncaught = await uncaughtDuring(async () => {
        got = (await p.get(key, { signal: abort.signal, ...(range ? { range } : {}) })).body;
        abort.abort();
        await sleep(50);
      });
      assert.deepEqual(uncaught, [], `${key}: no uncaught exception`);
      await assert.rejects(readAll(got!), isAbortError, `${key}: the reader gets the abort`);
    }
  });

  it('a body the server breaks off before anyone reads it fails its reader, not the process', async () => {
    const server = await fixture([{ key: 'cut.bin', body: randomBytes(10_000) }]);
    server.fault('cut.bin', { dropAfterBytes: 1000, ignoreRange: true });
    const p = openList(writeList([server.url('cut.bin')]));
    for (const range of [undefined, { start: 100, end: 8999 }]) {
      let got: Readable | undefined;
      const uncaught = await uncaughtDuring(async () => {
        got = (await p.get('cut.bin', range ? { range } : {})).body;
        await sleep(50);
      });
      assert.deepEqual(uncaught, [], 'no uncaught exception');
      await assert.rejects(readAll(got!), (e: unknown) => e instanceof SizeMismatchError && /connection (closed|lost) after (1000 of 10000|900 of 8900) bytes/.test(e.message));
    }
  });

  it('a broken body still reaches a reader that listens before the break', async () => {
    const server = await fixture([{ key: 'cut.bin', body: randomBytes(10_000) }]);
    server.fault('cut.bin', { dropAfterBytes: 1000 });
    const p = openList(writeList([server.url('cut.bin')]));
    const { body } = await p.get('cut.bin');
    const failed = new Promise<unknown>((resolve) => body.once('error', resolve));
    body.resume();
    assert.ok((await failed) instanceof SizeMismatchError);
  });
});

describe('http source redirects', () => {
  /** A list server `a` whose key `from` redirects to `location`, and the provider over it. */
  async function redirecting(location: string, opening: Opening = {}) {
    const a = await fixture();
    a.redirect('from', location);
    const p = openList(writeList([a.url('from')]), opening);
    return { a, p };
  }

  const refused = (reason: RegExp, target: RegExp) => (e: unknown) => {
    assert.ok(e instanceof RedirectRefusedError, String(e));
    assert.equal(e.retryable, false);
    assert.match(e.message, reason);
    assert.match(e.message, target);
    assert.ok(!e.message.includes('SECRET'), 'query masked');
    return true;
  };

  it('classifies restricted addresses', () => {
    const cases: [string, string | undefined][] = [
      ['127.0.0.1', 'loopback'],
      ['127.200.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['fd12:3456::1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['100.100.100.200', 'shared'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['172.32.0.1', undefined],
      ['8.8.8.8', undefined],
      ['2001:4860:4860::8888', undefined],
      ['example.com', undefined],
    ];
    for (const [address, kind] of cases) assert.equal(restrictedKind(address), kind, address);
  });

  it('refuses a redirect to a loopback IP literal, and lists the object with size 0', async () => {
    const b = await fixture([{ key: 'x', body: Buffer.from('private') }]);
    const { p } = await redirecting(`${b.url('x')}?token=SECRET`);
    const check = refused(/127\.0\.0\.1 is a loopback address/, new RegExp(`redirect to ${b.origin}/x\\?… refused`));
    await assert.rejects(p.stat('from'), check);
    await assert.rejects(p.get('from'), check);
    assert.deepEqual((await p.list()).objects.map((o) => [o.key, o.size]), [['from', 0]]);
    assert.equal(b.requests.length, 0, 'the private server was never asked');
    // Other spellings of the same addresses.
    for (const location of [`http://2130706433:${new URL(b.origin).port}/x`, 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0:9/']) {
      const other = await redirecting(location);
      await assert.rejects(other.p.stat('from'), refused(/is a (loopback|link-local|unspecified) address/, /redirect to http/));
    }
  });

  it('refuses a redirect to a host name that resolves to loopback, checked when dialled', async () => {
    const b = await fixture([{ key: 'x', body: Buffer.from('private') }]);
    const { p } = await redirecting(`http://localhost:${new URL(b.origin).port}/x`);
    await assert.rejects(p.get('from'), refused(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/, /redirect to http:\/\/localhost:\d+\/x refused/));
    assert.equal(b.requests.length, 0);
  });

  it('refuses a redirect from https to http', async () => {
    const b = await fixture([{ key: 'x', body: Buffer.from('plain') }]);
    const tls = makeCertificate();
    const origin = await httpsServer(tls, () => b.url('x'));
    const p = openList(writeList([`${origin}/from`]), { options: { ca: tls.cert } });
    await assert.rejects(p.stat('from'), refused(/downgrades https to http/, /redirect to http:\/\/127\.0\.0\.1/));
    const allowed = openList(writeList([`${origin}/from`]), { options: { ca: tls.cert }, spec: { allowPrivateRedirects: true } });
    assert.equal((await readAll((await allowed.get('from')).body)).toString(), 'plain');
  });

  it('follows redirects within the listed origin, and anywhere with allowPrivateRedirects', async () => {
    const b = await fixture([{ key: 'x', body: Buffer.from('from b') }]);
    const a = await fixture([{ key: 'target', body: Buffer.from('same origin') }]);
    a.redirect('relative', '/target');
    a.redirect('literal', b.url('x'));
    a.redirect('named', `http://localhost:${new URL(b.origin).port}/x`);
    const list = writeList([a.url('relative'), a.url('literal'), a.url('named')]);
    assert.equal((await readAll((await openList(list).get('relative')).body)).toString(), 'same origin');
    const p = openList(list, { spec: { allowPrivateRedirects: true } });
    for (const key of ['literal', 'named']) assert.equal((await readAll((await p.get(key)).body)).toString(), 'from b', key);
    assert.deepEqual((await p.list()).objects.map((o) => o.size), [11, 6, 6]);
  });
});

describe('http source proxies', () => {
  let proxy: ConnectProxy;
  before(async () => {
    proxy = await startConnectProxy();
    closers.push(() => proxy.close());
  });

  const objects = [
    { key: 'p/1', body: Buffer.from('one') },
    { key: 'p/2', body: randomBytes(100_000) },
  ];

  async function listAndRead(p: ObjectProvider): Promise<void> {
    const { objects: listed } = await p.list();
    assert.deepEqual(listed.map((o) => [o.key, o.size]), objects.map((o) => [o.key, o.body.length]));
    for (const o of objects) assert.ok((await readAll((await p.get(o.key)).body)).equals(o.body), o.key);
    assert.ok((await readAll((await p.get('p/2', { range: { start: 10, end: 19 } })).body)).equals(objects[1]!.body.subarray(10, 20)));
  }

  it('HTTP_PROXY carries list and get; NO_PROXY sends a host direct', async () => {
    const server = await fixture(objects);
    const list = writeList(objects.map((o) => server.url(o.key)));
    const target = new URL(server.origin).host;
    await listAndRead(openList(list, { env: { HTTP_PROXY: proxy.url } }));
    assert.ok((proxy.seen.get(target) ?? 0) >= 1, 'the proxy carried the requests');
    const before = proxy.count();
    await listAndRead(openList(list, { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }));
    await listAndRead(openList(list, { env: { http_proxy: proxy.url, no_proxy: 'localhost,127.0.0.1' } }));
    await listAndRead(openList(list, { env: { HTTP_PROXY: proxy.url, NO_PROXY: '*' } }));
    assert.equal(proxy.count(), before, 'nothing went through the proxy');
    // The lowercase variable wins, as in curl (the uppercase one names a port where nothing listens).
    await listAndRead(openList(list, { env: { http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' } }));
    assert.ok(proxy.count() > before);
    // A proxy without a scheme is an http:// one, as in curl.
    const counted = proxy.count();
    await listAndRead(openList(list, { env: { HTTP_PROXY: new URL(proxy.url).host } }));
    assert.ok(proxy.count() > counted);
  });

  it('HTTPS_PROXY tunnels https', async () => {
    const tls = makeCertificate();
    const origin = await httpsServer(tls, undefined, Buffer.from('over tls'));
    const p = openList(writeList([`${origin}/s`]), { env: { HTTPS_PROXY: proxy.url }, options: { ca: tls.cert } });
    assert.equal((await readAll((await p.get('s')).body)).toString(), 'over tls');
    assert.ok((proxy.seen.get(new URL(origin).host) ?? 0) >= 1);
  });

  it('through a proxy, a redirect target host is resolved and checked before the request', async () => {
    const b = await fixture([{ key: 'x', body: Buffer.from('private') }]);
    const a = await fixture();
    const named = `localhost:${new URL(b.origin).port}`;
    a.redirect('from', `http://${named}/x`);
    const list = writeList([a.url('from')]);
    const env = { HTTP_PROXY: proxy.url };
    await assert.rejects(openList(list, { env }).get('from'), (e: unknown) => e instanceof RedirectRefusedError && /localhost resolves to/.test(e.message));
    assert.equal(proxy.seen.get(named), undefined, 'the proxy was not asked for the refused target');
    const allowed = openList(list, { env, spec: { allowPrivateRedirects: true } });
    assert.equal((await readAll((await allowed.get('from')).body)).toString(), 'private');
    assert.ok((proxy.seen.get(named) ?? 0) >= 1, 'the allowed redirect went through the proxy');
  });
});
