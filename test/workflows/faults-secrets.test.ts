/**
 * Secrets never leak: jobs run with distinctive secret values for an S3 profile, an OSS profile and a wrong
 * (but equally distinctive) S3 secret, through the CLI (in-process worker) and a separate worker process
 * logging at INFO. Then every place a secret could surface is scanned for every secret, raw and base64:
 * every workflow history (all runs, all task children), the worker's and the CLI's stdout/stderr, every file
 * of the reports, and the Temporal Web UI's API responses (workflow list and each history). Extends the
 * single-secret history scan in control.test.ts to all of these.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { startTemporal } from '../support/temporal';
import { startMinio } from '../support/s3-servers';
import { startOssServer } from '../support/oss-server';
import { spawnWorkerProcess, REPO_ROOT } from '../support/ferry';
import { tempDir } from '../support/process';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('no secret value appears in histories, logs, reports or the Web UI API', async () => {
  const S3_SECRET = `S3SECRET${randomBytes(8).toString('hex')}`;
  const OSS_SECRET = `OSSSECRET${randomBytes(8).toString('hex')}`;
  const WRONG_SECRET = `WRONGSECRET${randomBytes(8).toString('hex')}`;
  const secrets = [S3_SECRET, OSS_SECRET, WRONG_SECRET];
  const [temporal, minio, oss] = await Promise.all([startTemporal({ ui: true }), startMinio({ secretAccessKey: S3_SECRET }), startOssServer({ accessKeyId: 'oss-ak', secretAccessKey: OSS_SECRET })]);
  const work = tempDir('secrets');
  const reports = join(work, 'reports');
  const env = {
    ...minio.credentialEnv('minio'),
    FERRY_CREDENTIALS_WRONG_ACCESS_KEY_ID: minio.accessKeyId,
    FERRY_CREDENTIALS_WRONG_SECRET_ACCESS_KEY: WRONG_SECRET,
    FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: 'oss-ak',
    FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: OSS_SECRET,
    FERRY_REPORT_DIR: reports,
    FERRY_HOME: join(work, 'home'),
  };
  const worker = spawnWorkerProcess(temporal, { ...env, FERRY_LOG_LEVEL: 'INFO' }, 'secrets-worker');
  const cliOutput: string[] = [];
  const cli = (args: string[]) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'client', 'cli.ts'), ...args, '--address', temporal.address], { cwd: REPO_ROOT, env: { ...process.env, ...env, FERRY_LOG_LEVEL: 'INFO' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.stdout.on('data', (d: Buffer) => cliOutput.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => cliOutput.push(d.toString()));
      child.once('exit', (code) => (clearTimeout(timer), resolve(code)));
    });
  try {
    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(src, `f${i}.txt`), `file ${i}`);
    await minio.createBucket('dst');
    oss.createBucket('odst');
    const job = (name: string, doc: Record<string, unknown>) => {
      const f = join(work, `${name}.yaml`);
      writeFileSync(f, toYaml({ name, source: { type: 'fs', path: src }, ...doc }));
      return f;
    };
    // s3 destination through the CLI's in-process worker (and the worker process: both poll the queue).
    assert.equal(await cli(['run', job('s3-secret', { destination: { type: 's3', endpoint: minio.endpoint, bucket: 'dst', credentials: 'minio' } }), '--json']), 0, cliOutput.join(''));
    // oss destination, with one object failing (a key OSS cannot store is impossible from fs; use a missing source file instead).
    assert.equal(await cli(['run', job('oss-secret', { destination: { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'odst', credentials: 'oss' } }), '--json']), 0, cliOutput.join(''));
    // Wrong credentials: the job cannot run (exit 3) and the error path must not echo the secret either.
    assert.equal(await cli(['run', job('wrong-secret', { destination: { type: 's3', endpoint: minio.endpoint, bucket: 'dst', credentials: 'wrong' } }), '--json']), 3, cliOutput.join(''));
    for (const name of ['s3-secret', 'oss-secret', 'wrong-secret']) {
      await cli(['status', name, '--json']);
      await cli(['report', name]);
    }
    const places: { what: string; text: string }[] = [];
    const client = await temporal.client();
    let histories = 0;
    for await (const wf of client.workflow.list()) {
      const hist = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      places.push({ what: `history ${wf.workflowId}/${wf.runId}`, text: JSON.stringify(hist) });
      histories++;
      const ui = `http://127.0.0.1:${temporal.uiPort}/api/v1/namespaces/default/workflows/${encodeURIComponent(wf.workflowId)}/history?execution.runId=${wf.runId}`;
      const res = await fetch(ui);
      assert.equal(res.status, 200, `Web UI API ${ui}`);
      places.push({ what: `Web UI history ${wf.workflowId}`, text: await res.text() });
    }
    const list = await fetch(`http://127.0.0.1:${temporal.uiPort}/api/v1/namespaces/default/workflows?query=`);
    assert.equal(list.status, 200);
    places.push({ what: 'Web UI workflow list', text: await list.text() });
    // Read before stopping: stop() removes the log's directory.
    places.push({ what: 'worker log', text: readFileSync(worker.logFile, 'utf8') });
    places.push({ what: 'CLI output', text: cliOutput.join('') });
    const reportFiles = filesUnder(reports);
    for (const f of reportFiles) places.push({ what: `report file ${f}`, text: readFileSync(f, 'utf8') });
    // 3 jobs; each has a single task, which runs inside the job workflow (its copyRange inputs are in that history).
    assert.ok(histories >= 3, `scanned ${histories} histories`);
    assert.ok(places.some((p) => p.what.startsWith('history') && p.text.includes('copyRange')), 'the scanned histories include copy batches');
    assert.ok(reportFiles.length >= 2, `scanned report files ${reportFiles.join(', ')}`);
    const found: string[] = [];
    for (const s of secrets) {
      for (const needle of [s, Buffer.from(s).toString('base64')]) for (const p of places) if (p.text.includes(needle)) found.push(`${s.slice(0, 8)}… in ${p.what}`);
    }
    assert.deepEqual(found, [], 'no secret anywhere');
    const hits = found.length;
    console.log(`[chaos] secrets: ${secrets.length} secrets × ${places.length} places (${histories} histories raw and via the Web UI API, worker log, CLI output, ${reportFiles.length} report files): ${hits} occurrences`);
  } finally {
    await worker.stop();
    await Promise.all([temporal.stop(), minio.stop(), oss.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
});
