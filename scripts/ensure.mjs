#!/usr/bin/env node
// Makes `npm run demo` and `npm test` work as the first command on a fresh clone: installs the npm packages when
// node_modules is missing or older than the lockfile, and builds the Go tools the command needs (scripts/setup.sh,
// cached under ~/.cache/ferry/tools). For `test`, as root, it also installs the Debian packages of the e2e layer
// (headless Chromium, docker-compose, PostgreSQL); as another user those tests skip and say how to enable them.
// Node built-ins only: it runs before node_modules exists.
//
//   node scripts/ensure.mjs demo     npm packages + the temporal CLI
//   node scripts/ensure.mjs test     npm packages + every test tool (+ Debian packages as root)
import { existsSync, statSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const what = process.argv[2];
if (what !== 'demo' && what !== 'test') {
  console.error('usage: node scripts/ensure.mjs demo|test');
  process.exit(2);
}

function run(command, args) {
  console.error(`[ensure] ${command} ${args.join(' ')}`);
  const res = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

function npmPackagesStale() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  return !existsSync(marker) || statSync(marker).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs;
}

function debianPackagesMissing() {
  const need = [];
  if (!existsSync('/usr/bin/chromium')) need.push('chromium');
  if (spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status !== 0) need.push('docker-compose');
  const pg = '/usr/lib/postgresql';
  if (!existsSync(pg) || !readdirSync(pg).some((v) => existsSync(join(pg, v, 'bin', 'initdb')))) need.push('postgresql');
  return need;
}

if (npmPackagesStale()) run('npm', ['ci', '--no-audit', '--no-fund']);
if (what === 'demo') {
  run('bash', ['scripts/setup.sh', '--only', 'temporal']);
} else {
  run('bash', ['scripts/setup.sh']);
  const missing = debianPackagesMissing();
  if (missing.length && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    console.error(`[ensure] apt-get install ${missing.join(' ')}`);
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
      if (spawnSync('apt-get', args, { stdio: 'inherit', env }).status !== 0) process.exit(1);
    }
  } else if (missing.length) {
    console.error(`[ensure] not root: ${missing.join(', ')} missing, so their e2e tests skip (install: sudo apt-get install ${missing.join(' ')})`);
  }
}
