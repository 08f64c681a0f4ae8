/**
 * Inventory reports and key manifests: the published manifest examples parse, rows read as the stores write them,
 * the fast field splitters agree with csv-parse, and the listing over an fs bucket serves rows in report order with
 * bad rows (file and line), stale rows and missing objects reported — without ever listing the bucket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parseJob } from '../../common/job';
import { InvalidConfigError, InvalidInventoryRowError, SourceChangedError, SourceMissingError } from '../../common/errors';
import { parseInventoryManifest } from '../../storage/inventory/manifest';
import { decodeInventoryKey, readRow, splitFields } from '../../storage/inventory/rows';
import { openListedProvider } from '../../storage/inventory/open';
import { DataFileCache } from '../../storage/inventory/data-files';
import { openProvider } from '../../storage/registry';
import type { EndpointConfig } from '../../common/job';
import type { ObjectInfo, ObjectProvider } from '../../storage/provider';
import { planJob, renderPlan } from '../../client/commands/plan';
import { incrementalAfterReport } from '../../storage/inventory/incremental';
import { encodeInventoryKey, ossInventory, s3Inventory, writeReport } from '../support/inventory-fixtures';

/** The example manifest of the S3 user guide ("Inventory manifest"), field for field. */
const S3_DOC_MANIFEST = `{
    "sourceBucket": "example-source-bucket",
    "destinationBucket": "arn:aws:s3:::example-inventory-destination-bucket",
    "version": "2016-11-30",
    "creationTimestamp" : "1514944800000",
    "fileFormat": "CSV",
    "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm, ObjectAccessControlList, ObjectOwner",
    "files": [
        {
            "key": "Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db5ea3eb2ea.csv.gz",
            "size": 2147483647,
            "MD5checksum": "f11166069f1990abeb9c97ace9cdfabc"
        }
    ]
}`;

/** The example manifest of the OSS bucket inventory guide (its MD5 is masked there as in the docs). */
const OSS_DOC_MANIFEST = `{
    "creationTimestamp": "1642994594",
    "destinationBucket": "destbucket",
    "fileFormat": "CSV",
    "fileSchema": "Bucket, Key, Size, StorageClass, LastModifiedDate, ETag, IsMultipartUploaded, EncryptionStatus",
    "files": [{
            "MD5checksum": "F77449179760C3B13F1E76110F07****",
            "key": "destbucket/inventory0/data/a1574226-b5e5-40ee-91df-356845777c04.csv.gz",
            "size": 2046}],
    "sourceBucket": "srcbucket",
    "version": "2019-09-01"
}`;

test('the providers’ documented manifest examples parse, and the format is detected', () => {
  const s3 = parseInventoryManifest(S3_DOC_MANIFEST, 'm');
  assert.equal(s3.format.kind, 's3');
  assert.equal(s3.format.columns.length, 20);
  assert.equal(s3.createdAt, 1514944800000);
  assert.deepEqual(s3.files, [{ key: 'Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db5ea3eb2ea.csv.gz', size: 2147483647, md5: 'f11166069f1990abeb9c97ace9cdfabc' }]);
  const oss = parseInventoryManifest(OSS_DOC_MANIFEST, 'm');
  assert.equal(oss.format.kind, 'oss');
  assert.equal(oss.createdAt, 1642994594000);
  assert.deepEqual(oss.format.columns, ['Bucket', 'Key', 'Size', 'StorageClass', 'LastModifiedDate', 'ETag', 'IsMultipartUploaded', 'EncryptionStatus']);
  // Rows as the OSS guide shows them.
  const r = readRow(splitFields('"srcbucket","dir%2Fa+b.txt","1024","Standard","2022-01-24T03:16:34Z","4F1E0E7F3A8F3C27B9A6B7DCD2D0F0A1","false","false"', ','), oss.format);
  assert.ok('object' in r);
  assert.deepEqual(r.object, { key: 'dir/a b.txt', size: 1024, lastModified: Date.UTC(2022, 0, 24, 3, 16, 34), etag: '4F1E0E7F3A8F3C27B9A6B7DCD2D0F0A1', storageClass: 'Standard' });
});

test('Parquet and ORC reports are refused with the reason; broken manifests name what is wrong', () => {
  for (const fmt of ['Parquet', 'ORC']) {
    assert.throws(() => parseInventoryManifest(S3_DOC_MANIFEST.replace('"CSV"', `"${fmt}"`), 's3://inv/m.json'), (e: Error) => e instanceof InvalidConfigError && /is a (Parquet|ORC) report: Ferry reads CSV inventory reports only \(ORC has no maintained pure-JS reader/.test(e.message));
  }
  assert.throws(() => parseInventoryManifest('{', 'x/manifest.json'), /x\/manifest.json is not JSON/);
  assert.throws(() => parseInventoryManifest('{"fileFormat":"CSV","fileSchema":"Bucket, Key","files":[]}', 'm'), /files: lists no data files/);
  assert.throws(() => parseInventoryManifest('{"fileFormat":"CSV","fileSchema":"Bucket, Size","files":[{"key":"a"}]}', 'm'), /has no Key column/);
});

test('keys decode as the stores encode them; the fast splitters agree with csv-parse', () => {
  for (const key of ['a b+c', 'ü/ñ/日本', '100%/x', 'q"uote,comma', ' lead', 'tab\there', 'x%2By']) {
    assert.equal(decodeInventoryKey(encodeInventoryKey(key)), key);
    const line = `"bucket","${encodeInventoryKey(key)}","12"`;
    assert.deepEqual(splitFields(line, ','), (parseCsv(line) as string[][])[0]);
  }
  for (const line of ['a,b,c', 'plain key,12', '"quoted ""inner""",3', 'a,"b,c",d', '', '"x",y']) {
    assert.deepEqual(splitFields(line, ','), (parseCsv(line, { relax_column_count: true }) as string[][])[0] ?? [''], line);
  }
  assert.deepEqual(splitFields('k\t12\tabc', '\t'), ['k', '12', 'abc']);
  assert.throws(() => splitFields('"unclosed,1', ','));
});

test('rows: versions and delete markers are passed over; bad values are bad rows with the reason', () => {
  const format = parseInventoryManifest(S3_DOC_MANIFEST, 'm').format;
  const line = (o: Record<string, string>) => format.columns.map((c) => o[c] ?? '');
  assert.ok('skip' in readRow(line({ Key: 'k', IsLatest: 'false', Size: '1' }), format));
  assert.ok('skip' in readRow(line({ Key: 'k', IsLatest: 'true', IsDeleteMarker: 'true' }), format));
  const ok = readRow(line({ Key: 'k', IsLatest: 'true', IsDeleteMarker: 'false', Size: '5', LastModifiedDate: '2019-03-15T22:55:32.000Z', ETag: '"d41d8cd98f00b204e9800998ecf8427e"' }), format);
  assert.ok('object' in ok && ok.object.etag === 'd41d8cd98f00b204e9800998ecf8427e' && ok.object.lastModified === Date.UTC(2019, 2, 15, 22, 55, 32));
  const bad = (o: Record<string, string>) => {
    const r = readRow(line(o), format);
    return 'invalid' in r ? r.invalid : 'valid';
  };
  assert.match(bad({ Key: '%zz', Size: '1' }), /not valid URL encoding/);
  assert.match(bad({ Key: 'k', Size: '-1' }), /size "-1" is not a whole number/);
  assert.match(bad({ Key: 'k', Size: '1', LastModifiedDate: 'yesterday' }), /last-modified "yesterday" is not a time/);
  assert.match(bad({ Key: '', Size: '1' }), /empty key/);
  const r = readRow(['a', 'b'], format);
  assert.ok('invalid' in r && /expected 20 columns .* found 2/.test(r.invalid));
});

test('job file: inventory and manifest fields, and the combinations refused', () => {
  const src = { type: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'src', credentials: 'minio' };
  const dst = { type: 'fs', path: '/out' };
  const inv = { type: 'oss', endpoint: 'http://127.0.0.1:9100', bucket: 'inv', credentials: 'oss', key: 'a/manifest.json' };
  const j = parseJob({ name: 'j', source: { ...src, inventory: inv }, destination: dst });
  assert.deepEqual(j.source.inventory, inv);
  parseJob({ name: 'j', source: { ...src, manifest: { type: 'fs', path: '/keys.tsv', format: 'tsv', columns: ['key', 'size', '-'] } }, destination: dst });
  const issues = (doc: unknown) => {
    try {
      parseJob(doc);
      return [];
    } catch (e) {
      assert.ok(e instanceof InvalidConfigError);
      return e.issues;
    }
  };
  assert.deepEqual(issues({ name: 'j', source: { ...src, inventory: { type: 'fs' } }, destination: dst }), ['source.inventory.path: required for type fs: the root directory (with key) or the file itself']);
  assert.deepEqual(issues({ name: 'j', source: { ...src, inventory: { type: 's3', bucket: 'b' } }, destination: dst }), ['source.inventory.key: required for type s3: the object key of the file']);
  assert.deepEqual(issues({ name: 'j', source: { ...src, inventory: { type: 'oss', bucket: 'b', key: 'k' } }, destination: dst }), ['source.inventory.endpoint: required for type oss, e.g. https://oss-cn-hangzhou.aliyuncs.com']);
  assert.deepEqual(issues({ name: 'j', source: { ...src, inventory: inv, manifest: { type: 'fs', path: '/k.csv' } }, destination: dst }), ['source.manifest: give source.inventory or source.manifest, not both']);
  assert.deepEqual(issues({ name: 'j', mode: 'mirror', source: { ...src, manifest: { type: 'fs', path: '/k.csv' } }, destination: { type: 's3', bucket: 'd' } }), [
    'source.manifest: not with mode: mirror (an inventory is a snapshot: deleting by it could remove objects written since)',
  ]);
  assert.deepEqual(issues({ name: 'j', versions: 'all', source: { ...src, inventory: inv }, destination: dst }), ['source.inventory: not with versions: all (every version comes from the version listing)']);
  assert.deepEqual(issues({ name: 'j', source: src, destination: { ...dst, manifest: { type: 'fs', path: '/k.csv' } } }), ['destination.manifest: only for the source (the destination side takes an inventory)']);
  assert.deepEqual(issues({ name: 'j', source: { ...src, manifest: { type: 'fs', path: '/k.csv', columns: ['size', 'colour'] } }, destination: dst }), [
    'source.manifest.columns.1: unknown column "colour" (expected key, size, etag, lastModified, -)',
    'source.manifest.columns: name the key column',
  ]);
  assert.deepEqual(issues({ name: 'j', source: { ...src, inventory: { ...inv, format: 'parquet' } }, destination: dst }), ['source.inventory.format: unknown inventory format "parquet" (expected s3 or oss)']);
});

/** An fs bucket with objects, and an inventory of it under another fs root. */
function setup(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-inv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bucket = join(dir, 'bucket');
  const reports = join(dir, 'reports');
  mkdirSync(bucket);
  const put = (key: string, body: string) => {
    mkdirSync(join(bucket, key, '..'), { recursive: true });
    writeFileSync(join(bucket, key), body);
  };
  const cache = new DataFileCache(join(dir, 'cache'));
  let lists = 0;
  const open = (spec: EndpointConfig): ObjectProvider => {
    const p = openProvider(spec);
    if (spec.path !== bucket) return p;
    return Object.assign(Object.create(p) as ObjectProvider, { list: (...a: Parameters<ObjectProvider['list']>) => (lists++, p.list(...a)) });
  };
  return { dir, bucket, reports, put, cache, open, lists: () => lists };
}

async function listAll(p: ObjectProvider, opts: { prefix?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await p.list({ ...opts, startAfter: after });
    out.push(...page.objects);
    if (!page.next) return out;
    after = page.next;
  }
}

test('an S3 report over several gzip data files lists every row in report order, with bad rows by file and line', async (t) => {
  const s = setup(t);
  const keys = Array.from({ length: 50 }, (_, i) => `d/${i % 2 ? 'odd' : 'even'} ${String(i).padStart(3, '0')}+x.bin`);
  for (const k of keys) s.put(k, `body of ${k}`);
  const report = s3Inventory({
    prefix: 'inv',
    sourceBucket: 'src',
    inventoryBucket: 'reports',
    files: 3,
    objects: keys.map((key) => ({ key, size: Buffer.byteLength(`body of ${key}`) })),
    extraLines: [{ file: 1, after: 4, text: '"src","bad%zzkey","1"' }],
  });
  writeReport(s.reports, report.files);
  const p = openListedProvider({ type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: report.manifestKey } }, s.open, s.cache);
  const all = await listAll(p, { limit: 7 });
  const good = all.filter((o) => !o.key.startsWith('(bad row)'));
  assert.deepEqual(good.map((o) => o.key).sort(), [...keys].sort());
  const positions = all.map((o) => o.position);
  assert.deepEqual([...positions].sort(), positions, 'positions increase');
  const bad = all.filter((o) => o.key.startsWith('(bad row)'));
  assert.equal(bad.length, 1);
  const dataKey = [...report.files.keys()].filter((k) => k.includes('/data/'))[1]!;
  assert.equal(bad[0]!.key, `(bad row) inventory data file ${dataKey} line 5`);
  await assert.rejects(p.get(bad[0]!.key), (e: Error) => e instanceof InvalidInventoryRowError && e.message === `bad row in inventory data file ${dataKey} line 5: expected 7 columns (Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded), found 3`);
  // A prefix keeps the rows under it, and bad rows.
  const odd = await listAll(p, { prefix: 'd/odd' });
  assert.equal(odd.filter((o) => !o.key.startsWith('(bad row)')).length, 25);
  assert.equal(odd.filter((o) => o.key.startsWith('(bad row)')).length, 1);
  assert.equal(p.capabilities.order, 'list');
  assert.equal(s.lists(), 0, 'the bucket was never listed');
  await p.close?.();
});

test('stale rows are read as the object is now; gone objects are SourceMissing', async (t) => {
  const s = setup(t);
  s.put('same', 'abc');
  s.put('grown', 'abcdef');
  const report = ossInventory({
    prefix: 'inv',
    sourceBucket: 'src',
    inventoryBucket: 'reports',
    objects: [
      { key: 'same', size: 3, lastModified: statSync(join(s.bucket, 'same')).mtimeMs },
      { key: 'grown', size: 2, lastModified: statSync(join(s.bucket, 'grown')).mtimeMs },
      { key: 'gone', size: 9 },
    ],
  });
  writeReport(s.reports, report.files);
  const p = openListedProvider({ type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: report.manifestKey } }, s.open, s.cache) as ObjectProvider & { staleRows: number; takeStaleRows(signal?: AbortSignal): unknown[] };
  const rows = await listAll(p);
  assert.deepEqual(rows.map((o) => [o.key, o.size]), [['same', 3], ['grown', 2], ['gone', 9]]);
  await p.get('same').then((g) => g.body.destroy());
  const signal = new AbortController().signal;
  await assert.rejects(p.get('grown', { signal }), (e: Error) => e instanceof SourceChangedError && /changed since inventory data file .* line 2 was written \(row: 2 bytes/.test(e.message));
  assert.equal(rows[1]!.size, 6, 'the listed entry now describes the object as it is');
  await p.get('grown', { signal }).then((g) => g.body.destroy());
  assert.equal(p.staleRows, 1);
  assert.deepEqual(
    p.takeStaleRows(signal).map((r) => (r as { key: string }).key),
    ['grown'],
  );
  await assert.rejects(p.get('gone'), (e: Error) => e instanceof SourceMissingError && /gone is listed in inventory data file .* line 3 but gone from the source/.test(e.message));
  await assert.rejects(p.stat('gone'), SourceMissingError);
  assert.equal(s.lists(), 0);
  await p.close?.();
});

test('a manifest of keys: header or columns, TSV, sizes filled from the bucket when absent', async (t) => {
  const s = setup(t);
  s.put('a.txt', 'aaaa');
  s.put('b c.txt', 'bb');
  writeFileSync(join(s.dir, 'keys.csv'), 'Key,Size\na.txt,4\n"b c.txt",2\n\n,3\n');
  const p = openListedProvider({ type: 'fs', path: s.bucket, manifest: { type: 'fs', path: join(s.dir, 'keys.csv') } }, s.open, s.cache);
  const rows = await listAll(p);
  assert.deepEqual(rows.map((o) => [o.key, o.size, o.position]), [
    ['a.txt', 4, '0000000000000002'],
    ['b c.txt', 2, '0000000000000003'],
    ['(bad row) manifest keys.csv line 5', 0, '0000000000000005'],
  ]);
  writeFileSync(join(s.dir, 'keys.txt'), 'a.txt\nb c.txt\n');
  const q = openListedProvider({ type: 'fs', path: s.bucket, manifest: { type: 'fs', path: s.dir, key: 'keys.txt' } }, s.open, s.cache);
  assert.deepEqual((await listAll(q)).map((o) => [o.key, o.size]), [['a.txt', 4], ['b c.txt', 2]]);
  writeFileSync(join(s.dir, 'keys.tsv'), 'b c.txt\t2\tx\n');
  const r = openListedProvider({ type: 'fs', path: s.bucket, manifest: { type: 'fs', path: join(s.dir, 'keys.tsv'), format: 'tsv', columns: ['key', 'size', '-'] } }, s.open, s.cache);
  assert.deepEqual((await listAll(r)).map((o) => [o.key, o.size]), [['b c.txt', 2]]);
  writeFileSync(join(s.dir, 'nohead.csv'), 'a.txt,4\n');
  const bad = openListedProvider({ type: 'fs', path: s.bucket, manifest: { type: 'fs', path: join(s.dir, 'nohead.csv') } }, s.open, s.cache);
  await assert.rejects(bad.list(), /the first line of .*nohead.csv has 2 columns but does not name them/);
  assert.equal(s.lists(), 0);
});

test('a data file that does not match its manifest (MD5) is refused', async (t) => {
  const s = setup(t);
  const report = s3Inventory({ prefix: 'inv', sourceBucket: 'src', inventoryBucket: 'reports', objects: [{ key: 'a', size: 1 }] });
  const dataKey = [...report.files.keys()].find((k) => k.includes('/data/'))!;
  const body = Buffer.from(report.files.get(dataKey)!);
  body[body.length - 5]! ^= 0xff;
  report.files.set(dataKey, body);
  writeReport(s.reports, report.files);
  const p = openListedProvider({ type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: report.manifestKey } }, s.open, s.cache);
  await assert.rejects(p.list(), /inventory data file .* MD5 [0-9a-f]{32}, the manifest says/);
});

test('destination lookups: answered from a sorted report, refused with the reason for an unsorted one', async (t) => {
  const s = setup(t);
  const keys = Array.from({ length: 5000 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
  const sorted = s3Inventory({ prefix: 'inv', sourceBucket: 'dst', inventoryBucket: 'reports', objects: keys.map((key, i) => ({ key, size: i })), files: 3, contiguous: true });
  writeReport(s.reports, sorted.files);
  const dst = openListedProvider({ type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: sorted.manifestKey } }, s.open, s.cache) as ObjectProvider & { inventoryRows(keys: readonly string[]): Promise<Map<string, ObjectInfo> | undefined> };
  const rows = await dst.inventoryRows(['k/00000', 'k/01024', 'k/01025', 'k/04999', 'k/02500', 'k/0250', 'zzz', 'a']);
  assert.deepEqual([...rows!.entries()].map(([k, o]) => [k, o.size]).sort(), [['k/00000', 0], ['k/01024', 1024], ['k/01025', 1025], ['k/02500', 2500], ['k/04999', 4999]]);
  // A key this provider wrote is asked of the bucket, never answered from the older report.
  await dst.put('k/00001', Buffer.from('x'), { size: 1 });
  assert.equal((await dst.inventoryRows(['k/00001', 'k/00002']))!.has('k/00001'), false);
  const shuffled = s3Inventory({ prefix: 'inv2', sourceBucket: 'dst', inventoryBucket: 'reports', objects: [{ key: 'b', size: 1 }, { key: 'a', size: 2 }] });
  writeReport(s.reports, shuffled.files);
  const unsorted = openListedProvider({ type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: shuffled.manifestKey } }, s.open, s.cache) as typeof dst;
  const warn = t.mock.method(console, 'warn', () => undefined);
  assert.equal(await unsorted.inventoryRows(['a']), undefined);
  assert.match(String(warn.mock.calls[0]!.arguments[0]), /not used to compare: inventory data file .* line 2 is not in key order; each key is checked at the bucket/);
  assert.equal(s.lists(), 0);
});

test('ferry plan reads the inventory: counts and bytes, no LIST of the source, inventory and LIST priced side by side', async (t) => {
  const s = setup(t);
  const keys = ['a', 'b b', 'c+c'];
  for (const k of keys) s.put(k, `x${k}`);
  const report = s3Inventory({ prefix: 'inv', sourceBucket: 'src', inventoryBucket: 'reports', files: 2, objects: keys.map((key) => ({ key, size: 1 + key.length, lastModified: statSync(join(s.bucket, key)).mtimeMs })) });
  writeReport(s.reports, report.files);
  const spec = parseJob({ name: 'p', source: { type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: report.manifestKey } }, destination: { type: 's3', bucket: 'dst' } });
  const src = openListedProvider(spec.source, s.open, s.cache);
  const dstDir = join(s.dir, 'dst');
  mkdirSync(dstDir);
  const dst = openProvider({ type: 'fs', path: dstDir });
  const res = await planJob(spec, src, dst, { sampleSeconds: 0 });
  assert.deepEqual(res.listed, { objects: 3, bytes: 2 + 4 + 4 });
  assert.equal(res.copy.objects, 3);
  assert.match(res.listing!, /^from the inventory report .*manifest.json \(2 data files\): no LIST of the source$/);
  assert.ok(res.cost?.inventory, 'the inventory variant is priced');
  assert.match(renderPlan(res, spec), /listed\s+3 objects.*\(from the inventory report/);
  assert.equal(s.lists(), 0);
});

test('ferry incremental after an inventory job lists the source from before the inventory was taken', async (t) => {
  const s = setup(t);
  const report = s3Inventory({ prefix: 'inv', sourceBucket: 'src', inventoryBucket: 'reports', objects: [{ key: 'a', size: 1 }], createdAt: Date.UTC(2026, 0, 10, 12) });
  writeReport(s.reports, report.files);
  const spec = parseJob({ name: 'i', source: { type: 'fs', path: s.bucket, inventory: { type: 'fs', path: s.reports, key: report.manifestKey } }, destination: { type: 'fs', path: join(s.dir, 'out') } });
  const next = await incrementalAfterReport(spec, { previousStart: Date.UTC(2026, 0, 11) }, s.open);
  assert.deepEqual(next.spec.source, { type: 'fs', path: s.bucket });
  assert.equal(next.since, Date.UTC(2026, 0, 10, 11, 59));
  assert.match(next.note!, /The source is listed from 2026-01-10T11:59:00.000Z: the inventory .* was taken at 2026-01-10T12:00:00.000Z/);
  // The previous run started before the inventory: its start stands.
  assert.equal((await incrementalAfterReport(spec, { previousStart: Date.UTC(2026, 0, 9) }, s.open)).since, Date.UTC(2026, 0, 9));
  assert.equal((await incrementalAfterReport(spec, { given: 5, previousStart: 9 }, s.open)).since, 5);
  const manifest = parseJob({ name: 'i', source: { type: 'fs', path: s.bucket, manifest: { type: 'fs', path: join(s.dir, 'k.csv') } }, destination: { type: 'fs', path: join(s.dir, 'out') } });
  assert.match((await incrementalAfterReport(manifest, { previousStart: 9 }, s.open)).error!, /has no creation time: pass --since TIME/);
  const plain = parseJob({ name: 'i', source: { type: 'fs', path: s.bucket }, destination: { type: 'fs', path: join(s.dir, 'out') } });
  assert.deepEqual(await incrementalAfterReport(plain, { previousStart: 9 }, s.open), { spec: plain, since: 9 });
});
