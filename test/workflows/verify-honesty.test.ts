/**
 * Verification that says what it checked (issue 32): each copied object counts under the checks it passed, and the
 * report, `ferry report` and the job result break `verified` down by check. The field case: a destination that
 * reports no checksum was counted as checksum-verified; now `verify: checksum` reads it back (`content`) and
 * `verify: checksum-strict` fails those objects with ChecksumUnavailableError.
 *
 * Each job holds three small objects (one above the 256 KiB whole-read limit, so streamed) and one multipart object.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startTemporal, type TemporalTestServer } from '../support/temporal';
import { startMinio, type S3TestServer } from '../support/s3-servers';
import { startOssServer, type OssServer } from '../support/oss-server';
import { startJob, startWorker, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { main } from '../../client/cli';
import type { Io } from '../../client/io';
import type { JobResult, VerifiedBy } from '../../common/progress';

const AK = 'honest-ak';
const SK = 'honest-sk';
const KiB = 1024;
const MiB = 1024 * KiB;
/** Key → size: 3 single puts (the 300 KiB one streamed) and one multipart copy (above the 5 MiB threshold). */
const OBJECTS: Record<string, number> = { 'a.txt': 10, 'b/c.bin': 40 * KiB, 'd.bin': 300 * KiB, 'large.bin': 6 * MiB };
const multipart = { threshold: '5MiB', partSize: '1MiB' };

let temporal: TemporalTestServer;
let minio: S3TestServer;
let oss: OssServer;
let worker: InProcessWorker;

function body(key: string, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + key.length * 7) & 0xff;
  return b;
}

before(async () => {
  [temporal, minio, oss] = await Promise.all([startTemporal(), startMinio(), startOssServer({ accessKeyId: AK, secretAccessKey: SK })]);
  worker = await startWorker(temporal, { env: { ...minio.credentialEnv('minio'), FERRY_CREDENTIALS_OSS_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSS_SECRET_ACCESS_KEY: SK } });
  await minio.createBucket('honest-src');
  for (const [key, size] of Object.entries(OBJECTS)) await minio.client.send(new PutObjectCommand({ Bucket: 'honest-src', Key: key, Body: body(key, size) }));
  oss.createBucket('honest-dst');
});

after(async () => {
  await worker?.stop();
  await Promise.all([temporal?.stop(), minio?.stop(), oss?.stop()]);
});

const minioSource = () => ({ type: 's3', endpoint: minio.endpoint, bucket: 'honest-src', credentials: 'minio' });

async function runToEnd(doc: Record<string, unknown>): Promise<JobResult> {
  return (await (await startJob(await temporal.client(), { retries: 0, ...doc, multipart })).result()) as JobResult;
}

function reportJson(r: JobResult): { verifiedBy: VerifiedBy; objects: { verified: number } } {
  return JSON.parse(readFileSync(join(r.reportPath!, 'report.json'), 'utf8')) as { verifiedBy: VerifiedBy; objects: { verified: number } };
}

/** `ferry report NAME` run in this process against the test server; its stdout. */
async function ferryReport(name: string, json = false): Promise<string> {
  const out: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: () => undefined,
    rawOut: () => undefined,
    rawErr: () => undefined,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: () => 120,
    env: { ...process.env, FERRY_HOME: tempDir('honest-home') },
    now: () => Date.now(),
    onSignal: () => () => undefined,
  };
  const code = await main(['report', name, '--address', temporal.address, ...(json ? ['--json'] : [])], io);
  assert.equal(code, 0, out.join('\n'));
  return out.join('\n');
}

const checks = (over: Partial<VerifiedBy>): VerifiedBy => ({ size: 0, md5: 0, crc64: 0, crc32c: 0, sha256: 0, content: 0, ...over });

test('checksum, MinIO → fs: MD5 ETags are checked at the source, and fs (no checksum of its own) is read back', async () => {
  const out = tempDir('honest-fs');
  const r = await runToEnd({ name: 'honest-minio-fs', source: minioSource(), destination: { type: 'fs', path: out }, verify: 'checksum' });
  assert.equal(r.status, 'succeeded', JSON.stringify(r));
  assert.equal(r.objects.verified, 4);
  // Single puts: source ETag = MD5 of the bytes sent, destination read back. The multipart copy: read back only
  // (part ETags are fs's own, and MinIO reports no whole-object checksum). No object counts under crc64.
  const want = checks({ size: 4, md5: 3, content: 4 });
  assert.deepEqual(r.verifiedBy, want);
  assert.deepEqual(reportJson(r).verifiedBy, want);
  const text = await ferryReport('honest-minio-fs');
  assert.match(text, /verified by size 4, md5 3, content 4\n/);
  const json = JSON.parse(await ferryReport('honest-minio-fs', true)) as { result: { verifiedBy: VerifiedBy }; report: { verifiedBy: VerifiedBy } };
  assert.deepEqual(json.result.verifiedBy, want);
  assert.deepEqual(json.report.verifiedBy, want);
  assert.match(readFileSync(join(r.reportPath!, 'summary.txt'), 'utf8'), /verified by: size 4, md5 3, content 4 /);
});

test('checksum, fs → OSS: the server reports MD5 ETags and CRC-64, so nothing is read back', async () => {
  const src = tempDir('honest-src');
  for (const [key, size] of Object.entries(OBJECTS)) {
    mkdirSync(join(src, key, '..'), { recursive: true });
    writeFileSync(join(src, key), body(key, size));
  }
  const destination = { type: 'oss', endpoint: oss.endpoint, region: 'cn-hangzhou', bucket: 'honest-dst', credentials: 'oss' };
  const r = await runToEnd({ name: 'honest-fs-oss', source: { type: 'fs', path: src }, destination, verify: 'checksum' });
  assert.equal(r.status, 'succeeded', JSON.stringify(r));
  // Every object: its (part) ETags equal the MD5 of the bytes sent, and the server's CRC-64 equals theirs.
  const want = checks({ size: 4, md5: 4, crc64: 4 });
  assert.deepEqual(r.verifiedBy, want);
  assert.deepEqual(reportJson(r).verifiedBy, want);
  assert.match(await ferryReport('honest-fs-oss'), /verified by size 4, md5 4, crc64 4\n/);
  assert.equal(oss.requests.filter((q) => q.op === 'GetObject').length, 0, 'a destination that reported checksums is not read back');
});

test('checksum-strict, MinIO → fs: objects the destination reports no checksum for fail by name, also in a retry round', async () => {
  const out = tempDir('honest-strict');
  const r = await runToEnd({ name: 'honest-strict', source: minioSource(), destination: { type: 'fs', path: out }, verify: 'checksum-strict', retries: 1 });
  assert.equal(r.status, 'completed-with-failures', JSON.stringify(r));
  assert.equal(r.rounds, 2);
  assert.equal(r.objects.failed, 4, JSON.stringify(r.objects));
  assert.equal(r.objects.verified, 0, JSON.stringify(r.objects));
  assert.equal(reportJson(r).objects.verified, 0);
  assert.deepEqual(reportJson(r).verifiedBy, checks({}));
  const failures = readFileSync(join(r.reportPath!, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string; message: string });
  assert.deepEqual(failures.map((f) => f.key).sort(), Object.keys(OBJECTS).sort());
  for (const f of failures) assert.equal(f.errorClass, 'ChecksumUnavailableError', JSON.stringify(f));
  assert.match(await ferryReport('honest-strict'), /ChecksumUnavailableError {2}"a\.txt"/);
});
