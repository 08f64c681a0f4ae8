import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJob } from '../../common/job';
import { InvalidConfigError } from '../../common/errors';
import { parseDuration, parseSize, parseTime, parseRate } from '../../common/units';

const base = { name: 'demo', source: { type: 'fs', path: '/data' }, destination: { type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'b', credentials: 'minio' } };

test('units', () => {
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('1GB'), 1e9);
  assert.equal(parseSize('1.5 KiB'), 1536);
  assert.equal(parseSize(1000), 1000);
  assert.equal(parseSize('12 parsecs'), undefined);
  assert.equal(parseRate('50MiB/s'), 50 * 1024 * 1024);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseTime('2026-01-01T00:00:00Z'), Date.UTC(2026, 0, 1));
  assert.equal(parseTime(1767225600), Date.UTC(2026, 0, 1));
  assert.equal(parseTime('yesterday'), undefined);
});

test('defaults and normalisation', () => {
  const j = parseJob({ ...base, tasks: { maxBytes: '1GiB' }, throttle: { bandwidth: '100MiB/s' }, filter: { modifiedSince: '2026-01-01T00:00:00Z' } });
  assert.equal(j.overwrite, 'if-different');
  assert.equal(j.verify, 'size');
  assert.equal(j.mode, 'copy');
  assert.deepEqual(j.tasks, { maxObjects: 10_000, maxBytes: 1024 ** 3 });
  assert.equal(j.limits.bandwidth, 100 * 1024 * 1024);
  assert.equal(j.limits.tasks, 8);
  assert.equal(j.filter.modifiedSince, Date.UTC(2026, 0, 1));
});

test('every problem is reported at once, as path: message', () => {
  try {
    parseJob({ name: 'bad name!', source: { type: 'ftp' }, destination: { type: 's3' }, tasks: { maxObjects: 0 }, multipart: { partSize: 'huge' }, retries: -1, colour: 'blue' });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof InvalidConfigError);
    const text = e.issues.join('\n');
    for (const expected of [/^name: /m, /^source\.type: unknown provider type "ftp"/m, /^destination\.bucket: required/m, /^tasks\.maxObjects: must be greater than 0/m, /^multipart\.partSize: "huge" is not a size/m, /^retries: must be 0 or more/m, /^colour: unknown field/m]) {
      assert.match(text, expected);
    }
  }
});

test('same bucket with overlapping prefixes is refused', () => {
  const dst = { type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'b', prefix: 'a/b/' };
  assert.throws(() => parseJob({ ...base, source: { ...dst, prefix: 'a/' }, destination: dst }), /overlapping prefixes/);
  parseJob({ ...base, source: { ...dst, prefix: 'x/' }, destination: dst });
  assert.throws(() => parseJob({ ...base, destination: { type: 'http', list: '/l.txt' } }), /read-only/);
});

test('zod is loaded by the first parseJob, not by importing common/job (workflows import it; only the job workflow validates)', async () => {
  const { execFile } = await import('node:child_process');
  const { join } = await import('node:path');
  const job = join(__dirname, '..', '..', 'common', 'job.ts');
  const script = `
    const zod = () => Object.keys(require.cache).filter((k) => /[\\\\/]zod[\\\\/]/.test(k)).length;
    const { parseJob } = require(${JSON.stringify(job)});
    const before = zod();
    parseJob(${JSON.stringify(base)});
    console.log(JSON.stringify({ before, after: zod() }));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '-e', script], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as { before: number; after: number };
  assert.equal(r.before, 0, 'no zod module loaded by the import');
  assert.ok(r.after > 0, 'parseJob loaded zod');
});
