/**
 * A static file server (node:http) that serves test objects by URL path, for the `http` source's tests: GET and
 * HEAD, single byte ranges (206/416), ETag (MD5 of the body, quoted), Last-Modified, Content-Type, keep-alive,
 * redirects, and per-key fault knobs (a status, a dropped connection mid-body, Range ignored, no length, HEAD
 * refused, a stall). Object bodies live in files under a temp directory, so large objects stay out of memory.
 *
 * An object's key is its URL path without the leading `/`, percent-decoded — the same rule as the provider, so
 * a key like `trailing-slash/` or `dir//x` is served as such (files on disk are named by number, not by key).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { writeFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { tempDir } from './process';

export interface FixtureObject {
  key: string;
  body: Buffer;
  contentType?: string;
  /** Default: 2024-05-06T07:08:09Z. */
  lastModified?: Date;
}

/** A misbehaviour for requests to one key. */
export interface Fault {
  /** Answer with this status (and `headers`) and a short text body instead of the object. */
  status?: number;
  headers?: Record<string, string>;
  /** Methods the fault applies to. Default both. */
  methods?: readonly ('GET' | 'HEAD')[];
  /** GET: announce the full length, send this many body bytes, then destroy the socket. */
  dropAfterBytes?: number;
  /** GET: answer ranged requests with 200 and the whole body. */
  ignoreRange?: boolean;
  /** Send no Content-Length (HEAD, and GET 200 goes chunked). Ranged GETs still carry Content-Range. */
  noLength?: boolean;
  /** Wait this long before answering. */
  stallMs?: number;
  /**
   * Close the connection without answering when the request arrives on a connection that already served one:
   * what a client sees when a server drops an idle keep-alive connection just as the client reuses it.
   */
  resetIfReused?: boolean;
  /** Apply to the next N matching requests only. Default: until cleared. */
  times?: number;
}

/** One request as the server saw it. */
export interface RequestRecord {
  method: string;
  /** Decoded key, or the raw path when it did not decode. */
  key: string;
  /** The request target as sent (path and query). */
  target: string;
  range?: string;
  /** Number of the TCP connection (1-based) that carried it. */
  connection: number;
}

interface Stored {
  file: string;
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
}

const DEFAULT_LAST_MODIFIED = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));

/** Percent-encodes a key as a URL path: every byte but unreserved characters and `/`. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

export class HttpFixtureServer {
  /** Requests in arrival order. */
  readonly requests: RequestRecord[] = [];
  /** When false, every HEAD is answered 405 Method Not Allowed. */
  headAllowed = true;
  /** Most requests the server was answering at one time. */
  maxInFlight = 0;

  private readonly objects = new Map<string, Stored>();
  private readonly redirects = new Map<string, { location: string; status: number }>();
  private readonly faults = new Map<string, Fault>();
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private inFlight = 0;
  private fileCounter = 0;
  private stopped = false;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** `http://127.0.0.1:<port>` */
    readonly origin: string,
  ) {}

  /** Starts a server on a free loopback port (bound to port 0, so no race with other tests). */
  static async start(): Promise<HttpFixtureServer> {
    const dir = tempDir('http-fixture');
    const ref: { self?: HttpFixtureServer } = {};
    const server = createServer((req, res) => {
      ref.self!.track(res);
      ref.self!.handle(req, res).catch((err: unknown) => {
        if (res.destroyed) return;
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (typeof addr !== 'object' || !addr) throw new Error('fixture server has no address');
    const self = new HttpFixtureServer(server, dir, `http://127.0.0.1:${addr.port}`);
    ref.self = self;
    server.on('connection', (socket: Socket) => {
      const s = self;
      s.connections++;
      (socket as Socket & { ferryConnection?: number }).ferryConnection = s.connections;
      s.sockets.add(socket);
      socket.once('close', () => s.sockets.delete(socket));
    });
    return self;
  }

  /** TCP connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** The URL that serves `key`. */
  url(key: string): string {
    return `${this.origin}/${encodeKeyPath(key)}`;
  }

  async add(obj: FixtureObject): Promise<void> {
    const file = join(this.dir, `${++this.fileCounter}.bin`);
    await writeFile(file, obj.body);
    this.objects.set(obj.key, {
      file,
      size: obj.body.length,
      etag: `"${createHash('md5').update(obj.body).digest('hex')}"`,
      lastModified: obj.lastModified ?? DEFAULT_LAST_MODIFIED,
      contentType: obj.contentType ?? 'application/octet-stream',
    });
  }

  async addAll(objects: readonly FixtureObject[]): Promise<void> {
    for (const o of objects) await this.add(o);
  }

  /** Answers requests for `key` with a redirect to `location` (relative or absolute). */
  redirect(key: string, location: string, status = 302): void {
    this.redirects.set(key, { location, status });
  }

  fault(key: string, fault: Fault): void {
    this.faults.set(key, { ...fault });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private track(res: ServerResponse): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
  }

  private takeFault(key: string, method: string): Fault | undefined {
    const fault = this.faults.get(key);
    if (!fault || !(fault.methods ?? ['GET', 'HEAD']).includes(method as 'GET' | 'HEAD')) return undefined;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) this.faults.delete(key);
    }
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawPath = (req.url ?? '/').replace(/[?#].*$/s, '');
    let key: string;
    let decoded = true;
    try {
      key = decodeURIComponent(rawPath.slice(1));
    } catch {
      key = rawPath;
      decoded = false;
    }
    const range = req.headers.range;
    this.requests.push({ method, key, target: req.url ?? '/', ...(range !== undefined ? { range } : {}), connection: (req.socket as Socket & { ferryConnection?: number }).ferryConnection ?? 0 });
    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(method === 'HEAD' ? undefined : body);
    };
    if (!decoded) return text(400, 'malformed percent-encoding');
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'read-only', { allow: 'GET, HEAD' });

    const socket = req.socket as Socket & { ferryServed?: number };
    const served = socket.ferryServed ?? 0;
    socket.ferryServed = served + 1;
    const fault = this.takeFault(key, method);
    if (fault?.resetIfReused && served > 0) {
      socket.destroy();
      return;
    }
    if (fault?.stallMs) {
      await new Promise((r) => setTimeout(r, fault.stallMs).unref());
      // The client gave up (timeout, abort) or the server stopped meanwhile.
      if (res.destroyed || req.socket.destroyed || this.stopped) return;
    }
    if (fault?.status !== undefined) return text(fault.status, `fault ${fault.status}`, fault.headers);
    if (method === 'HEAD' && !this.headAllowed) return text(405, 'HEAD not allowed', { allow: 'GET' });
    const redirect = this.redirects.get(key);
    if (redirect) return text(redirect.status, 'moved', { location: redirect.location });
    const obj = this.objects.get(key);
    if (!obj) return text(404, 'not found');

    const common: Record<string, string> = {
      etag: obj.etag,
      'last-modified': obj.lastModified.toUTCString(),
      'content-type': obj.contentType,
      'accept-ranges': 'bytes',
    };
    let start = 0;
    let end = obj.size - 1;
    let status = 200;
    const m = range !== undefined && method === 'GET' && !fault?.ignoreRange ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, obj.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(Number(m[2]), obj.size - 1);
      }
      if (start >= obj.size || start > end) {
        return text(416, 'range not satisfiable', { 'content-range': `bytes */${obj.size}` });
      }
      status = 206;
      common['content-range'] = `bytes ${start}-${end}/${obj.size}`;
    }
    const length = obj.size === 0 ? 0 : end - start + 1;
    if (!(fault?.noLength && status === 200)) common['content-length'] = String(length);
    res.writeHead(status, common);
    if (method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(obj.file, { start, end });
    stream.once('error', (err) => res.destroy(err));
    res.once('close', () => stream.destroy());
    if (fault?.dropAfterBytes !== undefined) {
      let sent = 0;
      const limit = fault.dropAfterBytes;
      stream.on('data', (chunk) => {
        const c = chunk as Buffer;
        const part = c.subarray(0, Math.max(0, limit - sent));
        sent += part.length;
        if (sent >= limit) {
          stream.destroy();
          res.write(part, () => res.socket?.destroy());
        } else {
          res.write(part);
        }
      });
      return;
    }
    stream.pipe(res);
  }
}
