/**
 * A forward proxy for tests: answers `CONNECT host:port` by tunnelling to that address, and plain absolute-form
 * requests (`GET http://host/path`) by forwarding them, so a test can prove that a provider's traffic went
 * through `HTTPS_PROXY` / `HTTP_PROXY`. It counts what it carried per target; it never dials anything but
 * loopback targets.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT` — the value for HTTPS_PROXY / HTTP_PROXY. */
  url: string;
  /** Tunnels opened (CONNECT) and requests forwarded, by `host:port` of the target. */
  seen: Map<string, number>;
  /** Total of `seen`. */
  count(): number;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

export async function startConnectProxy(): Promise<ConnectProxy> {
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const note = (target: string) => seen.set(target, (seen.get(target) ?? 0) + 1);
  const server: Server = createServer((req, res) => {
    // Absolute-form request (plain-HTTP proxying).
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form URL expected');
      return;
    }
    if (!LOOPBACK.test(target.hostname)) {
      res.writeHead(403).end('test proxy: loopback targets only');
      return;
    }
    note(target.host);
    const upstream = httpRequest({ host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const [host, port] = splitHostPort(req.url ?? '');
    if (!host || !LOOPBACK.test(host)) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    note(`${host}:${port}`);
    const upstream = connect(Number(port), host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', drop);
    client.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    count: () => [...seen.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(authority: string): [string, string] {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(authority);
  return m ? [m[1]!, m[2]!] : ['', ''];
}
