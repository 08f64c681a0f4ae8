/**
 * `ferry import-ossimport`: golden tests over real-looking ossimport 2.3 configurations (the shipped templates
 * with their Chinese comments, CRLF and trailing spaces), plus error cases and the file-writing command.
 * Regenerate the goldens with `UPDATE_GOLDEN=1 node scripts/test.mjs test/unit/import-ossimport.test.ts`
 * and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { convertOssimport, exactSize, importOssimport, parseOssimportSize, parseProperties, renderConversion } from '../../client/ossimport';
import { parseJob } from '../../common/job';
import { InvalidConfigError } from '../../common/errors';
import { UsageError } from '../../client/errors';

const FIXTURES = join(__dirname, '..', 'fixtures', 'ossimport');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const OUT_DIR = '/srv/ferry';

const SECRET_KEYS = ['srcAccessKey', 'srcSecretKey', 'destAccessKey', 'destSecretKey'];

function secretsOf(dir: string): string[] {
  const values: string[] = [];
  for (const f of ['job.cfg', 'sys.properties']) {
    const p = join(dir, f);
    if (!existsSync(p)) continue;
    const props = parseProperties(readFileSync(p, 'utf8')).values;
    for (const k of [...SECRET_KEYS, 'workerPassword']) {
      const v = props.get(k);
      if (v) values.push(v);
    }
  }
  return values;
}

function golden(path: string, actual: string): void {
  if (UPDATE || !existsSync(path)) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, actual);
    if (!UPDATE) assert.fail(`golden file ${path} was missing and has been written: review it and rerun`);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `differs from ${path} (UPDATE_GOLDEN=1 regenerates)`);
}

for (const name of readdirSync(FIXTURES).filter((d) => statSync(join(FIXTURES, d)).isDirectory()).sort()) {
  test(`golden: ${name}`, () => {
    const dir = join(FIXTURES, name);
    const sysPath = join(dir, 'sys.properties');
    const argsPath = join(dir, 'args.json');
    const args = existsSync(argsPath) ? (JSON.parse(readFileSync(argsPath, 'utf8')) as { name?: string }) : {};
    const res = convertOssimport({
      jobCfg: readFileSync(join(dir, 'job.cfg'), 'utf8'),
      jobCfgName: 'job.cfg',
      sysProperties: existsSync(sysPath) ? readFileSync(sysPath, 'utf8') : undefined,
      sysPropertiesName: 'sys.properties',
      outDir: OUT_DIR,
      ...args,
    });
    const report = renderConversion(res, { job: `${res.name}.yaml`, credentials: res.credentialsYaml ? `${res.name}.credentials.yaml` : undefined, list: res.listRewrite?.to });
    golden(join(dir, 'expected', 'job.yaml'), res.jobYaml);
    golden(join(dir, 'expected', 'report.txt'), `${report}\n`);
    if (res.credentialsYaml) golden(join(dir, 'expected', 'credentials.yaml'), res.credentialsYaml);

    // The produced job passes the same validation as `ferry run`.
    const spec = parseJob(parseYaml(res.jobYaml));
    assert.equal(spec.name, res.name);
    // Secrets are only in the credentials file.
    const secrets = secretsOf(dir);
    for (const s of secrets) {
      assert.ok(!res.jobYaml.includes(s), 'a secret leaked into the job file');
      assert.ok(!report.includes(s), 'a secret leaked into the printed report');
      assert.ok(!JSON.stringify({ notes: res.notes, mapped: res.mapped, next: res.nextSteps, job: res.job }).includes(s), 'a secret leaked into --json output');
    }
    const credValues = Object.values(res.credentials).flatMap((c) => [c.accessKeyId, c.secretAccessKey]);
    for (const s of secrets.filter((v) => !/^Wk3r/.test(v))) assert.ok(credValues.includes(s), 'every access key pair lands in the credentials file');
    if (res.credentialsYaml) assert.deepEqual(parseYaml(res.credentialsYaml), res.credentials);
  });
}

test('golden cases cover the source types of the mapping table', () => {
  const types = readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'job.cfg')))
    .map((d) => parseProperties(readFileSync(join(FIXTURES, d, 'job.cfg'), 'utf8')).values.get('srcType'));
  for (const t of ['oss', 's3', 'local', 'http', 'cos']) assert.ok(types.includes(t), `no golden case for srcType=${t}`);
});

test('properties: BOM, CRLF, comments, trailing spaces, parentheses in keys, ":" separator, duplicates', () => {
  const p = parseProperties('\uFEFF# 注释\r\nworkerAbortWhenUncatchedException=false  \r\n! bang comment\r\nworkerMaxThroughput(KB/s)=1024\r\nsrcDomain : http://a:80/x\r\nempty=\r\njobName=a\r\njobName=b\r\n');
  assert.equal(p.values.get('workerAbortWhenUncatchedException'), 'false');
  assert.equal(p.values.get('workerMaxThroughput(KB/s)'), '1024');
  assert.equal(p.values.get('srcDomain'), 'http://a:80/x');
  assert.equal(p.values.get('empty'), '');
  assert.equal(p.values.get('jobName'), 'b');
  assert.deepEqual(p.duplicates, ['jobName']);
  assert.equal(p.values.size, 5);
});

test('sizes: ossimport k/m/g are 1024-based; exact units when written back', () => {
  assert.equal(parseOssimportSize('150m'), 150 * 1024 ** 2);
  assert.equal(parseOssimportSize('500k'), 500 * 1024);
  assert.equal(parseOssimportSize('5g'), 5 * 1024 ** 3);
  assert.equal(parseOssimportSize('1048576'), 1048576);
  assert.equal(parseOssimportSize('lots'), undefined);
  assert.equal(exactSize(150 * 1024 ** 2), '150MiB');
  assert.equal(exactSize(1e9), '1GB');
  assert.equal(exactSize(1234), 1234);
});

const minimal = (extra: Record<string, string>) =>
  Object.entries({ jobName: 'job-1', srcType: 'oss', srcDomain: 'http://oss-cn-beijing.aliyuncs.com', srcBucket: 'a', destDomain: 'http://oss-cn-hangzhou.aliyuncs.com', destBucket: 'b', ...extra })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

function issuesOf(cfg: string, extra: Partial<Parameters<typeof convertOssimport>[0]> = {}): string[] {
  try {
    convertOssimport({ jobCfg: cfg, outDir: OUT_DIR, ...extra });
  } catch (e) {
    assert.ok(e instanceof InvalidConfigError, `expected InvalidConfigError, got ${String(e)}`);
    return [...e.issues];
  }
  assert.fail('expected the conversion to fail');
}

test('youpai and azure sources: a clear error naming the field and the alternative', () => {
  const [up] = issuesOf(minimal({ srcType: 'youpai', srcDomain: 'http://v0.api.upyun.com' }));
  assert.match(up!, /^srcType: youpai .*no Ferry provider.*srcType=http/);
  const [az] = issuesOf(minimal({ srcType: 'azure', srcDomain: 'core.chinacloudapi.cn' }));
  assert.match(az!, /^srcType: azure .*no Ferry provider.*source\.type: s3/);
  const [other] = issuesOf(minimal({ srcType: 'S3' }));
  assert.match(other!, /^srcType: "S3" is not an ossimport source type .*case-sensitive/);
});

test('every problem is reported at once, naming key and value, never a secret', () => {
  const issues = issuesOf(
    [
      'jobName=_bad',
      'srcType=local',
      'srcPrefix=data\\in',
      'destDomain=not a url',
      'destBucket=a/b',
      'destPrefix=/x/',
      'destAccessKey=LTAIonlyTheKeyId',
      'destSecretKey=',
      'isSkipExistFile=yes',
      'taskObjectCountLimit=2000000',
      'multipartUploadThreshold=big',
      'jobType=sync',
    ].join('\n'),
  );
  const text = issues.join('\n');
  for (const re of [
    /^jobName: "_bad" is not a Ferry job name.*--name/m,
    /^srcPrefix: "data\\\\in" uses "\\"/m,
    /^srcPrefix: "data\\\\in" is not an absolute directory/m,
    /^srcPrefix: "data\\\\in" must end with "\/"/m,
    /^destDomain: "not a url" is not an endpoint URL/m,
    /^destBucket: "a\/b" must be a bucket name without "\/"/m,
    /^destPrefix: "\/x\/" must not start with "\/"/m,
    /^destSecretKey: empty while destAccessKey is set/m,
    /^isSkipExistFile: "yes" is not true or false/m,
    /^taskObjectCountLimit: 2000000 exceeds/m,
    /^multipartUploadThreshold: "big" is not a size/m,
    /^jobType: "sync" is not import or audit/m,
  ]) assert.match(text, re);
  assert.ok(!text.includes('LTAIonlyTheKeyId'));
});

test('--name overrides jobName; an empty jobName asks for it', () => {
  assert.match(issuesOf(minimal({ jobName: '' }))[0]!, /^jobName: empty — pass --name NAME/);
  const res = convertOssimport({ jobCfg: minimal({ jobName: 'local_test' }), name: 'bj-to-hz', outDir: OUT_DIR });
  assert.equal(res.name, 'bj-to-hz');
  assert.match(res.jobYaml, /^name: bj-to-hz # jobName=local_test \(renamed with --name\)$/m);
  assert.match(issuesOf(minimal({}), { name: 'no spaces allowed' })[0]!, /^--name: /);
});

test('AWS endpoints become a region; other S3 endpoints stay endpoints; defaults when keys are empty', () => {
  const aws = convertOssimport({ jobCfg: minimal({ srcType: 's3', srcDomain: 's3-eu-west-1.amazonaws.com' }), outDir: OUT_DIR });
  assert.deepEqual(aws.job.source, { type: 's3', region: 'eu-west-1', bucket: 'a' });
  const global = convertOssimport({ jobCfg: minimal({ srcType: 's3', srcDomain: 'https://s3.amazonaws.com' }), outDir: OUT_DIR });
  assert.equal((global.job.source as { region?: string }).region, 'us-east-1');
  const minio = convertOssimport({ jobCfg: minimal({ srcType: 's3', srcDomain: 'http://10.0.0.5:9000' }), outDir: OUT_DIR });
  assert.equal((minio.job.source as { endpoint?: string }).endpoint, 'http://10.0.0.5:9000');
  // Empty keys: no credentials file, default chains, ossimport defaults for behaviour keys.
  assert.equal(minio.credentialsYaml, undefined);
  assert.ok(minio.notes.some((n) => /srcAccessKey/.test(n.key) && /default credentials/.test(n.message)));
  assert.equal(minio.job.overwrite, 'always');
  assert.equal(minio.job.verify, 'checksum');
  assert.ok(!minio.nextSteps.some((s) => s.includes('--credentials')));
});

test('the command writes the job, a 0600 credentials file and a reordered URL list; refuses to overwrite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-import-'));
  try {
    const list = join(dir, 'urls.txt');
    writeFileSync(list, '# key  prefix\nbb.jpg   127.0.0.1/aa/\naa/bb.jpg\t127.0.0.1/\n\nonly-one-column\n');
    const cfg = join(dir, 'job.cfg');
    writeFileSync(cfg, minimal({ srcType: 'http', httpListFilePath: list, httpPrefixColumn: '2', relativePathColumn: '1', destAccessKey: 'LTAIdst', destSecretKey: 'dst-secret' }));
    const out = join(dir, 'out');
    mkdirSync(out);
    const res = await importOssimport({ jobCfg: cfg, outDir: out });
    assert.equal(res.files.job, join(out, 'job-1.yaml'));
    assert.equal(statSync(res.files.credentials!).mode & 0o777, 0o600);
    assert.deepEqual(parseYaml(readFileSync(res.files.credentials!, 'utf8')), { 'job-1-dst': { accessKeyId: 'LTAIdst', secretAccessKey: 'dst-secret' } });
    assert.ok(!readFileSync(res.files.job, 'utf8').includes('dst-secret'));
    assert.equal(readFileSync(res.files.list!, 'utf8'), '# key  prefix\n127.0.0.1/aa/\tbb.jpg\n127.0.0.1/\taa/bb.jpg\n\nonly-one-column\n');
    assert.equal(parseJob(parseYaml(readFileSync(res.files.job, 'utf8'))).source.list, res.files.list);
    await assert.rejects(importOssimport({ jobCfg: cfg, outDir: out }), (e) => e instanceof UsageError && /already exist.*--force/.test(e.message));
    await importOssimport({ jobCfg: cfg, outDir: out, force: true });
    assert.equal(statSync(res.files.credentials!).mode & 0o777, 0o600);
    // An unreadable list that needs reordering is an error naming the key.
    writeFileSync(cfg, minimal({ srcType: 'http', httpListFilePath: join(dir, 'missing.txt'), httpPrefixColumn: '2', relativePathColumn: '1' }));
    await assert.rejects(importOssimport({ jobCfg: cfg, outDir: out, name: 'other' }), (e) => e instanceof InvalidConfigError && /^httpListFilePath: cannot read/.test(e.issues[0]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('values that name Object.prototype members are not taken for table entries (auditMode, sys.properties keys)', () => {
  const [audit] = issuesOf(minimal({ auditMode: 'constructor' }));
  assert.match(audit!, /^auditMode: /);
  const res = convertOssimport({ jobCfg: minimal({}), outDir: OUT_DIR, sysProperties: 'toString=1\n__proto__=2\n', sysPropertiesName: 'sys.properties' });
  assert.ok(JSON.stringify(res.notes).includes('toString'), JSON.stringify(res.notes));
});
