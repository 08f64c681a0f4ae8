/**
 * Client CPU per GET+PUT pair of 16 KiB: node:http (keep-alive agent) against Ferry's HTTP/1.1 client (`http1.ts`),
 * both against the same canned server in a child process, so only the client's own CPU is counted.
 *
 *   npx tsx bench/http-client.ts [pairs=20000] [concurrency=32]
 *
 * Each client runs twice, alternating; the figures are process CPU (user + system) per pair.
 */
import { fork } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { Http1Pool } from '../activities/providers/http1';

const PAIRS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const BODY = 16 * 1024;
const SIGNED = { 'x-amz-date': '20261202T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', authorization: `AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}` };

/** The canned server (child process): a GET gets a 16 KiB body, anything else an empty 200, on keep-alive sockets. */
function serve(): void {
  const body = Buffer.alloc(BODY, 97);
  const getAnswer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY}\r\nETag: "e"\r\nContent-Type: application/octet-stream\r\nLast-Modified: Wed, 02 Dec 2026 00:00:00 GMT\r\nDate: Wed, 02 Dec 2026 00:00:00 GMT\r\n\r\n`), body]);
  const putAnswer = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: "e"\r\nDate: Wed, 02 Dec 2026 00:00:00 GMT\r\n\r\n');
  const server = createServer((s) => {
    let buf: Buffer = Buffer.alloc(0);
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
        if (buf.length < need) return;
        buf = buf.subarray(need);
        need = -1;
        s.write(isGet ? getAnswer : putAnswer);
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

type Pair = () => Promise<void>;

function nodeHttp(port: number): Pair {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const send = (method: string, body?: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...SIGNED };
      if (body) headers['content-length'] = String(body.length);
      const req = request({ hostname: '127.0.0.1', port, method, path: '/bucket/key', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve(Buffer.concat(chunks)));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(body);
    });
  return async () => {
    await send('PUT', await send('GET'));
  };
}

function http1(port: number): Pair {
  const pool = new Http1Pool(new URL(`http://127.0.0.1:${port}`), 256);
  const send = async (method: string, body?: Buffer) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...SIGNED };
    if (body) headers['content-length'] = String(body.length);
    const res = await pool.request({ method, path: '/bucket/key', headers, body, connectTimeoutMs: 10_000, timeoutMs: 60_000 });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  return async () => {
    await send('PUT', await send('GET'));
  };
}

async function measure(pair: Pair): Promise<number> {
  let left = PAIRS;
  const t0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await pair();
    }),
  );
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / PAIRS;
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  try {
    const clients = { 'node:http': nodeHttp(port), 'http1.ts': http1(port) };
    await measure(clients['node:http']);
    await measure(clients['http1.ts']);
    const out: Record<string, number[]> = { 'node:http': [], 'http1.ts': [] };
    for (let round = 0; round < 2; round++) for (const [name, pair] of Object.entries(clients)) out[name]!.push(await measure(pair));
    for (const [name, us] of Object.entries(out)) console.log(`${name.padEnd(10)} ${us.map((u) => `${u.toFixed(0)} µs`).join(', ')} of client CPU per 16 KiB GET+PUT pair (${PAIRS} pairs, ${CONCURRENCY} in flight)`);
  } finally {
    child.kill();
  }
  process.exit(0);
}

if (process.argv.includes('--serve')) serve();
else void main();
