/**
 * Mirror mode through the built CLI (`bin/ferry` as installed) against a Temporal dev server and a `ferry worker`:
 * `ferry plan` counts what a run would delete and says it is over maxDelete; `ferry start` then `ferry status`
 * shows the set awaiting approval and the two answers; `ferry approve` deletes exactly it (exit 0), `ferry reject`
 * ends a job deleting nothing (exit 0), and both refuse a job with nothing to answer (exit 3, as `ferry pause`).
 *
 * FERRY_E2E_SKIP_BUILD=1 reuses an existing dist/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { tempDir } from '../support/process';
import { listAllObjects, REPO_ROOT } from '../support/ferry';
import { openFsProvider } from '../../storage/fs/fs';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
const BIN = join(REPO_ROOT, 'bin', 'ferry');
const N = 60;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('mirror mode through the CLI', () => {
  let temporal: TemporalTestServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess | undefined;

  const ferry = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = spawn(BIN, [...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        setImmediate(() => resolve({ code, stdout, stderr }));
      });
    });
  const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  const connect = () => ['--address', temporal.address];

  /** A source of N objects and a destination holding them plus `extra`; returns the job file. */
  function mirrorJob(name: string, extra: string[]): { file: string; src: string; dst: string } {
    const src = join(work, `${name}-src`);
    const dst = join(work, `${name}-dst`);
    const put = (root: string, key: string) => {
      mkdirSync(dirname(join(root, key)), { recursive: true });
      writeFileSync(join(root, key), `body of ${key}`);
    };
    for (let i = 0; i < N; i++) for (const root of [src, dst]) put(root, `photos/${String(i).padStart(3, '0')}.jpg`);
    for (const k of extra) put(dst, k);
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, toYaml({ name, mode: 'mirror', source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst } }));
    return { file, src, dst };
  }

  async function awaitingApproval(name: string): Promise<void> {
    for (let i = 0; i < 120; i++) {
      const s = await ferry(['status', name, ...connect(), '--json']);
      if (s.code === 0 && JSON.parse(s.stdout).progress?.mirror?.stage === 'awaiting-approval') return;
      await sleep(500);
    }
    assert.fail(`${name} never awaited approval`);
  }

  const keys = async (dir: string) => (await listAllObjects(openFsProvider({ type: 'fs', path: dir }))).map((o) => o.key);

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.ok(existsSync(CLI), `npm run build did not produce ${CLI}:\n${build.stdout}${build.stderr}`);
    }
    work = tempDir('mirror-e2e');
    const bundle = join(work, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
    writeFileSync(bundle, code);
    temporal = await startTemporal();
    env = { PATH: process.env.PATH, HOME: work, FERRY_HOME: join(work, 'home'), FERRY_WORKFLOW_BUNDLE: bundle, FERRY_LOG_LEVEL: 'WARN' };
    worker = spawn(BIN, ['worker', ...connect()], { cwd: work, env, stdio: 'ignore' });
  });
  after(async () => {
    if (worker?.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await temporal?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('plan, start, status, approve: exactly the set shown is deleted', async () => {
    const extra = ['photos/old-1.jpg', 'zz/old 2.jpg'];
    const { file, src, dst } = mirrorJob('approve-e2e', extra);

    const plan = await ferry(['plan', file, '--sample-seconds', '0', '--json']);
    assert.equal(plan.code, 0, explain(plan));
    const planned = JSON.parse(plan.stdout).mirror;
    assert.deepEqual({ objects: planned.deletions.objects, limit: planned.limit, overLimit: planned.overLimit }, { objects: 2, limit: 0, overLimit: true });
    const planText = await ferry(['plan', file, '--sample-seconds', '0']);
    assert.match(planText.stdout, /^ {2}to delete +2 objects .*over the limit of 0: the run would stop before deleting and wait for `ferry approve`/m);

    const early = await ferry(['approve', 'approve-e2e', ...connect()]);
    assert.equal(early.code, 3, explain(early));
    assert.match(early.stderr, /no job named "approve-e2e"/);

    const start = await ferry(['start', file, ...connect(), '--json']);
    assert.equal(start.code, 0, explain(start));
    await awaitingApproval('approve-e2e');
    const status = await ferry(['status', 'approve-e2e', ...connect()]);
    assert.equal(status.code, 0, explain(status));
    assert.match(status.stdout, /awaiting-approval/);
    assert.match(status.stdout, /deletions: 2 objects .* over the limit of 0: awaiting `ferry approve` or `ferry reject`/);
    for (const k of extra) assert.ok(status.stdout.includes(JSON.stringify(k)), `status lists ${k}`);
    assert.equal((await keys(dst)).length, N + 2, 'nothing deleted while waiting');

    const approve = await ferry(['approve', 'approve-e2e', ...connect()]);
    assert.equal(approve.code, 0, explain(approve));
    assert.match(approve.stdout, /^Approved: ferry-approve-e2e deletes 2 objects/m);

    const done = await ferry(['watch', 'approve-e2e', ...connect(), '--json']);
    assert.equal(done.code, 0, explain(done));
    const result = JSON.parse(done.stdout);
    assert.deepEqual({ stage: result.mirror.stage, deleted: result.mirror.deleted, approval: result.mirror.approval }, { stage: 'done', deleted: 2, approval: 'approved' });
    assert.deepEqual(await keys(dst), await keys(src), 'the destination holds exactly the source');

    const late = await ferry(['approve', 'approve-e2e', ...connect()]);
    assert.equal(late.code, 3, explain(late));
    assert.match(late.stderr, /is not running \(completed\): nothing to approve/);
  });

  it('reject: the job ends deleting nothing', async () => {
    const { file, dst } = mirrorJob('reject-e2e', ['gone/a', 'gone/b']);
    assert.equal((await ferry(['start', file, ...connect()])).code, 0);
    await awaitingApproval('reject-e2e');
    const reject = await ferry(['reject', 'reject-e2e', ...connect(), '--json']);
    assert.equal(reject.code, 0, explain(reject));
    const answer = JSON.parse(reject.stdout);
    assert.equal(answer.applied, 'update');
    assert.equal(answer.mirror.stage, 'rejected');
    const done = await ferry(['watch', 'reject-e2e', ...connect(), '--json']);
    assert.equal(done.code, 0, explain(done));
    assert.equal(JSON.parse(done.stdout).mirror.stage, 'rejected');
    assert.equal((await keys(dst)).length, N + 2, 'nothing deleted');
    const again = await ferry(['reject', 'reject-e2e', ...connect()]);
    assert.equal(again.code, 3, explain(again));
  });
});
