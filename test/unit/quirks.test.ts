/** Quirks as data: presets, overrides, the job file's `provider:`/`quirks:`, capabilities, and the preflight probe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJob, withProbedListing } from '../../common/job';
import { ChecksumAlgorithm, type ListOptions, type ObjectInfo, type ObjectProvider } from '../../storage/provider';
import { PRESETS, PRESET_NAMES, endpointQuirks, resolveQuirks } from '../../storage/quirks';
import { openS3Provider } from '../../storage/s3/s3';
import { openOssProvider } from '../../storage/oss/oss';
import { describeQuirks, probeQuirks } from '../../activities/quirks-probe';
import { planJob, renderPlan } from '../../client/commands/plan';
import { renderQuirks } from '../../client/render';

const MiB = 1024 ** 2;
const GiB = 1024 * MiB;
const s3 = { type: 's3', endpoint: 'http://127.0.0.1:9', bucket: 'b' } as const;
const job = (source: Record<string, unknown>, destination: Record<string, unknown> = { type: 'fs', path: '/tmp/ferry-quirks-dst' }) => parseJob({ name: 'q', source, destination });
const issues = (source: Record<string, unknown>): string => {
  try {
    job(source);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
};

test('every preset is complete and consistent', () => {
  assert.deepEqual(Object.keys(PRESETS).sort(), [...PRESET_NAMES].sort());
  for (const [name, q] of Object.entries(PRESETS)) {
    assert.ok(q.multipart.minPartSize > 0 && q.multipart.minPartSize <= q.multipart.maxPartSize, `${name}: part sizes`);
    assert.ok(q.multipart.maxParts >= 1 && q.maxServerSideCopy > 0, `${name}: limits`);
    assert.ok(q.listVersion === 1 || q.listVersion === 2, `${name}: listVersion`);
    for (const c of q.checksums) assert.ok(Object.values(ChecksumAlgorithm).includes(c), `${name}: checksum ${c}`);
  }
  assert.deepEqual(PRESETS.alibaba.checksums, ['crc64ecma']);
  assert.equal(PRESETS.other.etagIsMd5, false);
  assert.equal(PRESETS.other.listVersion, 1);
});

test('defaults per type, overrides field by field', () => {
  assert.deepEqual(resolveQuirks('s3'), PRESETS.aws);
  assert.deepEqual(resolveQuirks('oss'), PRESETS.alibaba);
  const q = resolveQuirks('s3', 'minio', { listVersion: 1, multipart: { maxParts: 500 } });
  assert.equal(q.listVersion, 1);
  assert.deepEqual(q.multipart, { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 500 });
  assert.equal(q.pathStyle, true);
  assert.equal(PRESETS.minio.listVersion, 2, 'presets are not changed by a resolution');
});

test('path style: a custom endpoint without preset stays path-style; forcePathStyle wins', () => {
  assert.equal(endpointQuirks(job(s3).source)!.pathStyle, true);
  assert.equal(endpointQuirks(job({ type: 's3', bucket: 'b' }).source)!.pathStyle, false);
  assert.equal(endpointQuirks(job({ ...s3, provider: 'aws' }).source)!.pathStyle, false);
  assert.equal(endpointQuirks(job({ ...s3, provider: 'aws', forcePathStyle: true }).source)!.pathStyle, true);
  assert.equal(endpointQuirks(job({ type: 'fs', path: '/x' }).source), undefined);
});

test('the job file takes provider and quirks, and the spec round-trips as plain data', () => {
  const spec = job({ ...s3, provider: 'r2', quirks: { listVersion: 1, multipart: { minPartSize: '8MiB' }, checksums: ['crc32c'] } });
  assert.equal(spec.source.provider, 'r2');
  assert.deepEqual(spec.source.quirks, { listVersion: 1, multipart: { minPartSize: 8 * MiB }, checksums: ['crc32c'] });
  assert.deepEqual(JSON.parse(JSON.stringify(spec.source)), spec.source);
});

test('bad provider or quirks: errors name the field', () => {
  assert.match(issues({ ...s3, provider: 'nope' }), /source\.provider: unknown provider preset "nope" \(expected one of aws, alibaba/);
  assert.match(issues({ ...s3, quirks: { listVersion: 3 } }), /source\.quirks\.listVersion: must be 1 \(ListObjects, marker\) or 2/);
  assert.match(issues({ ...s3, quirks: { checksums: ['crc99'] } }), /source\.quirks\.checksums\.0: unknown checksum "crc99"/);
  assert.match(issues({ ...s3, quirks: { multipart: { maxParts: 0 } } }), /source\.quirks\.multipart\.maxParts: must be greater than 0/);
  assert.match(issues({ ...s3, quirks: { etag: true } }), /source\.quirks\.etag: unknown field/);
  assert.match(issues({ ...s3, quirks: { multipart: { minPartSize: '6GiB' } } }), /source\.quirks\.multipart\.minPartSize: must not exceed maxPartSize/);
  assert.match(issues({ ...s3, forcePathStyle: false, quirks: { pathStyle: true } }), /source\.quirks\.pathStyle: contradicts forcePathStyle/);
  assert.match(issues({ type: 'fs', path: '/x', provider: 'minio' }), /source\.provider: only for type s3 or oss, not fs/);
  assert.match(issues({ type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', bucket: 'bkt', provider: 'minio' }), /source\.provider: type oss speaks the OSS protocol/);
});

const awsEnv = { env: { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' } };

test('a preset changes the provider capabilities', () => {
  const plain = openS3Provider(job(s3).source, awsEnv).capabilities;
  assert.deepEqual(plain.multipart, { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000 });
  assert.equal(plain.etagIsMd5, true);
  const r2 = openS3Provider(job({ ...s3, provider: 'r2' }).source, awsEnv).capabilities;
  assert.equal(r2.multipart!.maxPartSize, 5 * GiB - 5 * MiB);
  assert.equal(r2.maxServerSideCopy, 5 * GiB - 5 * MiB);
  const other = openS3Provider(job({ ...s3, provider: 'other' }).source, awsEnv).capabilities;
  assert.equal(other.serverSideCopy, false);
  assert.equal(other.uploadPartCopy, false);
  assert.equal(other.etagIsMd5, false);
  // COS keeps CRC-64 in x-cos-* headers the s3 provider does not read: not a capability; a crc32c override is.
  assert.deepEqual(openS3Provider(job({ ...s3, provider: 'cos' }).source, awsEnv).capabilities.checksums, []);
  assert.deepEqual(openS3Provider(job({ ...s3, quirks: { checksums: ['crc32c'] } }).source, awsEnv).capabilities.checksums, ['crc32c']);
  const oss = { type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', bucket: 'bkt', quirks: { maxServerSideCopy: '512MiB' } };
  const ossCaps = openOssProvider(job(oss).source, { env: { OSS_ACCESS_KEY_ID: 'id', OSS_ACCESS_KEY_SECRET: 'secret' } }).capabilities;
  assert.equal(ossCaps.maxServerSideCopy, 512 * MiB);
  assert.deepEqual(ossCaps.checksums, ['crc64ecma']);
  assert.equal(ossCaps.multipart!.minPartSize, 100 * 1024);
});

/** An in-memory key-ordered store; `ignoreStartAfter` answers every page from the first key, as some clones do. */
function memoryStore(keys: string[], etag: string, ignoreStartAfter = false): ObjectProvider & { lists: number } {
  const objects: ObjectInfo[] = keys.sort().map((key) => ({ key, size: 1, lastModified: 0, etag, position: key }));
  const store = {
    type: 's3',
    endpointId: 'mem',
    bucket: 'b',
    capabilities: openS3Provider(job(s3).source, awsEnv).capabilities,
    lists: 0,
    async list(o: ListOptions = {}) {
      store.lists++;
      const after = objects.filter((x) => x.key.startsWith(o.prefix ?? '') && (ignoreStartAfter || !o.startAfter || x.key > o.startAfter));
      const page = after.slice(0, o.limit ?? 1000);
      return page.length < after.length ? { objects: page, next: page[page.length - 1]!.position } : { objects: page };
    },
    stat: () => Promise.reject(new Error('unused')),
    get: () => Promise.reject(new Error('unused')),
    put: () => Promise.reject(new Error('unused')),
    validateKey: () => undefined,
  };
  return store;
}

test('probe: start-after honoured, MD5-like ETag, two requests', async () => {
  const store = memoryStore(['a', 'b', 'c'], 'd41d8cd98f00b204e9800998ecf8427e');
  const r = await probeQuirks(store, job({ ...s3, provider: 'minio' }).source);
  assert.deepEqual(r, { preset: 'minio', presetFrom: 'job', overrides: [], listVersion: 2, startAfter: 'honoured', etag: 'md5-like', notes: [] });
  assert.equal(store.lists, 2);
});

test('probe: a store that ignores start-after gets ListObjects V1 for the job, and says so', async () => {
  const store = memoryStore(['a', 'b'], 'not-an-md5', true);
  const spec = job({ ...s3, provider: 'minio' });
  const r = (await probeQuirks(store, spec.source))!;
  assert.equal(r.startAfter, 'ignored');
  assert.equal(r.listVersion, 1);
  assert.match(r.notes.join('\n'), /ignored start-after \(preset minio says ListObjectsV2 works\)/);
  assert.match(r.notes.join('\n'), /ETag of "a" is not an MD5/);
  const adjusted = withProbedListing(spec, { sourceObjectsSeen: 2, warnings: [], quirks: { source: r } });
  assert.equal(adjusted.source.quirks?.listVersion, 1);
  assert.equal(withProbedListing(spec, { sourceObjectsSeen: 2, warnings: [] }).source, spec.source, 'a result without quirks (an older worker) changes nothing');
});

test('probe: one key, one request; fs/http sides have no quirks', async () => {
  const store = memoryStore(['only'], 'x');
  const r = (await probeQuirks(store, job({ ...s3, quirks: { listVersion: 1 } }).source))!;
  assert.equal(store.lists, 1);
  assert.equal(r.startAfter, 'untested');
  assert.deepEqual(r.overrides, ['listVersion=1']);
  assert.equal(r.presetFrom, 'default');
  assert.equal(describeQuirks(job({ type: 'fs', path: '/x' }).source), undefined);
});

test('plan reports the preset and overrides of each side', async () => {
  const spec = job({ ...s3, provider: 'r2', quirks: { multipart: { maxParts: 900 } } });
  const dst = memoryStore([], 'x');
  const p = await planJob(spec, memoryStore(['a', 'b'], 'd41d8cd98f00b204e9800998ecf8427e'), dst, { sampleSeconds: 0 });
  assert.equal(p.quirks.source?.preset, 'r2');
  assert.equal(p.quirks.destination, undefined);
  const text = renderPlan(p, spec);
  assert.match(text, /quirks {5}source: preset r2, overrides multipart\.maxParts=900, ListObjects V2; probed: start-after honoured, ETag md5-like/);
  assert.equal(renderQuirks('destination', describeQuirks(job(s3).source)!), 'destination: preset aws (default), no overrides, ListObjects V2');
});
