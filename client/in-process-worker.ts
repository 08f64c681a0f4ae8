/**
 * The worker `ferry run` (and `verify`/`incremental`/`retry`) runs inside the CLI process. The one place that
 * wires the CLI to `workers/worker.ts`.
 */
import { hostname } from 'node:os';
import { NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { createFerryWorker } from '../workers/worker';
import { installRuntime } from '../workers/main';
import { tlsConfig, type ConnectionSettings } from './connection';

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
  installRuntime();
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
