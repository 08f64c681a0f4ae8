/** The report activity's files: a task that could not finish is listed with its key range, never dropped. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport } from '../../activities/report';
import { FailureLog } from '../../activities/failures';
import type { ActivityContext } from '../../activities/context';
import { parseJob } from '../../common/job';
import { emptyCounters, JobPhase } from '../../common/progress';
import { tempDir } from '../support/process';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('writeReport: unfinished tasks make the run completed-with-failures and are listed with their ranges', async () => {
  const reportDir = tempDir('report');
  dirs.push(reportDir);
  const job = parseJob({ name: 'rep', source: { type: 'fs', path: '/src' }, destination: { type: 'fs', path: '/dst' } });
  const ctx = { reportDir } as ActivityContext;
  const base = { job, runTag: 'r1', workflowId: 'ferry-rep', startedAt: 1_000, finishedAt: 61_000, objects: { ...emptyCounters(), copied: 10, verified: 10 }, bytes: { ...emptyCounters(), copied: 100, verified: 100 }, rounds: 4, lastRoundOfTask: {}, phase: JobPhase.reporting };

  const clean = await writeReport(ctx, { ...base, runTag: 'r0' });
  assert.equal(JSON.parse(readFileSync(join(clean.path, 'report.json'), 'utf8')).status, 'succeeded');

  const r = await writeReport(ctx, { ...base, unfinishedTasks: [{ task: 3, range: { startAfter: 'a/9', last: 'b/7' }, objects: 500, bytes: 5_000, error: 'BucketNotFoundError: destination bucket is gone' }] });
  const summary = JSON.parse(readFileSync(join(r.path, 'report.json'), 'utf8'));
  assert.equal(summary.status, 'completed-with-failures');
  assert.deepEqual(summary.unfinishedTasks, [{ task: 3, range: { startAfter: 'a/9', last: 'b/7' }, objects: 500, bytes: 5_000, error: 'BucketNotFoundError: destination bucket is gone' }]);
  const text = readFileSync(join(r.path, 'summary.txt'), 'utf8');
  assert.match(text, /unfinished tasks: 1 /);
  assert.match(text, /task 3: keys after "a\/9" up to "b\/7" \(500 objects, .*\): BucketNotFoundError: destination bucket is gone/);
});

test('FailureLog.truncateAfter: a resumed batch keeps the failures at or before its cursor and those finished after it', async () => {
  const reportDir = tempDir('report');
  dirs.push(reportDir);
  const log = new FailureLog(reportDir, 'trunc', 'r1', 0, 2, 0);
  for (const key of ['k1', 'k3', 'k5', 'k7']) log.add({ key, size: 1, errorClass: 'NotFoundError', message: 'gone', task: 't' }, key);
  // Cursor k3; k7 finished (failed) out of order before the crash, so it is not redone and its line must stay.
  await log.truncateAfter('k3', (a, b) => (a < b ? -1 : a > b ? 1 : 0), ['k7']);
  const kept = readFileSync(log.file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
  assert.deepEqual(kept, ['k1', 'k3', 'k7']);
  await log.truncateAfter(undefined, () => 0);
  assert.equal(readFileSync(log.file, 'utf8'), '');
});
