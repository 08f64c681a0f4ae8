/**
 * toxiproxy (TCP-level faults) for tests: `toxiproxy-server` on a free loopback port, started and stopped by
 * pid, with its HTTP/JSON API wrapped for proxies and toxics (latency, bandwidth, reset_peer, timeout,
 * limit_data, slicer, …). SigV4 stays valid through it: toxiproxy forwards bytes, never rewrites `Host`.
 */
import { freePort, httpOk, spawnManaged, startOnFreshPorts, type Spawned, toolPath, waitUntil, type ManagedProcess } from './process';

/** A toxic as the toxiproxy API takes it (see temporal-notes.md §13). */
export interface Toxic {
  name?: string;
  type: 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'limit_data' | 'slicer' | 'slow_close' | 'down';
  stream?: 'upstream' | 'downstream';
  /** Probability 0..1 that a connection gets the toxic (default 1). */
  toxicity?: number;
  attributes?: Record<string, number>;
}

export interface ToxiProxy {
  name: string;
  /** `127.0.0.1:PORT` clients connect to. */
  listen: string;
  port: number;
  /** `http://127.0.0.1:PORT` — for an HTTP endpoint behind the proxy. */
  endpoint: string;
  addToxic(t: Toxic): Promise<string>;
  removeToxic(name: string): Promise<void>;
  /** Enables or disables the whole proxy (disabled = connections refused/closed). */
  setEnabled(enabled: boolean): Promise<void>;
}

export interface ToxiproxyServer {
  api: string;
  process: ManagedProcess;
  /** A proxy listening on a free loopback port in front of `upstream` (`host:port`). */
  createProxy(name: string, upstream: string): Promise<ToxiProxy>;
  /** Removes every toxic of every proxy and re-enables them. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function call(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  // Removing toxics waits for the connections they hold (hundreds under load): allow a minute, and say which call.
  const res = await fetch(`${api}${path}`, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  }).catch((e: unknown) => {
    throw new Error(`toxiproxy ${method} ${path}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Starts `toxiproxy-server` on a free loopback port; resolves when `GET /version` answers 200. */
export function startToxiproxy(): Promise<ToxiproxyServer> {
  return startOnFreshPorts(startToxiproxyOnce);
}

async function startToxiproxyOnce(spawned: Spawned): Promise<ToxiproxyServer> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const proc = spawned(spawnManaged({ name: 'toxiproxy', command: toolPath('toxiproxy-server'), args: ['-host', '127.0.0.1', '-port', String(port)] }));
  await waitUntil(proc, 'toxiproxy', () => httpOk(`${api}/version`));
  let seq = 0;
  const names: string[] = [];
  return {
    api,
    process: proc,
    async createProxy(name, upstream) {
      const lp = await freePort();
      const listen = `127.0.0.1:${lp}`;
      await call(api, 'POST', '/proxies', { name, listen, upstream, enabled: true });
      names.push(name);
      return {
        name,
        listen,
        port: lp,
        endpoint: `http://${listen}`,
        async addToxic(t) {
          const toxicName = t.name ?? `${t.type}-${++seq}`;
          await call(api, 'POST', `/proxies/${name}/toxics`, { name: toxicName, type: t.type, stream: t.stream ?? 'downstream', toxicity: t.toxicity ?? 1, attributes: t.attributes ?? {} });
          return toxicName;
        },
        async removeToxic(toxicName) {
          await call(api, 'DELETE', `/proxies/${name}/toxics/${toxicName}`);
        },
        async setEnabled(enabled) {
          await call(api, 'POST', `/proxies/${name}`, { enabled });
        },
      };
    },
    async reset() {
      // Removing a toxic waits for the connections stuck in it (a `timeout` toxic holds them), and toxiproxy's API
      // answers 503 when that takes too long. Disabling a proxy first closes its connections; then reset, retrying.
      for (const name of names) await call(api, 'POST', `/proxies/${name}`, { enabled: false }).catch(() => undefined);
      for (let attempt = 1; ; attempt++) {
        try {
          await call(api, 'POST', '/reset');
          return;
        } catch (e) {
          if (attempt >= 4) throw e;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    },
    stop: () => proc.stop(),
  };
}
