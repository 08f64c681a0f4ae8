/**
 * The worker `ferry run` (and `verify`/`incremental`/`retry`) runs inside the CLI process. The one place that
 * wires the CLI to `workers/worker.ts`.
 */
import { hostname } from 'node:os';
import { NativeConnection, Runtime, DefaultLogger, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { createFerryWorker } from '../workers/worker';
import { installRuntime } from '../workers/main';
import { tlsConfig, type ConnectionSettings } from './connection';
import { errorMessage } from '../common/errors';

/**
 * The SDK logs every failed activity attempt at WARN with the error's stack. In the CLI that is what the user
 * sees on stderr (a bad bucket name printed a stack trace), so the in-process worker logs one line per entry
 * with the error's message; FERRY_LOG_LEVEL=DEBUG (or TRACE) brings the stacks back.
 */
function installCliRuntime(): void {
  const level = (process.env.FERRY_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  const verbose = level === 'DEBUG' || level === 'TRACE';
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (e) => {
        const err = e.meta?.error;
        const what = typeof e.meta?.activityType === 'string' ? ` (${e.meta.activityType})` : '';
        const detail = err === undefined ? '' : `: ${verbose && err instanceof Error ? err.stack : errorMessage(err)}`;
        process.stderr.write(`${new Date(Number(e.timestampNanos / 1_000_000n)).toISOString()} [${e.level}] ${e.message}${what}${detail}\n`);
      }),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) } },
    });
  } catch {
    /* already installed by the host process */
  }
}

export interface InProcessWorker {
  /** Settles when the worker has stopped (rejects if it crashed). */
  running: Promise<void>;
  /** Graceful shutdown: in-flight batches get cancelled and heartbeat their position; resolves when stopped. */
  shutdown(): Promise<void>;
}

export async function startInProcessWorker(
  settings: ConnectionSettings,
  client: Client,
  opts: { credentialsFile?: string; reportDir: string; maxActivities?: number; identity?: string; shutdownGraceTime?: Duration },
): Promise<InProcessWorker> {
  installCliRuntime();
  installRuntime(); // a no-op after installCliRuntime; keeps the shared bookkeeping in workers/main.ts
  const connection = await NativeConnection.connect({ address: settings.address, tls: tlsConfig(settings.tls), apiKey: settings.apiKey });
  let worker;
  try {
    worker = await createFerryWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      credentialsFile: opts.credentialsFile,
      reportDir: opts.reportDir,
      maxConcurrentActivities: opts.maxActivities,
      client,
      identity: opts.identity ?? `ferry-run-${process.pid}@${hostname()}`,
      ...(opts.shutdownGraceTime !== undefined ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
    });
  } catch (e) {
    await connection.close().catch(() => undefined);
    throw e;
  }
  const w = worker;
  const running = w.run().finally(() => connection.close().catch(() => undefined));
  running.catch(() => undefined); // observed by the caller; avoid an unhandled rejection before it awaits
  return {
    running,
    async shutdown() {
      if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch(() => undefined);
    },
  };
}
