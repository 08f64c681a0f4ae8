/**
 * Issue 32's four field failures through the front door: `ferry run JOB.yaml --json` (built CLI, embedded server)
 * against our OSS server in the quirk mode of each store seen in the field — a listing that ignores `start-after`
 * (copies every key once and ends), GET bodies without Content-Length (byte-identical copies), no checksums to
 * compare (`verify: checksum` reads back and says so), keys not URL-encoded in a listing (a named failure and a
 * report in seconds, not hours of retries).
 *
 * FERRY_E2E_SKIP_BUILD=1 reuses an existing dist/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startOssServer, type OssQuirks, type OssServer } from '../support/oss-server';
import { freePort, tempDir, toolPath } from '../support/process';
import { REPO_ROOT } from '../support/ferry';
import { openOssProvider } from '../../storage/oss/oss';

const CLI = join(REPO_ROOT, 'dist', 'client', 'cli.js');
const AK = 'compat-ak';
const SK = 'compat-sk';
const CREDENTIALS = { FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK };

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

describe('S3/OSS-compatible stores through `ferry run`', () => {
  let oss: OssServer;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    if (process.env.FERRY_E2E_SKIP_BUILD !== '1' || !existsSync(CLI)) {
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.ok(existsSync(CLI), `the build did not produce ${CLI}:\n${build.stdout}${build.stderr}`);
    }
    work = tempDir('e2e-compat');
    const bundleFile = join(work, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({ workflowsPath: join(REPO_ROOT, 'dist', 'workflows', 'index.js'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
    writeFileSync(bundleFile, code);
    oss = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    env = {
      PATH: process.env.PATH,
      HOME: work,
      FERRY_HOME: join(work, 'home'),
      FERRY_TOOLS_DIR: process.env.FERRY_TOOLS_DIR,
      FERRY_TEMPORAL_BIN: toolPath('temporal'),
      FERRY_WORKFLOW_BUNDLE: bundleFile,
      FERRY_LOG_LEVEL: 'WARN',
      ...CREDENTIALS,
    };
    // The embedded server stays up between the runs (each run reuses it), as a user's would with --keep-server.
    const port = await freePort();
    const warm = await ferry(['server', '--json', '--port', String(port)], 60_000, true);
    assert.equal(warm.code, null, `ferry server: ${warm.stderr}`);
  });

  after(async () => {
    spawnSync(process.execPath, [CLI, 'server', '--stop'], { env, stdio: 'ignore' });
    await oss?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs the CLI; `detachAfterMs`: a foreground command (the server) left running once it has printed its JSON. */
  function ferry(args: string[], timeoutMs = 180_000, detach = false): Promise<RunResult> {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: detach });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      const done = (code: number | null) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      };
      if (detach) {
        child.stdout.on('data', () => {
          if (!stdout.trim().endsWith('}')) return;
          child.unref();
          child.stdout.destroy();
          child.stderr.destroy();
          done(null);
        });
      }
      child.once('exit', (code) => done(code));
    });
  }

  const explain = (r: RunResult) => `exit ${r.code} after ${r.seconds.toFixed(1)} s\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  /** A bucket holding `objects` (key → body) on the OSS server, written through the provider. */
  async function bucket(name: string, objects: Record<string, Buffer>): Promise<void> {
    oss.createBucket(name);
    const writer = openOssProvider({ type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: name, credentials: 'oss' }, { env: CREDENTIALS });
    const keys = Object.keys(objects);
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await writer.put(key, objects[key]!);
      }
    }));
  }

  /** `ferry run` of a job from OSS bucket `name` to a fresh directory, with the server in `quirks`. */
  async function runJob(name: string, quirks: OssQuirks, extra: Record<string, unknown> = {}): Promise<{ r: RunResult; out: string; json: Record<string, unknown> }> {
    for (const k of Object.keys(oss.quirks)) delete (oss.quirks as Record<string, unknown>)[k];
    Object.assign(oss.quirks, quirks);
    const out = join(work, `${name}-dst`);
    const file = join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify({ name, source: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: name, credentials: 'oss' }, destination: { type: 'fs', path: out }, retries: 0, ...extra }));
    const r = await ferry(['run', file, '--json']);
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      // Asserted by the caller through explain(r).
    }
    return { r, out, json };
  }

  const bodies = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, Buffer.from(`body of ${k}\n`)]));

  it('a store that ignores start-after: all 1,100 keys copied once, exit 0', async () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
    await bucket('no-start-after', bodies(keys));
    const { r, out, json } = await runJob('no-start-after', { ignoreStartAfter: true });
    assert.equal(r.code, 0, explain(r));
    assert.equal((json.objects as { copied: number }).copied, 1100, explain(r));
    assert.equal(readdirSync(join(out, 'k')).length, 1100);
    const gets = oss.requests.filter((q) => q.op === 'GetObject' && q.bucket === 'no-start-after').map((q) => q.key);
    assert.equal(new Set(gets).size, gets.length, 'no key read twice');
  });

  it('GET bodies without Content-Length: byte-identical copies of 0 B, 1 KiB and 300 KiB, exit 0', async () => {
    const objects = { empty: Buffer.alloc(0), small: Buffer.alloc(1024, 7), larger: Buffer.alloc(300 * 1024, 9) };
    await bucket('no-length', objects);
    const { r, out } = await runJob('no-length', { noContentLength: true });
    assert.equal(r.code, 0, explain(r));
    for (const [key, body] of Object.entries(objects)) assert.ok(readFileSync(join(out, key)).equals(body), `${key} differs`);
  });

  it('no checksum from the store: verify checksum reads the destination back (content), and claims no CRC-64', async () => {
    await bucket('no-checksums', bodies(['a', 'b', 'c']));
    const { r, json } = await runJob('no-checksums', { noChecksumHeaders: true, emptyEtags: true }, { verify: 'checksum' });
    assert.equal(r.code, 0, explain(r));
    // md5: the bytes read matched the source's listed MD5 ETag (the listing still carries ETags).
    assert.deepEqual(json.verifiedBy, { size: 3, md5: 3, crc64: 0, crc32c: 0, sha256: 0, content: 3 }, explain(r));
  });

  it('a key not URL-encoded in a listing: the job ends in seconds, failed, with a report naming the value', async () => {
    // Past preflight's two-key probe: planning meets it. A job that cannot list its source could not run: exit 3.
    await bucket('not-encoded', bodies(['a.txt', 'b.txt', 'c.txt', 'd.txt', 'zz-rate-100%.txt']));
    const { r, json } = await runJob('not-encoded', { listNotEncoded: true });
    assert.equal(r.code, 3, explain(r));
    assert.ok(r.seconds < 60, explain(r));
    assert.equal(json.status, 'failed', explain(r));
    assert.match(String(json.error), /listing the source stopped .*"zz-rate-100%\.txt" is not valid URL encoding/, explain(r));
    assert.ok(existsSync(join(String(json.reportPath), 'report.json')), explain(r));
    assert.doesNotMatch(r.stdout + r.stderr, /\[object Object\]/);
  });

  it('a store whose every listed key is not URL-encoded: preflight names the value, exit 3', async () => {
    await bucket('not-encoded-first', bodies(['100%.txt']));
    const { r, json } = await runJob('not-encoded-first', { listNotEncoded: true });
    assert.equal(r.code, 3, explain(r));
    assert.match(String(json.error), /"100%\.txt" is not valid URL encoding/, explain(r));
  });
});
