/** The job and task workflows' pure state rules (workflows/job-state.ts, workflows/task-state.ts): no Temporal server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJob, type JobSpec } from '../../common/job';
import { emptyCounters, emptyVerifiedBy, type Counters } from '../../common/progress';
import type { ThrottleWindow } from '../../common/throttle-schedule';
import {
  addPlannedTasks,
  addRateSample,
  applyThrottleArgs,
  canStartTask,
  completeTask,
  controlState,
  effectiveLimits,
  etaMs,
  initialState,
  jobDetails,
  jobProgress,
  jobResult,
  MAX_RATE_SAMPLES,
  MAX_RECENT_FAILURES,
  needsPlanning,
  nextPlanInput,
  onlyTaskLeft,
  rates,
  reportInput,
  retryRoundDue,
  roundFinished,
  startRetryRound,
  takeInlineTask,
  taskSummary,
  validateThrottleArgs,
  type JobState,
  type RateSample,
} from '../../workflows/job-state';
import { addBatchResult, MAX_TASK_FAILURES, newTaskRun } from '../../workflows/task-state';
import type { BatchResult, TaskOutcome, TaskPlan } from '../../common/contracts';

const START = Date.UTC(2026, 0, 1);
const spec = (limits: Partial<JobSpec['limits']> = {}): JobSpec => {
  const parsed = parseJob({ name: 'demo', source: { type: 'fs', path: '/src' }, destination: { type: 'fs', path: '/dst' } });
  return { ...parsed, limits: { ...parsed.limits, tasks: 2, objects: 4, ...limits } };
};
const plan = (taskNumber: number, objects = 10, bytes = 1000): TaskPlan => ({ n: taskNumber, range: { startAfter: `k${taskNumber}`, last: `k${taskNumber + 1}` }, objects, bytes });
const counters = (values: Partial<Counters>): Counters => ({ ...emptyCounters(), ...values });
const outcome = (taskId: string, taskPlan: TaskPlan, values: Partial<TaskOutcome> = {}): TaskOutcome => ({
  taskId,
  n: taskPlan.n,
  round: 0,
  objects: counters({ copied: taskPlan.objects, verified: taskPlan.objects }),
  bytes: counters({ copied: taskPlan.bytes, verified: taskPlan.bytes }),
  failures: [],
  throttleEvents: 0,
  partsResumed: 0,
  ...values,
});
/** A job with `plans` listed and each in flight under its task workflow id. */
const running = (jobSpec: JobSpec, plans: TaskPlan[]): JobState => {
  const state = initialState(jobSpec, START);
  addPlannedTasks(state, { tasks: plans, cursor: 'end', done: true, listedObjects: 0, listedBytes: 0 });
  for (const taskPlan of state.queue.splice(0)) state.inFlight[`ferry-demo/${state.round}/${taskPlan.n}`] = taskPlan;
  return state;
};

test('initialState: run tag from the start time, limits copied from the spec (not shared)', () => {
  const jobSpec = spec();
  const state = initialState(jobSpec, START);
  assert.equal(state.runTag, '2026-01-01T00:00:00.000Z');
  assert.equal(state.startedAt, START);
  assert.equal(state.phase, 'preflight');
  state.limits.tasks = 99;
  assert.equal(jobSpec.limits.tasks, 2);
});

test('planning tops the queue up to two windows and counts what it covers', () => {
  const state = initialState(spec(), START);
  assert.equal(needsPlanning(state), true);
  assert.deepEqual(nextPlanInput(spec(), state), { job: spec(), cursor: undefined, firstTask: 0, maxTasks: 4 });
  addPlannedTasks(state, { tasks: [plan(0, 5, 50), plan(1, 7, 70)], cursor: 'k2', done: false, listedObjects: 12, listedBytes: 120 });
  assert.deepEqual(state.planned, { objects: 12, bytes: 120, tasks: 2 });
  assert.equal(state.nextTask, 2);
  assert.equal(state.cursor, 'k2');
  assert.equal(needsPlanning(state), false, 'a full window is queued');
  assert.deepEqual(nextPlanInput(spec(), state), { job: spec(), cursor: 'k2', firstTask: 2, maxTasks: 2 });
  state.paused = true;
  assert.equal(canStartTask(state), false);
});

test('completeTask counts an outcome once and records its failures, errors and a rate sample', () => {
  const jobSpec = spec();
  const state = running(jobSpec, [plan(0), plan(1)]);
  const failure = { key: 'a', size: 1, errorClass: 'SourceChangedError', message: 'changed', task: 'ferry-demo/0/0' };
  const first = outcome('ferry-demo/0/0', plan(0), { objects: counters({ copied: 9, verified: 9, failed: 1 }), bytes: counters({ copied: 900, verified: 900, failed: 100 }), failures: [failure], throttleEvents: 2 });
  assert.equal(completeTask(state, 'ferry-demo/0/0', first, true, START + 5_000), true);
  assert.equal(completeTask(state, 'ferry-demo/0/0', first, true, START + 6_000), false, 'a duplicate report is ignored');
  assert.deepEqual(state.objects, counters({ copied: 9, verified: 9, failed: 1 }));
  assert.equal(state.tasksDone, 1);
  assert.equal(state.throttleEvents, 2);
  assert.deepEqual(state.failedTasks, [{ plan: plan(0), failed: 1, failedBytes: 100, error: undefined }]);
  assert.deepEqual(state.samples, [[START + 5_000, 900, 9]]);

  completeTask(state, 'ferry-demo/0/1', outcome('ferry-demo/0/1', plan(1), { objects: emptyCounters(), bytes: emptyCounters(), error: 'destination unwritable' }), true, START + 7_000);
  assert.deepEqual(state.taskErrors, { '1': 'destination unwritable' });
  assert.deepEqual(state.recentFailures[0], { key: '(task ferry-demo/0/1)', size: 0, errorClass: 'TaskFailed', message: 'destination unwritable', task: 'ferry-demo/0/1' });
  assert.equal(state.recentFailures[1], failure);
  assert.equal(roundFinished(state), true);
});

test('recent failures and rate samples stay bounded', () => {
  const state = running(spec({ tasks: 100 }), Array.from({ length: 40 }, (_, taskNumber) => plan(taskNumber)));
  for (let taskNumber = 0; taskNumber < 40; taskNumber++) {
    const failures = [{ key: `k${taskNumber}`, size: 1, errorClass: 'X', message: 'x', task: 't' }];
    completeTask(state, `ferry-demo/0/${taskNumber}`, outcome(`ferry-demo/0/${taskNumber}`, plan(taskNumber), { failures }), true, START + taskNumber * 1000);
  }
  assert.equal(state.recentFailures.length, MAX_RECENT_FAILURES);
  assert.equal(state.recentFailures[0]!.key, 'k39', 'newest first');
  assert.equal(state.samples.length, MAX_RATE_SAMPLES);
  assert.equal(state.samples[0]![0], START + 10_000, 'oldest samples dropped');
});

test('a retry round re-queues failed tasks; the retry replaces their failures and nothing is counted twice', () => {
  const jobSpec = spec();
  const state = running(jobSpec, [plan(0, 100, 100)]);
  completeTask(state, 'ferry-demo/0/0', outcome('ferry-demo/0/0', plan(0, 100, 100), { objects: counters({ copied: 90, verified: 90, failed: 10 }), bytes: counters({ copied: 90, verified: 90, failed: 10 }) }), true, START);
  assert.equal(retryRoundDue(state, jobSpec.retries), true);
  startRetryRound(state);
  assert.equal(state.round, 1);
  assert.deepEqual(state.queue, [plan(0, 100, 100)]);
  assert.deepEqual(state.retryPrev, { '0': { failed: 10, failedBytes: 10 } });
  assert.deepEqual(state.failedTasks, []);

  state.inFlight['ferry-demo/1/0'] = state.queue.shift()!;
  const retry = counters({ skipped: 93, copied: 6, verified: 6, failed: 1 });
  completeTask(state, 'ferry-demo/1/0', outcome('ferry-demo/1/0', plan(0, 100, 100), { round: 1, objects: retry, bytes: retry }), true, START + 1000);
  assert.deepEqual(state.objects, counters({ copied: 96, failed: 1, skipped: 3, verified: 99 }));
  assert.equal(state.objects.copied + state.objects.failed + state.objects.skipped, 100, 'every object counted once');
  assert.deepEqual(state.retryPrev, {});
  assert.deepEqual(state.lastRoundOfTask, { '0': 1 });
  assert.equal(retryRoundDue(state, 1), false, 'no rounds left');
  state.error = 'fatal';
  assert.equal(retryRoundDue(state, 3), false, 'a failed job does not retry');
});

test('verified objects by check: batches add up in the task, tasks in the job; a retry\'s recovered objects count by size alone', () => {
  const jobSpec = spec();
  const run = newTaskRun('ferry-demo/0/0', plan(0, 100, 100), 0);
  const batch = (verifiedBy: BatchResult['verifiedBy']): BatchResult => ({ done: false, paused: false, objects: emptyCounters(), bytes: emptyCounters(), failures: [], failureCount: 0, throttleEvents: 0, partsResumed: 0, verifiedBy });
  addBatchResult(run, batch({ ...emptyVerifiedBy(), size: 50, md5: 50, content: 20 }));
  addBatchResult(run, batch(undefined));
  addBatchResult(run, batch({ ...emptyVerifiedBy(), size: 40, crc64: 40 }));
  assert.deepEqual(run.outcome.verifiedBy, { ...emptyVerifiedBy(), size: 90, md5: 50, crc64: 40, content: 20 });

  const state = running(jobSpec, [plan(0, 100, 100)]);
  assert.equal(jobProgress(jobSpec, state).verifiedBy, undefined, 'nothing verified yet: no breakdown');
  const first = counters({ copied: 90, verified: 90, failed: 10 });
  completeTask(state, 'ferry-demo/0/0', { ...run.outcome, objects: first, bytes: first }, true, START);
  startRetryRound(state);
  state.inFlight['ferry-demo/1/0'] = state.queue.shift()!;
  const retry = counters({ skipped: 96, copied: 2, verified: 2, failed: 2 });
  completeTask(state, 'ferry-demo/1/0', outcome('ferry-demo/1/0', plan(0, 100, 100), { round: 1, objects: retry, bytes: retry, verifiedBy: { ...emptyVerifiedBy(), size: 2, content: 2 } }), true, START + 1000);
  // 6 earlier failures were found in place by the retry: verified, by their size only.
  assert.equal(state.objects.verified, 98);
  const want = { ...emptyVerifiedBy(), size: 98, md5: 50, crc64: 40, content: 22 };
  assert.deepEqual(jobProgress(jobSpec, state).verifiedBy, want);
  assert.deepEqual(jobResult(jobSpec, state).verifiedBy, want);
  assert.deepEqual(reportInput(jobSpec, state, 'ferry-demo').verifiedBy, want);
  assert.match(jobDetails(jobSpec, state), /\nverified by: size 98, md5 50, crc64 40, content 22\n/);
});

test('the last task left runs in the job itself, in flight under the job id', () => {
  const state = initialState(spec(), START);
  addPlannedTasks(state, { tasks: [plan(7)], cursor: 'k8', done: true, listedObjects: 10, listedBytes: 1000 });
  assert.equal(onlyTaskLeft(state), true);
  const run = takeInlineTask(state, 'demo', 'ferry-demo');
  assert.equal(run.outcome.taskId, 'ferry-demo/0/7');
  assert.equal(run.cursor, 'k7');
  assert.deepEqual(state.inFlight, { 'ferry-demo': plan(7) });
  assert.equal(onlyTaskLeft(state), false);
});

test('rates: from a sample at least a minute old (or the start) up to now, never between two close samples', () => {
  const samples: RateSample[] = [[START + 50_000, 1_000_000, 1_000], [START + 50_100, 2_000_000, 2_000]];
  const state = { startedAt: START, samples };
  assert.deepEqual(rates(state, START + 50_100), { bytes: 2_000_000 / 50.1, objects: 2_000 / 50.1 });
  samples.push([START + 130_000, 5_000_000, 5_000]);
  assert.deepEqual(rates(state, START + 140_000), { bytes: 3_000_000 / 89.9, objects: 3_000 / 89.9 });
  assert.deepEqual(rates({ startedAt: START, samples: [] }, START + 5_000), { bytes: 0, objects: 0 });
});

test('rate samples are JSON arrays (the shape running jobs carry across continue-as-new)', () => {
  const state = initialState(spec(), START);
  state.bytes.copied = 10;
  state.objects.skipped = 2;
  addRateSample(state, START + 1);
  assert.equal(JSON.stringify(state.samples), `[[${START + 1},10,2]]`);
});

test('ETA: remaining listed bytes at the current rate, once listing is done', () => {
  const state = initialState(spec(), START);
  state.planned.bytes = 10_000;
  state.bytes = counters({ copied: 3_000, skipped: 1_000, failed: 500, excluded: 500 });
  assert.equal(etaMs(state, 100), undefined, 'listing still running');
  state.listingDone = true;
  assert.equal(etaMs(state, 100), 50_000);
  assert.equal(etaMs(state, 0), undefined);
});

test('limits: a throttle window overrides field by field; tasks share the job limits evenly', () => {
  const window = { from: '08:00', to: '20:00', fromSec: 8 * 3600, toSec: 20 * 3600, bandwidth: 4_000 } as ThrottleWindow;
  const state = running(spec({ bandwidth: 1_000, objectsPerSecond: 10 }), [plan(0), plan(1)]);
  assert.deepEqual(effectiveLimits(state, undefined), state.limits);
  assert.deepEqual(effectiveLimits(state, window), { ...state.limits, bandwidth: 4_000 });
  assert.deepEqual(controlState(state, window), { paused: false, bandwidthPerTask: 2_000, objectsPerSecondPerTask: 5, objects: 4 });
});

test('throttle arguments: positive numbers, whole counts, null lifts a rate limit', () => {
  assert.throws(() => validateThrottleArgs({ bandwidth: 0 }), /^Error: throttle bandwidth: must be a positive number, got 0$/);
  assert.throws(() => validateThrottleArgs({ tasks: 1.5 }), /throttle tasks: must be a whole number/);
  assert.throws(() => validateThrottleArgs({ concurrency: null as unknown as number }), /throttle concurrency: must be a positive number, got null/);
  validateThrottleArgs({ bandwidth: null, tasks: 3 });
  const limits = { bandwidth: 5, objectsPerSecond: 6, objects: 4, tasks: 2 };
  applyThrottleArgs(limits, { bandwidth: null, concurrency: 8 });
  assert.deepEqual(limits, { bandwidth: undefined, objectsPerSecond: 6, objects: 8, tasks: 2 });
});

test('progress and Web UI details', () => {
  const jobSpec = spec();
  const window = { from: '08:00', to: '20:00', fromSec: 0, toSec: 0, objectsPerSecond: 3 } as ThrottleWindow;
  const state = running(jobSpec, [plan(0, 10, 2048), plan(1, 10, 2048)]);
  completeTask(state, 'ferry-demo/0/0', outcome('ferry-demo/0/0', plan(0, 10, 2048)), true, START + 70_000);
  const now = START + 80_000;
  const progress = jobProgress(jobSpec, state, window, now);
  assert.deepEqual(progress.tasks, { planned: 2, done: 1, inFlight: 1, failed: 0 });
  assert.deepEqual(progress.inFlightTasks, ['ferry-demo/0/1']);
  assert.equal(progress.updatedAt, now);
  assert.equal(progress.throttleWindow, '08:00–20:00 UTC');
  assert.equal(progress.etaMs, 80_000, '2 KiB left at 2048 B / 80 s');
  assert.equal(
    jobDetails(jobSpec, state, window, now),
    [
      '**demo** — preflight',
      '',
      '| | objects | bytes |',
      '|---|---:|---:|',
      '| listed | 20 | 4.00 KiB |',
      '| copied | 10 | 2.00 KiB |',
      '| skipped | 0 | 0 B |',
      '| failed | 0 | 0 B |',
      '| verified | 10 | 2.00 KiB |',
      '',
      'rate 26 B/s, 0.1 objects/s; ETA 1m 20s; tasks 1/2 done, 1 in flight; throttled 0×',
      '',
      'throttle window 08:00–20:00 UTC: bandwidth unlimited, 3 objects/s',
    ].join('\n'),
  );
  state.paused = true;
  state.round = 2;
  state.listingDone = false;
  const details = jobDetails(jobSpec, state, undefined, now);
  assert.match(details.split('\n')[0]!, /^\*\*demo\*\* — preflight \(paused\), retry round 2$/);
  assert.match(details, /\| listed \(so far\) \|/);
  assert.match(details, /ETA —;/);
  assert.equal(taskSummary('demo', plan(3, 12, 3 * 1024 * 1024), 1), 'demo: task 3 (round 1), 12 objects, 3.00 MiB');
});

test('report input lists only the tasks that could not finish', () => {
  const state = running(spec(), [plan(0), plan(1)]);
  completeTask(state, 'ferry-demo/0/0', outcome('ferry-demo/0/0', plan(0), { objects: counters({ failed: 10 }) }), true, START);
  completeTask(state, 'ferry-demo/0/1', outcome('ferry-demo/0/1', plan(1), { error: 'gone' }), true, START);
  const input = reportInput(spec(), state, 'ferry-demo', START + 9);
  assert.equal(input.finishedAt, START + 9);
  assert.equal(input.rounds, 1);
  assert.deepEqual(input.unfinishedTasks, [{ task: 1, range: plan(1).range, objects: 10, bytes: 1000, error: 'gone' }]);
});

test('jobResult: status, totals and the error that explains it', () => {
  const jobSpec = spec();
  const state = running(jobSpec, [plan(0), plan(1)]);
  completeTask(state, 'ferry-demo/0/0', outcome('ferry-demo/0/0', plan(0)), true, START);
  let result = jobResult(jobSpec, state, '/reports/demo', START + 1234);
  assert.equal(result.status, 'succeeded');
  assert.deepEqual(result.objects, { ...counters({ copied: 10, verified: 10 }), listed: 20, total: 10 });
  assert.equal(result.durationMs, 1234);
  assert.equal(result.error, undefined);
  completeTask(state, 'ferry-demo/0/1', outcome('ferry-demo/0/1', plan(1), { error: 'destination unwritable' }), true, START);
  result = jobResult(jobSpec, state, undefined, START);
  assert.equal(result.status, 'completed-with-failures');
  assert.equal(result.error, '1 task(s) could not finish: destination unwritable');
  state.error = 'access denied';
  state.errorClass = 'AccessDeniedError';
  result = jobResult(jobSpec, state, undefined, START);
  assert.deepEqual([result.status, result.error, result.errorClass], ['failed', 'access denied', 'AccessDeniedError']);
});

test('task state: a batch moves the resume point and adds counters; kept failures are capped', () => {
  const run = newTaskRun('ferry-demo/0/3', plan(3), 0);
  assert.equal(run.cursor, 'k3');
  const failures = Array.from({ length: 8 }, (_, index) => ({ key: `f${index}`, size: 1, errorClass: 'X', message: 'x', task: 'ferry-demo/0/3' }));
  const batch = (cursor: string, done: boolean): BatchResult => ({
    cursor, done, paused: false, objects: counters({ copied: 2, failed: 8 }), bytes: counters({ copied: 20 }), failures, failureCount: 8, throttleEvents: 1, partsResumed: 1, doneAfterCursor: ['x'],
  });
  addBatchResult(run, batch('k3.5', false));
  addBatchResult(run, batch('k4', true));
  assert.equal(run.batch, 2);
  assert.equal(run.cursor, 'k4');
  assert.deepEqual(run.doneAfterCursor, ['x']);
  assert.deepEqual(run.outcome.objects, counters({ copied: 4, failed: 16 }));
  assert.equal(run.outcome.throttleEvents, 2);
  assert.equal(run.outcome.failures.length, MAX_TASK_FAILURES);
});
