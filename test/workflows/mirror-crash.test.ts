/**
 * A worker process SIGKILLed in the middle of mirror mode's deletions: another worker finishes them from the
 * heartbeated cursor. deletions.jsonl (and the record file under it) has every deleted key exactly once, no
 * deletion is lost from the record, and the destination ends holding exactly the source's keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startFaultProxy, S3Match } from '../support/fault-proxy';
import { startJob, spawnWorkerProcess, listAllObjects, assertSameTree } from '../support/ferry';
import { tempDir, type ManagedProcess } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import type { JobResult } from '../../common/progress';
import type { DeletionLine, DeletionRecord } from '../../activities/mirror-log';

const KEPT = 500;
const EXTRA = 1200;

test(`SIGKILL during deletions: ${EXTRA} deletions recorded exactly once, the destination matches the source`, async () => {
  const [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
  const proxy = await startFaultProxy(minio.endpoint);
  const src = tempDir('mirror-crash-src');
  const reports = tempDir('mirror-crash-reports');
  const workers: ManagedProcess[] = [];
  try {
    const env = { ...minio.credentialEnv('minio'), FERRY_REPORT_DIR: reports };
    const dst = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'crash', credentials: 'minio' }, { env });
    await minio.createBucket('crash');
    const kept = Array.from({ length: KEPT }, (_, i) => `keep/${String(i).padStart(4, '0')}`);
    const extra = Array.from({ length: EXTRA }, (_, i) => `old/${String(i).padStart(4, '0')} ü`);
    for (const k of kept) {
      mkdirSync(dirname(join(src, k)), { recursive: true });
      writeFileSync(join(src, k), k);
    }
    const all = [...kept, ...extra];
    await Promise.all(Array.from({ length: 16 }, async (_, lane) => {
      for (let i = lane; i < all.length; i += 16) await dst.put(all[i]!, Buffer.from(all[i]!), { size: Buffer.byteLength(all[i]!) });
    }));
    // Slow deletions, so the kill lands among them.
    const isDelete = (r: { method: string }) => r.method === 'DELETE';
    proxy.add({ match: isDelete, times: Infinity, fault: { kind: 'latency', ms: 40 } });
    workers.push(spawnWorkerProcess(temporal, env, 'mirror-worker-1'));
    const client = await temporal.client();
    const h = await startJob(client, {
      name: 'mirror-crash',
      mode: 'mirror',
      mirror: { maxDelete: 5000 },
      source: { type: 'fs', path: src },
      destination: { type: 's3', endpoint: proxy.endpoint, bucket: 'crash', credentials: 'minio' },
    });
    const deletes = () => proxy.log.filter((r) => isDelete(r) && S3Match.keyOf(r)?.startsWith('old/')).length;
    for (let i = 0; i < 600 && deletes() < 300; i++) await sleep(100);
    const atKill = deletes();
    assert.ok(atKill >= 300 && atKill < EXTRA, `killed among the deletions (${atKill} sent)`);
    await workers[0]!.kill();
    workers.push(spawnWorkerProcess(temporal, env, 'mirror-worker-2'));
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.deepEqual({ stage: r.mirror?.stage, deleted: r.mirror?.deleted, failed: r.mirror?.failed }, { stage: 'done', deleted: EXTRA, failed: 0 });

    const lines = readFileSync(join(r.reportPath!, 'deletions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeletionLine);
    assert.deepEqual(lines.map((l) => l.key), extra, 'each deleted key once, in key order');
    assert.ok(lines.every((l) => l.status === 'deleted' && l.reason === 'absent from the source' && l.at));
    const records = readFileSync(join(r.reportPath!, 'mirror', 'deleted.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeletionRecord);
    assert.deepEqual(records.map((l) => l.key), extra, 'the record file holds each deletion once');
    assert.deepEqual((await listAllObjects(dst)).map((o) => o.key), kept, 'the destination holds exactly the source keys');
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dst), KEPT);
    console.log(`# mirror crash: killed after ${atKill} of ${EXTRA} deletions were sent; ${deletes()} DELETE requests in all`);
  } finally {
    for (const w of workers) await w.kill();
    await proxy.stop();
    await Promise.all([temporal.stop(), minio.stop()]);
    rmSync(src, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  }
});
