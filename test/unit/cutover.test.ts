/**
 * The cut-over's pure parts: its flags (`ferry cutover`), the workflow input the CLI builds (back-to-origin needs
 * an origin URL before anything starts), and the rules of cutover-state.ts (which `since` each round uses, what
 * verify and retry rounds run, the cap on carried rounds, which answer is allowed in which phase).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgv } from '../../client/cli';
import { UsageError } from '../../client/errors';
import { cutoverInput } from '../../client/commands/cutover';
import { renderPhase, renderRound } from '../../client/cutover-follow';
import { INCREMENTAL_SINCE_MARGIN_MS, parseJob } from '../../common/job';
import {
  CutoverPhase,
  ROUNDS_KEPT,
  addRound,
  checkAbort,
  checkRetry,
  cutoverView,
  cutoverWorkflowId,
  initialCutoverState,
  nextRoundNumber,
  nextSince,
  roundProblem,
  roundRecord,
  roundSpec,
  type CutoverInput,
} from '../../workflows/cutover-state';

const spec = (extra: object = {}) => parseJob({ name: 'photos', source: { type: 's3', bucket: 'src', region: 'ap-northeast-1' }, destination: { type: 'oss', bucket: 'dst', endpoint: 'http://127.0.0.1:9' }, ...extra });

test('ferry cutover flags: start form and the three answers', () => {
  assert.deepEqual(parseArgv(['cutover', 'job.yaml', '--threshold', '50', '--every', '30m', '--back-to-origin', '--origin-url', 'https://o.example/']).options, {
    job: 'job.yaml', threshold: 50, every: 1_800_000, backToOrigin: true, originUrl: 'https://o.example/',
  });
  assert.deepEqual(parseArgv(['cutover', 'photos', '--switched', '--json']).options, { job: 'photos', switched: true, json: true });
  assert.deepEqual(parseArgv(['cutover', 'photos', '--abort']).options, { job: 'photos', abort: true });
  const refused = (argv: string, re: RegExp) => assert.throws(() => parseArgv(argv.split(' ')), (e) => e instanceof UsageError && re.test(e.message), argv);
  refused('cutover photos --switched --abort', /one of --switched, --retry, --abort/);
  refused('cutover photos --retry --threshold 5', /--retry answers a running cut-over; --threshold only apply when starting/);
  refused('cutover job.yaml --origin-url https://o.example/', /--origin-url needs --back-to-origin/);
  refused('cutover job.yaml --back-to-origin --origin-url ftp://x', /must be an http\(s\) URL/);
});

test('the workflow input: defaults, and back-to-origin from --origin-url or the source URL, else a usage error', () => {
  const plain = cutoverInput(spec(), {});
  assert.equal(plain.threshold, 100);
  assert.equal(plain.everyMs, 600_000);
  assert.equal(plain.backToOrigin, undefined);
  assert.equal(cutoverInput(spec(), { backToOrigin: true }).backToOrigin?.originUrl, 'https://src.s3.ap-northeast-1.amazonaws.com/');
  assert.equal(cutoverInput(spec(), { backToOrigin: true, originUrl: 'https://cdn.example/' }).backToOrigin?.originUrl, 'https://cdn.example/');
  const fs = parseJob({ name: 'nas', source: { type: 'fs', path: '/data' }, destination: { type: 'oss', bucket: 'dst', endpoint: 'http://127.0.0.1:9' } });
  assert.throws(() => cutoverInput(fs, { backToOrigin: true }), (e) => e instanceof UsageError && /fs source has no URL.*--origin-url/.test(e.message));
});

test('rounds: since of each round, verify and retry specs, figures, problems', () => {
  const input: CutoverInput = { spec: spec(), threshold: 10, everyMs: 1000 };
  const state = initialCutoverState(0);
  assert.equal(cutoverWorkflowId('photos'), 'ferry-photos-cutover');
  assert.equal(nextSince(input, state), undefined, 'round 1 copies everything');
  assert.equal(nextSince({ ...input, firstSince: 5 }, state), 5);
  state.lastCopyStart = 1_000_000;
  assert.equal(nextSince(input, state), 1_000_000 - INCREMENTAL_SINCE_MARGIN_MS);
  const own = { ...input, spec: spec({ filter: { modifiedSince: '2100-01-01T00:00:00Z' } }) };
  assert.equal(nextSince(own, state), own.spec.filter.modifiedSince, 'never before the job\'s own filter');

  assert.equal(roundSpec(input.spec, 'incremental', 42).filter.modifiedSince, 42);
  assert.equal(roundSpec(input.spec, 'verify', undefined).mode, 'verify');
  const retry = roundSpec({ ...input.spec, overwrite: 'never' }, 'retry', undefined);
  assert.deepEqual([retry.mode, retry.overwrite, retry.filter.modifiedSince], ['copy', 'if-different', undefined]);

  const objects = { listed: 5, copied: 3, skipped: 2, failed: 1, verified: 4, excluded: 0, total: 5 };
  const result = { name: 'photos', status: 'completed-with-failures' as const, objects, bytes: objects, durationMs: 1, rounds: 1, partsResumed: 0, reportPath: '/r' };
  const v = roundRecord(4, 'verify', undefined, 0, 1000, result);
  assert.deepEqual([v.n, v.copied, v.failed, v.startedAt, v.endedAt], [4, 3, 1, '1970-01-01T00:00:00.000Z', '1970-01-01T00:00:01.000Z']);
  assert.equal(roundProblem(v), 'verify found 1 difference(s) (report: /r)');
  assert.match(roundProblem(roundRecord(2, 'final-delta', 7, 0, 1, undefined, 'boom'))!, /final-delta round 2 ended without a result: boom/);
  assert.equal(roundProblem({ ...v, status: 'succeeded' }), undefined);
  assert.match(renderRound(v), /^Round 4 \(verify\): verified 4, differences 1 — completed-with-failures\.$/);
});

test('carried rounds are capped: the oldest are summed, numbering goes on', () => {
  const state = initialCutoverState(0);
  for (let i = 1; i <= ROUNDS_KEPT + 5; i++) addRound(state, roundRecord(nextRoundNumber(state), 'incremental', 0, 0, 0, undefined));
  assert.equal(state.rounds.length, ROUNDS_KEPT);
  assert.equal(state.earlier?.rounds, 5);
  assert.equal(state.rounds[0]!.n, 6);
  assert.equal(nextRoundNumber(state), ROUNDS_KEPT + 6);
});

test('answers allowed by phase, and what the operator reads', () => {
  const input: CutoverInput = { spec: spec(), threshold: 10, everyMs: 600_000 };
  const state = initialCutoverState(0);
  assert.throws(() => checkRetry(state), /nothing to retry: the cut-over is converging/);
  state.phase = CutoverPhase.blocked;
  checkRetry(state);
  checkAbort(state);
  state.phase = CutoverPhase.originOff;
  assert.throws(() => checkAbort(state), /too late to abort/);
  state.phase = CutoverPhase.waiting;
  assert.match(renderPhase(cutoverView(input, state))!, /ready to switch: .*run `ferry cutover photos --switched`/);
  state.phase = CutoverPhase.blocked;
  state.lastError = 'verify found 2 difference(s)';
  assert.match(renderPhase(cutoverView(input, state))!, /Stopped: verify found 2 difference\(s\)\.\nRun `ferry cutover photos --retry`/);
});
