/**
 * The `ferry` CLI as users run it: built with `npm run build` (tsc → dist/), spawned as `node dist/client/cli.js`,
 * with its own embedded Temporal dev server (standalone mode) or a `ferry server` + `ferry worker`, against
 * MinIO and a local HTTP server. Asserts exit codes, `--json` output and destination bytes for: a clean run,
 * a re-run (copies 0), Ctrl-C then `ferry run` again (resumes; nothing copied twice), an invalid job file
 * (exit 2), wrong credentials (exit 3, names the profile), a job with failures (exit 1, report lists them),
 * and Temporal-native operation with the temporal CLI against a `ferry worker`.
 *
 * FERRY_E2E_SKIP_BUILD=1 reuses an existing dist/ (faster when iterating).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { HttpFixtureServer } from '../support/http-fixture-server';
import { freePort, tempDir, toolPath, waitUntil } from '../support/process';
import { assertSameTree, listAllObjects, REPO_ROOT } from '../support/ferry';
import { openFsProvider } from '../../storage/fs/fs';
import { openS3Provider } from '../../storage/s3/s3';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
/** The installed `ferry` (package.json bin): a shell launcher that execs node on CLI. */
const BIN = join(REPO_ROOT, 'bin', 'ferry');
const KiB = 1024;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunningCli {
  child: ChildProcess;
  result: Promise<CliResult>;
  stdout(): string;
}

describe('ferry CLI end to end', () => {
  let minio: S3TestServer;
  let http: HttpFixtureServer;
  let work: string;
  let bundleFile: string;
  const children = new Set<ChildProcess>();
  let baseEnv: NodeJS.ProcessEnv;

  /** Spawns the built CLI (`viaBin`: through bin/ferry, as `npm link` installs it). */
  function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, viaBin = false): RunningCli {
    const [cmd, argv] = viaBin ? [BIN, args] : [process.execPath, [CLI, ...args]];
    const child = spawn(cmd, argv, { cwd: work, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<CliResult>((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        // Let the pipes drain.
        setImmediate(() => resolve({ code, signal, stdout, stderr }));
      }),
    );
    return { child, result, stdout: () => stdout };
  }

  async function ferry(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<CliResult> {
    const run = spawnCli(args, env);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
    const res = await run.result;
    clearTimeout(timer);
    return res;
  }

  const explain = (r: CliResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  function writeJob(name: string, doc: Record<string, unknown>): string {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, toYaml(doc));
    return file;
  }

  function writeTree(dir: string, files: Record<string, Buffer>): void {
    for (const [key, body] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, key)), { recursive: true });
      writeFileSync(join(dir, key), body);
    }
  }

  const s3 = (bucket: string, credentials = 'minio', prefix?: string) => ({ type: 's3', endpoint: minio.endpoint, bucket, credentials, ...(prefix ? { prefix } : {}) });
  const dstProvider = (bucket: string) => openS3Provider({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio' }, { env: minio.credentialEnv('minio') });

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.ok(existsSync(CLI), `npm run build did not produce ${CLI}:\n${build.stdout}${build.stderr}`);
    }
    work = tempDir('e2e');
    // One prebuilt workflow bundle for every CLI process (what a release ships), instead of webpack per process.
    bundleFile = join(work, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
    writeFileSync(bundleFile, code);
    [minio, http] = await Promise.all([startMinio(), HttpFixtureServer.start()]);
    baseEnv = {
      PATH: process.env.PATH,
      HOME: work,
      FERRY_TOOLS_DIR: process.env.FERRY_TOOLS_DIR,
      FERRY_TEMPORAL_BIN: toolPath('temporal'),
      FERRY_WORKFLOW_BUNDLE: bundleFile,
      FERRY_LOG_LEVEL: 'WARN',
      ...minio.credentialEnv('minio'),
    };
    for (const b of ['clean', 'resume', 'fails', 'native']) await minio.createBucket(b);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all([minio?.stop(), http?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('an invalid job file: exit 2, every problem named, no server started, no stack trace', async () => {
    const file = writeJob('invalid', { name: 'bad name', source: { type: 'ftp', path: '/x' }, destination: { type: 's3', bucket: 'b' }, concurrency: { objects: 0 } });
    const home = join(work, 'home-invalid');
    const r = await ferry(['run', file, '--json'], { FERRY_HOME: home });
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /^ferry: invalid job file .*invalid\.yaml:$/m);
    assert.match(r.stderr, /^ {2}name: letters, digits/m);
    assert.match(r.stderr, /^ {2}source\.type: unknown provider type "ftp"/m);
    assert.match(r.stderr, /^ {2}concurrency\.objects: must be greater than 0/m);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.equal(r.stdout, '');
    assert.ok(!existsSync(join(home, 'temporal.db')), 'no embedded server for an invalid job');
  });

  describe('standalone: embedded server, in-process worker', () => {
    let home: string;
    let port: number;
    let uiPort: number;
    let src: string;
    const files: Record<string, Buffer> = {};

    before(async () => {
      home = join(work, 'home-standalone');
      [port, uiPort] = [await freePort(), await freePort()];
      src = join(work, 'src-clean');
      for (let i = 0; i < 60; i++) files[`photos/${String(i).padStart(3, '0')}.jpg`] = randomBytes(1000 + i * 37);
      Object.assign(files, { 'names/with space.txt': Buffer.from('space'), 'names/ünïcødé/日本.txt': Buffer.from('unicode'), 'names/plus+percent%20.txt': Buffer.from('plus'), 'empty.txt': Buffer.alloc(0) });
      writeTree(src, files);
    });
    after(async () => {
      await ferry(['server', '--stop'], { FERRY_HOME: home });
    });

    const job = () => writeJob('clean', { name: 'clean', source: { type: 'fs', path: src }, destination: s3('clean', 'minio', 'copy/'), verify: 'checksum', tasks: { maxObjects: 25 } });

    it('a clean run: exit 0, --json summary, destination byte-identical, Web UI printed', async () => {
      const r = await ferry(['run', job(), '--json', '--port', String(port), '--ui-port', String(uiPort)], { FERRY_HOME: home });
      assert.equal(r.code, 0, explain(r));
      const out = JSON.parse(r.stdout);
      const n = Object.keys(files).length;
      assert.equal(out.status, 'succeeded');
      assert.equal(out.name, 'clean');
      assert.deepEqual({ total: out.objects.total, copied: out.objects.copied, skipped: out.objects.skipped, failed: out.objects.failed }, { total: n, copied: n, skipped: 0, failed: 0 });
      assert.equal(out.objects.verified, n);
      assert.equal(out.bytes.copied, Object.values(files).reduce((a, b) => a + b.length, 0));
      assert.ok(existsSync(join(out.reportPath, 'report.json')), 'report written under the data dir');
      assert.match(r.stderr, new RegExp(`Web UI: http://127\\.0\\.0\\.1:${uiPort}/`));
      assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dstProvider('clean'), { dstPrefix: 'copy/' }), n);
    });

    it('a re-run copies nothing and still exits 0', async () => {
      const r = await ferry(['run', job(), '--json'], { FERRY_HOME: home });
      assert.equal(r.code, 0, explain(r));
      const out = JSON.parse(r.stdout);
      assert.equal(out.objects.copied, 0);
      assert.equal(out.objects.skipped, Object.keys(files).length);
      assert.equal(out.bytes.copied, 0);
    });

    it('status and report of the finished job work after the run ended (the embedded server restarts for them)', async () => {
      const s = await ferry(['status', 'clean', '--json'], { FERRY_HOME: home });
      assert.equal(s.code, 0, explain(s));
      assert.equal(JSON.parse(s.stdout).result.status, 'succeeded');
      const rep = await ferry(['report', 'clean'], { FERRY_HOME: home });
      assert.equal(rep.code, 0, explain(rep));
      assert.match(rep.stdout, /^Job clean succeeded/m);
      assert.match(rep.stdout, /failures\.jsonl {2}0 failed objects/);
    });

    it('incremental copies only what changed since the previous run started; verify copies nothing', async () => {
      const before = Object.keys(files).length;
      files['photos/new.jpg'] = randomBytes(4321);
      files['photos/000.jpg'] = randomBytes(777);
      writeTree(src, { 'photos/new.jpg': files['photos/new.jpg'], 'photos/000.jpg': files['photos/000.jpg'] });
      const r = await ferry(['incremental', 'clean', '--json'], { FERRY_HOME: home });
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stderr, /Incremental run of clean: objects modified since .* \(when the previous run started\)/);
      const out = JSON.parse(r.stdout);
      assert.equal(out.status, 'succeeded');
      assert.equal(out.objects.copied, 2);
      assert.equal(out.objects.excluded, before - 1);
      assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dstProvider('clean'), { dstPrefix: 'copy/' }), before + 1);

      const v = await ferry(['verify', job(), '--json'], { FERRY_HOME: home });
      assert.equal(v.code, 0, explain(v));
      const vo = JSON.parse(v.stdout);
      assert.equal(vo.status, 'succeeded');
      assert.equal(vo.objects.copied, 0);
      assert.equal(vo.objects.verified, before + 1);
    });

    it('wrong credentials: exit 3 and the message names the profile', async () => {
      const file = writeJob('badcreds', { name: 'badcreds', source: { type: 'fs', path: src }, destination: s3('clean', 'tokyo') });
      const r = await ferry(['run', file], { FERRY_HOME: home, FERRY_CREDENTIALS_TOKYO_ACCESS_KEY_ID: 'AKIAWRONG', FERRY_CREDENTIALS_TOKYO_SECRET_ACCESS_KEY: 'wrong-secret' });
      assert.equal(r.code, 3, explain(r));
      assert.match(r.stdout + r.stderr, /"tokyo"/);
      assert.doesNotMatch(r.stdout + r.stderr, /wrong-secret/);
      const missing = writeJob('nocreds', { name: 'nocreds', source: { type: 'fs', path: src }, destination: s3('clean', 'osaka') });
      const m = await ferry(['run', missing, '--json'], { FERRY_HOME: home });
      assert.equal(m.code, 3, explain(m));
      const out = JSON.parse(m.stdout);
      assert.equal(out.status, 'failed');
      assert.match(out.error, /credential profile "osaka" not found: set FERRY_CREDENTIALS_OSAKA_ACCESS_KEY_ID/);
    });

    it('a job with failures: exit 1, and the report lists the failed objects', async () => {
      await http.add({ key: 'cdn/a.jpg', body: Buffer.from('a'.repeat(100)) });
      await http.add({ key: 'cdn/b.jpg', body: Buffer.from('b'.repeat(200)) });
      const list = join(work, 'urls.txt');
      writeFileSync(list, [http.url('cdn/a.jpg'), http.url('cdn/gone.jpg'), http.url('cdn/b.jpg')].join('\n') + '\n');
      const file = writeJob('fails', { name: 'fails', source: { type: 'http', list }, destination: s3('fails'), retries: 0 });
      const r = await ferry(['run', file, '--json'], { FERRY_HOME: home });
      assert.equal(r.code, 1, explain(r));
      const out = JSON.parse(r.stdout);
      assert.equal(out.status, 'completed-with-failures');
      assert.equal(out.objects.copied, 2);
      assert.equal(out.objects.failed, 1);
      const rep = await ferry(['report', 'fails', '--json'], { FERRY_HOME: home });
      assert.equal(rep.code, 0, explain(rep));
      const report = JSON.parse(rep.stdout);
      assert.equal(report.failures, 1);
      assert.equal(report.firstFailures[0].key, 'cdn/gone.jpg');
      assert.equal(report.firstFailures[0].errorClass, 'NotFoundError');
      const text = await ferry(['report', 'fails'], { FERRY_HOME: home });
      assert.match(text.stdout, /NotFoundError {2}"cdn\/gone\.jpg"/);

      // The object appears: `ferry retry` copies what is still missing, nothing else.
      await http.add({ key: 'cdn/gone.jpg', body: Buffer.from('back') });
      const retry = await ferry(['retry', 'fails', '--json'], { FERRY_HOME: home });
      assert.equal(retry.code, 0, explain(retry));
      const ro = JSON.parse(retry.stdout);
      assert.equal(ro.status, 'succeeded');
      assert.equal(ro.objects.copied, 1);
      assert.equal(ro.objects.skipped, 2);
    });

    it('Ctrl-C detaches (exit 130); `ferry run` again resumes and nothing is copied twice', async () => {
      const resumeSrc = join(work, 'src-resume');
      const big: Record<string, Buffer> = {};
      for (let i = 0; i < 40; i++) big[`part-${String(i).padStart(2, '0')}.bin`] = randomBytes(256 * KiB);
      writeTree(resumeSrc, big);
      const file = writeJob('resume', {
        name: 'resume',
        source: { type: 'fs', path: resumeSrc },
        destination: s3('resume'),
        tasks: { maxObjects: 10 },
        concurrency: { tasks: 1, objects: 4 },
        throttle: { bandwidth: '1MiB/s' },
      });
      const dst = dstProvider('resume');
      const first = spawnCli(['run', file, '--json'], { FERRY_HOME: home });
      await waitUntil(undefined, 'some objects copied', async () => (await listAllObjects(dst)).length >= 6, 120_000);
      first.child.kill('SIGINT');
      const r1 = await first.result;
      assert.equal(r1.code, 130, explain(r1));
      assert.equal(JSON.parse(r1.stdout).status, 'detached');
      assert.match(JSON.parse(r1.stdout).hint, /ferry run .*resume\.yaml/);
      const before = new Map((await listAllObjects(dst)).map((o) => [o.key, o.lastModified]));
      assert.ok(before.size < 40, 'interrupted before the end');

      const r2 = await ferry(['run', file, '--json'], { FERRY_HOME: home });
      assert.equal(r2.code, 0, explain(r2));
      assert.match(r2.stderr, /Attached to the running job ferry-resume/);
      const out = JSON.parse(r2.stdout);
      assert.equal(out.status, 'succeeded');
      assert.equal(out.objects.total, 40);
      assert.equal(out.objects.failed, 0);
      // Objects finished before Ctrl-C are not written again (at most the in-flight batch's objects are).
      const after = await listAllObjects(dst);
      const rewritten = after.filter((o) => before.has(o.key) && before.get(o.key) !== o.lastModified).map((o) => o.key);
      assert.ok(rewritten.length <= 4, `rewritten after resume: ${rewritten.join(', ')}`);
      assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: resumeSrc }), dst), 40);
    });
  });

  describe('cluster mode: ferry server + ferry worker, driven with the temporal CLI', () => {
    let home: string;
    let address: string;
    let server: RunningCli;
    let worker: RunningCli | undefined;
    const temporal = (...args: string[]) => spawnSync(toolPath('temporal'), [...args, '--address', address, '--namespace', 'default'], { encoding: 'utf8', timeout: 60_000 });

    before(async () => {
      home = join(work, 'home-cluster');
      const [port, uiPort] = [await freePort(), await freePort()];
      address = `127.0.0.1:${port}`;
      server = spawnCli(['server', '--port', String(port), '--ui-port', String(uiPort)], { FERRY_HOME: home });
      await waitUntil(undefined, 'ferry server', async () => server.stdout().includes('Press Ctrl-C to stop.'), 90_000);
      assert.match(server.stdout(), new RegExp(`Web UI: {3}http://127\\.0\\.0\\.1:${uiPort}`));
    });
    after(async () => {
      worker?.child.kill('SIGTERM');
      await worker?.result;
      server.child.kill('SIGINT');
      const r = await server.result;
      assert.equal(r.code, 0, explain(r));
    });

    it('temporal workflow start/signal/query against a ferry worker; ferry status/pause/throttle/resume/watch', async () => {
      const src = join(work, 'src-native');
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 24; i++) files[`n/${i}.bin`] = randomBytes(64 * KiB);
      writeTree(src, files);
      // The workflow input is the job file itself, as JSON: the workflow validates and normalises it.
      const doc = { name: 'native', source: { type: 'fs', path: src }, destination: s3('native'), tasks: { maxObjects: 6 }, concurrency: { tasks: 1, objects: 2 }, throttle: { bandwidth: '256KiB/s' } };
      const input = join(work, 'native.json');
      writeFileSync(input, JSON.stringify(doc));
      const start = temporal('workflow', 'start', '--type', 'migrationJob', '--task-queue', 'ferry', '--workflow-id', 'ferry-native', '--input-file', input);
      assert.equal(start.status, 0, start.stderr);

      // No worker yet: status says so (exit 3); pause is recorded anyway.
      const noWorker = await ferry(['status', 'native', '--address', address]);
      assert.equal(noWorker.code, 3, explain(noWorker));
      assert.match(noWorker.stderr, /no worker answered the progress query/);
      assert.equal(temporal('workflow', 'signal', '--workflow-id', 'ferry-native', '--name', 'pause').status, 0);

      // The worker as installed: bin/ferry execs node (same pid, so signals reach it) with glibc's arenas capped.
      worker = spawnCli(['worker', '--address', address], { FERRY_HOME: home, MALLOC_ARENA_MAX: undefined }, true);
      const pid = worker.child.pid!;
      await waitUntil(undefined, 'bin/ferry exec', async () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node', 10_000);
      assert.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes('MALLOC_ARENA_MAX=2'), 'bin/ferry sets MALLOC_ARENA_MAX=2');
      let progress: { paused: boolean; objects: { copied: number } } | undefined;
      await waitUntil(undefined, 'progress query answered', async () => {
        const q = temporal('workflow', 'query', '--workflow-id', 'ferry-native', '--type', 'progress', '--output', 'json');
        if (q.status !== 0) return false;
        const parsed = JSON.parse(q.stdout) as { queryResult: [typeof progress] };
        progress = parsed.queryResult[0];
        return !!progress;
      }, 60_000);
      assert.equal(progress!.paused, true);
      assert.equal(progress!.objects.copied, 0, 'paused before any copy');

      const thr = await ferry(['throttle', 'native', '--bandwidth', '8MiB/s', '--concurrency', '4', '--address', address, '--json']);
      assert.equal(thr.code, 0, explain(thr));
      const t = JSON.parse(thr.stdout);
      assert.equal(t.applied, 'update');
      assert.equal(t.limits.bandwidth, 8 * 1024 * 1024);
      assert.equal(t.limits.objects, 4);

      assert.equal(temporal('workflow', 'signal', '--workflow-id', 'ferry-native', '--name', 'resume').status, 0);
      const w = await ferry(['watch', 'native', '--address', address, '--json']);
      assert.equal(w.code, 0, explain(w));
      const out = JSON.parse(w.stdout);
      assert.equal(out.status, 'succeeded');
      assert.equal(out.objects.copied, 24);
      assert.equal(await assertSameTree(openFsProvider({ type: 'fs', path: src }), dstProvider('native')), 24);
    });
  });
});
