/**
 * The worker caps V8's old-generation growth between full GCs, and the workflow thread's new space, unless the
 * process was given its own values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/ferry';
import { WORKFLOW_SEMI_SPACE_MB } from '../../workers/worker';

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

test("boundHeapGrowth: full GCs after it grow the old generation by 1.3× instead of V8's own factor", () => {
  const { bound, factors } = factorsAfterBound([]);
  assert.equal(bound, true);
  assert.deepEqual(new Set(factors), new Set(['1.3']));
});

test('boundHeapGrowth: a --heap-growing-percent node was started with is kept', () => {
  const { bound, factors } = factorsAfterBound(['--heap-growing-percent=40']);
  assert.equal(bound, false);
  assert.deepEqual(new Set(factors), new Set(['1.4']));
});

/**
 * Runs serialMarking in a fresh node that then makes garbage and 64 KiB buffers (as a large-object copy does);
 * returns its result and how many of V8's concurrent marking tasks ran.
 */
function concurrentMarkingTasks(nodeFlags: string[]): { serial: boolean; tasks: number } {
  const script = `const { serialMarking } = require(${JSON.stringify(join(REPO_ROOT, 'workers', 'worker.ts'))});
    console.log('serial=' + serialMarking());
    const keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 5e5) keep.splice(0, 1e5); }
    for (let i = 0; i < 30000; i++) Buffer.allocUnsafeSlow(65536);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--trace-concurrent-marking', ...nodeFlags, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const after = r.stdout.slice(r.stdout.indexOf('serial='));
  return { serial: /serial=true/.test(r.stdout), tasks: (after.match(/Starting major concurrent marking task/g) ?? []).length };
}

test("serialMarking: V8's concurrent marking helpers stop running (a node started with --concurrent-marking keeps them)", () => {
  const off = concurrentMarkingTasks([]);
  const on = concurrentMarkingTasks(['--concurrent-marking']);
  assert.deepEqual([off.serial, on.serial], [true, false]);
  console.log(`concurrent marking tasks: ${off.tasks} after serialMarking, ${on.tasks} with --concurrent-marking`);
  assert.ok(on.tasks >= 5, `with concurrent marking, its tasks ran (${on.tasks})`);
  assert.ok(off.tasks <= 2, `without it, (almost) none of its tasks ran: ${off.tasks} against ${on.tasks}`);
});

/**
 * In a fresh node: the largest new space (MiB) of a thread started inside withSmallWorkflowHeap, of one started
 * after it, and of the main thread, each after keeping a 100,000-object ring of survivors (which makes V8 grow a
 * new space to its cap).
 */
function newSpaces(nodeFlags: string[], env: NodeJS.ProcessEnv = {}): { inside: number; after: number; main: number } {
  const churn = `const v8 = require('node:v8'); const ring = new Array(100000); let max = 0;
    for (let i = 0; i < 2000000; i++) { ring[i % ring.length] = { i, s: 'k' + i };
      if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size); }
    max / 1048576`;
  const script = `const { Worker } = require('node:worker_threads');
    const { withSmallWorkflowHeap } = require(${JSON.stringify(join(REPO_ROOT, 'workers', 'worker.ts'))});
    const thread = () => new Promise((resolve, reject) => {
      const w = new Worker(${JSON.stringify(`require('node:worker_threads').parentPort.postMessage(eval(${JSON.stringify(churn)}))`)}, { eval: true });
      w.once('message', (m) => w.terminate().then(() => resolve(m)));
      w.once('error', reject);
    });
    (async () => {
      const inside = await withSmallWorkflowHeap(thread);
      const after = await thread();
      console.log(JSON.stringify({ inside, after, main: eval(${JSON.stringify(churn)}) }));
    })();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...nodeFlags, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { inside: number; after: number; main: number };
}

test("withSmallWorkflowHeap: a thread started inside it gets 2 MB semi-spaces; the main thread and later threads keep V8's", () => {
  const s = newSpaces([]);
  assert.equal(s.inside, 2 * WORKFLOW_SEMI_SPACE_MB, JSON.stringify(s));
  assert.ok(s.after > 4 * WORKFLOW_SEMI_SPACE_MB, JSON.stringify(s));
  assert.ok(s.main > 4 * WORKFLOW_SEMI_SPACE_MB, JSON.stringify(s));
});

test('withSmallWorkflowHeap: a --max-semi-space-size node was started with (command line or NODE_OPTIONS) is kept', () => {
  for (const s of [newSpaces(['--max-semi-space-size=4']), newSpaces([], { NODE_OPTIONS: '--max-semi-space-size=4' })]) {
    assert.deepEqual(s, { inside: 8, after: 8, main: 8 });
  }
});
