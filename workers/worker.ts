/**
 * Builds a Ferry worker: workflows (prebundled once per process, or from FERRY_WORKFLOW_BUNDLE) plus the
 * activities bound to this worker's credentials, report dir and a control channel to running jobs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities';
import { queryControlSource } from '../activities/control';
import { visibilityLastRoundSource } from '../activities/rounds';
import { installStrayErrorGuard } from '../activities/guard';
import { NON_RETRYABLE_ERROR_NAMES } from '../common/errors';

export const DEFAULT_TASK_QUEUE = 'ferry';

export interface FerryWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Credentials file for profile resolution (`--credentials`). */
  credentialsFile?: string;
  reportDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Concurrent activity executions (batches, planning) on this worker. Default 32. */
  maxConcurrentActivities?: number;
  /** Extra activity dependencies (tests, benchmarks). */
  deps?: Partial<ActivityDeps>;
  /** For the control query inside activities; default: a client over a new connection to the same address. */
  client?: Client;
  /** Address used to create that client when none is given. */
  address?: string;
  tls?: ConnectionOptions['tls'];
  identity?: string;
  shutdownGraceTime?: Duration;
}

let bundle: Promise<{ code: string }> | undefined;

/** The workflow bundle: a prebuilt file (`npm run build` writes dist/workflow-bundle.js) or built once per process. */
export function workflowBundle(): Promise<{ code: string }> {
  // An explicit FERRY_WORKFLOW_BUNDLE is honoured even from sources (the benchmark worker); the default file
  // only from dist/, where `npm run build` keeps it in step with the workflow code.
  const explicit = process.env.FERRY_WORKFLOW_BUNDLE;
  const prebuilt = explicit ?? join(__dirname, '..', 'workflow-bundle.js');
  if (existsSync(prebuilt) && prebuilt.endsWith('.js') && (explicit !== undefined || !__filename.endsWith('.ts'))) {
    bundle ??= import('node:fs').then((fs) => ({ code: fs.readFileSync(prebuilt, 'utf8') }));
  }
  bundle ??= buildWorkflowBundle();
  return bundle;
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error(m: string) { console.error(m); }, log() {} } as unknown as Parameters<typeof bundleWorkflowCode>[0]['logger'];

/**
 * Bundles the workflow code (webpack) for `npm run build`, the benchmark and source runs. The inline source map
 * keeps its mappings (workflow stack traces still name the .ts files and lines) but not the embedded sources:
 * the SDK parses the map in every worker, and the sources cost ~30 MiB of worker memory for nothing.
 */
export async function buildWorkflowBundle(): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
  const m = /\/\/# sourceMappingURL=data:application\/json(?:;charset=utf-8)?;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  if (!m) return { code };
  const map = JSON.parse(Buffer.from(m[1]!, 'base64').toString()) as { sourcesContent?: unknown };
  delete map.sourcesContent;
  return { code: `${code.slice(0, m.index)}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n` };
}

export async function createFerryWorker(opts: FerryWorkerOptions): Promise<Worker> {
  installStrayErrorGuard();
  const namespace = opts.namespace ?? 'default';
  let client = opts.client;
  if (!client) {
    const address = opts.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
    client = new Client({ connection: await Connection.connect({ address, tls: opts.tls }), namespace });
  }
  const activities = createActivities({
    providers: { env: opts.env ?? process.env, credentialsFile: opts.credentialsFile },
    reportDir: opts.reportDir,
    control: queryControlSource(client),
    lastRound: visibilityLastRoundSource(client),
    ...opts.deps,
  });
  const bundleCode = await workflowBundle();
  return Worker.create({
    connection: opts.connection,
    namespace,
    taskQueue: opts.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: bundleCode,
    activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 32,
    maxHeartbeatThrottleInterval: '5s',
    defaultHeartbeatThrottleInterval: '5s',
    shutdownGraceTime: opts.shutdownGraceTime ?? '10s',
  });
}

export { NON_RETRYABLE_ERROR_NAMES };
