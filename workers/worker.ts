/**
 * Builds a Ferry worker: workflows (prebundled once per process, or from FERRY_WORKFLOW_BUNDLE) plus the
 * activities bound to this worker's credentials, report dir and a control channel to running jobs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker, NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities';
import { queryControlSource } from '../activities/control';
import { visibilityLastRoundSource } from '../activities/rounds';
import { heapGrowth } from '../activities/heap-growth';
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

/** How much V8 lets the old generation grow past what survived the last full GC before the next one: 30 %. */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Caps the worker's old-generation growth between full GCs at HEAP_GROWING_PERCENT (V8's own factor is up to
 * 4× on a heap this small), unless node was started with its own `--heap-growing-percent` (a V8 flag, not
 * allowed in NODE_OPTIONS: `node --heap-growing-percent=N dist/workers/main.js`). Returns whether it set the cap.
 *
 * A worker's live heap is small and flat (25–30 MB after every mark-compact, at 10⁴ and at 10⁶ keys), but it
 * allocates fast, and V8 lets garbage pile up to several times the live size before collecting. Bench case f's
 * peak RSS from 10⁴ to 10⁶ keys, with the workflow thread's semi-space cap below: 175 → 192 MiB at 30 %,
 * 173 → 196 at 50 %; 180 → 284 with V8's factor and no semi-space cap. Cases a and b measured the same at 30 % and
 * 50 % (README, Performance).
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  heapGrowth.cap(HEAP_GROWING_PERCENT);
  return true;
}

/**
 * Turns V8's concurrent marking off (marking then runs in steps on the thread that allocates), unless node was
 * started with its own `--concurrent-marking` / `--no-concurrent-marking`. Returns whether it turned it off.
 *
 * Streaming a large object makes a 64 KiB socket buffer per read, and V8 starts a marking cycle every few dozen MB
 * of them: about 100 per 2 GiB copied. With concurrent marking, helper threads marked the worker's whole heap
 * again in each cycle. In bench case b (8 × 256 MiB) the worker used 6.7–9.6 CPU-s with them and 3.7–4.2 without
 * (the raw SDK loop 4.2–5.1), and b went from 0.70–0.76× to 0.91× the raw loop's throughput.
 */
export function serialMarking(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--(no-)?concurrent[-_]marking(=|$)/.test(a))) return false;
  setFlagsFromString('--no-concurrent-marking');
  return true;
}

/** The semi-space cap (MB) of the workflow thread's V8 isolate, whose new space is two semi-spaces: 4 MB in all. */
export const WORKFLOW_SEMI_SPACE_MB = 2;

/**
 * Runs `spawn`, which starts the SDK's workflow thread, with V8's `--max-semi-space-size` at WORKFLOW_SEMI_SPACE_MB
 * and sets it back to V8's default (0: sized from the machine's memory) afterwards, unless node was started with
 * its own value (`--max-semi-space-size` on the command line or in NODE_OPTIONS). V8 reads the flag when it
 * creates an isolate: the main thread's heap, where activities allocate fast, keeps its 16 MB semi-spaces, and
 * only isolates created meanwhile get the cap. The workflow thread allocates little (19 scavenges in bench case
 * f's 10⁶-key run), but V8 let its new space grow 16 → 32 MB between the 10⁴- and 10⁶-key runs.
 */
export async function withSmallWorkflowHeap<T>(spawn: () => Promise<T>, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): Promise<T> {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size\b/.test(a))) return spawn();
  setFlagsFromString(`--max-semi-space-size=${WORKFLOW_SEMI_SPACE_MB}`);
  try {
    return await spawn();
  } finally {
    setFlagsFromString('--max-semi-space-size=0');
  }
}

export async function createFerryWorker(opts: FerryWorkerOptions): Promise<Worker> {
  installStrayErrorGuard();
  boundHeapGrowth();
  serialMarking();
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
  return withSmallWorkflowHeap(() =>
    Worker.create({
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
    }),
  );
}

export { NON_RETRYABLE_ERROR_NAMES };
