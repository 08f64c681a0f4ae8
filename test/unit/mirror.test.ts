/**
 * Mirror mode's pure parts: the job file's mirror checks and limit, the rules from diff to decision
 * (mirror-state.ts), the merged walk over two real fs trees with prefixes and filters (mirror-walk.ts), and the
 * report files cut at a cursor and merged into deletions.jsonl (mirror-log.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { parseJob, mirrorDeleteLimit } from '../../common/job';
import { InvalidConfigError } from '../../common/errors';
import { applyDiff, initialMirror, mirrorBlocker, validateApproval, validateRejection, approveMirror } from '../../workflows/mirror-state';
import { chainDigest, planMirror, walkMirror, type MirrorEntry } from '../../activities/mirror-walk';
import { appendLines, cutAfter, mirrorFiles, writeDeletions, type DeletionLine } from '../../activities/mirror-log';
import { openFsProvider } from '../../storage/fs/fs';
import { tempDir } from '../support/process';

const fsSide = { type: 'fs', path: '/x' };

test('job file: mirror needs a key-ordered source; maxDelete as count or percent (default 1 %), rounded down', () => {
  assert.throws(() => parseJob({ name: 'm', mode: 'mirror', source: { type: 'http', list: 'urls.txt' }, destination: fsSide }), (e: InvalidConfigError) => e.issues.some((i) => /mode: mirror needs a source listed in key order/.test(i)));
  assert.throws(() => parseJob({ name: 'm', mirror: { maxDelete: 3 }, source: fsSide, destination: { type: 'fs', path: '/y' } }), /mirror: only with mode: mirror/);
  const spec = parseJob({ name: 'm', mode: 'mirror', source: fsSide, destination: { type: 'fs', path: '/y' } });
  assert.deepEqual(spec.mirror, { maxDelete: { percent: 1 } });
  assert.equal(mirrorDeleteLimit(spec.mirror, 199), 1);
  assert.equal(mirrorDeleteLimit(spec.mirror, 99), 0);
  assert.equal(mirrorDeleteLimit({ maxDelete: { percent: 2.5 } }, 1000), 25);
  assert.equal(mirrorDeleteLimit({ maxDelete: { count: 7 } }, 10), 7);
});

test('from diff to decision: guards, the limit, approve and reject rules', () => {
  assert.match(mirrorBlocker({ error: 'listing failed', taskErrors: {} })!, /did not complete/);
  assert.match(mirrorBlocker({ taskErrors: { 3: 'x' } })!, /1 task\(s\) could not finish/);
  assert.equal(mirrorBlocker({ taskErrors: {} }), undefined);
  const diff = (objects: number, sourceEmpty = false) => ({ set: { objects, bytes: objects * 10, digest: 'd'.repeat(64) }, sample: [], destinationObjects: 100, protected: 0, sourceEmpty });
  const spec = { name: 'm', mode: 'mirror' as const, mirror: { maxDelete: { percent: 1 } } };

  const empty = initialMirror();
  assert.equal(applyDiff(empty, diff(50, true), spec), 'none');
  assert.equal(empty.stage, 'skipped');
  assert.equal(applyDiff(initialMirror(), diff(0), spec), 'none');
  const auto = initialMirror();
  assert.equal(applyDiff(auto, diff(1), spec), 'delete');
  assert.equal(auto.approval, 'automatic');
  const over = initialMirror();
  assert.equal(applyDiff(over, diff(2), spec), 'wait');
  assert.equal(over.stage, 'awaiting-approval');
  assert.throws(() => validateApproval(spec, over, { digest: 'e'.repeat(64) }), /not the one approved/);
  validateApproval(spec, over, { digest: 'd'.repeat(64) });
  validateApproval(spec, over, undefined);
  assert.throws(() => validateApproval({ name: 'c', mode: 'copy' }, over, undefined), /copy mode: it deletes nothing/);
  validateRejection(spec, over);
  approveMirror(over);
  assert.throws(() => validateApproval(spec, over, undefined), /no deletion set of job m awaits approval \(deletions: deleting\)/);
  assert.throws(() => validateRejection(spec, over), /can no longer be rejected/);
  const rejectedEarly = { ...initialMirror(), stage: 'rejected' as const };
  assert.equal(applyDiff(rejectedEarly, diff(2), spec), 'none');
  assert.equal(rejectedEarly.stage, 'rejected');
});

test('the merged walk: prefixes mapped, hostile keys in byte order, filters protect, the empty-source guard', async () => {
  const root = tempDir('mirror-walk');
  try {
    const write = (rel: string) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), rel);
    };
    for (const k of ['a.txt', 'b/ü.txt', 'b/😀.txt', 'c.keep']) write(`src/in/${k}`);
    for (const k of ['a.txt', 'a.txt2', 'b/ü.txt', 'b/\uffff.txt', 'b/😀.txt', 'c.keep', 'd.keep', 'z']) write(`dst/out/${k}`);
    const src = openFsProvider({ type: 'fs', path: join(root, 'src') });
    const dst = openFsProvider({ type: 'fs', path: join(root, 'dst') });
    const job = parseJob({ name: 'w', mode: 'mirror', filter: { exclude: ['*.keep'] }, source: { type: 'fs', path: join(root, 'src'), prefix: 'in/' }, destination: { type: 'fs', path: join(root, 'dst'), prefix: 'out/' } });
    const seen: MirrorEntry[] = [];
    const position = { sourceSelected: 0 };
    for await (const e of walkMirror(src, dst, job, position)) seen.push(e);
    assert.deepEqual(seen.map((e) => [e.key.slice(4), e.kind]), [
      ['a.txt', 'kept'],
      ['a.txt2', 'delete'],
      ['b/ü.txt', 'kept'],
      ['b/\uffff.txt', 'delete'], // U+FFFF sorts before an emoji in UTF-8 (not in UTF-16)
      ['b/😀.txt', 'kept'],
      ['c.keep', 'kept'],
      ['d.keep', 'protected'],
      ['z', 'delete'],
    ]);
    assert.equal(position.sourceSelected, 3, 'c.keep is excluded by the filter');
    // Resumed after a key: the rest only, source counting continued.
    const rest: string[] = [];
    for await (const e of walkMirror(src, dst, job, { after: 'out/b/ü.txt', sourceSelected: 2 })) rest.push(e.key);
    assert.deepEqual(rest, ['out/b/\uffff.txt', 'out/b/😀.txt', 'out/c.keep', 'out/d.keep', 'out/z']);
    const plan = await planMirror(src, dst, job, () => 2);
    assert.deepEqual({ deletions: plan.deletions.objects, protected: plan.protected.objects, overLimit: plan.overLimit, sourceEmpty: plan.sourceEmpty }, { deletions: 3, protected: 1, overLimit: true, sourceEmpty: false });
    const noSource = { ...job, source: { ...job.source, prefix: 'nothing/' }, filter: {} };
    assert.equal((await planMirror(src, dst, noSource, () => 100)).sourceEmpty, true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the digest chains (key, size) in order: another key, size or order is another digest', () => {
  const d = (entries: [string, number][]) => entries.reduce((acc, [k, s]) => chainDigest(acc, k, s), '');
  const base = d([['a', 1], ['b', 2]]);
  assert.equal(base, d([['a', 1], ['b', 2]]));
  assert.notEqual(base, d([['b', 2], ['a', 1]]));
  assert.notEqual(base, d([['a', 1], ['b', 3]]));
  assert.notEqual(base, d([['a', 1], ['c', 2]]));
  assert.notEqual(d([['a\n1', 1]]), d([['a', 1]]));
});

test('report files: cut at a cursor (the rest returned, last line per key), merged into deletions.jsonl', async () => {
  const run = tempDir('mirror-log');
  try {
    const f = mirrorFiles(run);
    appendLines(f.set, ['a', 'b', 'c', 'd'].map((key) => ({ key, size: 1, reason: 'absent from the source' })));
    appendLines(f.deleted, [
      { key: 'a', size: 1, reason: 'r', status: 'deleted', at: 't1' },
      { key: 'b', size: 1, reason: 'r', status: 'deleted', at: 't2' },
      { key: 'c', size: 1, reason: 'r', status: 'failed', at: 't3', error: 'x' },
      { key: 'c', size: 1, reason: 'r', status: 'deleted', at: 't4' },
    ]);
    let kept: unknown[] = [];
    const past = await cutAfter<{ key: string; at: string }>(f.deleted, 'a', (p) => (kept = p));
    assert.deepEqual(past.map((p) => [p.key, p.at]), [['b', 't2'], ['c', 't4']]);
    assert.equal(kept.length, 2, 'shown before the cut');
    assert.deepEqual(readFileSync(f.deleted, 'utf8').trim().split('\n').map((l) => JSON.parse(l).key), ['a']);
    appendLines(f.deleted, past);
    const counts = await writeDeletions(run, 'not deleted');
    assert.deepEqual(counts, { deleted: 3, 'not deleted': 1 });
    const lines = readFileSync(f.deletions, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeletionLine);
    assert.deepEqual(lines.map((l) => [l.key, l.status, l.at]), [['a', 'deleted', 't1'], ['b', 'deleted', 't2'], ['c', 'deleted', 't4'], ['d', 'not deleted', undefined]]);
    assert.deepEqual(await cutAfter(join(run, 'none.jsonl'), undefined), []);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
