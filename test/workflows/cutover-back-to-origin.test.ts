/**
 * The cut-over saga (`cutover`, workflows/cutover.ts) with back-to-origin on a real Temporal dev server: a MinIO source
 * made public-read (the origin the destination fetches from, at the URL `ferry cutover --back-to-origin` derives) and
 * an OSS destination bucket on the OSS test server that already has a website configuration (IndexDocument,
 * ErrorDocument and a RoutingRule of its own). Proves: the whole saga keeps the bucket's rule next to Ferry's mirror
 * rule, serves a not-yet-copied object through back-to-origin, and leaves the configuration byte for byte as before;
 * abort while converging, while waiting for the switch and while a failed verify waits for retry restores it too and
 * deletes nothing; a worker SIGKILL plus a Temporal server restart while waiting loses nothing; the `temporal` CLI
 * drives it with the signal and the update of the same name.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OSS from 'ali-oss';
import { PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startWorker, spawnWorkerProcess, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir, toolPath, type ManagedProcess } from '../support/process';
import { openS3Provider } from '../../storage/s3/s3';
import { openOssProvider } from '../../storage/oss/oss';
import { FERRY_RULE_HEADER } from '../../storage/oss/website-rules';
import { cutoverInput } from '../../client/commands/cutover';
import { parseJob, jobWorkflowId, type JobSpec } from '../../common/job';
import { FerryJob, FerryPhase } from '../../common/search-attributes';
import { cutoverWorkflowId, type CutoverResult, type CutoverView } from '../../workflows/cutover-state';

const AK = 'AKID-cutover';
const SK = 'cutover-secret';
const HOUR = 3600_000;

/** What the tests use of ali-oss: its website calls, and its signed raw request for byte-exact reads. */
type OssClient = Omit<OSS, 'getBucketWebsite' | 'putBucketWebsite'> & {
  putBucketWebsite(bucket: string, config: Record<string, unknown>): Promise<unknown>;
  getBucketWebsite(bucket: string): Promise<{ index: string; error: string | null; routingRules: Record<string, unknown>[] }>;
  _bucketRequestParams(method: string, bucket: string, subres: string, opts: object): Record<string, unknown>;
  request(params: Record<string, unknown>): Promise<{ data: Buffer }>;
};

/** The bucket's own rule, there before Ferry: old/ keys redirect to a legacy site. */
const OWN_RULE = {
  RuleNumber: 1,
  Condition: { KeyPrefixEquals: 'old/', HttpErrorCodeReturnedEquals: 404 },
  Redirect: { RedirectType: 'External', HostName: 'legacy.example.com', Protocol: 'https', HttpRedirectCode: 302 },
};

interface Pair {
  name: string;
  src: string;
  dst: string;
  /** The destination's website configuration before the cut-over, as the server sends it. */
  before: string;
  spec: JobSpec;
}

describe('cut-over with back-to-origin on an OSS destination', () => {
  let temporal: TemporalTestServer;
  let client: Client;
  let worker: InProcessWorker | undefined;
  let workerProcess: ManagedProcess | undefined;
  let minio: S3TestServer;
  let oss: OssServer;
  let dataDir: string;
  let reports: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dataDir = tempDir('cutover-bto');
    reports = tempDir('cutover-bto-reports');
    // A file of our own (not the helper's temp dir) so the restart scenario starts the server again on it.
    temporal = await startTemporal({ dbFile: join(dataDir, 'temporal.db') });
    client = await temporal.client();
    minio = await startMinio();
    oss = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    env = { ...minio.credentialEnv('minio'), FERRY_CREDENTIALS_DST_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_DST_SECRET_ACCESS_KEY: SK };
    worker = await startWorker(temporal, { env, reportDir: reports });
  });
  after(async () => {
    await workerProcess?.stop();
    await worker?.stop();
    await temporal?.stop();
    await minio?.stop();
    await oss?.stop();
    for (const d of [dataDir, reports]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const ossClient = (bucket: string) =>
    new OSS({ endpoint: oss.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket, authorizationV4: true } as OSS.Options) as unknown as OssClient;

  /** The configuration bytes as the server sends them (null: none). */
  async function rawWebsite(bucket: string): Promise<string | null> {
    const c = ossClient(bucket);
    try {
      const { data } = await c.request({ ...c._bucketRequestParams('GET', bucket, 'website', {}), successStatuses: [200] });
      return data.toString('utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'NoSuchWebsiteConfiguration') return null;
      throw e;
    }
  }

  async function putSource(bucket: string, key: string, body: string): Promise<void> {
    await minio.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }));
  }

  /**
   * A public-read MinIO source of `n` objects (plus `extraKeys`), an OSS destination bucket with a website
   * configuration of its own, and the job between them.
   */
  async function pair(name: string, n: number, opts: { job?: Record<string, unknown>; extraKeys?: string[]; dstPrefix?: string } = {}): Promise<Pair> {
    const src = `${name}-src`;
    const dst = `${name}-dst`;
    await minio.createBucket(src);
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${src}/*`] }] };
    await minio.client.send(new PutBucketPolicyCommand({ Bucket: src, Policy: JSON.stringify(policy) }));
    for (let i = 0; i < n; i++) await putSource(src, `obj-${String(i).padStart(3, '0')}.txt`, `object ${i} of ${name}`);
    for (const k of opts.extraKeys ?? []) await putSource(src, k, `extra ${k} of ${name}`);
    oss.createBucket(dst);
    await ossClient(dst).putBucketWebsite(dst, { index: 'index.html', error: 'error.html', routingRules: [OWN_RULE] });
    const before = (await rawWebsite(dst)) ?? '';
    assert.ok(before.includes('<HostName>legacy.example.com</HostName>'), before);
    const spec = parseJob({
      name,
      source: { type: 's3', endpoint: minio.endpoint, bucket: src, credentials: 'minio' },
      destination: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: dst, credentials: 'dst', ...(opts.dstPrefix ? { prefix: opts.dstPrefix } : {}) },
      verify: 'size',
      tasks: { maxObjects: 100 },
      ...opts.job,
    });
    return { name, src, dst, before, spec };
  }

  /** Starts the cut-over with back-to-origin on and the origin URL the CLI derives (`--back-to-origin`, no `--origin-url`). */
  async function startCutover(p: Pair, opts: { threshold?: number; everyMs?: number } = {}): Promise<WorkflowHandleWithFirstExecutionRunId> {
    const input = cutoverInput(p.spec, { backToOrigin: true, threshold: opts.threshold ?? 100, every: opts.everyMs ?? HOUR });
    assert.equal(input.backToOrigin?.originUrl, `${minio.endpoint}/${p.src}/`, 'path-style URL of the MinIO source bucket');
    return client.workflow.start('cutover', {
      taskQueue: 'ferry',
      workflowId: cutoverWorkflowId(p.name),
      args: [input],
      typedSearchAttributes: [{ key: FerryJob, value: p.name }, { key: FerryPhase, value: 'converging' }],
    });
  }

  async function waitFor(handle: WorkflowHandle, what: string, ok: (v: CutoverView) => boolean, timeoutMs = 90_000): Promise<CutoverView> {
    const deadline = Date.now() + timeoutMs;
    let last: CutoverView | undefined;
    while (Date.now() < deadline) {
      last = await handle.query<CutoverView>('cutoverState').catch(() => last);
      if (last && ok(last)) return last;
      await sleep(200);
    }
    throw new Error(`cut-over never reached ${what}: ${JSON.stringify(last)}`);
  }
  const phase = (handle: WorkflowHandle, p: string) => waitFor(handle, p, (v) => v.phase === p);

  /** The bucket's own rule and Ferry's mirror rule (to `originUrl`), and nothing else, are in the configuration. */
  async function assertBothRules(p: Pair, keyPrefix?: string): Promise<void> {
    const got = await ossClient(p.dst).getBucketWebsite(p.dst);
    assert.equal(got.index, 'index.html');
    assert.equal(got.error, 'error.html');
    assert.equal(got.routingRules.length, 2, JSON.stringify(got.routingRules));
    assert.deepEqual(got.routingRules[0], {
      RuleNumber: '1',
      Condition: { KeyPrefixEquals: 'old/', HttpErrorCodeReturnedEquals: '404' },
      Redirect: { RedirectType: 'External', HostName: 'legacy.example.com', Protocol: 'https', HttpRedirectCode: '302' },
    });
    const ferry = got.routingRules[1] as { RuleNumber: string; Condition: Record<string, string>; Redirect: Record<string, unknown> };
    assert.equal(ferry.RuleNumber, '2', 'after the bucket\'s own rule, which keeps matching first');
    assert.deepEqual(ferry.Condition, { ...(keyPrefix ? { KeyPrefixEquals: keyPrefix } : {}), HttpErrorCodeReturnedEquals: '404' });
    assert.equal(ferry.Redirect.RedirectType, 'Mirror');
    assert.equal(ferry.Redirect.MirrorURL, `${minio.endpoint}/${p.src}/`);
    assert.deepEqual(ferry.Redirect.MirrorHeaders, { PassAll: 'false', Set: { Key: FERRY_RULE_HEADER, Value: '1' } });
  }

  /** Every destination key of `snapshot` is still there with the same ETag (nothing deleted or replaced). */
  function assertKept(bucket: string, snapshot: Map<string, string>): void {
    for (const [key, etag] of snapshot) assert.equal(oss.inspect(bucket, key)?.etag, etag, `${key} kept at the destination`);
  }
  const snapshotOf = (bucket: string) => new Map(oss.keys(bucket).map((k) => [k, oss.inspect(bucket, k)!.etag]));

  const sameTree = (p: Pair, dstPrefix?: string) =>
    assertSameTree(openS3Provider(p.spec.source, { env }), openOssProvider(p.spec.destination, { env }), { ...(dstPrefix ? { dstPrefix } : {}) });

  it('runs the whole saga: both rules while waiting, a new object served through back-to-origin, the configuration byte-equal afterwards', { timeout: 180_000 }, async () => {
    const hostile = 'dir/a b+c%20ü.txt';
    // The destination prefix is cut off the key before fetching: mirror/x comes from <origin>/x.
    const p = await pair('saga', 12, { extraKeys: [hostile], dstPrefix: 'mirror/' });
    // A long --every: no round runs while waiting, so nothing but back-to-origin can bring the new object over.
    const handle = await startCutover(p);
    const waiting = await phase(handle, 'waiting-for-switch');
    assert.deepEqual(waiting.rounds.map((r) => [r.kind, r.status, r.copied]), [['full', 'succeeded', 13]]);
    assert.equal(waiting.backToOriginOn, true);
    assert.equal(waiting.backToOrigin?.applied, true);
    assert.equal(waiting.backToOrigin?.previous, p.before, 'the configuration from before, byte for byte');
    assert.equal(waiting.backToOrigin?.note, undefined);
    // (a) The bucket's own rule and Ferry's mirror rule.
    await assertBothRules(p, 'mirror/');
    assert.notEqual(await rawWebsite(p.dst), p.before);

    // (b) A new source object, not copied yet, read from the destination: fetched from the origin and stored.
    const lateKey = 'late/new b+c.txt';
    const lateBody = 'written after the last round, read through back-to-origin';
    await putSource(p.src, lateKey, lateBody);
    assert.equal(oss.inspect(p.dst, `mirror/${lateKey}`), undefined, 'not at the destination before the read');
    const got = await ossClient(p.dst).get(`mirror/${lateKey}`);
    assert.equal(String(got.content), lateBody);
    assert.equal(oss.inspect(p.dst, `mirror/${lateKey}`)?.size, Buffer.byteLength(lateBody), 'stored by the mirror fetch');
    assert.deepEqual(oss.requests.filter((r) => r.op === 'PutObject' && r.key === `mirror/${lateKey}`), [], 'no PutObject brought it: back-to-origin did');
    assert.equal((await handle.query<CutoverView>('cutoverState')).rounds.length, 1, 'no round ran meanwhile');
    assert.equal(oss.inspect(p.dst, `mirror/${hostile}`)?.size, Buffer.byteLength(`extra ${hostile} of saga`), 'the hostile key was copied by round 1');

    // (c) Switched, as an Update: final delta, verify, back-to-origin off, complete.
    const view = await handle.executeUpdate<CutoverView, []>('cutoverSwitched');
    assert.ok(view.switchedAt);
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'complete', JSON.stringify(r));
    assert.equal(r.message, 'cut-over complete');
    assert.deepEqual(r.rounds.map((x) => x.kind), ['full', 'final-delta', 'verify']);
    const delta = r.rounds[1]!;
    assert.ok(delta.since, 'the final delta is incremental');
    assert.equal(delta.failed, 0);
    // Every source object is inside the overlap, so the final delta compares all 14; the one back-to-origin stored is
    // the source's bytes (same size and MD5), so nothing is copied again.
    assert.deepEqual([delta.copied, delta.skipped], [0, 14]);
    assert.deepEqual([r.rounds[2]!.status, r.rounds[2]!.verified, r.rounds[2]!.failed], ['succeeded', 14, 0]);
    assert.equal(r.backToOriginOn, false);
    assert.equal(r.backToOrigin?.removed, true);

    // (d) The configuration is what it was, byte for byte; every source object is at the destination.
    assert.equal(await rawWebsite(p.dst), p.before);
    assert.equal(await sameTree(p, 'mirror/'), 14);
  });

  it('abort while converging: the running round is cancelled, the configuration untouched, nothing deleted', { timeout: 120_000 }, async () => {
    const p = await pair('abort-converge', 40, { job: { throttle: { objectsPerSecond: 4 } } });
    const handle = await startCutover(p);
    const job = client.workflow.getHandle(jobWorkflowId(p.name));
    for (let i = 0; i < 600 && oss.keys(p.dst).length < 3; i++) await sleep(100);
    const snapshot = snapshotOf(p.dst);
    assert.ok(snapshot.size >= 3 && snapshot.size < 40, `mid-round: ${snapshot.size} copied`);
    assert.equal((await job.describe()).status.name, 'RUNNING');

    const answer = await handle.executeUpdate<CutoverView, []>('cutoverAbort');
    assert.equal(answer.phase, 'converging');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'aborted');
    assert.equal(r.message, 'cut-over aborted');
    assert.deepEqual(r.rounds, [], 'the cancelled round is not recorded');
    assert.equal(r.backToOrigin, undefined, 'back-to-origin was never set');
    assert.equal(r.backToOriginOn, false);
    for (let i = 0; i < 100 && (await job.describe()).status.name === 'RUNNING'; i++) await sleep(100);
    assert.equal((await job.describe()).status.name, 'CANCELLED');
    assert.equal(await rawWebsite(p.dst), p.before);
    assertKept(p.dst, snapshot);
    assert.ok(oss.keys(p.dst).length < 40, 'the round stopped before copying everything');
  });

  it('abort while waiting for the switch (incremental rounds every second) restores the configuration byte for byte', { timeout: 120_000 }, async () => {
    const p = await pair('abort-wait', 10);
    const handle = await startCutover(p, { everyMs: 1000 });
    await phase(handle, 'waiting-for-switch');
    await assertBothRules(p);
    const waited = await waitFor(handle, 'a round while waiting', (v) => v.rounds.length >= 2);
    assert.equal(waited.rounds[1]!.kind, 'incremental');
    const snapshot = snapshotOf(p.dst);
    assert.equal(snapshot.size, 10);

    const answer = await handle.executeUpdate<CutoverView, []>('cutoverAbort');
    assert.equal(answer.phase, 'waiting-for-switch');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'aborted');
    assert.equal(r.backToOrigin?.applied, true);
    assert.equal(r.backToOrigin?.removed, true);
    assert.equal(r.backToOriginOn, false);
    assert.equal(r.lastError, undefined, 'the undo succeeded');
    assert.equal(await rawWebsite(p.dst), p.before);
    assertKept(p.dst, snapshot);
    assert.equal(await sameTree(p), 10);
  });

  it('abort while a failed verify waits for retry restores the configuration and keeps the destination as it is', { timeout: 150_000 }, async () => {
    // overwrite: never, so the final delta keeps the damaged object and the verify finds it.
    const p = await pair('abort-verify', 10, { job: { overwrite: 'never' } });
    const handle = await startCutover(p);
    await phase(handle, 'waiting-for-switch');
    const damaged = 'damaged at the destination, a different size';
    await ossClient(p.dst).put('obj-003.txt', Buffer.from(damaged));
    await handle.executeUpdate('cutoverSwitched');
    const blocked = await phase(handle, 'waiting-for-retry');
    assert.match(blocked.lastError ?? '', /verify found 1 difference/);
    assert.deepEqual(blocked.rounds.map((x) => [x.kind, x.status]), [['full', 'succeeded'], ['final-delta', 'succeeded'], ['verify', 'completed-with-failures']]);
    assert.equal(blocked.rounds[2]!.failed, 1);
    assert.equal(blocked.backToOriginOn, true, 'back-to-origin stays on while the cut-over waits');
    await assertBothRules(p);
    const snapshot = snapshotOf(p.dst);
    assert.equal(snapshot.size, 10);

    const answer = await handle.executeUpdate<CutoverView, []>('cutoverAbort');
    assert.equal(answer.phase, 'waiting-for-retry');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'aborted');
    assert.equal(r.backToOrigin?.removed, true);
    assert.equal(r.backToOriginOn, false);
    assert.equal(await rawWebsite(p.dst), p.before);
    assertKept(p.dst, snapshot);
    assert.equal(String((await ossClient(p.dst).get('obj-003.txt')).content), damaged, 'abort repairs nothing and deletes nothing');
  });

  /** Runs the provisioned `temporal` CLI against the test server. */
  function temporalCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(toolPath('temporal'), [...args, '--address', temporal.address, '--namespace', temporal.namespace], { timeout: 60_000 }, (e, stdout, stderr) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr });
      });
    });
  }

  it('is driven by the temporal CLI: `workflow signal --name cutoverSwitched`, then `workflow update execute --name cutoverAbort`', { timeout: 180_000 }, async () => {
    const p = await pair('cli', 8);
    const id = cutoverWorkflowId('cli');
    assert.equal(id, 'ferry-cli-cutover');
    const first = await startCutover(p);
    await phase(first, 'waiting-for-switch');
    await putSource(p.src, 'after-round.txt', 'copied by the final delta');
    const signal = await temporalCli(['workflow', 'signal', '--workflow-id', id, '--name', 'cutoverSwitched']);
    assert.equal(signal.code, 0, signal.stderr);
    const done = (await first.result()) as CutoverResult;
    assert.equal(done.status, 'complete', JSON.stringify(done));
    assert.deepEqual(done.rounds.map((x) => x.kind), ['full', 'final-delta', 'verify']);
    assert.equal(done.rounds[2]!.verified, 9);
    assert.equal(await rawWebsite(p.dst), p.before);
    assert.equal(await sameTree(p), 9);

    // Another run of the same cut-over, aborted with the update (acknowledged, it answers the view).
    const second = await startCutover(p);
    assert.notEqual(second.firstExecutionRunId, first.firstExecutionRunId);
    await phase(second, 'waiting-for-switch');
    await assertBothRules(p);
    const update = await temporalCli(['workflow', 'update', 'execute', '--workflow-id', id, '--name', 'cutoverAbort', '--output', 'json']);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /"phase":\s*"waiting-for-switch"/, update.stdout);
    const aborted = (await second.result()) as CutoverResult;
    assert.equal(aborted.status, 'aborted');
    assert.equal(aborted.backToOrigin?.removed, true);
    assert.equal(await rawWebsite(p.dst), p.before);
    assert.equal(await sameTree(p), 9, 'abort deletes nothing');
    // A finished cut-over takes no more answers.
    const late = await temporalCli(['workflow', 'update', 'execute', '--workflow-id', id, '--name', 'cutoverAbort']);
    assert.notEqual(late.code, 0);
  });

  it('survives a worker SIGKILL and a Temporal server restart while waiting for the switch, then completes and restores the rules', { timeout: 240_000 }, async () => {
    const p = await pair('restart', 10);
    // The in-process worker steps aside: a worker process runs the saga until it is killed.
    await worker!.stop();
    worker = undefined;
    workerProcess = spawnWorkerProcess(temporal, { ...env, FERRY_REPORT_DIR: reports }, 'cutover-worker');
    const started = await startCutover(p);
    const waiting = await waitFor(started, 'waiting-for-switch', (v) => v.phase === 'waiting-for-switch', 150_000);
    assert.equal(waiting.backToOriginOn, true);
    await assertBothRules(p);

    await workerProcess.kill();
    workerProcess = undefined;
    await putSource(p.src, 'during-outage.txt', 'written while nothing ran');
    const port = temporal.port;
    await temporal.stop();
    temporal = await startTemporal({ dbFile: join(dataDir, 'temporal.db'), port });
    client = await temporal.client();
    worker = await startWorker(temporal, { env, reportDir: reports });

    const handle = client.workflow.getHandle(cutoverWorkflowId(p.name));
    const after = await phase(handle, 'waiting-for-switch');
    assert.equal(after.backToOriginOn, true, 'the state survived the restart');
    assert.equal(after.backToOrigin?.previous, p.before);
    assert.deepEqual(after.rounds.map((x) => x.kind), ['full']);
    await assertBothRules(p);

    await handle.executeUpdate('cutoverSwitched');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'complete', JSON.stringify(r));
    assert.deepEqual(r.rounds.map((x) => x.kind), ['full', 'final-delta', 'verify']);
    assert.equal(r.rounds[1]!.copied, 1, 'the write during the outage arrives by the final delta');
    assert.equal(r.rounds[2]!.verified, 11);
    assert.equal(r.backToOrigin?.removed, true);
    assert.equal(await rawWebsite(p.dst), p.before);
    assert.equal(await sameTree(p), 11);
  });
});
