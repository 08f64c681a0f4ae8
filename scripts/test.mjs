#!/usr/bin/env node
// Runs the test layers with node's test runner (through tsx). Layers are folders under test/:
//   node scripts/test.mjs            every layer, in order unit → providers → workflows → replay → e2e
//   node scripts/test.mjs unit e2e   only those layers
//   node scripts/test.mjs test/unit/keys.test.ts   only those files
// Files run one at a time (each layer starts real servers; two cores are shared).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const LAYERS = ['unit', 'providers', 'workflows', 'replay', 'e2e'];
const args = process.argv.slice(2);

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return /\.test\.ts$/.test(name) ? [p] : [];
  });
}

const files = [];
const layers = args.filter((a) => LAYERS.includes(a));
const explicit = args.filter((a) => a.endsWith('.ts'));
const unknown = args.filter((a) => !LAYERS.includes(a) && !a.endsWith('.ts'));
if (unknown.length) {
  console.error(`unknown layer(s): ${unknown.join(', ')} — layers are ${LAYERS.join(', ')}`);
  process.exit(2);
}
for (const layer of layers.length || explicit.length ? layers : LAYERS) files.push(...walk(join('test', layer)));
files.push(...explicit);
if (!files.length) {
  console.error('no test files found');
  process.exit(1);
}
// --test-force-exit: a file whose `before` failed half-way (one server started, the next did not) has nothing to
// stop the started one with; without the flag its process would wait on that server forever. With it, the file's
// process exits when its tests are done, and test/support/process.ts kills every server it still tracks on exit.
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, FERRY_LOG_LEVEL: process.env.FERRY_LOG_LEVEL ?? 'WARN' } },
);
process.exit(res.status ?? 1);
