/** Pure rules of the engine: retry-round accounting, the overwrite decision, globs; and the shipped examples validate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { mergeRetry, rates } from '../../workflows/job-state';
import { overwriteDecision } from '../../activities/range';
import { compileFilter } from '../../common/glob';
import { parseJob } from '../../common/job';
import { emptyCounters } from '../../common/progress';

test('mergeRetry: new copies add, failures replace, failures found in place count as skipped (and verified)', () => {
  // Round 0: 100 objects, 90 copied+verified, 10 failed.
  const total = { ...emptyCounters(), copied: 90, verified: 90, failed: 10 };
  // Round 1 re-runs the range: the 90 are in place (skipped), 6 of the 10 get copied, 1 still fails, 3 were
  // actually in place already.
  mergeRetry(total, { ...emptyCounters(), skipped: 93, copied: 6, verified: 6, failed: 1 }, 10, true);
  assert.deepEqual({ copied: total.copied, failed: total.failed, skipped: total.skipped, verified: total.verified }, { copied: 96, failed: 1, skipped: 3, verified: 99 });
  assert.equal(total.copied + total.failed + total.skipped, 100, 'every object counted once');
});

test('rates: measured from a sample at least a minute old (or the start) up to now, never between two close samples', () => {
  const t0 = 1_000_000;
  // Two tasks of 1,000 objects finish 100 ms apart, 50 s after the start: that is 40 objects/s, not 10,000.
  const s = { startedAt: t0, samples: [[t0 + 50_000, 1_000_000, 1_000], [t0 + 50_100, 2_000_000, 2_000]] as [number, number, number][] };
  assert.deepEqual(rates(s, t0 + 50_100), { bytes: 2_000_000 / 50.1, objects: 2_000 / 50.1 });
  // Later: measured from the newest sample that is at least 60 s old.
  s.samples.push([t0 + 130_000, 5_000_000, 5_000]);
  assert.deepEqual(rates(s, t0 + 140_000), { bytes: 3_000_000 / 89.9, objects: 3_000 / 89.9 });
  assert.deepEqual(rates({ startedAt: t0, samples: [] }, t0 + 5_000), { bytes: 0, objects: 0 });
});

test('overwriteDecision follows the policy', () => {
  const o = { key: 'k', size: 10, lastModified: 2000, etag: 'a'.repeat(32), position: 'k' };
  const same = { ...o, lastModified: 3000 };
  const older = { ...o, size: 11, lastModified: 1000, etag: 'b'.repeat(32) };
  const newer = { ...o, size: 11, lastModified: 5000, etag: 'b'.repeat(32) };
  assert.equal(overwriteDecision('if-different', o, undefined, true, true), 'copy');
  assert.equal(overwriteDecision('if-different', o, same, true, true), 'skipped');
  assert.equal(overwriteDecision('if-different', o, older, true, true), 'copy');
  assert.equal(overwriteDecision('never', o, older, true, true), 'kept');
  assert.equal(overwriteDecision('never', o, same, true, true), 'skipped');
  assert.equal(overwriteDecision('if-newer', o, older, true, true), 'copy');
  assert.equal(overwriteDecision('if-newer', o, newer, true, true), 'kept');
  assert.equal(overwriteDecision('always', o, same, true, true), 'copy');
  // Same size, different MD5 ETags: different, whatever the times say.
  assert.equal(overwriteDecision('if-different', o, { ...same, etag: 'c'.repeat(32) }, true, true), 'copy');
});

test('globs: ** crosses folders, * does not, a pattern without / matches any folder', () => {
  const f = compileFilter(['**/*.jpg', 'docs/*.txt'], ['tmp/**', '*.bak.jpg']);
  assert.equal(f('a/b/c.jpg'), true);
  assert.equal(f('c.jpg'), true);
  assert.equal(f('docs/x.txt'), true);
  assert.equal(f('docs/sub/x.txt'), false);
  assert.equal(f('tmp/a.jpg'), false);
  assert.equal(f('a/old.bak.jpg'), false);
  assert.equal(f('a/c.png'), false);
  assert.equal(compileFilter(['{a,b}/[0-9]?.log'], [])('b/12.log'), true);
});

test('every example job file validates', () => {
  const dir = join(__dirname, '..', '..', 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4);
  for (const f of files) parseJob(parseYaml(readFileSync(join(dir, f), 'utf8')));
});
