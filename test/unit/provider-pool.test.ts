/** The worker's provider pool: shared while activities hold a provider, closed once nobody has used it for a while. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { ProviderPool, createActivityContext } from '../../activities/context';
import type { EndpointConfig } from '../../common/job';
import { parseJob } from '../../common/job';
import type { ObjectProvider } from '../../storage/provider';
import { openFsProvider } from '../../storage/fs/fs';
import { tempDir } from '../support/process';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Opens stand-in providers and records what was opened and closed. */
function recorder() {
  const opened: string[] = [];
  const closed: string[] = [];
  const open = (spec: EndpointConfig): ObjectProvider => {
    const id = `${(spec as { path?: string }).path}#${opened.length}`;
    opened.push(id);
    return { type: 'fake', endpointId: id, close: async () => void closed.push(id) } as unknown as ObjectProvider;
  };
  return { opened, closed, open };
}

const spec = (path: string) => ({ type: 'fs', path }) as EndpointConfig;
const IDLE = 60_000;

test('pool: concurrent holders share one provider; it closes only when nobody holds it and it has been idle long enough', () => {
  const r = recorder();
  const pool = new ProviderPool(r.open, IDLE);
  const a = pool.acquire(spec('/a'));
  const b = pool.acquire(spec('/a'));
  const other = pool.acquire(spec('/b'));
  assert.equal(a.provider, b.provider);
  assert.deepEqual(r.opened, ['/a#0', '/b#1']);
  a.release();
  a.release(); // a second release of one lease changes nothing
  const t0 = Date.now();
  assert.equal(pool.sweep(t0 + 10 * IDLE), 0, 'b still holds /a, other holds /b');
  b.release();
  other.release();
  assert.equal(pool.sweep(Date.now() + IDLE - 1_000), 0, 'not idle long enough');
  assert.equal(pool.sweep(Date.now() + IDLE + 1_000), 2);
  assert.equal(pool.size, 0);
  assert.deepEqual(r.closed.sort(), ['/a#0', '/b#1']);
  const again = pool.acquire(spec('/a'));
  assert.notEqual(again.provider, a.provider, 'a closed provider is never handed out again');
  assert.deepEqual(r.opened, ['/a#0', '/b#1', '/a#2']);
  again.release();
  pool.sweep(Date.now() + IDLE + 1_000);
});

test('pool: an activity execution releases what it opened when it ends, also when it fails; the timer closes idle providers', async () => {
  const r = recorder();
  const ctx = createActivityContext({ openProvider: r.open, providerIdleMs: 40 });
  await ctx.run(async (c) => {
    c.provider(spec('/x'));
    c.provider(spec('/y'));
  });
  await assert.rejects(
    ctx.run(async (c) => {
      c.provider(spec('/x'));
      throw new Error('batch failed');
    }),
    /batch failed/,
  );
  let held!: () => void;
  const running = ctx.run((c) => {
    c.provider(spec('/z'));
    return new Promise<void>((res) => (held = res));
  });
  for (let i = 0; i < 100 && r.closed.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(r.closed.sort(), ['/x#0', '/y#1']);
  assert.equal(ctx.pool.size, 1, '/z is held by a running execution');
  held();
  await running;
  for (let i = 0; i < 100 && ctx.pool.size > 0; i++) await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(r.closed.sort(), ['/x#0', '/y#1', '/z#2']);
});

test('pool: the worker activities go through it (preflight on fs opens, shares and releases its providers)', async () => {
  const root = tempDir('pool');
  dirs.push(root);
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'dst'));
  writeFileSync(join(root, 'src', 'k'), 'v');
  const opened: string[] = [];
  const closed: string[] = [];
  const activities = createActivities({
    reportDir: join(root, 'reports'),
    providerIdleMs: 40,
    openProvider: (s) => {
      const p = openFsProvider(s as never);
      const id = (s as { path: string }).path;
      opened.push(id);
      return Object.assign(p, { close: async () => void closed.push(id) });
    },
  });
  const job = parseJob({ name: 'pool', source: { type: 'fs', path: join(root, 'src') }, destination: { type: 'fs', path: join(root, 'dst') } });
  const env = new MockActivityEnvironment();
  await env.run(activities.preflight, job);
  await env.run(activities.preflight, job);
  assert.deepEqual(opened, [join(root, 'src'), join(root, 'dst')], 'the second run reuses the first run’s providers');
  for (let i = 0; i < 100 && closed.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(closed.sort(), [join(root, 'dst'), join(root, 'src')]);
});
