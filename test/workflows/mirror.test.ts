/**
 * Mirror mode on a real Temporal dev server, real filesystems and MinIO: copy mode never deletes; an empty source,
 * a source that fails mid-listing and a destination listing that fails in the diff delete nothing; keys the
 * filters exclude are protected; a set over `maxDelete` stops and waits, `approve` deletes exactly the set shown
 * (a stale digest is refused) and `reject` deletes nothing; deletions.jsonl has every deleted key once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startFaultProxy, S3Match, type FaultProxy } from '../support/fault-proxy';
import { startWorker, startJob, runJob, listAllObjects, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';
import { queryProgress } from '../../client/jobs';
import type { JobProgress, JobResult } from '../../common/progress';
import type { DeletionLine } from '../../activities/mirror-log';
import { FerryPhase } from '../../common/search-attributes';

const N = 100;

describe('mirror mode', () => {
  let temporal: TemporalTestServer;
  let minio: S3TestServer;
  let proxy: FaultProxy;
  let worker: InProcessWorker;
  let client: Client;
  let reports: string;
  const dirs: string[] = [];

  const tree = (files: Record<string, string>): string => {
    const dir = tempDir('mirror');
    dirs.push(dir);
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, k)), { recursive: true });
      writeFileSync(join(dir, k), v);
    }
    return dir;
  };
  const sourceFiles = (n = N): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k/${String(i).padStart(4, '0')}.txt`, `object ${i}`]));
  const fsKeys = async (dir: string) => (await listAllObjects(openFsProvider({ type: 'fs', path: dir }))).map((o) => o.key);
  const minioDst = (bucket: string, via = minio.endpoint) => ({ type: 's3', endpoint: via, bucket, credentials: 'minio' });
  const s3 = (bucket: string) => openS3Provider(minioDst(bucket) as never, { env: minio.credentialEnv('minio') });
  const put = async (bucket: string, files: Record<string, string>) => {
    const p = s3(bucket);
    for (const [k, v] of Object.entries(files)) await p.put(k, Buffer.from(v), { size: Buffer.byteLength(v) });
  };
  const deletions = (r: JobResult): DeletionLine[] =>
    readFileSync(join(r.reportPath!, 'deletions.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DeletionLine);
  const waitForStage = async (h: WorkflowHandle, stage: string): Promise<JobProgress> => {
    for (let i = 0; i < 300; i++) {
      const p = await queryProgress(client, h).catch(() => undefined);
      if (p?.mirror?.stage === stage) return p;
      await sleep(200);
    }
    throw new Error(`job ${h.workflowId} never reached deletions stage ${stage}`);
  };

  before(async () => {
    [temporal, minio] = await Promise.all([startTemporal(), startMinio()]);
    proxy = await startFaultProxy(minio.endpoint);
    client = await temporal.client();
    reports = tempDir('mirror-reports');
    dirs.push(reports);
    worker = await startWorker(temporal, { env: minio.credentialEnv('minio'), reportDir: reports });
  });
  after(async () => {
    await worker?.stop();
    await proxy?.stop();
    await Promise.all([temporal?.stop(), minio?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('copy mode never deletes', async () => {
    const src = tree(sourceFiles(10));
    const dst = tree({ 'extra/a.txt': 'a', 'extra/b.txt': 'b' });
    const r = await runJob(client, { name: 'copy-keeps', source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst } });
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.mirror, undefined);
    assert.ok((await fsKeys(dst)).includes('extra/a.txt') && (await fsKeys(dst)).includes('extra/b.txt'));
    assert.equal(existsSync(join(r.reportPath!, 'deletions.jsonl')), false);
  });

  it('an empty source deletes nothing and says why', async () => {
    const src = tree({});
    const dst = tree(sourceFiles(10));
    const r = await runJob(client, { name: 'empty-source', mode: 'mirror', mirror: { maxDelete: 1000 }, source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst } });
    assert.equal(r.mirror?.stage, 'skipped', JSON.stringify(r.mirror));
    assert.match(r.mirror!.reason!, /empty or unreadable source never empties the destination/);
    assert.equal(r.mirror!.deleted, 0);
    assert.equal((await fsKeys(dst)).length, 10);
    assert.match(readFileSync(join(r.reportPath!, 'summary.txt'), 'utf8'), /^mirror: {4}deletions skipped: the source lists no object/m);
  });

  it('within maxDelete: deletes at once, keys the filters exclude are protected, each deletion recorded once', async () => {
    const src = tree(sourceFiles());
    const dst = tree({ ...sourceFiles(), 'k/0050-gone.txt': 'gone', 'k/zz.keep': 'protected', 'other/x.txt': 'x' });
    const r = await runJob(client, {
      name: 'within-limit',
      mode: 'mirror',
      mirror: { maxDelete: 5 },
      filter: { exclude: ['*.keep'] },
      source: { type: 'fs', path: src },
      destination: { type: 'fs', path: dst },
    });
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.deepEqual({ stage: r.mirror?.stage, approval: r.mirror?.approval, deleted: r.mirror?.deleted, protected: r.mirror?.protected }, { stage: 'done', approval: 'automatic', deleted: 2, protected: 1 });
    const keys = await fsKeys(dst);
    assert.ok(keys.includes('k/zz.keep'), 'excluded key protected');
    assert.ok(!keys.includes('k/0050-gone.txt') && !keys.includes('other/x.txt'));
    assert.equal(keys.length, N + 1);
    const lines = deletions(r);
    assert.deepEqual(lines.map((l) => [l.key, l.status, l.reason, l.size]), [['k/0050-gone.txt', 'deleted', 'absent from the source', 4], ['other/x.txt', 'deleted', 'absent from the source', 1]]);
    assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.at!))));
  });

  it('2 % missing with the default maxDelete stops and waits; approve deletes exactly the set shown', async () => {
    await minio.createBucket('approve');
    const extra = { 'k/0001.txt.old': 'old one', 'zz/ümlaut and space.txt': 'old two' };
    await put('approve', { ...sourceFiles(), ...extra });
    const src = tree(sourceFiles());
    const h = await startJob(client, { name: 'approve', mode: 'mirror', source: { type: 'fs', path: src }, destination: minioDst('approve') });
    const p = await waitForStage(h, 'awaiting-approval');
    assert.equal(p.phase, 'awaiting-approval');
    assert.deepEqual({ objects: p.mirror!.set!.objects, bytes: p.mirror!.set!.bytes, limit: p.mirror!.limit }, { objects: 2, bytes: 14, limit: 1 });
    assert.deepEqual(p.mirror!.sample, Object.keys(extra));
    // The set is in the report folder while the job waits; nothing is deleted.
    const dir = join(reports, 'approve');
    const runs = readdirSync(dir);
    assert.equal(runs.length, 1);
    const waiting = readFileSync(join(dir, runs[0]!, 'deletions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeletionLine);
    assert.deepEqual(waiting.map((l) => [l.key, l.status]), Object.keys(extra).map((k) => [k, 'awaiting approval']));
    await sleep(1000);
    assert.equal((await listAllObjects(s3('approve'))).length, N + 2, 'nothing deleted while waiting');
    assert.equal((await h.describe()).typedSearchAttributes.get(FerryPhase), 'awaiting-approval', 'the phase is a search attribute (Web UI)');

    await assert.rejects(h.executeUpdate('approve', { args: [{ digest: 'f'.repeat(64) }] }), (e: Error) => /not the one approved/.test(String(e.cause)));
    const approved = (await h.executeUpdate('approve', { args: [{ digest: p.mirror!.set!.digest }] })) as { stage: string };
    assert.equal(approved.stage, 'deleting');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.deepEqual({ deleted: r.mirror?.deleted, bytes: r.mirror?.deletedBytes, approval: r.mirror?.approval }, { deleted: 2, bytes: 14, approval: 'approved' });
    assert.deepEqual(deletions(r).map((l) => [l.key, l.status]), Object.keys(extra).map((k) => [k, 'deleted']));
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), s3('approve')), N);
    assert.equal((await listAllObjects(s3('approve'))).length, N, 'the destination matches the source');
  });

  it('reject deletes nothing and ends the job', async () => {
    await minio.createBucket('reject');
    await put('reject', { ...sourceFiles(), 'gone/1': 'a', 'gone/2': 'b' });
    const h = await startJob(client, { name: 'reject', mode: 'mirror', source: { type: 'fs', path: tree(sourceFiles()) }, destination: minioDst('reject') });
    await waitForStage(h, 'awaiting-approval');
    await h.executeUpdate('reject');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.mirror?.stage, 'rejected');
    assert.equal(r.mirror?.deleted, 0);
    assert.equal((await listAllObjects(s3('reject'))).length, N + 2);
    assert.deepEqual(deletions(r).map((l) => l.status), ['not deleted', 'not deleted']);
  });

  it('a source that fails mid-listing deletes nothing', async () => {
    await Promise.all([minio.createBucket('src-fails'), minio.createBucket('dst-kept')]);
    await put('src-fails', sourceFiles(2500));
    await put('dst-kept', { 'gone/1': 'a', 'gone/2': 'b' });
    // The source's listing is refused from its second page on (preflight's probes list from the first key).
    const rule = proxy.add({
      match: (r) => S3Match.list(r) && r.path.startsWith('/src-fails') && (r.query.get('start-after') ?? r.query.get('marker') ?? '') >= 'k/0500',
      times: Infinity,
      fault: { kind: 'error', status: 403, code: 'AccessDenied' },
    });
    try {
      const r = await failedResult(await startJob(client, { name: 'src-fails', mode: 'mirror', mirror: { maxDelete: 100 }, source: minioDst('src-fails', proxy.endpoint), destination: minioDst('dst-kept') }));
      assert.match(r.error!, /listing the source stopped/);
      assert.equal(r.mirror?.stage, 'skipped', JSON.stringify(r.mirror));
      assert.match(r.mirror!.reason!, /the copy did not complete .*deleting nothing/);
      assert.ok(rule.hits > 0);
      assert.match(readFileSync(join(r.reportPath!, 'summary.txt'), 'utf8'), /^mirror: {4}deletions skipped: the copy did not complete/m);
    } finally {
      rule.remove();
    }
    assert.deepEqual((await listAllObjects(s3('dst-kept'))).map((o) => o.key).filter((k) => k.startsWith('gone/')), ['gone/1', 'gone/2']);
  });

  it('a destination listing that fails during the diff deletes nothing', async () => {
    await minio.createBucket('dst-fails');
    await put('dst-fails', { ...sourceFiles(1500), 'zz/gone': 'x' });
    const src = tree(sourceFiles(1500));
    const rule = proxy.add({
      match: (r) => S3Match.list(r) && r.path.startsWith('/dst-fails') && (r.query.get('start-after') ?? '') >= 'k/0900',
      times: Infinity,
      fault: { kind: 'error', status: 403, code: 'AccessDenied' },
    });
    try {
      // overwrite: always and verify: none: the copy does not list the destination, only the diff does.
      const h = await startJob(client, { name: 'dst-fails', mode: 'mirror', overwrite: 'always', verify: 'none', mirror: { maxDelete: 100 }, source: { type: 'fs', path: src }, destination: minioDst('dst-fails', proxy.endpoint) });
      const r = await failedResult(h);
      assert.equal(r.mirror?.stage, 'failed', JSON.stringify(r.mirror));
      assert.match(r.error!, /mirror: listing for the deletion set failed, nothing was deleted/);
      assert.ok(rule.hits > 0);
    } finally {
      rule.remove();
    }
    assert.ok((await listAllObjects(s3('dst-fails'))).some((o) => o.key === 'zz/gone'), 'nothing deleted');
  });

  it('a reject before the diff: the copy finishes, nothing is listed for deletion or deleted', async () => {
    const src = tree(sourceFiles(20));
    const dst = tree({ 'gone.txt': 'x' });
    const h = await startJob(client, { name: 'reject-early', mode: 'mirror', throttle: { objectsPerSecond: 10 }, source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst } });
    await h.executeUpdate('reject');
    const r = (await h.result()) as JobResult;
    assert.equal(r.objects.copied, 20);
    assert.equal(r.mirror?.stage, 'rejected');
    assert.equal(r.mirror?.set, undefined, 'no diff ran');
    assert.ok((await fsKeys(dst)).includes('gone.txt'));
  });
});

/** The result a failed job carries in its failure's details. */
async function failedResult(h: WorkflowHandle): Promise<JobResult> {
  const e = await h.result().then(
    (r) => assert.fail(`the job should fail: ${JSON.stringify(r)}`),
    (err: unknown) => err as { cause?: { details?: JobResult[] } },
  );
  const r = e.cause?.details?.[0];
  assert.ok(r, String(e));
  assert.equal(r.status, 'failed');
  return r;
}
