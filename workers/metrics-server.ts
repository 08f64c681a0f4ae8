/**
 * The worker's Prometheus endpoint (`ferry worker --metrics-port N`, env FERRY_METRICS_PORT): one port,
 * `GET /metrics` answers the Temporal SDK runtime metrics (task slots, poll latencies, activity and workflow
 * task counts — exported by SDK core on a private loopback port) followed by Ferry's own (activities/metrics.ts).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { ferryMetrics } from '../activities/metrics';
import { installRuntime } from './main';

export interface MetricsServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Where SDK core exports its own metrics, or undefined when the runtime was installed before (no SDK metrics). */
  sdkMetricsAddress?: string;
  close(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Installs the SDK runtime with its Prometheus exporter and serves the combined metrics on `port` (0 = any).
 * Call before any other worker code creates a connection (the runtime is installed once per process).
 * `host` defaults to 0.0.0.0 so a scraper on another machine or container can reach it.
 */
export async function startMetricsServer(port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  const installed = installRuntime({ prometheusBindAddress: sdkMetricsAddress });
  const sdkUrl = installed ? `http://${sdkMetricsAddress}/metrics` : undefined;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || !(req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    void (async () => {
      let sdk = '';
      if (sdkUrl) {
        try {
          sdk = await (await fetch(sdkUrl, { signal: AbortSignal.timeout(2000) })).text();
        } catch {
          sdk = '# SDK runtime metrics unavailable\n';
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(sdk + (sdk && !sdk.endsWith('\n') ? '\n' : '') + ferryMetrics.renderPrometheus());
    })();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    sdkMetricsAddress: installed ? sdkMetricsAddress : undefined,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
