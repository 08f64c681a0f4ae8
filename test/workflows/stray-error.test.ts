/**
 * A stray error inside a batch — a stream's 'error' event that nobody listens to, a rejection nobody awaits —
 * fails that activity attempt (logged with the workflow and the object key) and never the worker process: the
 * job goes on and completes with every object copied once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal } from '../support/temporal';
import { startJob, REPO_ROOT } from '../support/ferry';
import { spawnManaged, tempDir } from '../support/process';
import type { JobResult } from '../../common/progress';

test('stray errors inside a batch fail the attempt, not the worker: the job completes', { timeout: 240_000 }, async () => {
  const temporal = await startTemporal();
  const root = tempDir('stray');
  const src = join(root, 'src');
  const dst = join(root, 'dst');
  const worker = spawnManaged({
    name: 'stray-worker',
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO_ROOT, 'test', 'support', 'stray-worker.ts')],
    cwd: REPO_ROOT,
    env: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, STRAY_KEYS: 'k07,r12', FERRY_REPORT_DIR: join(root, 'reports') },
  });
  try {
    mkdirSync(src, { recursive: true });
    const keys = Array.from({ length: 20 }, (_, i) => `${i === 12 ? 'r' : 'k'}${String(i).padStart(2, '0')}`);
    for (const k of keys) writeFileSync(join(src, k), `object ${k}\n`);
    const client = await temporal.client();
    const h = await startJob(client, { name: 'stray', source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst }, concurrency: { tasks: 1, objects: 4 } });
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    // Objects the failed attempt wrote before its last heartbeat are found in place by the retry (skipped, not copied twice).
    assert.equal(r.objects.copied + r.objects.skipped, keys.length, JSON.stringify(r.objects));
    assert.equal(r.objects.failed, 0, JSON.stringify(r.objects));
    assert.deepEqual(readdirSync(dst).filter((f) => !f.startsWith('.')).sort(), [...keys].sort());
    const log = readFileSync(worker.logFile, 'utf8');
    assert.equal(worker.child.exitCode, null, `the worker is still running:\n${log}`);
    assert.match(log, /stray error in ferry-stray\S* copyRange handling "k07", failing that attempt: injected stream error for k07/);
    assert.match(log, /stray error in ferry-stray\S* copyRange handling "r12", failing that attempt: injected rejection for r12/);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
