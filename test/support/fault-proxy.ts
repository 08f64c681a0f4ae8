/**
 * A small in-repo HTTP fault proxy for S3-level faults toxiproxy cannot make: throttling (503 SlowDown with
 * Retry-After, 429), 500s, truncated bodies, a wrong ETag, 404 for a listed object, latency. It forwards every
 * request to one upstream (MinIO) with the method, path and *all headers unchanged* — including `Host`, so a
 * SigV4 signature computed for the proxy's host:port still verifies (MinIO checks against the Host it receives;
 * it does not know its public name). It also counts the successful writes per object path, so crash tests can
 * report how many objects were written more than once.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy sees of a request when matching rules. */
export interface ProxiedRequest {
  method: string;
  /** Path without the query, still URL-encoded (`/bucket/key`). */
  path: string;
  /** Parsed query parameters (`uploadId`, `partNumber`, `list-type`, …). */
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

export type ProxyFault =
  /** Answer without forwarding: S3 XML error `code` with `status`, plus Retry-After (seconds) when given. */
  | { kind: 'error'; status: number; code: string; retryAfterSec?: number }
  /** Forward, then send the upstream headers and only `afterBytes` bytes of the body, then cut the connection. */
  | { kind: 'truncate'; afterBytes: number }
  /** Forward, but replace the response's ETag header with a wrong one. */
  | { kind: 'wrongEtag' }
  /** Wait before forwarding. */
  | { kind: 'latency'; ms: number };

export interface ProxyRule {
  /** Which requests it hits (default: all). */
  match?: (r: ProxiedRequest) => boolean;
  /** How many matching requests it hits (default 1; Infinity for all). */
  times?: number;
  fault: ProxyFault;
}

/** One forwarded request, with when it arrived and when its response ended (ms, `performance.now()`). */
export interface ForwardedRequest extends ProxiedRequest {
  start: number;
  /** Undefined while the request is in flight. */
  end?: number;
}

export interface RuleHandle {
  readonly hits: number;
  remove(): void;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` — give this to the code under test as the S3 endpoint. */
  endpoint: string;
  port: number;
  add(rule: ProxyRule): RuleHandle;
  clear(): void;
  /** Faults injected so far, by kind (`error:503`, `truncate`, …). */
  readonly injected: Record<string, number>;
  /** Successful (2xx) PutObject and CompleteMultipartUpload requests per object path (URL-encoded `/bucket/key`). */
  readonly writes: Map<string, number>;
  /** Requests forwarded so far. */
  readonly forwarded: number;
  /** Every forwarded request in arrival order (tests measure transfers in flight from it). */
  readonly log: ForwardedRequest[];
  stop(): Promise<void>;
}

/** S3 request classifiers for rules. */
export const S3Match = {
  /** Object key (decoded) of an object request (`/bucket/key`), or undefined for bucket requests (`/bucket`, `/bucket/`). */
  keyOf: (r: ProxiedRequest): string | undefined => {
    const parts = r.path.split('/');
    const key = parts.length > 2 ? decodeURIComponent(parts.slice(2).join('/')) : '';
    return key === '' ? undefined : key;
  },
  getObject: (r: ProxiedRequest) => r.method === 'GET' && S3Match.keyOf(r) !== undefined && !r.query.has('uploadId'),
  headObject: (r: ProxiedRequest) => r.method === 'HEAD' && S3Match.keyOf(r) !== undefined,
  putObject: (r: ProxiedRequest) => r.method === 'PUT' && S3Match.keyOf(r) !== undefined && !r.query.has('partNumber') && !r.headers['x-amz-copy-source'],
  uploadPart: (r: ProxiedRequest) => r.method === 'PUT' && r.query.has('partNumber'),
  list: (r: ProxiedRequest) => r.method === 'GET' && S3Match.keyOf(r) === undefined && !r.query.has('uploads'),
};

/** Starts the proxy on a free loopback port in front of `upstream` (`http://host:port`). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream);
  const rules: { rule: ProxyRule; hits: number; left: number }[] = [];
  const injected: Record<string, number> = {};
  const writes = new Map<string, number>();
  const log: ForwardedRequest[] = [];
  let forwarded = 0;
  const take = (r: ProxiedRequest): ProxyFault[] => {
    const out: ProxyFault[] = [];
    for (const s of rules) {
      if (s.left <= 0 || (s.rule.match && !s.rule.match(r))) continue;
      s.left--;
      s.hits++;
      out.push(s.rule.fault);
      const k = s.rule.fault.kind === 'error' ? `error:${s.rule.fault.status}` : s.rule.fault.kind;
      injected[k] = (injected[k] ?? 0) + 1;
    }
    return out;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const r: ProxiedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers };
    const faults = take(r);
    for (const f of faults) if (f.kind === 'latency') await new Promise((d) => setTimeout(d, f.ms));
    const err = faults.find((f): f is Extract<ProxyFault, { kind: 'error' }> => f.kind === 'error');
    if (err) {
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>Injected fault: ${err.code}</Message><Resource>${r.path}</Resource><RequestId>fault-proxy</RequestId></Error>`;
      res.writeHead(err.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...(err.retryAfterSec !== undefined ? { 'retry-after': String(err.retryAfterSec) } : {}) });
      res.end(r.method === 'HEAD' ? undefined : body);
      return;
    }
    forwarded++;
    const entry: ForwardedRequest = { ...r, start: performance.now() };
    log.push(entry);
    res.once('close', () => (entry.end = performance.now()));
    const upReq = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers });
    upReq.on('error', () => res.destroy());
    req.on('error', () => upReq.destroy());
    req.pipe(upReq);
    upReq.on('response', (upRes) => {
      const status = upRes.statusCode ?? 502;
      const key = S3Match.keyOf(r);
      // A completed object write: PutObject, or CompleteMultipartUpload (parts and self-copies are not objects written).
      if (status >= 200 && status < 300 && key !== undefined && (S3Match.putObject(r) || (r.method === 'POST' && r.query.has('uploadId')))) {
        writes.set(r.path, (writes.get(r.path) ?? 0) + 1);
      }
      const headers = { ...upRes.headers };
      if (faults.some((f) => f.kind === 'wrongEtag') && headers.etag) headers.etag = '"0123456789abcdef0123456789abcdef"';
      const trunc = faults.find((f): f is Extract<ProxyFault, { kind: 'truncate' }> => f.kind === 'truncate');
      res.writeHead(status, headers);
      if (!trunc) {
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
        return;
      }
      let sent = 0;
      upRes.on('data', (c: Buffer) => {
        if (sent >= trunc.afterBytes) return;
        const part = c.subarray(0, trunc.afterBytes - sent);
        sent += part.length;
        res.write(part);
        if (sent >= trunc.afterBytes) {
          upRes.destroy();
          // Flush what was written, then cut the connection mid-body.
          setTimeout(() => res.socket?.destroy(), 20);
        }
      });
      upRes.on('end', () => res.socket?.destroy());
    });
  };

  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    add(rule) {
      const s = { rule, hits: 0, left: rule.times ?? 1 };
      rules.push(s);
      return {
        get hits() {
          return s.hits;
        },
        remove() {
          s.left = 0;
        },
      };
    },
    clear() {
      for (const s of rules) s.left = 0;
    },
    injected,
    writes,
    log,
    get forwarded() {
      return forwarded;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
