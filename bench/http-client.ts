/**
 * Client CPU of a GET+PUT pair: node:http (keep-alive agent) against undici (the s3 provider's transport), both
 * against the same canned server in a child process, so only the client's own CPU is counted.
 *
 *   npx tsx bench/http-client.ts [pairs=20000] [concurrency=32]      16 KiB bodies, buffered (case a's objects)
 *   npx tsx bench/http-client.ts --large [pairs=128] [concurrency=8]  16 MiB bodies, the GET's body streamed into
 *                                                                      the PUT through the copy's tap (b's parts)
 *
 * Each client runs twice, alternating; the figures are process CPU (user + system) per pair, or per GiB moved.
 */
import { fork } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { ThrottledTap, TokenBucket } from '../activities/throttle';

const LARGE = process.argv.includes('--large');
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const PAIRS = Number(positional[0] ?? (LARGE ? 128 : 20_000));
const CONCURRENCY = Number(positional[1] ?? (LARGE ? 8 : 32));
const BODY = LARGE ? 16 * 1024 * 1024 : 16 * 1024;
const SIGNED = { 'x-amz-date': '20261202T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}` };

/** The canned server (child process): a GET gets a BODY-byte body, anything else an empty 200, on keep-alive sockets. */
function serve(): void {
  const block = Buffer.alloc(Math.min(BODY, 1024 * 1024), 97);
  const getHead = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY}\r\nETag: "e"\r\nContent-Type: application/octet-stream\r\nLast-Modified: Wed, 02 Dec 2026 00:00:00 GMT\r\nDate: Wed, 02 Dec 2026 00:00:00 GMT\r\n\r\n`);
  const getAnswer = BODY === block.length ? [Buffer.concat([getHead, block])] : [getHead, ...Array<Buffer>(BODY / block.length).fill(block)];
  const putAnswer = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: "e"\r\nDate: Wed, 02 Dec 2026 00:00:00 GMT\r\n\r\n');
  const server = createServer((s) => {
    let buf: Buffer = Buffer.alloc(0);
    /** Body bytes of the current request still to come; -1 while its head is read. */
    let need = -1;
    let isGet = false;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (need < 0) {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          const head = buf.toString('latin1', 0, i);
          isGet = head.startsWith('GET');
          need = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          buf = buf.subarray(i + 4);
        }
        // body bytes are dropped as they come (a 16 MiB PUT is never held whole)
        const n = Math.min(need, buf.length);
        need -= n;
        buf = buf.subarray(n);
        if (need > 0) return;
        need = -1;
        if (isGet) for (const b of getAnswer) s.write(b);
        else s.write(putAnswer);
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

type Pair = () => Promise<void>;

/** A GET+PUT pair: buffered bodies, or (`LARGE`) the GET's body streamed into the PUT through the copy's tap. */
function nodeHttp(port: number): Pair {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const send = (method: string, body?: Buffer | Readable) =>
    new Promise<Readable>((resolve, reject) => {
      const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...SIGNED };
      if (body) headers['content-length'] = String(BODY);
      const req = request({ hostname: '127.0.0.1', port, method, path: '/bucket/key', agent, headers }, resolve);
      req.once('error', reject);
      if (Buffer.isBuffer(body) || !body) req.end(body);
      else body.pipe(req);
    });
  return async () => {
    const got = await send('GET');
    await drain(await send('PUT', LARGE ? tap(got) : await whole(got)));
  };
}

const unlimited = new TokenBucket(undefined);
/** The copy path's pass-through (activities/copy.ts: bandwidth tokens and a byte count, no hash). */
const tap = (body: Readable): Readable => body.pipe(new ThrottledTap(unlimited, undefined));
async function whole(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
async function drain(body: Readable): Promise<void> {
  for await (const c of body) void c;
}

function undici(port: number): Pair {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 256 });
  const send = async (method: 'GET' | 'PUT', body?: Buffer | Readable) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...SIGNED };
    if (body) headers['content-length'] = String(BODY);
    return (await pool.request({ method, path: '/bucket/key', headers, body })).body;
  };
  return async () => {
    const got = await send('GET');
    await drain(await send('PUT', LARGE ? tap(got) : await whole(got)));
  };
}

/** Client CPU in µs per pair, or (`LARGE`) in seconds per GiB moved. */
async function measure(pair: Pair, pairs: number): Promise<number> {
  let left = pairs;
  const t0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await pair();
    }),
  );
  const c = process.cpuUsage(t0);
  return LARGE ? (c.user + c.system) / 1e6 / ((pairs * BODY) / 1024 ** 3) : (c.user + c.system) / pairs;
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  try {
    const clients = { 'node:http': nodeHttp(port), undici: undici(port) };
    // warm-up: a tenth of the pairs each
    for (const pair of Object.values(clients)) await measure(pair, Math.ceil(PAIRS / 10));
    const out: Record<string, number[]> = { 'node:http': [], undici: [] };
    for (let round = 0; round < 2; round++) for (const [name, pair] of Object.entries(clients)) out[name]!.push(await measure(pair, PAIRS));
    for (const [name, xs] of Object.entries(out)) {
      if (LARGE) console.log(`${name.padEnd(10)} ${xs.map((x) => `${x.toFixed(2)} s`).join(', ')} of client CPU per GiB, 16 MiB GET streamed into PUT (${PAIRS} pairs, ${CONCURRENCY} in flight)`);
      else console.log(`${name.padEnd(10)} ${xs.map((u) => `${u.toFixed(0)} µs`).join(', ')} of client CPU per 16 KiB GET+PUT pair (${PAIRS} pairs, ${CONCURRENCY} in flight)`);
    }
  } finally {
    child.kill();
  }
  process.exit(0);
}

if (process.argv.includes('--serve')) serve();
else void main();
