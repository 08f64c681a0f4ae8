/**
 * The production-like deployment (docker-compose.yml + Dockerfile). No Docker engine runs here, so the file is
 * checked with `docker-compose config` (Debian's docker-compose; CI installs it): the services, PostgreSQL
 * persistence, search attributes registered by the init container, workers that scale (`--scale worker=N`),
 * and a worker image built with the same commands CI runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/ferry';

const COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p));

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: unknown[];
  container_name?: string;
}

test('docker-compose config: PostgreSQL, Temporal, search attributes, Web UI, scalable workers, MinIO', { skip: COMPOSE ? false : 'docker-compose is not installed (apt-get install -y docker-compose)' }, () => {
  const res = spawnSync(COMPOSE!, ['-f', 'docker-compose.yml', 'config'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, COMPOSE_PROJECT_NAME: 'ferry' } });
  assert.equal(res.status, 0, `docker-compose config failed:\n${res.stderr}`);
  const cfg = parse(res.stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  assert.deepEqual(Object.keys(cfg.services).sort(), ['minio', 'postgresql', 'temporal', 'temporal-init', 'temporal-ui', 'worker']);
  const s = cfg.services;
  assert.match(s.postgresql!.image!, /^postgres:/);
  assert.match(s.temporal!.image!, /^temporalio\/auto-setup:1\.29\.1$/);
  assert.equal(s.temporal!.environment!.DB, 'postgres12', 'Temporal persists to PostgreSQL');
  assert.equal(s.temporal!.environment!.POSTGRES_SEEDS, 'postgresql');
  const init = [s['temporal-init']!.entrypoint, s['temporal-init']!.command].flat().join(' ');
  assert.match(init, /temporal operator search-attribute create --name "\$\$?a" --type Keyword/);
  assert.match(init, /for a in FerryJob FerryPhase/);
  assert.match(s['temporal-ui']!.image!, /^temporalio\/ui:/);
  assert.equal(s['temporal-ui']!.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.match(s.minio!.image!, /^minio\/minio:/);
  const w = s.worker!;
  assert.equal(w.build?.dockerfile, 'Dockerfile');
  assert.deepEqual([w.command].flat(), ['worker']);
  assert.equal(w.environment!.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(w.environment!.FERRY_METRICS_PORT, '9464');
  assert.equal(w.container_name, undefined, 'no fixed name: --scale worker=N works');
  assert.equal(w.ports, undefined, 'no fixed host port: --scale worker=N works');
  assert.deepEqual(w.depends_on, { 'temporal-init': { condition: 'service_completed_successfully' } }, 'workers start after the search attributes exist');
  assert.ok(cfg.volumes.pgdata !== undefined, 'PostgreSQL data on a volume');
});

test('the worker image builds with the commands CI runs (npm ci, npm run build) and runs `ferry worker`', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const runs = dockerfile.split('\n').filter((l) => l.startsWith('RUN ')).map((l) => l.slice(4));
  assert.ok(runs.some((r) => r.startsWith('npm ci')), runs.join('\n'));
  assert.ok(runs.includes('npm run build'), runs.join('\n'));
  // CI installs through `npm test`'s provisioning step, which runs `npm ci` (scripts/ensure.mjs).
  assert.match(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8'), /^npm test\b/m, 'CI runs the README\'s test command');
  assert.match(readFileSync(join(REPO_ROOT, 'scripts', 'ensure.mjs'), 'utf8'), /run\('npm', \['ci'/, 'the npm packages are installed with npm ci');
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.ok(pkg.scripts.build, 'npm run build exists');
  // The image runs `ferry` as npm installs it: bin/ferry (MALLOC_ARENA_MAX, exec node dist/client/cli.js).
  assert.equal(pkg.bin.ferry, 'bin/ferry');
  assert.match(dockerfile, /^COPY bin \.\/bin$/m);
  assert.match(dockerfile, /ENTRYPOINT \["bin\/ferry"\]/);
  assert.match(dockerfile, /CMD \["worker"\]/);
});
