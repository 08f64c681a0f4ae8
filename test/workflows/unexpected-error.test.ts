/**
 * Errors of no known class are bounded and named. A source whose GET throws a plain TypeError for one key and whose
 * LIST throws a URIError once: the job completes in seconds, that object is a reported failure of class
 * UnexpectedError naming the key and the operation, and every other object is copied. A LIST that always throws for
 * one task's range ends that task, reported with the listing it could not do, in seconds (not 30 Temporal attempts
 * with 5-minute back-off); the job goes on and copies the other tasks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startJob, startWorker, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import type { EndpointConfig } from '../../common/job';
import type { JobResult } from '../../common/progress';

interface Misbehaviour {
  /** GET of this key throws a plain TypeError, every time. */
  getTypeError?: string;
  /** A LIST starting after this position throws a URIError: once, or every time. */
  listAfter?: { position: string; always: boolean };
  /** Planning's listing (the first 1,000-key page) throws a URIError, every time. */
  planningList?: boolean;
}

/** `p` with the misbehaviour; another endpoint id, so copies take the GET path (no fs server-side copy). */
function misbehaving(p: ObjectProvider, m: Misbehaviour): ObjectProvider {
  let listFailures = 0;
  const get: ObjectProvider['get'] = (key, opts) => {
    if (key === m.getTypeError) throw new TypeError(`injected: cannot read the body of ${key}`);
    return p.get(key, opts);
  };
  const list: ObjectProvider['list'] = (opts = {}) => {
    const planning = m.planningList && opts.limit === 1000 && opts.startAfter === undefined;
    const fails = planning || (m.listAfter && opts.startAfter === m.listAfter.position && (m.listAfter.always || listFailures === 0));
    if (fails) {
      listFailures++;
      throw new URIError('URI malformed');
    }
    return p.list(opts);
  };
  return Object.assign(Object.create(p) as ObjectProvider, { get, list, endpointId: `misbehaving|${p.endpointId}` });
}

const root = tempDir('unexpected');
const RULES: Record<string, Misbehaviour> = {
  [join(root, 'a', 'src')]: { getTypeError: 'a05', listAfter: { position: 'a09', always: false } },
  [join(root, 'b', 'src')]: { listAfter: { position: 'b09', always: true } },
  [join(root, 'c', 'src')]: { planningList: true },
};

let temporal: TemporalTestServer;
let worker: InProcessWorker;

before(async () => {
  temporal = await startTemporal();
  const open = (spec: EndpointConfig, ctx: Parameters<typeof openProvider>[1]) => {
    const rules = spec.path !== undefined ? RULES[spec.path] : undefined;
    return rules ? misbehaving(openProvider(spec, ctx), rules) : openProvider(spec, ctx);
  };
  worker = await startWorker(temporal, { reportDir: join(root, 'reports'), deps: { openProvider: open } });
});

after(async () => {
  await worker?.stop();
  await temporal?.stop();
});

/** `n` objects `<prefix>00`… in `<root>/<prefix>/src`; runs a job of tasks of 10 objects to the empty `dst`. */
async function runJob(prefix: string, n: number, extra: Record<string, unknown> = {}): Promise<{ result: JobResult; keys: string[]; dst: string; seconds: number }> {
  const src = join(root, prefix, 'src');
  const dst = join(root, prefix, 'dst');
  mkdirSync(src, { recursive: true });
  const keys = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  for (const k of keys) writeFileSync(join(src, k), `object ${k}\n`);
  const started = performance.now();
  const job = { name: `unexpected-${prefix}`, source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst }, retries: 0, tasks: { maxObjects: 10 }, concurrency: { tasks: 2, objects: 4 }, ...extra };
  const handle = await startJob(await temporal.client(), job);
  // A job that fails carries its result (with the report's path) in the failure's details.
  const result = (await handle.result().catch((e: { cause?: { details?: unknown[] } }) => e.cause?.details?.[0] ?? Promise.reject(e))) as JobResult;
  return { result, keys, dst, seconds: (performance.now() - started) / 1000 };
}

const copiedKeys = (dst: string) => readdirSync(dst).filter((f) => !f.startsWith('.')).sort();

test('a TypeError on one GET is a reported UnexpectedError naming key and operation; a URIError once on LIST is absorbed', { timeout: 120_000 }, async () => {
  // The job's own report.path (not the worker's report directory) holds the whole report, failures included.
  const reports = join(root, 'job-reports');
  const { result, keys, dst, seconds } = await runJob('a', 20, { report: { path: reports } });
  assert.ok(result.reportPath!.startsWith(reports), result.reportPath);
  assert.ok(seconds < 45, `the job took ${seconds.toFixed(1)} s`);
  assert.equal(result.status, 'completed-with-failures', JSON.stringify(result));
  assert.equal(result.objects.copied, keys.length - 1, JSON.stringify(result.objects));
  assert.equal(result.objects.failed, 1, JSON.stringify(result.objects));
  assert.deepEqual(copiedKeys(dst), keys.filter((k) => k !== 'a05'));
  const failures = readFileSync(join(result.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string; message: string });
  assert.deepEqual(failures.map((f) => [f.key, f.errorClass]), [['a05', 'UnexpectedError']]);
  assert.match(failures[0]!.message, /^copy in bucket \S+ key "a05": unexpected TypeError: injected: cannot read the body of a05 \(3 attempts\)$/);
});

test('a LIST that always throws for one range ends that task with a named UnexpectedError; the job goes on', { timeout: 120_000 }, async () => {
  const { result, keys, dst, seconds } = await runJob('b', 30);
  assert.ok(seconds < 45, `the job took ${seconds.toFixed(1)} s`);
  assert.equal(result.status, 'completed-with-failures', JSON.stringify(result));
  const unlisted = keys.slice(10, 20);
  assert.deepEqual(copiedKeys(dst), keys.filter((k) => !unlisted.includes(k)));
  assert.match(result.error ?? '', /1 task\(s\) could not finish: UnexpectedError: list source in bucket \S+ after "b09": unexpected URIError: URI malformed \(3 attempts\)/);
  const report = JSON.parse(readFileSync(join(result.reportPath!, 'report.json'), 'utf8')) as { unfinishedTasks: { range: { startAfter?: string }; error: string }[] };
  assert.deepEqual(report.unfinishedTasks.map((t) => t.range.startAfter), ['b09']);
  assert.match(report.unfinishedTasks[0]!.error, /^UnexpectedError: list source/);
});

test('a listing that fails for good while planning ends the job as failed, with the reason and a report', { timeout: 120_000 }, async () => {
  const { result, dst, seconds } = await runJob('c', 20);
  assert.ok(seconds < 45, `the job took ${seconds.toFixed(1)} s`);
  assert.equal(result.status, 'failed', JSON.stringify(result));
  assert.match(result.error ?? '', /^listing the source stopped after 0 object\(s\) were planned: list source in bucket \S+: unexpected URIError: URI malformed \(3 attempts\)/);
  assert.equal(result.errorClass, 'UnexpectedError');
  assert.deepEqual(existsSync(dst) ? copiedKeys(dst) : [], []);
  const report = JSON.parse(readFileSync(join(result.reportPath!, 'report.json'), 'utf8')) as { status: string; error: string };
  assert.equal(report.status, 'failed');
  assert.match(report.error, /listing the source stopped/);
});
