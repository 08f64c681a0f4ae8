/** The worker caps V8's old-generation growth between full GCs, unless the process was given its own cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/ferry';

/** Runs boundHeapGrowth in a fresh node with V8's GC tracing; returns its result and the growth factors V8 used. */
function factorsAfterBound(nodeFlags: string[]): { bound: boolean; factors: string[] } {
  const script = `const { boundHeapGrowth } = require(${JSON.stringify(join(REPO_ROOT, 'workers', 'worker.ts'))});
    console.log('bound=' + boundHeapGrowth()); gc(); gc();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--trace-gc-verbose', ...nodeFlags, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const after = r.stdout.slice(r.stdout.indexOf('bound='));
  const factors = [...after.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \(([\d.]+)\)/g)].map((m) => m[1]!);
  assert.ok(factors.length >= 2, `V8 printed its heap limits:\n${after.slice(0, 2000)}`);
  return { bound: /bound=true/.test(r.stdout), factors };
}

test("boundHeapGrowth: full GCs after it grow the old generation by 1.5× instead of V8's own factor", () => {
  const { bound, factors } = factorsAfterBound([]);
  assert.equal(bound, true);
  assert.deepEqual(new Set(factors), new Set(['1.5']));
});

test('boundHeapGrowth: a --heap-growing-percent node was started with is kept', () => {
  const { bound, factors } = factorsAfterBound(['--heap-growing-percent=30']);
  assert.equal(bound, false);
  assert.deepEqual(new Set(factors), new Set(['1.3']));
});
