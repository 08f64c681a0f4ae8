/**
 * Pause and resume through the front door while a job is bandwidth-limited: `ferry run` (embedded server,
 * in-process worker) must survive every pause — the aborted transfers' open responses must not kill it — and the
 * job then completes with every object copied once. Once from an S3 (MinIO) source, once from an HTTP URL list.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { HttpFixtureServer } from '../support/http-fixture-server';
import { freePort, tempDir, toolPath } from '../support/process';
import { REPO_ROOT, listAllObjects } from '../support/ferry';
import { openS3Provider } from '../../storage/s3/s3';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
const KiB = 1024;
const N = 40;

describe('pause and resume under a bandwidth limit, through `ferry run`', () => {
  let minio: S3TestServer;
  let http: HttpFixtureServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  const objects = new Map<string, Buffer>();

  const ferry = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--address', `127.0.0.1:${port}`], { cwd: work, env, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
      assert.ok(existsSync(CLI), `the build did not produce ${CLI}`);
    }
    work = tempDir('pause-throttled');
    const bundleFile = join(work, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
    writeFileSync(bundleFile, code);
    [minio, http] = await Promise.all([startMinio(), HttpFixtureServer.start()]);
    port = await freePort();
    env = { PATH: process.env.PATH, HOME: work, FERRY_HOME: join(work, 'home'), FERRY_TEMPORAL_BIN: toolPath('temporal'), FERRY_WORKFLOW_BUNDLE: bundleFile, FERRY_LOG_LEVEL: 'WARN', ...minio.credentialEnv('minio') };
    for (const b of ['src', 'dst-s3', 'dst-http']) await minio.createBucket(b);
    const src = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket: 'src', credentials: 'minio' }, { env });
    for (let i = 0; i < N; i++) {
      const key = `obj-${String(i).padStart(2, '0')}.bin`;
      const body = randomBytes(64 * KiB + Math.floor(Math.random() * 960 * KiB));
      objects.set(key, body);
      await src.put(key, body);
    }
    await src.close?.();
    await http.addAll([...objects].map(([key, body]) => ({ key, body })));
    writeFileSync(join(work, 'urls.txt'), [...objects.keys()].map((k) => http.url(k)).join('\n') + '\n');
  });

  after(async () => {
    spawnSync(process.execPath, [CLI, 'server', '--stop'], { cwd: work, env, timeout: 60_000 });
    await Promise.all([minio?.stop(), http?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function pausedThreeTimes(name: string, source: object, bucket: string): Promise<void> {
    const file = join(work, `${name}.yaml`);
    const job = { name, source, destination: { type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' }, throttle: { bandwidth: '1MiB/s' }, concurrency: { objects: 16 } };
    writeFileSync(file, toYaml(job));
    const run = spawn(process.execPath, [CLI, 'run', file, '--json', '--keep-server', '--port', String(port), '--ui-port', String(await freePort())], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    const explain = () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
    try {
      // Wait for the job to be under way, then pause and resume three times while transfers are in flight.
      for (let i = 0; i < 120 && ferry(['status', name, '--json']).status !== 0; i++) await sleep(500);
      for (let round = 0; round < 3; round++) {
        await sleep(1500);
        const paused = ferry(['pause', name]);
        assert.equal(paused.status, 0, `pause: ${paused.stderr}`);
        await sleep(1500);
        assert.equal(run.exitCode, null, `ferry run survived pause ${round + 1}:\n${explain()}`);
        const resumed = ferry(['resume', name]);
        assert.equal(resumed.status, 0, `resume: ${resumed.stderr}`);
      }
      const code = await Promise.race([exited, sleep(180_000).then(() => 'timeout' as const)]);
      assert.equal(code, 0, `ferry run exit ${code}:\n${explain()}`);
      assert.doesNotMatch(stderr, /Unhandled 'error' event|AbortError/, explain());
      const out = JSON.parse(stdout) as { status: string; objects: { copied: number; skipped: number; failed: number } };
      assert.equal(out.status, 'succeeded', explain());
      assert.equal(out.objects.copied, N, `every object copied once: ${JSON.stringify(out.objects)}`);
      assert.equal(out.objects.failed, 0);
      const dst = openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' }, { env });
      const listed = await listAllObjects(dst);
      assert.deepEqual(listed.map((o) => o.key), [...objects.keys()]);
      for (const o of listed) assert.equal(o.size, objects.get(o.key)!.length, o.key);
      const sample = await dst.get('obj-07.bin');
      const chunks: Buffer[] = [];
      for await (const c of sample.body) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(objects.get('obj-07.bin')!), 'bytes intact');
      await dst.close?.();
    } finally {
      if (run.exitCode === null) run.kill('SIGKILL');
    }
  }

  it('an S3 source', { timeout: 300_000 }, async () => {
    await pausedThreeTimes('paused-s3', { type: 's3', endpoint: minio.endpoint, bucket: 'src', credentials: 'minio' }, 'dst-s3');
  });

  it('an HTTP URL-list source', { timeout: 300_000 }, async () => {
    await pausedThreeTimes('paused-http', { type: 'http', list: join(work, 'urls.txt') }, 'dst-http');
  });
});
