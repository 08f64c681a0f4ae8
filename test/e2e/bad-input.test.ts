/**
 * The bad-input catalogue: one row per hostile job file or hostile object, each run through the BUILT CLI
 * (`node dist/client/cli.js run JOB --json`, embedded server, in-process worker) and held to the user contract:
 * the exact exit code (2 invalid job, 3 cannot run, 1 per-object failures named in the report, 0 fine), a
 * message that names the problem, no stack trace on stderr, and an answer within a time bound (no hang, no
 * crash loop). Per-object rows also prove nothing was skipped silently: the failing key is in failures.jsonl.
 *
 * FERRY_E2E_SKIP_BUILD=1 reuses an existing dist/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { HttpFixtureServer } from '../support/http-fixture-server';
import { freePort, tempDir, toolPath } from '../support/process';
import { REPO_ROOT } from '../support/ferry';
import { openOssProvider } from '../../storage/oss/oss';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
const OSS_AK = 'bad-input-ak';
const OSS_SK = 'bad-input-sk';

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One row of the catalogue. */
interface Row {
  name: string;
  /** The job document, or raw file text (malformed YAML). */
  job: () => Record<string, unknown> | string;
  exit: number;
  /** Must appear in stderr (or stdout for --json results). */
  message: RegExp;
  /** Keys that must be listed in the report's failures.jsonl (per-object rows). */
  failedKeys?: string[];
  /** Time bound for the whole CLI run. */
  withinSec?: number;
}

describe('bad input catalogue (built CLI)', () => {
  let minio: S3TestServer;
  let oss: OssServer;
  let skewed: OssServer;
  let http: HttpFixtureServer;
  let work: string;
  let home: string;
  let baseEnv: NodeJS.ProcessEnv;
  const children = new Set<ChildProcess>();
  let tried = 0;
  /** Embedded server ports of this file (never the default 7233, which other suites on the host may hold). */
  let ports: string[] = [];

  function ferry(args: string[], timeoutMs: number): Promise<CliResult> {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        setImmediate(() => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
      }),
    );
  }

  const s3 = (bucket: string, extra: Record<string, unknown> = {}) => ({ type: 's3', endpoint: minio.endpoint, bucket, credentials: 'minio', ...extra });
  const ossSpec = (bucket: string) => ({ type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket, credentials: 'oss' });
  const dir = (name: string) => {
    const d = join(work, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  /** The embedded server's last log lines, for a row that did not end as expected (a stuck server explains itself). */
  function serverLogTail(): string {
    const log = join(home, 'temporal.log');
    if (!existsSync(log)) return '';
    const lines = readFileSync(log, 'utf8').split('\n');
    return `\n--- ${log} (last 40 of ${lines.length} lines)\n${lines.slice(-40).join('\n')}`;
  }

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.ok(existsSync(CLI), `build did not produce ${CLI}:\n${build.stdout}${build.stderr}`);
    }
    ports = ['--port', String(await freePort()), '--ui-port', String(await freePort())];
    work = tempDir('bad-input');
    home = join(work, 'home');
    const bundleFile = join(work, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
    writeFileSync(bundleFile, code);
    [minio, oss, http] = await Promise.all([startMinio(), startOssServer({ accessKeyId: OSS_AK, secretAccessKey: OSS_SK }), HttpFixtureServer.start()]);
    // A server whose tolerance for clock skew is below zero: every request time counts as skewed.
    skewed = await startOssServer({ accessKeyId: OSS_AK, secretAccessKey: OSS_SK, maxSkewMs: -1 });
    baseEnv = {
      PATH: process.env.PATH,
      HOME: work,
      FERRY_HOME: home,
      FERRY_TOOLS_DIR: process.env.FERRY_TOOLS_DIR,
      FERRY_TEMPORAL_BIN: toolPath('temporal'),
      FERRY_WORKFLOW_BUNDLE: bundleFile,
      FERRY_LOG_LEVEL: 'WARN',
      ...minio.credentialEnv('minio'),
      FERRY_CREDENTIALS_WRONG_ACCESS_KEY_ID: minio.accessKeyId,
      FERRY_CREDENTIALS_WRONG_SECRET_ACCESS_KEY: 'not-the-secret',
      FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: OSS_AK,
      FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: OSS_SK,
    };
    for (const b of ['dst', 'zero', 'nonutf8', 'long', 'httpbad', 'big']) await minio.createBucket(b);
    oss.createBucket('osrc');
    oss.createBucket('odst');
    skewed.createBucket('odst');
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await ferryStop();
    await Promise.all([minio?.stop(), oss?.stop(), skewed?.stop(), http?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`[chaos] bad inputs tried: ${tried}`);
  });

  async function ferryStop() {
    if (home && existsSync(home)) await ferry(['server', '--stop'], 60_000);
  }

  const fsSrc = (name: string, files: Record<string, Buffer | string>) => {
    const d = dir(`src-${name}`);
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(join(d, k, '..'), { recursive: true });
      writeFileSync(join(d, k), v);
    }
    return { type: 'fs', path: d };
  };

  const rows: Row[] = [
    { name: 'malformed YAML', job: () => 'name: broken\nsource: {type: fs, path: /tmp\ndestination: [\n', exit: 2, message: /invalid job file|YAML|yaml/ },
    { name: 'unknown field', job: () => ({ name: 'unknown-field', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), colour: 'blue' }), exit: 2, message: /colour/ },
    { name: 'unknown field inside an endpoint', job: () => ({ name: 'unknown-nested', source: { type: 'fs', path: '/tmp', bukket: 'x' }, destination: s3('dst') }), exit: 2, message: /bukket/ },
    { name: 'wrong type', job: () => ({ name: 'wrong-type', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), concurrency: { objects: 'lots' } }), exit: 2, message: /concurrency\.objects/ },
    { name: 'negative limit', job: () => ({ name: 'negative', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), retries: -1 }), exit: 2, message: /retries/ },
    { name: 'zero limit', job: () => ({ name: 'zero-limit', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), tasks: { maxObjects: 0 } }), exit: 2, message: /tasks\.maxObjects/ },
    { name: 'unparsable size', job: () => ({ name: 'bad-size', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), multipart: { partSize: '12XB' } }), exit: 2, message: /multipart\.partSize/ },
    { name: 'impossible size (part larger than 5 GiB)', job: () => ({ name: 'huge-part', source: { type: 'fs', path: '/tmp' }, destination: s3('dst'), multipart: { partSize: '6TiB' } }), exit: 2, message: /multipart\.partSize/ },
    { name: 'unknown provider type', job: () => ({ name: 'ftp', source: { type: 'ftp', path: '/tmp' }, destination: s3('dst') }), exit: 2, message: /source\.type: unknown provider type "ftp"/ },
    { name: 's3 endpoint without a bucket', job: () => ({ name: 'no-bucket-field', source: { type: 'fs', path: '/tmp' }, destination: { type: 's3', endpoint: minio.endpoint, credentials: 'minio' } }), exit: 2, message: /destination\.bucket/ },
    { name: 'source = destination, overlapping prefixes', job: () => ({ name: 'overlap', source: s3('dst', { prefix: 'a/' }), destination: s3('dst', { prefix: 'a/b/' }) }), exit: 2, message: /overlapping prefixes/ },
    { name: 'a bucket that does not exist', job: () => ({ name: 'missing-bucket', source: fsSrc('mb', { x: 'x' }), destination: s3('no-such-bucket') }), exit: 3, message: /no-such-bucket/, withinSec: 120 },
    { name: 'wrong credentials', job: () => ({ name: 'wrong-creds', source: fsSrc('wc', { x: 'x' }), destination: { ...s3('dst'), credentials: 'wrong' } }), exit: 3, message: /wrong/, withinSec: 120 },
    { name: 'a credential profile nobody defined', job: () => ({ name: 'no-profile', source: fsSrc('np', { x: 'x' }), destination: { ...s3('dst'), credentials: 'nobody' } }), exit: 3, message: /nobody/i, withinSec: 120 },
    // Virtual-hosted addressing takes the AWS SDK's path (the lean one is path-style only), and the bucket's host name
    // (vhost.localhost) does not resolve; the SDK loaded in the CLI's own process, so its warnings would show here.
    { name: 'virtual-hosted addressing whose bucket host does not resolve', job: () => ({ name: 'vhost', source: fsSrc('vh', { x: 'x' }), destination: s3('vhost', { endpoint: minio.endpoint.replace('127.0.0.1', 'localhost'), forcePathStyle: false }) }), exit: 3, message: /vhost\.localhost|ENOTFOUND/, withinSec: 150 },
    { name: 'unreachable endpoint', job: () => ({ name: 'unreachable', source: fsSrc('ur', { x: 'x' }), destination: { ...s3('dst'), endpoint: 'http://127.0.0.1:9' } }), exit: 3, message: /127\.0\.0\.1:9|ECONNREFUSED|unreachable|connect/i, withinSec: 150 },
    { name: 'a 0-byte object', job: () => ({ name: 'zero-byte', source: fsSrc('zb', { 'empty.txt': '', 'full.txt': 'full' }), destination: s3('zero'), verify: 'checksum' }), exit: 0, message: /"status":\s*"succeeded"/, withinSec: 120 },
    { name: 'a key longer than S3 allows (> 1024 bytes)', job: () => ({ name: 'long-key', source: fsSrc('lk', { [Array.from({ length: 5 }, (_, i) => `${i}`.repeat(240)).join('/')]: 'long', 'ok.txt': 'ok' }), destination: s3('long') }), exit: 1, message: /"status":\s*"completed-with-failures"/, failedKeys: [Array.from({ length: 5 }, (_, i) => `${i}`.repeat(240)).join('/')], withinSec: 120 },
    { name: 'a key OSS cannot store (leading "/", from an HTTP list)', job: () => ({ name: 'oss-leading-slash', source: { type: 'http', list: join(work, 'slash-list.txt') }, destination: ossSpec('odst') }), exit: 1, message: /"status":\s*"completed-with-failures"/, failedKeys: ['/lead.txt'], withinSec: 120 },
    { name: 'a skewed clock (the OSS server refuses the request time)', job: () => ({ name: 'skewed', source: fsSrc('sk', { x: 'x' }), destination: { ...ossSpec('odst'), endpoint: skewed.endpoint } }), exit: 3, message: /clock/, withinSec: 120 },
    { name: 'an object above the single-put threshold goes multipart', job: () => ({ name: 'above-single-put', source: fsSrc('big', { 'big.bin': Buffer.alloc(11 * 1024 * 1024, 7), 'small.bin': 's' }), destination: s3('big'), multipart: { threshold: '5MiB', partSize: '5MiB' }, verify: 'checksum' }), exit: 0, message: /"status":\s*"succeeded"/, withinSec: 120 },
    { name: 'a key that would escape an fs root ("../x", from an OSS source)', job: () => ({ name: 'fs-escape', source: ossSpec('osrc'), destination: { type: 'fs', path: dir('escape-dst/root') } }), exit: 1, message: /"status":\s*"completed-with-failures"/, failedKeys: ['../escaped.txt'], withinSec: 120 },
    { name: 'an absolute key into an fs root ("/x", from an HTTP list)', job: () => ({ name: 'fs-absolute', source: { type: 'http', list: join(work, 'slash-list.txt') }, destination: { type: 'fs', path: dir('absolute-dst/root') } }), exit: 1, message: /"status":\s*"completed-with-failures"/, failedKeys: ['/lead.txt'], withinSec: 120 },
    { name: 'an HTTP list with bad lines', job: () => ({ name: 'http-bad-lines', source: { type: 'http', list: join(work, 'bad-list.txt') }, destination: s3('httpbad') }), exit: 1, message: /"status":\s*"completed-with-failures"/, failedKeys: ['ftp://example.com/x.bin', 'not a url at all'], withinSec: 120 },
  ];

  before(async () => {
    // fs-escape: an OSS bucket whose keys would land outside an fs root.
    const p = openOssProvider(ossSpec('osrc') as never, { env: baseEnv });
    for (const k of ['fine.txt', '../escaped.txt']) await p.put(k, Buffer.from(k), { size: Buffer.byteLength(k) }).catch((e: unknown) => console.log(`[bad-input] OSS test server refused ${k}: ${String(e)}`));
    await http.add({ key: 'ok.bin', body: Buffer.from('ok') });
    await http.add({ key: '/lead.txt', body: Buffer.from('leading slash') });
    writeFileSync(join(work, 'slash-list.txt'), [http.url('ok.bin'), http.url('/lead.txt'), ''].join('\n'));
    writeFileSync(join(work, 'bad-list.txt'), [http.url('ok.bin'), 'ftp://example.com/x.bin', 'not a url at all', ''].join('\n'));
  });

  for (const row of rows) {
    it(`${row.name}: exit ${row.exit}`, async () => {
      tried++;
      const doc = row.job();
      const file = join(work, `${row.name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      writeFileSync(file, typeof doc === 'string' ? doc : toYaml(doc));
      const bound = (row.withinSec ?? 30) * 1000;
      const r = await ferry(['run', file, '--json', ...ports], bound + 5000);
      const explain = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}${r.code === row.exit && r.signal === null ? '' : serverLogTail()}`;
      assert.equal(r.signal, null, `finished by itself within ${bound} ms\n${explain}`);
      assert.ok(r.ms <= bound, `finished within ${bound} ms\n${explain}`);
      assert.equal(r.code, row.exit, explain);
      assert.match(r.stderr + r.stdout, row.message, explain);
      assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace\n${explain}`);
      assert.doesNotMatch(r.stderr, /\(node:\d+\) \S*Warning/, `no node or SDK warnings\n${explain}`);
      if (row.failedKeys) {
        const out = JSON.parse(r.stdout) as { reportPath: string; objects: { failed: number } };
        const failures = readFileSync(join(out.reportPath, 'failures.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; message: string });
        for (const k of row.failedKeys) assert.ok(failures.some((f) => f.key === k), `${JSON.stringify(k.slice(0, 50))} reported in failures.jsonl: ${JSON.stringify(failures)}\n${explain}`);
        assert.equal(out.objects.failed, failures.length, 'every failure counted');
      }
    });
  }

  it('non-UTF-8 file names on fs: copied or reported, never skipped silently', async () => {
    tried++;
    const d = dir('src-nonutf8');
    writeFileSync(Buffer.concat([Buffer.from(d + '/'), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74])]), 'latin-1 name');
    writeFileSync(join(d, 'ok.txt'), 'ok');
    const file = join(work, 'nonutf8.yaml');
    writeFileSync(file, toYaml({ name: 'non-utf8', source: { type: 'fs', path: d }, destination: s3('nonutf8') }));
    const r = await ferry(['run', file, '--json', ...ports], 125_000);
    const explain = `exit ${r.code} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    assert.ok(r.code === 0 || r.code === 1, explain);
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace\n${explain}`);
    const out = JSON.parse(r.stdout) as { objects: { copied: number; failed: number; total: number }; reportPath: string };
    assert.equal(out.objects.copied + out.objects.failed, 2, `both files accounted for: ${explain}`);
    if (r.code === 1) assert.match(readFileSync(join(out.reportPath, 'failures.jsonl'), 'utf8'), /UTF-8|utf-8|name/);
    console.log(`[bad-input] non-UTF-8 name: exit ${r.code}, ${JSON.stringify(out.objects)}`);
  });
});
