/**
 * A lean HTTP/1.1 client for one origin: the transport of the s3 provider's requests to custom endpoints
 * (`s3-http.ts`). Keep-alive sockets, at most `maxSockets` of them, reused last-in first-out; requests beyond that
 * wait their turn. Bodies are Buffers, strings or streams of a declared `content-length`; responses are framed by
 * content-length, chunked transfer coding or the connection's end, and their bodies are streams with
 * back-pressure (a full stream pauses the socket).
 *
 * Why not node:http: for a 16 KiB GET and PUT pair against a canned server in another process, node:http's
 * ClientRequest, IncomingMessage, agent and parser bindings cost the client 148–153 µs of CPU and this 61 µs
 * (`npx tsx bench/http-client.ts`). With the storage servers on the same cores, that CPU is wall time in
 * small-object jobs. node:http's parser also copies every body chunk once more (its `on_body`); here a body chunk
 * is a slice of the socket's own read.
 *
 * Errors are node:http's where there is one: `socket hang up` / `aborted` (code ECONNRESET) when the connection
 * ends before the response or its body does; `TimeoutError` (code ETIMEDOUT) when a socket in use is idle longer
 * than the request's timeout; the signal's AbortError; TypeError ERR_INVALID_CHAR / ERR_INVALID_HTTP_TOKEN for a
 * header a server must never see (a CR or LF in a metadata value would split the request).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { abortError } from '../../common/errors';

export interface Http1Request {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names; `host` and, with a body, `content-length` included by the caller. */
  headers: Record<string, string>;
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
  connectTimeoutMs: number;
  /** Socket idle time after which the request, or its response body, fails with a timeout. */
  timeoutMs: number;
}

export interface Http1Response {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what}: no response for ${ms / 1000}s`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

const resetError = (message: string) => Object.assign(new Error(message), { code: 'ECONNRESET' });
const parseError = (message: string) => Object.assign(new Error(`HTTP parse error: ${message}`), { code: 'ERR_HTTP_PARSE' });

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const MAX_HEAD_BYTES = 64 * 1024;
/**
 * Bytes one socket read takes at most (plain connections; TLS ones read as node does). node's own reads stop at
 * 64 KiB, and every read costs the same JS and syscalls whatever its size (the body stream, the copy's tap, the
 * destination socket's write), while a busy loopback socket holds far more. Client CPU per GiB of 16 MiB GETs
 * streamed into PUTs (`npx tsx bench/http-client.ts --large`): 0.84–1.36 s with 64 KiB reads, 0.60–0.93 s with
 * 128 KiB, 0.59–0.73 s with 256 KiB; b's worker peaked at 187–209 MiB with 128 KiB and 199–228 MiB with 256 KiB.
 */
const READ_BUFFER_BYTES = 128 * 1024;
/** Headers of which node:http keeps the first of several (the rest join with `, `, set-cookie collects). */
const FIRST_WINS = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/** The request line and headers; a header node:http would refuse is refused the same way. */
function requestHead(method: string, path: string, headers: Record<string, string>): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
    if (INVALID_VALUE.test(value)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** Status and headers of a response head (`text` without its closing blank line). */
function parseHead(text: string): { statusCode: number; headers: IncomingHttpHeaders; close: boolean } {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
  if (!status) throw parseError(`bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers: Record<string, string | string[]> = {};
  let last: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line[0] === ' ' || line[0] === '\t') {
      // obsolete line folding: a continuation of the previous header
      if (last === undefined || Array.isArray(headers[last])) throw parseError('folded header line');
      headers[last] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw parseError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw parseError(`bad header name ${JSON.stringify(name.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    if (name === 'set-cookie') headers[name] = prev ? [...(prev as string[]), value] : [value];
    else if (prev === undefined) headers[name] = value;
    else if (name === 'content-length') {
      if (prev !== value) throw parseError('conflicting content-length headers');
    } else if (!FIRST_WINS.has(name)) headers[name] = `${prev as string}, ${value}`;
    last = name;
  }
  const connection = String(headers.connection ?? '').toLowerCase();
  const close = status[1] === '0' ? !/keep-alive/.test(connection) : /close/.test(connection);
  return { statusCode: Number(status[2]), headers: headers as IncomingHttpHeaders, close };
}

/** A request body with bytes in it (a stream may have some). */
function hasBytes(body: Http1Request['body']): boolean {
  if (body === undefined) return false;
  if (typeof body === 'string') return body.length > 0;
  return Buffer.isBuffer(body) ? body.length > 0 : true;
}

/** A response body: the connection pushes socket slices; a full buffer pauses the socket until it is read. */
class ResponseBody extends Readable {
  constructor(private readonly conn: Conn) {
    // while the reader keeps up (a pipe), reads go straight through; this only bounds what an idle reader leaves
    super({ highWaterMark: 64 * 1024 });
  }
  override _read(): void {
    this.conn.bodyRead(this);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.conn.bodyDestroyed(this);
    cb(err);
  }
}

/** One request/response on a connection. */
interface Exchange {
  method: string;
  /** Path and query, for error messages (`what`). */
  path: string;
  timeoutMs: number;
  resolve: (r: Http1Response) => void;
  reject: (e: Error) => void;
  body?: ResponseBody;
  /** Writing the request is over: all of it was written, or its body stream stopped early. */
  sent: boolean;
  /** The response body was read to its end. */
  received: boolean;
  reusable: boolean;
  /** The request has a body (a server may answer before reading all of it). */
  hasBody: boolean;
  source?: Readable;
  signal?: AbortSignal;
  connectTimer?: NodeJS.Timeout;
}

/** `METHOD /path` of an exchange, for its errors (built only when one happens). */
const what = (x: Exchange) => `${x.method} ${x.path.split('?')[0]}`;

/** Body framing: bytes left (`length`), chunked, or until the connection ends. */
type Framing = { kind: 'length'; left: number } | { kind: 'chunked'; left: number; line: string; state: 'size' | 'data' | 'data-crlf' | 'trailer' } | { kind: 'close' };

class Conn {
  readonly socket: Socket;
  private x: Exchange | undefined;
  private pending: Buffer | undefined;
  private framing: Framing | undefined;
  private error: Error | undefined;
  private readonly tls: boolean;
  private readBuffer: Buffer | undefined;

  constructor(
    private readonly pool: Http1Pool,
    origin: { https: boolean; host: string; port: number },
  ) {
    this.tls = origin.https;
    // Plain connections read into a buffer of their own, up to READ_BUFFER_BYTES at a time, not node's 64 KiB. TLS
    // hands on one 16 KiB record per read whichever way it is read (onread included), so it keeps 'data'.
    if (origin.https) {
      this.socket = tlsConnect({ host: origin.host, port: origin.port, servername: isIP(origin.host) ? undefined : origin.host, ALPNProtocols: ['http/1.1'] });
      this.socket.on('data', (d: Buffer) => this.onData(d));
    } else {
      const onread = {
        buffer: () => (this.readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)),
        callback: (n: number) => {
          this.onData(this.taken(n));
          return true;
        },
      };
      this.socket = netConnect({ host: origin.host, port: origin.port, onread });
    }
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 10_000);
    this.socket.on('error', (e) => (this.error ??= e));
    this.socket.on('timeout', () => (this.x ? this.fail(timeoutError(what(this.x), this.x.timeoutMs)) : this.socket.destroy()));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.onClose());
  }

  /**
   * The `n` bytes just read: a large read keeps the buffer (the next read gets a new one), a small one is copied out
   * of it, so a read never holds more than twice its size.
   */
  private taken(n: number): Buffer {
    const buf = this.readBuffer!;
    if (n < READ_BUFFER_BYTES / 2) return Buffer.from(buf.subarray(0, n));
    this.readBuffer = undefined;
    return buf.subarray(0, n);
  }

  /** Sends `head` (and `body`) and resolves with the response once its head arrived. */
  start(head: string, o: Http1Request): Promise<Http1Response> {
    return new Promise<Http1Response>((resolve, reject) => {
      const x: Exchange = { method: o.method, path: o.path, timeoutMs: o.timeoutMs, resolve, reject, sent: false, received: false, reusable: true, hasBody: hasBytes(o.body), signal: o.signal };
      this.x = x;
      this.framing = undefined;
      this.pending = undefined;
      const s = this.socket;
      s.setTimeout(o.timeoutMs);
      if (s.connecting) {
        x.connectTimer = setTimeout(() => this.fail(timeoutError(`${what(x)} (connect)`, o.connectTimeoutMs)), o.connectTimeoutMs);
        s.once(this.tls ? 'secureConnect' : 'connect', () => clearTimeout(x.connectTimer));
      }
      if (o.signal) {
        // aborted while it waited for this socket
        if (o.signal.aborted) return this.fail(abortError(o.signal));
        requestsOf(o.signal).add(this);
      }
      const body = o.body;
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        s.cork();
        s.write(head, 'latin1');
        s.write(body);
        s.uncork();
      } else if (body === undefined) s.write(head, 'latin1');
      else return this.pump(x, head, body, Number(o.headers['content-length']));
      x.sent = true;
    });
  }

  /** Streams `source` after `head`: exactly `length` bytes, paused while the socket's buffer is full. */
  private pump(x: Exchange, head: string, source: Readable, length: number): void {
    const s = this.socket;
    x.source = source;
    s.write(head, 'latin1');
    let sent = 0;
    const onData = (c: Buffer) => {
      sent += c.length;
      if (sent > length) return this.fail(new Error(`${what(x)}: request body longer than its content-length ${length}`));
      if (!s.write(c)) source.pause();
    };
    const onDrain = () => source.resume();
    const onEnd = () => {
      done();
      if (sent !== length) this.fail(new Error(`${what(x)}: request body ended after ${sent} of ${length} bytes`));
      else x.sent = true;
      this.settle(x);
    };
    const onError = (e: Error) => {
      done();
      this.fail(e);
    };
    const onClose = () => {
      // Destroyed before its end: after an early answer (an error while the body was still going out), the caller
      // gives up on the upload, and the socket, which the server may still read the rest from, is not reused.
      // Before any answer, the request can never complete.
      done();
      if (x.sent || this.x !== x) return;
      x.reusable = false;
      x.sent = true;
      if (!x.body) this.fail(Object.assign(new Error(`${what(x)}: request body closed after ${sent} of ${length} bytes`), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      else this.settle(x);
    };
    const done = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      s.off('drain', onDrain);
    };
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    source.once('close', onClose);
    s.on('drain', onDrain);
    source.resume();
  }

  private onData(d: Buffer): void {
    const x = this.x;
    if (!x || x.received) {
      // bytes nobody asked for: the connection is out of step
      this.socket.destroy();
      return;
    }
    if (!this.framing) {
      const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
      this.pending = undefined;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) return this.fail(parseError('response head larger than 64 KiB'));
        this.pending = buf;
        return;
      }
      let head: ReturnType<typeof parseHead>;
      try {
        head = parseHead(buf.toString('latin1', 0, end));
      } catch (e) {
        return this.fail(e as Error);
      }
      const rest = buf.subarray(end + 4);
      if (head.statusCode < 200) {
        // 100 Continue and other interim answers: the real head follows
        if (rest.length > 0) this.onData(rest);
        return;
      }
      // After an error answer to a request with a body, the server may not have read all of it, and what it left
      // unread would come before the next request on this socket.
      if (head.close || (x.hasBody && head.statusCode >= 300)) x.reusable = false;
      const te = head.headers['transfer-encoding'];
      const cl = head.headers['content-length'];
      if (x.method === 'HEAD' || head.statusCode === 204 || head.statusCode === 304) this.framing = { kind: 'length', left: 0 };
      else if (te !== undefined) {
        if (!/(^|,)\s*chunked\s*$/i.test(te)) return this.fail(parseError(`unsupported transfer-encoding ${te}`));
        this.framing = { kind: 'chunked', left: 0, line: '', state: 'size' };
      } else if (cl !== undefined) {
        if (!/^\d{1,15}$/.test(cl)) return this.fail(parseError(`bad content-length ${JSON.stringify(cl)}`));
        this.framing = { kind: 'length', left: Number(cl) };
      } else {
        this.framing = { kind: 'close' };
        x.reusable = false;
      }
      x.body = new ResponseBody(this);
      x.resolve({ statusCode: head.statusCode, headers: head.headers, body: x.body });
      if (this.framing.kind === 'length' && this.framing.left === 0) return this.bodyEnd(x);
      if (rest.length === 0) return;
      d = rest;
    }
    this.deliver(x, d);
  }

  /** Body bytes of the current response, framed. */
  private deliver(x: Exchange, d: Buffer): void {
    const f = this.framing!;
    if (f.kind === 'close') return this.push(x, d);
    if (f.kind === 'length') {
      if (d.length > f.left) {
        // more than the response holds: keep the body, drop the connection
        x.reusable = false;
        d = d.subarray(0, f.left);
      }
      f.left -= d.length;
      this.push(x, d);
      if (f.left === 0) this.bodyEnd(x);
      return;
    }
    let i = 0;
    while (i < d.length && this.x === x && !x.received) {
      if (f.state === 'data') {
        const n = Math.min(f.left, d.length - i);
        this.push(x, i === 0 && n === d.length ? d : d.subarray(i, i + n));
        i += n;
        f.left -= n;
        if (f.left === 0) f.state = 'data-crlf';
        continue;
      }
      // a line: chunk size, the CRLF after a chunk's data, or a trailer
      const nl = d.indexOf(10, i);
      const part = d.toString('latin1', i, nl < 0 ? d.length : nl);
      i = nl < 0 ? d.length : nl + 1;
      f.line += part;
      if (f.line.length > 4096) return this.fail(parseError('chunk line too long'));
      if (nl < 0) return;
      const line = f.line.replace(/\r$/, '');
      f.line = '';
      if (f.state === 'data-crlf') {
        if (line !== '') return this.fail(parseError('missing CRLF after a chunk'));
        f.state = 'size';
      } else if (f.state === 'size') {
        const m = /^([0-9a-fA-F]{1,12})\s*(;.*)?$/.exec(line);
        if (!m) return this.fail(parseError(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`));
        f.left = parseInt(m[1]!, 16);
        f.state = f.left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        if (i < d.length) x.reusable = false;
        return this.bodyEnd(x);
      }
    }
  }

  private push(x: Exchange, d: Buffer): void {
    if (d.length > 0 && !x.body!.push(d)) this.socket.pause();
  }

  private bodyEnd(x: Exchange): void {
    x.received = true;
    x.body!.push(null);
    this.settle(x);
  }

  /** The exchange is over once its request was sent and its response received: the socket goes back to the pool. */
  private settle(x: Exchange): void {
    if (this.x !== x || !x.sent || !x.received) return;
    this.detach(x);
    if (!x.reusable || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.resume();
    this.pool.release(this);
  }

  private detach(x: Exchange): void {
    if (x.connectTimer) clearTimeout(x.connectTimer);
    if (x.signal) inFlight.get(x.signal)?.delete(this);
    this.x = undefined;
  }

  /** Fails the current exchange: its promise, or its body once the response came; the socket is not reused. */
  fail(e: Error): void {
    const x = this.x;
    this.socket.destroy();
    if (!x) return;
    this.detach(x);
    if (x.source && !x.sent) x.source.destroy();
    if (!x.body) x.reject(e);
    else if (!x.received) x.body.destroy(e);
  }

  bodyRead(body: ResponseBody): void {
    if (this.x?.body === body) this.socket.resume();
  }

  /** The caller dropped a body before its end: the rest will never be read, so the connection cannot be reused. */
  bodyDestroyed(body: ResponseBody): void {
    const x = this.x;
    if (x?.body === body && !x.received) {
      this.detach(x);
      if (x.source && !x.sent) x.source.destroy();
      this.socket.destroy();
    }
  }

  private onEnd(): void {
    const x = this.x;
    if (x?.body && this.framing?.kind === 'close' && !x.received) this.bodyEnd(x);
  }

  private onClose(): void {
    const x = this.x;
    if (x) this.fail(this.error ?? resetError(x.body ? 'aborted' : 'socket hang up'));
    this.pool.closed(this);
  }
}

/** Requests in flight by the AbortSignal that cancels them: one `abort` listener per signal (a batch's), not per request. */
const inFlight = new WeakMap<AbortSignal, Set<Conn>>();

function requestsOf(signal: AbortSignal): Set<Conn> {
  const conns = inFlight.get(signal);
  if (conns) return conns;
  const all = new Set<Conn>();
  inFlight.set(signal, all);
  signal.addEventListener(
    'abort',
    () => {
      for (const c of [...all]) c.fail(abortError(signal));
      all.clear();
    },
    { once: true },
  );
  return all;
}

export class Http1Pool {
  private readonly origin: { https: boolean; host: string; port: number };
  private readonly idle: Conn[] = [];
  private readonly waiting: { take: (c: Conn | undefined) => void }[] = [];
  private open = 0;
  private destroyed = false;

  /** `idleMs`: an unused socket is closed after this long (under common server keep-alive timeouts). */
  constructor(
    url: URL,
    private readonly maxSockets: number,
    private readonly idleMs = 5_000,
  ) {
    const https = url.protocol === 'https:';
    this.origin = { https, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (https ? 443 : 80) };
  }

  /** Sends a request; resolves with the response once its head arrived (any status). */
  async request(o: Http1Request): Promise<Http1Response> {
    if (o.signal?.aborted) throw abortError(o.signal);
    const head = requestHead(o.method, o.path, o.headers);
    const conn = await this.acquire(o.signal);
    return conn.start(head, o);
  }

  /** An idle socket, a new one, or the next one to come free when `maxSockets` are in use. */
  private acquire(signal: AbortSignal | undefined): Promise<Conn> {
    if (this.destroyed) return Promise.reject(new Error('the HTTP connection pool was closed'));
    const reused = this.idle.pop();
    if (reused) return Promise.resolve(reused);
    if (this.open < this.maxSockets) {
      this.open++;
      return Promise.resolve(new Conn(this, this.origin));
    }
    return new Promise<Conn>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError(signal!));
      };
      const w = {
        take: (c: Conn | undefined) => {
          signal?.removeEventListener('abort', onAbort);
          if (c) resolve(c);
          else if (this.destroyed) reject(new Error('the HTTP connection pool was closed'));
          else {
            this.open++;
            resolve(new Conn(this, this.origin));
          }
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  /** A socket whose exchange ended cleanly: to the next waiting request, else idle. */
  release(c: Conn): void {
    const w = this.waiting.shift();
    if (w) return w.take(c);
    if (this.destroyed) return void c.socket.destroy();
    c.socket.setTimeout(this.idleMs);
    this.idle.push(c);
  }

  /** A socket closed: a waiting request may open a new one. */
  closed(c: Conn): void {
    this.open--;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const w = this.waiting.shift();
    if (w) w.take(undefined);
  }

  destroy(): void {
    this.destroyed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
    for (const w of this.waiting.splice(0)) w.take(undefined);
  }
}
