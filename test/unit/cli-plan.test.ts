/** `ferry plan` on two real fs providers: copy/skip by policy, filters, tasks, largest, rate and workers. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseJob } from '../../common/job';
import { openFsProvider } from '../../storage/fs/fs';
import { planJob, renderPlan, wouldCopy } from '../../client/commands/plan';
import { main } from '../../client/cli';
import type { Io } from '../../client/io';

let root: string;
let src: string;
let dst: string;
const old = new Date('2025-06-01T00:00:00Z');
const recent = new Date('2026-02-01T00:00:00Z');

function put(dir: string, key: string, size: number, mtime = recent): void {
  const p = join(dir, key);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, Buffer.alloc(size, 120));
  utimesSync(p, mtime, mtime);
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-plan-'));
  src = join(root, 'src');
  dst = join(root, 'dst');
  mkdirSync(dst);
  put(src, 'a.txt', 10);
  put(src, 'b/c.txt', 100);
  put(src, 'big.bin', 5000);
  put(src, 'scratch.tmp', 7);
  put(src, 'old.txt', 3, old);
  put(src, 'd/e.txt', 20);
  // At the destination: a.txt unchanged (same size, newer), b/c.txt different (size), nothing else.
  put(dst, 'a.txt', 10, new Date('2026-03-01T00:00:00Z'));
  put(dst, 'b/c.txt', 99, new Date('2026-03-01T00:00:00Z'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const job = (over: Record<string, unknown> = {}) =>
  parseJob({ name: 'p', source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst }, filter: { exclude: ['*.tmp'], modifiedSince: '2026-01-01T00:00:00Z' }, tasks: { maxObjects: 2 }, ...over });

test('if-different: copies what is missing or different, skips what is in place, excludes by filter', async () => {
  const spec = job();
  const p = await planJob(spec, openFsProvider(spec.source), openFsProvider(spec.destination), { rate: 1000, deadlineMs: 2000 });
  assert.deepEqual(p.listed, { objects: 6, bytes: 5140 });
  assert.deepEqual(p.excluded, { objects: 2, bytes: 10 });
  assert.deepEqual(p.skip, { objects: 1, bytes: 10 });
  assert.deepEqual(p.copy, { objects: 3, bytes: 5120 });
  assert.equal(p.tasks, 3);
  assert.deepEqual(p.largest.map((o) => o.key), ['big.bin', 'b/c.txt', 'd/e.txt']);
  assert.equal(p.estimateMs, 5120);
  assert.deepEqual(p.deadline, { ms: 2000, workers: 3, feasible: true });
  const text = renderPlan(p, spec);
  assert.match(text, /to copy +3 objects +5\.00 KiB/);
  assert.match(text, /to skip +1 objects +10 B/);
  assert.match(text, /deadline {3}2s: 3 workers needed/);
});

test('never keeps a different destination object; always copies everything', async () => {
  const never = job({ overwrite: 'never' });
  const p = await planJob(never, openFsProvider(never.source), openFsProvider(never.destination), { sampleSeconds: 0 });
  assert.deepEqual(p.skip, { objects: 2, bytes: 110 });
  assert.equal(p.estimateMs, undefined);
  const always = job({ overwrite: 'always' });
  const q = await planJob(always, openFsProvider(always.source), openFsProvider(always.destination), { sampleSeconds: 0 });
  assert.deepEqual(q.copy, { objects: 4, bytes: 5130 });
});

test('verify mode counts objects to compare and the ones missing', async () => {
  const spec = job({ mode: 'verify' });
  const p = await planJob(spec, openFsProvider(spec.source), openFsProvider(spec.destination), { sampleSeconds: 0 });
  assert.deepEqual(p.copy, { objects: 4, bytes: 5130 });
  assert.deepEqual(p.missing, { objects: 2, bytes: 5020 });
});

test('a measured read sample gives a rate and an estimate; a throttle sets a floor', async () => {
  const spec = job({ throttle: { bandwidth: '1KiB/s' } });
  const p = await planJob(spec, openFsProvider(spec.source), openFsProvider(spec.destination), { sampleSeconds: 2, deadlineMs: 1000 });
  assert.equal(p.rate?.source, 'measured');
  assert.equal(p.rate?.sample?.objects, 3);
  assert.equal(p.rate?.sample?.bytes, 5120);
  assert.ok(p.estimateMs! > 0);
  assert.equal(p.throttleFloorMs, 5000);
  assert.equal(p.deadline?.feasible, false);
  assert.match(p.warnings.join('\n'), /throttle alone needs 5s/);
});

test('wouldCopy follows the copy activity\'s policy rules', () => {
  const s = { key: 'k', size: 5, lastModified: 2000, position: 'k' };
  const spec = (overwrite: string) => job({ overwrite });
  assert.equal(wouldCopy(spec('if-different'), s, undefined, false, false), true);
  assert.equal(wouldCopy(spec('if-different'), s, { ...s, lastModified: 3000 }, false, false), false);
  assert.equal(wouldCopy(spec('if-different'), s, { ...s, size: 6 }, false, false), true);
  assert.equal(wouldCopy(spec('if-newer'), s, { ...s, lastModified: 1000 }, false, false), true);
  assert.equal(wouldCopy(spec('if-newer'), s, { ...s, size: 9, lastModified: 3000 }, false, false), false);
  assert.equal(wouldCopy(spec('never'), s, { ...s, size: 9 }, false, false), false);
  assert.equal(wouldCopy(spec('always'), s, s, false, false), true);
});

test('ferry plan --json through the CLI', async () => {
  const file = join(root, 'job.json');
  writeFileSync(file, JSON.stringify({ name: 'p', source: { type: 'fs', path: src }, destination: { type: 'fs', path: dst } }));
  const stdout: string[] = [];
  const io: Io = {
    out: (t) => stdout.push(t),
    err: () => undefined,
    rawOut: () => undefined,
    rawErr: () => undefined,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: () => 100,
    env: {},
    now: () => 0,
    onSignal: () => () => undefined,
  };
  assert.equal(await main(['plan', file, '--json', '--rate', '1KiB/s', '--deadline', '1s'], io), 0);
  const out = JSON.parse(stdout.join('\n'));
  assert.equal(out.copy.objects, 5);
  assert.equal(out.deadline.workers, 6);
  assert.equal(out.rate.source, 'given');
});
