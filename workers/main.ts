/**
 * Worker process entry (`ferry worker` and `node workers/main.js`): env/flags → validated options →
 * createFerryWorker → run until SIGINT/SIGTERM (graceful: in-flight batches get a last heartbeat).
 *
 * Env: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), FERRY_TASK_QUEUE (ferry),
 * FERRY_CREDENTIALS_FILE, FERRY_REPORT_DIR, FERRY_MAX_ACTIVITIES (32), TEMPORAL_TLS_CERT/_KEY/_CA/_SERVER_NAME,
 * FERRY_WORKER_IDENTITY, FERRY_METRICS_PORT (Prometheus `/metrics`; off unless set).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { NativeConnection, Runtime, DefaultLogger, makeTelemetryFilterString } from '@temporalio/worker';
import { createFerryWorker, DEFAULT_TASK_QUEUE } from './worker';
import { startMetricsServer } from './metrics-server';

export interface WorkerMainOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  credentialsFile?: string;
  reportDir?: string;
  maxConcurrentActivities?: number;
  tls?: { cert?: string; key?: string; ca?: string; serverName?: string };
  identity?: string;
  /** Serve Prometheus metrics on this port (0 = any free port). */
  metricsPort?: number;
}

/** Options from env (flags override in the CLI). Throws a one-line error for bad values. */
export function workerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerMainOptions {
  const max = env.FERRY_MAX_ACTIVITIES ? Number(env.FERRY_MAX_ACTIVITIES) : undefined;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new Error(`FERRY_MAX_ACTIVITIES: must be a positive whole number, got ${JSON.stringify(env.FERRY_MAX_ACTIVITIES)}`);
  const tls = env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA ? { cert: env.TEMPORAL_TLS_CERT, key: env.TEMPORAL_TLS_KEY, ca: env.TEMPORAL_TLS_CA, serverName: env.TEMPORAL_TLS_SERVER_NAME } : undefined;
  const metricsPort = env.FERRY_METRICS_PORT ? Number(env.FERRY_METRICS_PORT) : undefined;
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)) throw new Error(`FERRY_METRICS_PORT: must be a port number (0-65535), got ${JSON.stringify(env.FERRY_METRICS_PORT)}`);
  return {
    metricsPort,
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.FERRY_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    credentialsFile: env.FERRY_CREDENTIALS_FILE,
    reportDir: env.FERRY_REPORT_DIR,
    maxConcurrentActivities: max,
    tls,
    identity: env.FERRY_WORKER_IDENTITY,
  };
}

function tlsConfig(t: WorkerMainOptions['tls']) {
  if (!t) return undefined;
  const read = (p?: string) => (p ? readFileSync(p) : undefined);
  return {
    serverNameOverride: t.serverName,
    serverRootCACertificate: read(t.ca),
    clientCertPair: t.cert && t.key ? { crt: read(t.cert)!, key: read(t.key)! } : undefined,
  };
}

let runtimeInstalled = false;
/**
 * Quiet SDK-core logs (warnings and errors only) unless FERRY_LOG_LEVEL says otherwise; with
 * `prometheusBindAddress`, SDK core also exports its metrics there. Returns false when the runtime was
 * already installed (the first call's options stay in force).
 */
export function installRuntime(opts: { prometheusBindAddress?: string } = {}): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  const level = (process.env.FERRY_LOG_LEVEL ?? 'WARN').toUpperCase() as 'WARN';
  const metrics = opts.prometheusBindAddress ? { metrics: { prometheus: { bindAddress: opts.prometheusBindAddress } } } : {};
  try {
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) }, ...metrics } });
    return true;
  } catch {
    /* already installed by the host process */
    return false;
  }
}

/** Runs a worker until a signal; resolves when it has shut down. */
export async function runWorker(opts: WorkerMainOptions, log: (line: string) => void = (l) => console.error(l)): Promise<void> {
  const metrics = opts.metricsPort !== undefined ? await startMetricsServer(opts.metricsPort) : undefined;
  if (metrics) log(`ferry worker metrics on http://0.0.0.0:${metrics.port}/metrics`);
  installRuntime();
  const tls = tlsConfig(opts.tls);
  const connection = await NativeConnection.connect({ address: opts.address, tls });
  const identity = opts.identity ?? `ferry-worker-${process.pid}@${hostname()}`;
  const worker = await createFerryWorker({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    credentialsFile: opts.credentialsFile,
    reportDir: opts.reportDir,
    maxConcurrentActivities: opts.maxConcurrentActivities,
    address: opts.address,
    tls,
    identity,
  });
  log(`ferry worker ${identity} polling task queue "${opts.taskQueue}" on ${opts.address} (namespace ${opts.namespace})`);
  await worker.run();
  await connection.close();
  await metrics?.close();
}

if (require.main === module) {
  runWorker(workerOptionsFromEnv()).catch((e) => {
    console.error(`ferry worker: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(3);
  });
}
