/**
 * The worker-crash scenario shared by chaos-kill*.test.ts: fs source of small + multipart objects, MinIO
 * destination behind the fault proxy (which counts writes per key), worker processes SIGKILLed at random
 * moments and replaced, then the full proof (see harness.ts).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startFaultProxy } from '../support/fault-proxy';
import { startJob, spawnWorkerProcess } from '../support/ferry';
import { tempDir, type ManagedProcess } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import { FULL, writeTree, resultWithin, assertIntact, duplicates, sleep } from './harness';

/** Runs one job while SIGKILLing a worker `kills` times (with a second, stable worker when `twoWorkers`). */
export async function killScenario(opts: { name: string; kills: number; small: number; large: number; twoWorkers: boolean }): Promise<void> {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const proxy = await startFaultProxy(minio.endpoint);
  const src = tempDir(`${opts.name}-src`);
  const reports = tempDir(`${opts.name}-reports`);
  const workers: ManagedProcess[] = [];
  const t0 = Date.now();
  try {
    const total = writeTree(src, opts.small, opts.large);
    await minio.createBucket('dst');
    const env = { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports };
    let seq = 0;
    const spawn = () => {
      const w = spawnWorkerProcess(temporal, env, `worker-${++seq}`);
      workers.push(w);
      return w;
    };
    const stable = opts.twoWorkers ? spawn() : undefined;
    let victim = spawn();
    const client = await temporal.client();
    const dstSpec = { type: 's3', endpoint: proxy.endpoint, bucket: 'dst', credentials: 'minio' } as const;
    const h = await startJob(client, {
      name: opts.name,
      source: { type: 'fs', path: src },
      destination: dstSpec,
      tasks: { maxObjects: 250 },
      concurrency: { tasks: 4, objects: 8 },
      multipart: { threshold: '8MiB', partSize: '5MiB' },
      // Slow enough that the kills land while objects are being copied.
      throttle: { objectsPerSecond: FULL ? 150 : 120, bandwidth: '8MiB/s' },
      verify: 'checksum',
    });
    // Wait for copying to start (a first object written), then kill at random moments.
    for (let i = 0; i < 600 && proxy.writes.size === 0; i++) await sleep(100);
    let kills = 0;
    while (kills < opts.kills) {
      await sleep(700 + Math.random() * 2300);
      await victim.kill();
      kills++;
      victim = spawn();
    }
    const r = await resultWithin(h, (FULL ? 900 : 150) * 1000);
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.failed, 0);
    // An object written just before a kill but not yet heartbeated is found in place by the retried batch and
    // counted as skipped (overwrite: if-different), so the result accounts for each object exactly once.
    assert.equal(r.objects.copied + r.objects.skipped, total, JSON.stringify(r.objects));
    // Objects a killed attempt copied are verified by the attempt that finishes the batch: none goes unverified.
    assert.equal(r.objects.verified, total, `every object verified: ${JSON.stringify(r.objects)}`);
    const dst = openS3Provider({ ...dstSpec, endpoint: minio.endpoint }, { env });
    const compared = await assertIntact(openFsProvider({ type: 'fs', path: src }), dst, total);
    const dup = duplicates(proxy.writes);
    assert.equal(dup.written, total, 'every object written at least once through the proxy');
    console.log(
      `[chaos] ${opts.name}: ${kills} SIGKILLs survived${stable ? ' (a second worker stayed up)' : ''}; ${compared} objects compared, 0 missing, 0 corrupt, 0 orphaned uploads; ` +
        `${dup.objects} objects written more than once (${dup.extraWrites} extra writes); result copied ${r.objects.copied} + found in place ${r.objects.skipped}; partsResumed ${r.partsResumed}; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
  } finally {
    for (const w of workers) await w.stop();
    await proxy.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
}

