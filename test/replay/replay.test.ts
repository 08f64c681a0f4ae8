/**
 * Replays captured histories of the job (every run, across continue-as-new) and task workflows against the
 * current workflow code: a change that would break running jobs fails here. One deliberately drifted workflow
 * must fail replay with a determinism error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { installRuntime } from '../../workers/main';

const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const load = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

test('captured job and task histories replay against the current workflow code', async () => {
  installRuntime();
  assert.ok(files.some((f) => /^ferry-replay-/.test(f)) && files.some((f) => /^ferry-replay_0_/.test(f)), 'fixtures include job and task histories');
  assert.ok(files.some((f) => /^ferry-replay-one-/.test(f)), 'fixtures include a job that ran its single task itself');
  assert.ok(files.filter((f) => /^ferry-replay-/.test(f)).length >= 2, 'fixtures include a continued-as-new job run');
  for (const f of files) {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows'), replayName: f }, load(f), f);
  }
});

test('a non-deterministic change fails replay', async () => {
  installRuntime();
  const first = files.find((f) => /^ferry-replay-/.test(f) && load(f).events.some((e: { eventType: string; activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'preflight'))!;
  assert.ok(first, 'a job history that starts with preflight');
  await assert.rejects(
    Worker.runReplayHistory({ workflowsPath: require.resolve('./drifted-workflows'), replayName: 'drifted' }, load(first), first),
    (e: unknown) => e instanceof DeterminismViolationError,
  );
});
