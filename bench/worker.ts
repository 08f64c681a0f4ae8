/**
 * Benchmark-only worker process: the product worker (createFerryWorker) with two additions that never reach
 * production: every S3 request is counted (S3ProviderOptions.onRequest) and reported to the harness over IPC,
 * and fs paths under `/synthetic/` open synthetic providers (case f: `/synthetic/src/<count>` and a null sink
 * that discards bytes and remembers nothing, so the worker's memory is the only memory that grows).
 *
 * IPC: the harness sends `{ type: 'counts' }` and gets `{ type: 'counts', counts }` (cumulative, per class);
 * the worker sends `{ type: 'ready' }` once it polls. Env as workers/main.ts (TEMPORAL_ADDRESS …).
 */
import { Readable } from 'node:stream';
import { NativeConnection } from '@temporalio/worker';
import { createFerryWorker } from '../workers/worker';
import { installRuntime } from '../workers/main';
import { openProvider } from '../storage/registry';
import { openS3Provider } from '../storage/s3/s3';
import type { ObjectProvider, PutResult } from '../storage/provider';
import { PREFLIGHT_PROBE } from '../activities/plan';
import type { EndpointConfig } from '../common/job';
import { syntheticSource } from '../test/support/synthetic';

/** Request classes the harness reads: object data (GET/PUT of a key), and everything else by method. */
export interface RequestCounts {
  dataGet: number;
  dataPut: number;
  other: Record<string, number>;
  /** Wall clock (ms since the epoch) of the last object-data request started; 0 before the first. */
  lastDataAt: number;
  /** Wall clock of the first object-data request after the harness last asked for counts. */
  firstDataAt: number;
}

const counts: RequestCounts = { dataGet: 0, dataPut: 0, other: {}, lastDataAt: 0, firstDataAt: 0 };

/**
 * Classifies one path-style request: `/bucket/key` GET/PUT move object bytes; anything else is overhead, including
 * preflight's write probe (a PUT and a DELETE of a zero-byte object, counted as `probe`).
 */
function countRequest(method: string, path: string): void {
  const hasKey = /^\/[^/]+\/.+/.test(path);
  const probe = hasKey && path.includes(PREFLIGHT_PROBE);
  if (hasKey && !probe && (method === 'GET' || method === 'PUT')) {
    if (method === 'GET') counts.dataGet++;
    else counts.dataPut++;
    counts.lastDataAt = Date.now();
    counts.firstDataAt ||= counts.lastDataAt;
  } else {
    const k = `${method} ${probe ? 'probe' : hasKey ? 'object' : 'bucket'}`;
    counts.other[k] = (counts.other[k] ?? 0) + 1;
  }
}

/** A sink that accepts every put and keeps nothing (lists empty). */
function nullSink(): ObjectProvider {
  const src = syntheticSource(0, 0);
  return {
    ...src,
    endpointId: 'null-sink',
    bucket: 'null',
    capabilities: { ...src.capabilities, writable: true },
    async list() {
      return { objects: [] };
    },
    async put(_key, body): Promise<PutResult> {
      if (!Buffer.isBuffer(body)) for await (const _ of body as Readable) void _;
      // An object written counts as object data (the scale case's time to the first object copied).
      counts.lastDataAt = Date.now();
      counts.firstDataAt ||= counts.lastDataAt;
      return {};
    },
  };
}

const synthetic = new Map<string, ObjectProvider>();
function openBenchProvider(spec: EndpointConfig, ctx: Parameters<typeof openProvider>[1]): ObjectProvider {
  if (spec.type === 's3') return openS3Provider(spec, ctx, { onRequest: countRequest });
  if (spec.type === 'fs' && spec.path?.startsWith('/synthetic/')) {
    let p = synthetic.get(spec.path);
    if (!p) {
      const m = /^\/synthetic\/src\/(\d+)$/.exec(spec.path);
      p = m ? syntheticSource(Number(m[1]), 64) : nullSink();
      synthetic.set(spec.path, p);
    }
    return p;
  }
  return openProvider(spec, ctx);
}

async function main(): Promise<void> {
  installRuntime();
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await NativeConnection.connect({ address });
  const worker = await createFerryWorker({
    connection,
    address,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    reportDir: process.env.FERRY_REPORT_DIR,
    deps: { openProvider: openBenchProvider },
    shutdownGraceTime: '2s',
  });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'counts') {
      process.send?.({ type: 'counts', counts });
      counts.firstDataAt = 0;
    }
  });
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const running = worker.run();
  // Drop the garbage of bundling the workflow code before the harness resets the peak-RSS counter.
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ type: 'ready' });
  await running;
  await connection.close();
  process.disconnect?.();
}

main().catch((e) => {
  console.error(`bench worker: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(3);
});
