/**
 * Commands that run no worker do not load the SDK's worker module (about half a second of a command's start):
 * the CLI's entry, the run machinery and `ferry status` load only the client side; the worker is imported when a
 * command starts one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/ferry';

function loadsWorker(modules: string[]): boolean {
  const script = `${modules.map((m) => `require(${JSON.stringify(join(REPO_ROOT, m))});`).join('')}
    process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('@temporalio/worker') || k.includes('core-bridge'))));`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.trim() === 'true';
}

test('the CLI, the run machinery and ferry status load no worker code; the in-process worker does', () => {
  assert.equal(loadsWorker(['client/cli.ts', 'client/runner.ts', 'client/commands/status.ts']), false);
  assert.equal(loadsWorker(['client/in-process-worker.ts']), true, 'the probe sees the worker when it is loaded');
});
