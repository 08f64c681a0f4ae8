/**
 * node:http agents that send requests through the proxies of {@link ProxySettings} (`HTTPS_PROXY`, `HTTP_PROXY`,
 * `NO_PROXY`), for SDKs that take `http.Agent`s (ali-oss's urllib). They route as undici's EnvHttpProxyAgent does
 * for the S3 and HTTP providers, so every provider honours the variables alike. Hand-written because Node 20's
 * http has no proxy support (Node 24's `proxyEnv` agent option does this), undici's agents are no `http.Agent`,
 * and urllib's own proxy option needs the `proxy-agent` package, which is not a dependency.
 *
 * https targets go through a CONNECT tunnel (TLS runs end to end inside it); http targets are sent to the proxy
 * in absolute form (`GET http://host/path`), which proxies that refuse CONNECT to port 80 (squid's default) accept.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ProxySettings } from './proxy-env';
import { InvalidConfigError } from '../../common/errors';

/** How long the proxy may take to answer a CONNECT. */
const TUNNEL_TIMEOUT_MS = 10_000;

/**
 * Agents for `http:` and `https:` targets that route through the proxies of `settings` (https falls back to the
 * http proxy; plain agents for a scheme without one). `opts` are the agents' own options (pool sizes, keep-alive,
 * TLS trust). Throws InvalidConfigError for a proxy that is not an http:// URL (a value without a scheme is one).
 */
export function proxyAwareAgents(settings: ProxySettings, opts: AgentOptions): { http: HttpAgent; https: HttpsAgent } {
  const problems: string[] = [];
  const httpProxy = proxyUrl('HTTP_PROXY', settings.httpProxy, problems);
  const httpsProxy = proxyUrl('HTTPS_PROXY', settings.httpsProxy, problems) ?? httpProxy;
  if (problems.length) throw new InvalidConfigError(problems);
  return {
    http: httpProxy ? new ForwardingAgent(httpProxy, settings.noProxy, opts) : new HttpAgent(opts),
    https: httpsProxy ? new TunnelingAgent(httpsProxy, settings.noProxy, opts) : new HttpsAgent(opts),
  };
}

function proxyUrl(name: string, raw: string, problems: string[]): URL | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    problems.push(`${name}: not a valid proxy URL`); // the value may hold a password: not echoed
    return undefined;
  }
  if (url.protocol === 'http:') return url;
  problems.push(`${name}: ${url.protocol}// proxies are not supported for this endpoint; use an http:// proxy`);
  return undefined;
}

/**
 * Whether `NO_PROXY` exempts `host:port` (undici's rules): `*`; or an entry, comma or space separated, that is the
 * host or a domain above it (a leading `.` or `*.` is ignored), optionally with a `:port` that must match too.
 */
export function bypassesProxy(noProxy: string, host: string, port: number): boolean {
  const h = (isIP(host) === 6 ? `[${host}]` : host).toLowerCase();
  if (noProxy === '*') return true;
  return noProxy.split(/[,\s]/).filter(Boolean).some((entry) => {
    const m = /^(.+):(\d+)$/.exec(entry);
    const name = (m ? m[1]! : entry).replace(/^\*?\./, '').toLowerCase();
    if (m && Number(m[2]) !== port) return false;
    return h === name || h.endsWith(`.${name}`);
  });
}

/** Node's hook between a request and its socket (public in practice: http-proxy-agent uses it; untyped). */
const baseAddRequest = (HttpAgent.prototype as unknown as { addRequest(req: ClientRequest, options: RequestOptions): void }).addRequest;

/** Sends http requests to the proxy in absolute form, on a keep-alive pool of connections to the proxy. */
class ForwardingAgent extends HttpAgent {
  constructor(
    private readonly proxy: URL,
    private readonly noProxy: string,
    opts: AgentOptions,
  ) {
    super(opts);
  }

  /** Called before the request line is written, so the path can still become an absolute URL. */
  addRequest(req: ClientRequest, options: RequestOptions): void {
    const host = options.host ?? 'localhost';
    const port = Number(options.port) || 80;
    if (bypassesProxy(this.noProxy, host, port)) return baseAddRequest.call(this, req, options);
    req.path = `http://${isIP(host) === 6 ? `[${host}]` : host}${port === 80 ? '' : `:${port}`}${req.path}`;
    const auth = proxyAuthorization(this.proxy);
    if (auth) req.setHeader('proxy-authorization', auth);
    baseAddRequest.call(this, req, { ...options, host: proxyHost(this.proxy), hostname: proxyHost(this.proxy), port: proxyPort(this.proxy) });
  }
}

/** Opens each https connection through a CONNECT tunnel and runs TLS with the target inside it. */
class TunnelingAgent extends HttpsAgent {
  constructor(
    private readonly proxy: URL,
    private readonly noProxy: string,
    opts: AgentOptions,
  ) {
    super(opts);
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port) || 443;
    if (bypassesProxy(this.noProxy, host, port)) return super.createConnection(options, callback);
    // Node's Agent always passes `callback`: the socket arrives through it once the tunnel stands.
    openTunnel(this.proxy, host, port, (err, socket) => {
      if (err) callback!(err, undefined as unknown as Duplex);
      else callback!(null, tlsConnect({ ...(options as ConnectionOptions), socket }));
    });
    return undefined;
  }
}

/** Asks the proxy for `CONNECT host:port`; hands over the raw socket once it answers 200. */
function openTunnel(proxy: URL, host: string, port: number, done: (err: Error | null, socket?: Socket) => void): void {
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const auth = proxyAuthorization(proxy);
  const headers: Record<string, string> = { host: authority, ...(auth ? { 'proxy-authorization': auth } : {}) };
  const req = httpRequest({ host: proxyHost(proxy), port: proxyPort(proxy), method: 'CONNECT', path: authority, headers, agent: false, timeout: TUNNEL_TIMEOUT_MS });
  let settled = false;
  const finish = (err: Error | null, socket?: Socket) => {
    if (settled) return;
    settled = true;
    done(err, socket);
  };
  req.once('connect', (res, socket: Socket, head: Buffer) => {
    socket.setTimeout(0); // the tunnel's owner sets its own timeouts from here on
    if (res.statusCode !== 200) {
      socket.destroy();
      finish(new Error(`proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${res.statusCode}`));
      return;
    }
    if (head.length) socket.unshift(head);
    finish(null, socket);
  });
  req.once('timeout', () => req.destroy(new Error(`proxy ${proxy.host} did not answer CONNECT ${authority} within ${TUNNEL_TIMEOUT_MS} ms`)));
  req.once('error', (e) => finish(e));
  req.end();
}

function proxyHost(proxy: URL): string {
  return proxy.hostname.replace(/^\[|\]$/g, '');
}

function proxyPort(proxy: URL): number {
  return Number(proxy.port) || 80;
}

/** `Basic` credentials from a proxy URL's user info, as curl sends them. */
function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(user).toString('base64')}`;
}
