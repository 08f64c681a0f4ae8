/**
 * argv → options for every command (the table), usage errors (exit 2, naming flag, value and fix), help text,
 * and connection settings from flags and TEMPORAL_* env.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, main, parseArgv, renderCommandHelp, renderGeneralHelp, type CliOptions, type ParsedArgs } from '../../client/cli';
import { UsageError } from '../../client/errors';
import { connectionSettings } from '../../client/connection';
import type { Io } from '../../client/io';

const MiB = 1024 * 1024;

const TABLE: { argv: string; expect: ParsedArgs }[] = [
  { argv: '', expect: { command: 'help', options: {} } },
  { argv: '--help', expect: { command: 'help', options: {} } },
  { argv: 'help throttle', expect: { command: 'help', options: {}, topic: 'throttle' } },
  { argv: '--version', expect: { command: 'version', options: {} } },
  { argv: 'run job.yaml', expect: { command: 'run', options: { job: 'job.yaml' } } },
  { argv: 'run photos', expect: { command: 'run', options: { job: 'photos' } } },
  {
    argv: 'run job.yaml --json --credentials creds.yaml --report-dir /r --data-dir /d --port 7300 --ui-port 8300 --keep-server --interval 2s --max-activities 8',
    expect: { command: 'run', options: { job: 'job.yaml', json: true, credentials: 'creds.yaml', reportDir: '/r', dataDir: '/d', port: 7300, uiPort: 8300, keepServer: true, interval: 2000, maxActivities: 8 } },
  },
  {
    argv: 'run job.yaml --address t:7233 -n prod --task-queue q --no-worker',
    expect: { command: 'run', options: { job: 'job.yaml', address: 't:7233', namespace: 'prod', taskQueue: 'q', noWorker: true } },
  },
  { argv: 'run --help', expect: { command: 'run', options: { help: true } } },
  {
    argv: 'start job.yaml --address t:7233 --namespace ns --tls-cert c.pem --tls-key k.pem --tls-ca ca.pem --tls-server-name t.example --json',
    expect: { command: 'start', options: { job: 'job.yaml', address: 't:7233', namespace: 'ns', tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem', tlsServerName: 't.example', json: true } },
  },
  { argv: 'start job.yaml --tls --api-key K', expect: { command: 'start', options: { job: 'job.yaml', tls: true, apiKey: 'K' } } },
  {
    argv: 'worker --address t:7233 --task-queue ferry-big --credentials /etc/ferry/c.yaml --report-dir /reports --max-activities 64 --identity w1',
    expect: { command: 'worker', options: { address: 't:7233', taskQueue: 'ferry-big', credentials: '/etc/ferry/c.yaml', reportDir: '/reports', maxActivities: 64, identity: 'w1' } },
  },
  { argv: 'worker --metrics-port 9464', expect: { command: 'worker', options: { metricsPort: 9464 } } },
  { argv: 'schedule job.yaml --every 1h --window 01:00-06:00 --json', expect: { command: 'schedule', options: { job: 'job.yaml', every: 3600_000, window: { from: 3600, to: 6 * 3600, text: '01:00-06:00' }, json: true } } },
  { argv: 'cutover job.yaml --threshold 50 --address t:7233 --no-worker', expect: { command: 'cutover', options: { job: 'job.yaml', threshold: 50, address: 't:7233', noWorker: true } } },
  { argv: 'server', expect: { command: 'server', options: {} } },
  { argv: 'server --port 7300 --ui-port 8300 --data-dir /srv/ferry', expect: { command: 'server', options: { port: 7300, uiPort: 8300, dataDir: '/srv/ferry' } } },
  { argv: 'server --stop --json', expect: { command: 'server', options: { stop: true, json: true } } },
  { argv: 'status photos --json', expect: { command: 'status', options: { job: 'photos', json: true } } },
  { argv: 'status job.yaml --address t:7233', expect: { command: 'status', options: { job: 'job.yaml', address: 't:7233' } } },
  { argv: 'watch photos --interval 30s', expect: { command: 'watch', options: { job: 'photos', interval: 30_000 } } },
  { argv: 'pause photos', expect: { command: 'pause', options: { job: 'photos' } } },
  { argv: 'approve photos --json', expect: { command: 'approve', options: { job: 'photos', json: true } } },
  { argv: 'reject photos', expect: { command: 'reject', options: { job: 'photos' } } },
  { argv: 'resume photos --json', expect: { command: 'resume', options: { job: 'photos', json: true } } },
  {
    argv: 'throttle photos --bandwidth 50MiB/s --objects-per-second 200 --concurrency 16 --tasks 4',
    expect: { command: 'throttle', options: { job: 'photos', bandwidth: 50 * MiB, objectsPerSecond: 200, concurrency: 16, tasks: 4 } },
  },
  { argv: 'throttle photos --bandwidth unlimited --objects-per-second none', expect: { command: 'throttle', options: { job: 'photos', bandwidth: null, objectsPerSecond: null } } },
  { argv: 'incremental photos', expect: { command: 'incremental', options: { job: 'photos' } } },
  { argv: 'incremental photos --since 2026-01-01T00:00:00Z', expect: { command: 'incremental', options: { job: 'photos', since: Date.UTC(2026, 0, 1) } } },
  { argv: 'incremental job.yaml --since 1767225600 --detach --address t:7233', expect: { command: 'incremental', options: { job: 'job.yaml', since: Date.UTC(2026, 0, 1), detach: true, address: 't:7233' } } },
  { argv: 'verify job.yaml', expect: { command: 'verify', options: { job: 'job.yaml' } } },
  { argv: 'verify job.yaml --json --credentials c.yaml', expect: { command: 'verify', options: { job: 'job.yaml', json: true, credentials: 'c.yaml' } } },
  { argv: 'retry photos', expect: { command: 'retry', options: { job: 'photos' } } },
  { argv: 'retry photos --detach --address t:7233', expect: { command: 'retry', options: { job: 'photos', detach: true, address: 't:7233' } } },
  { argv: 'report photos', expect: { command: 'report', options: { job: 'photos' } } },
  { argv: 'report photos --failures 100 --json', expect: { command: 'report', options: { job: 'photos', failures: 100, json: true } } },
  { argv: 'plan job.yaml', expect: { command: 'plan', options: { job: 'job.yaml' } } },
  {
    argv: 'plan job.yaml --rate 100MiB/s --deadline 7d --sample-seconds 0 --credentials c.yaml --json',
    expect: { command: 'plan', options: { job: 'job.yaml', rate: 100 * MiB, deadline: 7 * 86_400_000, sampleSeconds: 0, credentials: 'c.yaml', json: true } },
  },
  { argv: 'import-ossimport conf/job.cfg', expect: { command: 'import-ossimport', options: { jobCfg: 'conf/job.cfg' } } },
  {
    argv: 'import-ossimport conf/job.cfg conf/sys.properties --name nas-to-oss -o jobs --force --json',
    expect: { command: 'import-ossimport', options: { jobCfg: 'conf/job.cfg', sysProperties: 'conf/sys.properties', name: 'nas-to-oss', out: 'jobs', force: true, json: true } },
  },
];

const split = (s: string) => (s ? s.split(' ') : []);

for (const row of TABLE) {
  test(`argv: ferry ${row.argv}`, () => {
    assert.deepEqual(parseArgv(split(row.argv)), row.expect);
  });
}

test('the table covers every command', () => {
  const covered = new Set(TABLE.map((r) => r.expect.command));
  for (const c of COMMANDS) assert.ok(covered.has(c.name), `no argv row for ${c.name}`);
});

const USAGE_ERRORS: [string, RegExp][] = [
  ['frobnicate', /^unknown command "frobnicate" \(commands: run, start/],
  ['--json', /^expected a command before --json/],
  ['run', /^missing JOB\.yaml\|NAME \(usage: ferry run/],
  ['run a.yaml b.yaml', /^unexpected argument "b\.yaml"/],
  ['run job.yaml --bandwith 5MiB', /^unknown option --bandwith for `ferry run`/],
  ['status photos --bandwidth 5MiB/s', /^unknown option --bandwidth for `ferry status`/],
  ['run job.yaml --port', /^--port needs a value/],
  ['run job.yaml --port 99999', /^--port "99999": must be a TCP port/],
  ['run job.yaml --json=yes', /^--json does not take a value/],
  ['throttle photos', /^nothing to change: give at least one of --bandwidth/],
  ['throttle photos --bandwidth fast', /^--bandwidth "fast": is not a positive rate \(use e\.g\. 50MiB\/s/],
  ['throttle photos --concurrency 0', /^--concurrency "0": must be a whole number ≥ 1/],
  ['throttle photos --objects-per-second -3', /^--objects-per-second: a value starting with "-" must be written as --objects-per-second=VALUE/],
  ['throttle photos --objects-per-second=-3', /^--objects-per-second "-3": must be a positive number/],
  ['incremental photos --since yesterday', /^--since "yesterday": is not a time \(use ISO-8601/],
  ['plan job.yaml --deadline soon', /^--deadline "soon": is not a duration \(use e\.g\. 7d/],
  ['run job.yaml --interval 0s', /^--interval "0s": is not a duration/],
  ['run job.yaml --no-worker --credentials c.yaml', /--credentials is used by the in-process worker/],
  ['run job.yaml --address', /^--address needs a value/],
  ['import-ossimport', /^missing job\.cfg/],
  ['help nope', /^unknown command "nope"/],
];

for (const [argv, re] of USAGE_ERRORS) {
  test(`usage error: ferry ${argv}`, () => {
    assert.throws(() => parseArgv(split(argv)), (e) => e instanceof UsageError && re.test(e.message));
  });
}

function captureIo(env: NodeJS.ProcessEnv = {}): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    rawOut: (t) => stdout.push(t),
    rawErr: (t) => stderr.push(t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: () => 100,
    env,
    now: () => 0,
    onSignal: () => () => undefined,
  };
}

test('main: help everywhere, exit 0; usage errors exit 2 with one line and a pointer to --help', async () => {
  for (const c of COMMANDS) {
    const io = captureIo();
    assert.equal(await main([c.name, '--help'], io), 0);
    assert.match(io.stdout.join('\n'), new RegExp(`^Usage: ferry ${c.name}`));
    assert.match(io.stdout.join('\n'), /Examples:/);
  }
  const io = captureIo();
  assert.equal(await main(['run', 'job.yaml', '--bandwith', '5MiB'], io), 2);
  assert.deepEqual(io.stderr, ['ferry: unknown option --bandwith for `ferry run`\nRun `ferry run --help` for usage.']);
  const help = captureIo();
  assert.equal(await main([], help), 0);
  assert.match(help.stdout[0]!, /Commands:\n {2}run +run a job here/);
});

test('help text lists every command and every option of a command', () => {
  const general = renderGeneralHelp();
  for (const c of COMMANDS) assert.match(general, new RegExp(`^  ${c.name} `, 'm'));
  const throttle = renderCommandHelp('throttle');
  for (const flag of ['--bandwidth RATE', '--objects-per-second N', '--concurrency N', '--tasks N', '--address HOST:PORT', '--json', '-h, --help']) assert.ok(throttle.includes(flag), flag);
});

test('an invalid job file: exit 2 and every problem named as path: message', async () => {
  const io = captureIo();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: demo\nsource: { type: ftp }\ndestination: { type: s3, bucket: b }\nretries: -1\n');
    assert.equal(await main(['run', bad], io), 2);
    const text = io.stderr.join('\n');
    assert.match(text, new RegExp(`^ferry: invalid job file ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:`));
    assert.match(text, /^ {2}source\.type: unknown provider type "ftp"/m);
    assert.match(text, /^ {2}retries: must be 0 or more/m);
    assert.doesNotMatch(text, /at .*\.ts:\d+/, 'no stack trace');
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'name: demo\nsource:\n  type: fs\n   path: /x\n');
    const io2 = captureIo();
    assert.equal(await main(['plan', syntax], io2), 2);
    assert.match(io2.stderr.join('\n'), /syntax\.yaml:3:9: Nested mappings are not allowed/);
    const io3 = captureIo();
    assert.equal(await main(['verify', join(dir, 'missing.yaml')], io3), 2);
    assert.match(io3.stderr.join('\n'), /^ferry: cannot read job file .*missing\.yaml: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connection settings: flags over TEMPORAL_* env over defaults', () => {
  const none: CliOptions = {};
  assert.deepEqual(connectionSettings(none, {}), { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'ferry', tls: undefined, apiKey: undefined, explicit: false });
  const env = { TEMPORAL_ADDRESS: 'env:7233', TEMPORAL_NAMESPACE: 'env-ns', FERRY_TASK_QUEUE: 'env-q', TEMPORAL_TLS_CA: '/ca.pem' };
  assert.deepEqual(connectionSettings(none, env), { address: 'env:7233', namespace: 'env-ns', taskQueue: 'env-q', tls: { ca: '/ca.pem', cert: undefined, key: undefined, serverName: undefined }, apiKey: undefined, explicit: true });
  const flags: CliOptions = { address: 'flag:7233', namespace: 'flag-ns', taskQueue: 'flag-q', tlsCert: 'c', tlsKey: 'k' };
  const s = connectionSettings(flags, env);
  assert.equal(s.address, 'flag:7233');
  assert.equal(s.namespace, 'flag-ns');
  assert.equal(s.taskQueue, 'flag-q');
  assert.deepEqual(s.tls, { cert: 'c', key: 'k', ca: '/ca.pem', serverName: undefined });
  assert.equal(connectionSettings({}, { TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233' }).tls, true);
  assert.equal(connectionSettings({}, { TEMPORAL_TLS: 'true' }).tls, true);
  assert.throws(() => connectionSettings({ tlsCert: 'c' }, {}), /--tls-cert and --tls-key go together/);
});

test('package.json bin is bin/ferry: an executable shell launcher that execs node on the built entry', async () => {
  const { readFileSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = join(__dirname, '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { ferry: string } };
  assert.equal(pkg.bin.ferry, 'bin/ferry');
  const launcher = readFileSync(join(root, 'bin', 'ferry'), 'utf8');
  assert.match(launcher, /^#!\/bin\/sh\n/);
  const exec = /^exec node ((?:--[\w-]+(?:=\S+)? )*)"\$here\/\.\.\/dist\/client\/cli\.js" "\$@"$/m.exec(launcher);
  assert.ok(exec, launcher);
  // Each startup flag says why in a comment of its own (house style: no runtime tuning, startup flags explained).
  for (const flag of exec[1]!.split(' ').filter(Boolean)) assert.ok(launcher.includes(`# ${flag}:`), `no reason given for ${flag}`);
  assert.ok(statSync(join(root, 'bin', 'ferry')).mode & 0o111, 'bin/ferry is executable');
  // The built entry still runs on its own (node dist/client/cli.js, and as a script).
  assert.match(readFileSync(join(root, 'client', 'cli.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
