/**
 * `ferry worker`: a worker process for distributed mode. Flags override the environment that
 * `workers/main.ts` reads (TEMPORAL_*, FERRY_TASK_QUEUE, FERRY_CREDENTIALS_FILE, FERRY_REPORT_DIR,
 * FERRY_MAX_ACTIVITIES). Runs until SIGINT/SIGTERM; in-flight batches heartbeat their position on the way out.
 */
import { hostname } from 'node:os';
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { workerOptionsFromEnv } from '../../workers/main';
import { ExitCode } from '../errors';
import { reportDirFor, withSession } from '../runner';
import { startInProcessWorker } from '../in-process-worker';
import { startMetricsServer } from '../../workers/metrics-server';

export async function workerCommand(opts: CliOptions, io: Io): Promise<number> {
  const fromEnv = workerOptionsFromEnv(io.env);
  // The session fails fast (exit 3, with the fix) on a wrong address instead of a worker retrying forever.
  const metricsPort = opts.metricsPort ?? fromEnv.metricsPort;
  // Before the session connects: the SDK runtime (with its metrics exporter) is installed once per process.
  const metrics = metricsPort !== undefined ? await startMetricsServer(metricsPort) : undefined;
  if (metrics) io.err(`ferry worker metrics on http://0.0.0.0:${metrics.port}/metrics`);
  try {
    return await serveWorker(opts, io, fromEnv);
  } finally {
    await metrics?.close();
  }
}

async function serveWorker(opts: CliOptions, io: Io, fromEnv: ReturnType<typeof workerOptionsFromEnv>): Promise<number> {
  return withSession(opts, io, 'connect', async (s) => {
    const identity = opts.identity ?? fromEnv.identity ?? `ferry-worker-${process.pid}@${hostname()}`;
    const worker = await startInProcessWorker(s.settings, s.client, {
      credentialsFile: opts.credentials ?? fromEnv.credentialsFile,
      reportDir: reportDirFor(opts, io, s.dataDir),
      maxActivities: opts.maxActivities ?? fromEnv.maxConcurrentActivities,
      identity,
    });
    io.err(`ferry worker ${identity} polling task queue "${s.settings.taskQueue}" on ${s.settings.address} (namespace ${s.settings.namespace}); Ctrl-C stops it gracefully.`);
    const unsubscribe = io.onSignal((signal) => {
      io.err(`${signal}: stopping the worker; in-flight batches save their position…`);
      void worker.shutdown();
    });
    try {
      await worker.running;
    } finally {
      unsubscribe();
    }
    io.err('ferry worker stopped.');
    return ExitCode.ok;
  });
}
