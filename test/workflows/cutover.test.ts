/**
 * The cut-over saga (`cutover`, workflows/cutover.ts) on a real Temporal dev server with an in-process worker,
 * fs → fs jobs: the whole saga (converge, back-to-origin skipped with a note on a filesystem destination, wait,
 * final delta, verify, complete) with every round's figures in the result; abort while waiting and during a
 * running round (the child round is cancelled, nothing deleted); a verify that finds a difference waits for
 * retry, the retry copies it and the cut-over completes; a worker restart while waiting for the switch.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startWorker, assertSameTree, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import { parseJob, jobWorkflowId } from '../../common/job';
import { FerryJob, FerryPhase } from '../../common/search-attributes';
import { cutoverWorkflowId, type CutoverInput, type CutoverResult, type CutoverView } from '../../workflows/cutover-state';

describe('cut-over workflow', () => {
  let temporal: TemporalTestServer;
  let worker: InProcessWorker;
  let client: Client;
  let work: string;

  before(async () => {
    temporal = await startTemporal();
    client = await temporal.client();
    worker = await startWorker(temporal);
    work = tempDir('cutover');
  });
  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A source of `n` files and an empty destination. */
  function fsTree(name: string, n: number): { src: string; dst: string } {
    const src = join(work, `${name}-src`);
    const dst = join(work, `${name}-dst`);
    mkdirSync(src, { recursive: true });
    mkdirSync(dst, { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(src, `f-${String(i).padStart(3, '0')}.txt`), `object ${i} of ${name}`);
    return { src, dst };
  }

  async function startCutover(name: string, dirs: { src: string; dst: string }, extra: Partial<CutoverInput> & { job?: object } = {}): Promise<WorkflowHandle> {
    const { job, ...rest } = extra;
    const spec = parseJob({ name, source: { type: 'fs', path: dirs.src }, destination: { type: 'fs', path: dirs.dst }, verify: 'size', tasks: { maxObjects: 100 }, ...job });
    const input: CutoverInput = { spec, threshold: 5, everyMs: 3600_000, ...rest };
    return client.workflow.start('cutover', {
      taskQueue: 'ferry',
      workflowId: cutoverWorkflowId(name),
      args: [input],
      typedSearchAttributes: [{ key: FerryJob, value: name }, { key: FerryPhase, value: 'converging' }],
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
  /** An update the workflow's validator refuses: the reason is the failure's cause. */
  async function refused(p: Promise<unknown>, reason: RegExp): Promise<void> {
    await assert.rejects(p, (e: Error) => reason.test(String((e.cause as Error | undefined)?.message)));
  }
  const phase = (handle: WorkflowHandle, p: string) => waitFor(handle, p, (v) => v.phase === p);
  const sameTree = (d: { src: string; dst: string }) => assertSameTree(openFsProvider({ type: 'fs', path: d.src }), openFsProvider({ type: 'fs', path: d.dst }));

  it('runs the whole saga: converge, back-to-origin skipped on fs, switch, final delta, verify, complete', { timeout: 180_000 }, async () => {
    const dirs = fsTree('saga', 40);
    const handle = await startCutover('saga', dirs, { backToOrigin: { originUrl: 'http://origin.invalid/' } });
    const waiting = await phase(handle, 'waiting-for-switch');
    assert.equal(waiting.rounds[0]!.kind, 'full');
    assert.equal(waiting.rounds[0]!.copied, 40);
    assert.equal(waiting.backToOriginOn, false);
    assert.match(waiting.backToOrigin?.note ?? '', /no back-to-origin/);
    assert.equal((await client.workflow.getHandle(jobWorkflowId('saga')).describe()).status.name, 'COMPLETED', 'rounds run as ferry-<name>');

    writeFileSync(join(dirs.src, 'late.txt'), 'written after the last round');
    const view = await handle.executeUpdate<CutoverView, []>('cutoverSwitched');
    assert.ok(view.switchedAt);
    const again = await handle.executeUpdate<CutoverView, []>('cutoverSwitched');
    assert.equal(again.switchedAt, view.switchedAt, 'switched is idempotent');

    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'complete');
    assert.equal(r.message, 'cut-over complete');
    const kinds = r.rounds.map((x) => x.kind);
    assert.deepEqual(kinds.slice(-2), ['final-delta', 'verify'], JSON.stringify(r.rounds));
    const delta = r.rounds.at(-2)!;
    assert.equal(delta.copied, 1, 'the late write arrives by the final delta');
    assert.ok(delta.since, 'the final delta is incremental');
    const verify = r.rounds.at(-1)!;
    assert.equal(verify.status, 'succeeded');
    assert.equal(verify.verified, 41);
    for (const x of r.rounds) assert.ok(x.startedAt <= x.endedAt && x.n > 0);
    assert.equal(await sameTree(dirs), 41);
  });

  it('abort while waiting for the switch ends aborted with nothing to undo on an fs destination, data kept', { timeout: 120_000 }, async () => {
    const dirs = fsTree('abort-wait', 10);
    const handle = await startCutover('abort-wait', dirs, { backToOrigin: { originUrl: 'http://origin.invalid/' } });
    await phase(handle, 'waiting-for-switch');
    await handle.executeUpdate<CutoverView, []>('cutoverAbort');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'aborted');
    assert.equal(r.backToOriginOn, false);
    assert.equal(r.backToOrigin?.applied, false);
    assert.equal(await sameTree(dirs), 10, 'abort deletes nothing');
    await assert.rejects(handle.executeUpdate('cutoverRetry'), 'a finished cut-over takes no more answers');
  });

  it('abort during a round cancels the running child round', { timeout: 120_000 }, async () => {
    const dirs = fsTree('abort-round', 200);
    const handle = await startCutover('abort-round', dirs, { job: { throttle: { objectsPerSecond: 20 } } });
    const job = client.workflow.getHandle(jobWorkflowId('abort-round'));
    for (let i = 0; i < 300 && (await job.describe().catch(() => undefined))?.status.name !== 'RUNNING'; i++) await sleep(100);
    await sleep(1000);
    // Also as a signal, as `temporal workflow signal --name cutoverAbort` sends it.
    await handle.signal('cutoverAbort');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'aborted');
    assert.equal(r.rounds.length, 0, 'the cancelled round is not recorded as passed');
    for (let i = 0; i < 100 && (await job.describe()).status.name === 'RUNNING'; i++) await sleep(100);
    assert.equal((await job.describe()).status.name, 'CANCELLED');
  });

  it('a verify that finds a difference waits for retry; retry copies it and the cut-over completes', { timeout: 180_000 }, async () => {
    const dirs = fsTree('verify-fail', 20);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dirs.src, 'f-003.txt'), hourAgo, hourAgo); // older than every incremental round's overlap
    const handle = await startCutover('verify-fail', dirs);
    await phase(handle, 'waiting-for-switch');
    await refused(handle.executeUpdate('cutoverRetry'), /nothing to retry/);
    appendFileSync(join(dirs.dst, 'f-003.txt'), ' damaged at the destination'); // in no incremental round: old at the source
    await handle.executeUpdate('cutoverSwitched');
    const blocked = await phase(handle, 'waiting-for-retry');
    assert.match(blocked.lastError ?? '', /verify found 1 difference/);
    assert.equal(blocked.rounds.at(-1)!.kind, 'verify');
    assert.equal(blocked.rounds.at(-1)!.failed, 1);

    await handle.executeUpdate('cutoverRetry');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'complete');
    assert.deepEqual(r.rounds.slice(-3).map((x) => [x.kind, x.status]), [['verify', 'completed-with-failures'], ['retry', 'succeeded'], ['verify', 'succeeded']]);
    assert.equal(r.rounds.at(-2)!.copied, 1, 'the retry copies only what differs');
    assert.equal(await sameTree(dirs), 20);
  });

  it('survives a worker restart while waiting for the switch; rounds keep running every --every', { timeout: 180_000 }, async () => {
    const dirs = fsTree('restart', 10);
    const handle = await startCutover('restart', dirs, { everyMs: 1000 });
    await phase(handle, 'waiting-for-switch');
    await worker.stop();
    await sleep(2500); // timers fire with no worker; they are history, not lost
    worker = await startWorker(temporal);
    const before = (await phase(handle, 'waiting-for-switch')).rounds.length;
    writeFileSync(join(dirs.src, 'while-waiting.txt'), 'written while waiting');
    const later = await waitFor(handle, 'another waiting round', (v) => v.rounds.length >= before + 2);
    assert.ok(later.rounds.slice(1).every((x) => x.kind === 'incremental' && x.since), JSON.stringify(later.rounds));
    await handle.executeUpdate('cutoverSwitched');
    const r = (await handle.result()) as CutoverResult;
    assert.equal(r.status, 'complete');
    assert.equal(r.rounds.filter((x) => x.kind !== 'verify').reduce((n, x) => n + x.copied, 0), 11, 'every object copied once (the overlap is compared, not copied)');
    assert.equal(await sameTree(dirs), 11);
  });
});
