/**
 * A worker process whose fs source raises stray errors (test/workflows/stray-error.test.ts): the first GET of each
 * key in STRAY_KEYS (comma-separated) destroys a stream that nobody listens to, or (keys starting with `r`) leaves a
 * rejected promise unawaited, then waits for its signal — so the attempt ends only if the guard fails it.
 */
import { Readable } from 'node:stream';
import { NativeConnection } from '@temporalio/worker';
import { createFerryWorker } from '../../workers/worker';
import { openProvider } from '../../storage/registry';
import { abortError } from '../../common/errors';
import type { ObjectProvider } from '../../storage/provider';

const strayKeys = new Set((process.env.STRAY_KEYS ?? '').split(',').filter(Boolean));

function straying(p: ObjectProvider): ObjectProvider {
  const get: ObjectProvider['get'] = async (key, opts = {}) => {
    if (!strayKeys.delete(key)) return p.get(key, opts);
    if (key.startsWith('r')) void Promise.reject(new Error(`injected rejection for ${key}`));
    else new Readable({ read() {} }).destroy(new Error(`injected stream error for ${key}`));
    const signal = opts.signal!;
    await new Promise((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true })));
    throw abortError(signal);
  };
  // Another endpoint id: the copy takes the GET path, not an fs server-side copy.
  return Object.assign(Object.create(p) as ObjectProvider, { get, endpointId: `stray|${p.endpointId}` });
}

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await createFerryWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE,
    address: process.env.TEMPORAL_ADDRESS,
    deps: { openProvider: (spec, ctx) => (spec.type === 'fs' && spec.path?.endsWith('src') ? straying(openProvider(spec, ctx)) : openProvider(spec, ctx)) },
    shutdownGraceTime: '1s',
  });
  process.once('SIGTERM', () => worker.shutdown());
  console.log('stray-worker: running');
  await worker.run();
  await connection.close();
}

void main();
