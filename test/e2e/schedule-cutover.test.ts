/**
 * Schedules and cutover against a real Temporal dev server, through the CLI (`node --import tsx client/cli.ts`):
 * - `ferry schedule JOB.yaml --every 1h --window 01:00-06:00` creates Schedule ferry-<name> whose next actions all
 *   fall inside the window; two triggered rounds run the job, the second with modifiedSince = the first round's
 *   start (found in visibility), copying only what changed in between.
 * - `ferry cutover JOB.yaml --threshold N` (the cut-over workflow) repeats rounds while a writer adds files during
 *   the first one, says "ready to switch" once a round copies fewer than N objects, and after
 *   `ferry cutover NAME --switched` runs the final delta and the verify: "cut-over complete", destination = source.
 *   Started again it waits for the switch once more; `--abort` ends it (exit 1) and keeps the data.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { Client } from '@temporalio/client';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startWorker, assertSameTree, REPO_ROOT, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openFsProvider } from '../../storage/fs/fs';
import type { ScheduledRoundResult } from '../../workflows/scheduled-round';
import { INCREMENTAL_SINCE_MARGIN_MS } from '../../common/job';
import type { CutoverResult, CutoverView } from '../../workflows/cutover-state';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('schedules and cutover', () => {
  let temporal: TemporalTestServer;
  let worker: InProcessWorker;
  let client: Client;
  let work: string;

  function ferry(args: string[], timeoutMs = 180_000): Promise<CliResult> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'client', 'cli.ts'), ...args, '--address', temporal.address], {
      cwd: REPO_ROOT,
      env: { ...process.env, FERRY_HOME: join(work, 'home'), FERRY_LOG_LEVEL: 'ERROR', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(timer);
        setImmediate(() => resolve({ code, stdout, stderr }));
      }),
    );
  }
  /** Polls the cut-over's `cutoverState` query until it reaches `phase` (a fresh run: the newest one). */
  async function waitForPhase(name: string, phase: string): Promise<void> {
    const h = client.workflow.getHandle(`ferry-${name}-cutover`);
    for (let i = 0; i < 1200; i++) {
      const v = await h.query<CutoverView>('cutoverState').catch(() => undefined);
      if (v?.phase === phase) {
        await sleep(1500); // the following CLI polls once a second: let it print the phase
        return;
      }
      await sleep(100);
    }
    throw new Error(`cut-over ${name} never reached ${phase}`);
  }
  const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  function fsJob(name: string, extra: Record<string, unknown> = {}): { file: string; src: string; dst: string } {
    const src = join(work, `${name}-src`);
    const dst = join(work, `${name}-dst`);
    mkdirSync(src, { recursive: true });
    mkdirSync(dst, { recursive: true });
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, toYaml({ name, source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst }, verify: 'size', tasks: { maxObjects: 100 }, ...extra }));
    return { file, src, dst };
  }

  before(async () => {
    temporal = await startTemporal();
    client = await temporal.client();
    worker = await startWorker(temporal);
    work = tempDir('sched');
  });
  after(async () => {
    await worker?.stop();
    await temporal?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('ferry schedule creates a windowed schedule whose rounds copy only what changed since the previous round', { timeout: 240_000 }, async () => {
    const { file, src, dst } = fsJob('sched');
    for (let i = 0; i < 50; i++) writeFileSync(join(src, `a-${i}.txt`), `first ${i}`);
    const r = await ferry(['schedule', file, '--every', '1h', '--window', '01:00-06:00', '--json']);
    assert.equal(r.code, 0, explain(r));
    const out = JSON.parse(r.stdout) as { scheduleId: string; created: boolean; nextActionTimes: string[] };
    assert.equal(out.scheduleId, 'ferry-sched');
    assert.equal(out.created, true);
    assert.ok(out.nextActionTimes.length > 0);
    for (const t of out.nextActionTimes) {
      const h = new Date(t).getUTCHours();
      assert.ok(h >= 1 && h < 6, `next round ${t} inside 01:00-06:00 UTC`);
    }
    // Again: updates the same schedule instead of failing.
    const again = await ferry(['schedule', file, '--every', '2h', '--json']);
    assert.equal(again.code, 0, explain(again));
    assert.equal((JSON.parse(again.stdout) as { created: boolean }).created, false);
    const handle = client.schedule.getHandle('ferry-sched');
    const desc = await handle.describe();
    assert.equal(desc.spec.intervals?.[0]?.every, 2 * 3600_000);

    const roundResult = async (n: number): Promise<ScheduledRoundResult> => {
      for (let i = 0; i < 600; i++) {
        const d = await handle.describe();
        const a = d.info.recentActions[n - 1];
        if (a) return (await client.workflow.getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId).result()) as ScheduledRoundResult;
        await sleep(100);
      }
      throw new Error(`round ${n} never started`);
    };
    await handle.trigger();
    const first = await roundResult(1);
    assert.equal(first.since, undefined, 'the first round copies everything');
    assert.equal(first.result.objects.copied, 50);

    // Rounds never overlap: the schedule sees round 1 finish before round 2 may start.
    for (let i = 0; i < 600 && (await handle.describe()).info.runningActions.length; i++) await sleep(100);
    await sleep(1100); // mtimes of the new files are clearly after round 1 started
    for (let i = 0; i < 7; i++) writeFileSync(join(src, `b-${i}.txt`), `second ${i}`);
    await handle.trigger();
    const second = await roundResult(2);
    const firstAction = (await handle.describe()).info.recentActions[0]!.action.workflow;
    const firstStart = (await client.workflow.getHandle(firstAction.workflowId, firstAction.firstExecutionRunId).describe()).startTime.getTime();
    assert.equal(second.since, firstStart - INCREMENTAL_SINCE_MARGIN_MS, 'round 2 continues from round 1\'s start (minus the overlap)');
    assert.ok(firstStart <= first.roundStartedAt);
    assert.equal(second.result.objects.copied, 7);
    assert.equal(second.result.objects.skipped, 50, 'objects inside the overlap are compared and skipped');
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), openFsProvider({ type: 'fs', path: dst })), 57);
    await handle.delete();
  });

  it('ferry cutover converges, says ready to switch, and completes after `ferry cutover NAME --switched`', { timeout: 300_000 }, async () => {
    const { file, src, dst } = fsJob('cut', { throttle: { objectsPerSecond: 100 } });
    for (let i = 0; i < 300; i++) writeFileSync(join(src, `c-${String(i).padStart(3, '0')}.txt`), `cut ${i}`);
    const run = ferry(['cutover', file, '--threshold', '10', '--json']);
    // A writer keeps changing the source during the first round (the full copy).
    const jobHandle = client.workflow.getHandle('ferry-cut');
    for (let i = 0; i < 600; i++) {
      const d = await jobHandle.describe().catch(() => undefined);
      if (d?.status.name === 'RUNNING') break;
      await sleep(100);
    }
    await sleep(1100);
    for (let i = 0; i < 25; i++) writeFileSync(join(src, `late-${i}.txt`), `written during round 1: ${i}`);
    await waitForPhase('cut', 'waiting-for-switch');
    const switched = await ferry(['cutover', 'cut', '--switched', '--json']);
    assert.equal(switched.code, 0, explain(switched));
    assert.equal((JSON.parse(switched.stdout) as { applied: string }).applied, 'update');
    const r = await run;
    assert.equal(r.code, 0, explain(r));
    const out = JSON.parse(r.stdout) as CutoverResult & { workflowId: string };
    assert.equal(out.workflowId, 'ferry-cut-cutover');
    assert.equal(out.status, 'complete');
    assert.equal(out.message, 'cut-over complete');
    const copies = out.rounds.filter((x) => x.kind !== 'verify');
    assert.ok(copies.length >= 3, JSON.stringify(out.rounds)); // full, ≥ 1 incremental, final delta
    assert.equal(copies[0]!.since, undefined);
    assert.ok(copies[0]!.copied >= 300);
    const minus = (iso: string) => new Date(Date.parse(iso) - INCREMENTAL_SINCE_MARGIN_MS).toISOString();
    for (let i = 1; i < copies.length; i++) assert.equal(copies[i]!.since, minus(copies[i - 1]!.startedAt), 'each round continues from the previous round\'s start (minus the overlap)');
    assert.ok(copies.at(-2)!.copied < 10, 'converged before the switch');
    assert.equal(copies.at(-1)!.kind, 'final-delta');
    assert.equal(out.rounds.at(-1)!.kind, 'verify');
    assert.equal(out.rounds.at(-1)!.status, 'succeeded');
    assert.match(r.stderr, /Round 2 \(incremental since/);
    assert.match(r.stderr, /ready to switch: .*run `ferry cutover cut --switched`/);
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), openFsProvider({ type: 'fs', path: dst })), 325);

    // Again, human output: everything is in place (round 1 copies nothing); --abort ends it (exit 1), data kept.
    const human = ferry(['cutover', file, '--threshold', '10']);
    await waitForPhase('cut', 'waiting-for-switch');
    const abort = await ferry(['cutover', 'cut', '--abort']);
    assert.equal(abort.code, 0, explain(abort));
    const h = await human;
    assert.equal(h.code, 1, explain(h));
    assert.match(h.stdout, /ready to switch: round 1 copied 0 object\(s\) \(< 10\)/);
    assert.match(h.stdout, /cut-over aborted \(cut\)/);
    assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), openFsProvider({ type: 'fs', path: dst })), 325);
  });
});
