/** The pure rules of restore waits and of the job's account of them (workflows/restore-wait-state.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RESTORE_CHECK_INTERVALS_MS,
  RESTORE_GIVE_UP_MS,
  addCopyResult,
  addTaskArchive,
  archiveDetails,
  archiveProgress,
  checkDelayMs,
  newRestoreWait,
  restoreWaitId,
  restoreWaitReported,
  restoreWaitsRunning,
  takeReady,
  timeLeftMs,
  type JobArchiveState,
} from '../../workflows/restore-wait-state';
import { emptyCounters, type FailureRecord } from '../../common/progress';
import type { CopyRestoredResult, RestoreWaitInput, RestoringObject, TaskOutcome } from '../../common/contracts';
import { parseJob } from '../../common/job';

const obj = (key: string, size = 10, storageClass = 'GLACIER'): RestoringObject => ({ key, size, position: key, lastModified: 0, storageClass });
const input = (objects: RestoringObject[]): RestoreWaitInput => ({
  job: parseJob({ name: 'j', source: { type: 'fs', path: '/a' }, destination: { type: 'fs', path: '/b' }, archived: 'restore' }),
  runTag: 't',
  parentId: 'ferry-j',
  round: 0,
  n: 3,
  batch: 1,
  limits: { objects: 4, tasks: 1 },
  objects,
});
const copyResult = (copied: RestoringObject[], stillArchived: string[] = [], failed: FailureRecord[] = []): CopyRestoredResult => ({
  objects: { ...emptyCounters(), copied: copied.length, failed: failed.length, verified: copied.length },
  bytes: { ...emptyCounters(), copied: copied.reduce((n, o) => n + o.size, 0) },
  failures: failed,
  stillArchived,
  requests: stillArchived.length,
});

test('checks wait 1, 2, 5, 15, 30 minutes, then hourly; a job-level list replaces them, its last repeated', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 100].map((n) => checkDelayMs(n) / 60_000), [1, 2, 5, 15, 30, 60, 60, 60]);
  assert.deepEqual([0, 1, 5].map((n) => checkDelayMs(n, [100, 500])), [100, 500, 500]);
  assert.equal(checkDelayMs(3, []), RESTORE_CHECK_INTERVALS_MS[3]);
});

test('a wait gives up 7 days after it started', () => {
  const s = newRestoreWait('w', input([obj('a')]), 1000);
  assert.equal(timeLeftMs(s, 1000), RESTORE_GIVE_UP_MS);
  assert.equal(timeLeftMs(s, 1000 + RESTORE_GIVE_UP_MS), 0);
  assert.equal(timeLeftMs(s, 5000, 2000), 0);
});

test('ready objects leave pending; objects found archived again come back; counters and restored add up', () => {
  const [a, b, c] = [obj('a', 1), obj('b', 2), obj('c', 4)];
  const s = newRestoreWait('ferry-j/restore/0/3/1', input([a, b, c]), 0);
  assert.equal(s.outcome.handed, 3);
  assert.equal(s.outcome.handedBytes, 7);
  const ready = takeReady(s, ['a', 'b', 'zzz']);
  assert.deepEqual(ready.map((o) => o.key), ['a', 'b']);
  assert.deepEqual(s.pending.map((o) => o.key), ['c']);
  // b's restored copy expired between the check and the copy: requested again, back in pending.
  addCopyResult(s, ready, copyResult([a], ['b']));
  assert.deepEqual(s.pending.map((o) => o.key).sort(), ['b', 'c']);
  assert.equal(s.outcome.restored, 1);
  assert.equal(s.outcome.restoredBytes, 1);
  assert.equal(s.outcome.requests, 1);
  assert.equal(s.outcome.objects.copied, 1);
  const failure: FailureRecord = { key: 'c', size: 4, errorClass: 'ArchivedObject', message: 'gave up', task: 'w' };
  addCopyResult(s, takeReady(s, ['b', 'c']), copyResult([b], [], [failure]));
  assert.equal(s.pending.length, 0);
  assert.equal(s.outcome.objects.copied, 2);
  assert.equal(s.outcome.objects.failed, 1);
  assert.deepEqual(s.outcome.failures, [failure]);
});

test('ids and summaries', () => {
  assert.equal(restoreWaitId('photos', 1, 7, 2), 'ferry-photos/restore/1/7/2');
});

function outcomeWith(waits: { id: string; objects: number; bytes: number }[]): TaskOutcome {
  return {
    taskId: 't',
    n: 0,
    round: 0,
    objects: emptyCounters(),
    bytes: emptyCounters(),
    failures: [],
    throttleEvents: 0,
    partsResumed: 0,
    archive: { skipped: 1, skippedBytes: 5, restoring: 3, restoringBytes: 30, requests: 3, restored: 0, restoredBytes: 0 },
    restoreWaits: waits,
  };
}

test('the job waits for every announced restore wait, whichever arrives first: the task outcome or the wait report', () => {
  const state: JobArchiveState & { objects: ReturnType<typeof emptyCounters>; bytes: ReturnType<typeof emptyCounters>; recentFailures: FailureRecord[] } = {
    objects: emptyCounters(),
    bytes: emptyCounters(),
    recentFailures: [],
  };
  assert.equal(archiveProgress(state), undefined);
  assert.deepEqual(archiveDetails(state), []);
  const report = (id: string, restored: number) => ({ ...newRestoreWait(id, input([]), 0).outcome, restored, restoredBytes: restored * 10, objects: { ...emptyCounters(), copied: restored } });
  // w2 reports before the task's outcome names it.
  assert.equal(restoreWaitReported(state, report('w2', 1)), true);
  assert.equal(restoreWaitsRunning(state), 0);
  addTaskArchive(state, outcomeWith([{ id: 'w1', objects: 2, bytes: 20 }, { id: 'w2', objects: 1, bytes: 10 }]));
  assert.equal(restoreWaitsRunning(state), 1, 'w1 runs; w2 already reported');
  assert.deepEqual(state.restoreWaitsReported, []);
  const p = archiveProgress(state)!;
  assert.equal(p.waiting, 2);
  assert.equal(p.waitingBytes, 20);
  assert.equal(p.skipped, 1);
  assert.equal(p.restored, 1);
  assert.match(archiveDetails(state)[1]!, /^archived: 2 waiting for restore \(20 B\), 1 restored/);
  assert.equal(restoreWaitReported(state, report('w1', 2)), true);
  assert.equal(restoreWaitsRunning(state), 0);
  assert.equal(state.objects.copied, 3);
  assert.equal(state.archive!.restored, 3);
  assert.equal(state.archive!.restoring, 3);
});
