/** Progress bar, plain lines, status snapshot, final summary, --json shape, exit codes, error messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doneOf, exitCodeForResult, formatCount, renderBar, renderProgressLine, renderProgressPlain, renderStatus, renderSummary, summaryJson } from '../../client/render';
import { exitCodeFor, formatError, JobStateError, ServerUnreachableError, ToolMissingError, UsageError } from '../../client/errors';
import { AccessDeniedError, BucketNotFoundError, CredentialsError, InvalidConfigError } from '../../common/errors';
import { emptyCounters, type JobProgress, type JobResult } from '../../common/progress';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const T0 = Date.UTC(2026, 0, 1);

function progress(over: Partial<JobProgress> = {}): JobProgress {
  return {
    name: 'photos',
    inFlightTasks: [],
    phase: 'copying',
    paused: false,
    round: 0,
    listingDone: true,
    objects: { ...emptyCounters(), listed: 2400, copied: 1000, skipped: 190, failed: 10, verified: 1190 },
    bytes: { ...emptyCounters(), listed: 2 * GiB, copied: 900 * MiB, skipped: 100 * MiB, failed: 24 * MiB, verified: 1000 * MiB },
    tasks: { planned: 3, done: 1, inFlight: 2, failed: 0 },
    rateBytesPerSec: 45 * MiB,
    rateObjectsPerSec: 120.5,
    etaMs: 192_000,
    startedAt: T0,
    updatedAt: T0 + 65_000,
    limits: { objects: 32, tasks: 8 },
    throttleEvents: 0,
    partsResumed: 0,
    recentFailures: [],
    ...over,
  };
}

test('done counts copied, skipped, failed and excluded; fraction by bytes', () => {
  const d = doneOf(progress());
  assert.equal(d.objects, 1200);
  assert.equal(d.bytes, 1024 * MiB);
  assert.equal(d.fraction, 0.5);
  assert.equal(doneOf(progress({ bytes: emptyCounters(), objects: { ...emptyCounters(), listed: 4, copied: 1 } })).fraction, 0.25);
  assert.equal(doneOf(progress({ bytes: emptyCounters(), objects: emptyCounters(), listingDone: false })).fraction, undefined);
  assert.equal(doneOf(progress({ bytes: emptyCounters(), objects: emptyCounters(), listingDone: true })).fraction, 1);
});

test('bar', () => {
  assert.equal(renderBar(0.5, 10), '[#####.....]');
  assert.equal(renderBar(1.7, 4), '[####]');
  assert.equal(renderBar(undefined, 3), '[...]');
  assert.equal(formatCount(1234567), '1,234,567');
});

test('progress line: all parts when wide, fitted when narrow', () => {
  const wide = renderProgressLine(progress(), 140);
  // Fixed-width phase and percentage, so the redrawn line does not jitter.
  assert.equal(wide, 'copying    [####################....................]   50%  1,200/2,400 obj  1.00 GiB/2.00 GiB  45.0 MiB/s  ETA 3m 12s  10 failed');
  const narrow = renderProgressLine(progress(), 60);
  assert.ok(narrow.length <= 60, narrow);
  assert.match(narrow, /50%/);
  assert.match(narrow, /1,200\/2,400 obj/);
  assert.match(narrow, /10 failed/);
  assert.match(renderProgressLine(progress({ listingDone: false, etaMs: undefined }), 140), /2,400\+ obj .* listing…/);
  assert.match(renderProgressLine(progress({ paused: true }), 140), /^paused .*ETA —/);
  assert.match(renderProgressLine(progress({ round: 2, phase: 'retrying' }), 140), /^retry 2 /);
});

test('plain line for logs: elapsed, every counter, no control characters', () => {
  const line = renderProgressPlain(progress(), T0 + 65_000);
  assert.equal(line, '[1m 5s]  photos: copying 50%  objects 1,200/2,400 (copied 1,000, skipped 190, failed 10)  bytes 1.00 GiB/2.00 GiB  rate 45.0 MiB/s  ETA 3m 12s');
  assert.doesNotMatch(line, /\x1b/);
});

test('status snapshot names phase, counters, tasks, limits and recent failures', () => {
  const text = renderStatus(
    progress({ paused: true, limits: { objects: 16, tasks: 4, bandwidth: 50 * MiB, objectsPerSecond: 200 }, throttleEvents: 3, partsResumed: 4, recentFailures: [{ key: 'a b.jpg', size: 2048, errorClass: 'AccessDeniedError', message: 'denied', task: 'ferry-photos/0/1' }] }),
    T0 + 65_000,
    'ferry-photos',
  );
  assert.match(text, /^Job photos \(ferry-photos\): PAUSED, copying/);
  assert.match(text, /objects +2,400 listed {2}1,000 copied {2}190 skipped {2}10 failed {2}1,190 verified {2}0 excluded/);
  assert.match(text, /tasks {4}1\/3 done, 2 in flight, 0 with failures; listing done/);
  assert.match(text, /limits {3}bandwidth 50\.0 MiB\/s, objects\/s 200, 4 tasks × 16 objects in flight/);
  assert.match(text, /store throttled us 3×/);
  assert.match(text, /4 multipart parts reused after a resume/);
  assert.doesNotMatch(text, /verified by/, 'a job that counted no checks shows no breakdown');
  const checked = renderStatus(progress({ verifiedBy: { size: 1190, md5: 0, crc64: 700, crc32c: 0, sha256: 0, content: 490 } }), T0 + 65_000, 'ferry-photos');
  assert.match(checked, /verified by size 1190, crc64 700, content 490\n/);
  assert.match(text, /AccessDeniedError {2}"a b\.jpg" \(2\.00 KiB\): denied/);
});

function result(over: Partial<JobResult> = {}): JobResult {
  return {
    name: 'photos',
    status: 'succeeded',
    objects: { ...emptyCounters(), listed: 2400, copied: 2300, skipped: 100, verified: 2400, total: 2400 },
    bytes: { ...emptyCounters(), listed: 2 * GiB, copied: 2 * GiB - 10 * MiB, skipped: 10 * MiB, verified: 2 * GiB, total: 2 * GiB },
    durationMs: 125_000,
    rounds: 1,
    partsResumed: 0,
    reportPath: '/home/u/.ferry/reports/photos/2026-01-01T00-00-00.000Z',
    ...over,
  };
}

test('summary text for each status, with the report location', () => {
  const ok = renderSummary(result());
  assert.match(ok, /^Job photos succeeded in 2m 5s\n {2}objects {2}2,400 total: 2,300 copied, 100 skipped, 0 failed, 2,400 verified\n {2}bytes {4}2\.00 GiB total: 1\.99 GiB copied, 10\.0 MiB skipped, 0 B failed/);
  assert.match(ok, /report {3}\/home\/u\/\.ferry\/reports\/photos\//);
  const partial = renderSummary(result({ status: 'completed-with-failures', objects: { ...result().objects, failed: 3 }, rounds: 4 }));
  assert.match(partial, /^Job photos completed with failures in 2m 5s: 3 objects failed/);
  assert.match(partial, /rounds 4 \(failed tasks retried\)/);
  assert.match(partial, /ferry retry photos/);
  const sizeOnly = renderSummary(result({ verifiedBy: { size: 2400, md5: 0, crc64: 0, crc32c: 0, sha256: 0, content: 0 } }));
  assert.match(sizeOnly, /\n {2}verified by size 2400\n/, 'a size-only check is never shown as a checksum');
  const failed = renderSummary(result({ status: 'failed', error: 'source s3://b (credentials "tokyo"): credential profile "tokyo" not found' }));
  assert.match(failed, /^Job photos failed after 2m 5s: source s3:\/\/b \(credentials "tokyo"\): credential profile "tokyo" not found/);
});

test('--json summary shape and exit codes', () => {
  const r = result({ status: 'completed-with-failures', objects: { ...result().objects, failed: 2, excluded: 5 } });
  assert.deepEqual(summaryJson(r), {
    name: 'photos',
    status: 'completed-with-failures',
    objects: { total: 2400, copied: 2300, skipped: 100, failed: 2, verified: 2400, excluded: 5 },
    bytes: { total: 2 * GiB, copied: 2 * GiB - 10 * MiB, skipped: 10 * MiB, failed: 0, verified: 2 * GiB, excluded: 0 },
    durationMs: 125_000,
    rounds: 1,
    partsResumed: 0,
    reportPath: r.reportPath,
  });
  const checked = summaryJson(result({ verifiedBy: { size: 2400, md5: 2300, crc64: 0, crc32c: 0, sha256: 0, content: 100 } }));
  assert.deepEqual(checked.verifiedBy, { size: 2400, md5: 2300, crc64: 0, crc32c: 0, sha256: 0, content: 100 });
  assert.equal(exitCodeForResult({ status: 'succeeded' }), 0);
  assert.equal(exitCodeForResult({ status: 'completed-with-failures' }), 1);
  assert.equal(exitCodeForResult({ status: 'failed' }), 3);
});

test('error boundary: exit codes by class (also through Temporal failures), one line, no stack', () => {
  assert.equal(exitCodeFor(new UsageError('x')), 2);
  assert.equal(exitCodeFor(new InvalidConfigError(['a: b'])), 2);
  for (const e of [new CredentialsError('c'), new AccessDeniedError('a'), new BucketNotFoundError('b'), new ServerUnreachableError('s'), new JobStateError('j'), new ToolMissingError('t')]) {
    assert.equal(exitCodeFor(e), 3, e.name);
  }
  const wrapped = new WorkflowFailedError('Workflow execution failed', ApplicationFailure.create({ type: 'AccessDeniedError', message: 'destination s3://b: Access Denied' }), RetryState.NON_RETRYABLE_FAILURE);
  assert.equal(exitCodeFor(wrapped), 3);
  assert.equal(formatError(wrapped), 'ferry: destination s3://b: Access Denied');
  assert.equal(exitCodeFor(new Error('boom')), 1);
  assert.equal(formatError(new Error('boom')), 'ferry: unexpected error: boom (set FERRY_DEBUG=1 for details)');
  assert.equal(formatError(new UsageError('bad flag', 'run')), 'ferry: bad flag\nRun `ferry run --help` for usage.');
  assert.match(formatError(new Error('boom'), true), /^ferry: Error: boom\n {4}at /);
});
