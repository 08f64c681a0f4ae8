/** The plan's cost model (common/cost.ts), price tables and files (common/prices.ts) and their rendering, on hand-computed cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestTally, costContext, multipartParts, planCost, priceUsage, sidePricing, withInventory, type CostContext, type CostSide, type Usage } from '../../common/cost';
import { BUILT_IN_PRICES, parsePriceFile } from '../../common/prices';
import { InvalidConfigError } from '../../common/errors';
import { parseJob, type JobSpec } from '../../common/job';
import type { Capabilities } from '../../storage/provider';
import { formatMoney, formatTotals, renderCost } from '../../client/cost-render';
import { planJob } from '../../client/commands/plan';
import { syntheticSink, syntheticSource } from '../support/synthetic';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const s3Caps: Capabilities = {
  checksums: [],
  etagIsMd5: true,
  maxSinglePut: 5 * GiB,
  multipart: { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: 5 * GiB,
  uploadPartCopy: true,
  writable: true,
  trailingSlashKeys: true,
  emptyPathSegments: true,
  metadata: true,
  order: 'key',
};

const job = (over: Record<string, unknown> = {}): JobSpec =>
  parseJob({ name: 'c', source: { type: 's3', bucket: 'a', region: 'us-east-1' }, destination: { type: 's3', bucket: 'b', region: 'us-east-1' }, ...over });

/** A context between two S3-like stores; `same` puts them on one endpoint (server-side copy). */
function ctx(over: Record<string, unknown> = {}, opts: { same?: boolean; dst?: Partial<Capabilities>; src?: Partial<Capabilities> } = {}): CostContext {
  const side = (id: string, caps: Partial<Capabilities> = {}): CostSide => ({ endpointId: id, capabilities: { ...s3Caps, ...caps }, copyObject: () => undefined, uploadPartCopy: () => undefined });
  return costContext(job(over), side('e1', opts.src), side(opts.same ? 'e1' : 'e2', opts.dst));
}

const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v));

test('listing: one LIST per source page; the destination compared by LIST pages in key order, else a HEAD per object', () => {
  const t = new RequestTally(ctx());
  for (let i = 0; i < 3; i++) t.sourcePage();
  t.comparePage(1000, 0);
  t.comparePage(1000, 2500);
  t.comparePage(0, 0);
  const u = t.usage();
  assert.deepEqual(nonZero(u.source.requests), { list: 3 });
  assert.equal(u.source.listing, 3);
  assert.deepEqual(nonZero(u.destination.requests), { list: 4 });
  assert.equal(u.destination.listing, 4);
  const unordered = new RequestTally(ctx({}, { src: { order: 'list' } }));
  unordered.comparePage(7, 3);
  assert.deepEqual(nonZero(unordered.usage().destination.requests), { head: 7 });
});

test('single puts: a GET and a PUT each, the bytes out of the source, and one size-check LIST per 1,000 copied', () => {
  const t = new RequestTally(ctx());
  for (let i = 0; i < 1001; i++) t.copy({ size: 100 });
  const u = t.usage();
  assert.deepEqual(nonZero(u.source.requests), { get: 1001 });
  assert.equal(u.source.egressBytes, 100_100);
  assert.deepEqual(nonZero(u.destination.requests), { put: 1001, list: 2 });
  assert.equal(u.destination.listing, 0, 'size checks are not the listing an inventory replaces');
  const none = new RequestTally(ctx({ verify: 'none' }));
  none.copy({ size: 1 });
  assert.deepEqual(nonZero(none.usage().destination.requests), { put: 1 });
});

test('multipart part counts at the boundaries of the threshold, the part size, the 1,000-part cap and the largest part', () => {
  const limits = { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000 };
  assert.equal(multipartParts(32 * MiB, 16 * MiB, limits), 2);
  assert.equal(multipartParts(32 * MiB + 1, 16 * MiB, limits), 3);
  assert.equal(multipartParts(0, 16 * MiB, limits), 1);
  assert.equal(multipartParts(10 * MiB, 1 * MiB, limits), 2, 'parts never smaller than the store allows');
  assert.equal(multipartParts(20 * GiB, 16 * MiB, limits), 1000, 'at most 1,000 parts: larger parts instead');
  assert.equal(multipartParts(10 * 1024 * GiB, 16 * MiB, limits), 2048, 'parts never larger than the store allows');
  const t = new RequestTally(ctx({ multipart: { threshold: '64MiB', partSize: '16MiB' } }));
  t.copy({ size: 64 * MiB - 1 });
  t.copy({ size: 64 * MiB });
  t.copy({ size: 64 * MiB + 1 });
  const u = t.usage();
  // The first is a single PUT; the others 4 and 5 parts: a HEAD of the source, ListMultipartUploads, initiate, parts, complete, a metadata HEAD.
  assert.deepEqual(nonZero(u.source.requests), { head: 2, get: 1 + 4 + 5 });
  assert.equal(u.source.egressBytes, 3 * 64 * MiB);
  assert.deepEqual(nonZero(u.destination.requests), { list: 2 + 1, head: 2, put: 1, initiate: 2, part: 9, complete: 2 });
});

test('an object larger than a single put allows goes multipart whatever the threshold', () => {
  const t = new RequestTally(ctx({ multipart: { threshold: '1GiB', partSize: '100MiB' } }, { dst: { maxSinglePut: 50 * MiB } }));
  t.copy({ size: 60 * MiB });
  assert.deepEqual(nonZero(t.usage().destination.requests), { list: 2, head: 1, initiate: 1, part: 1, complete: 1 });
});

test('server-side copy on one endpoint: COPY requests and no bytes out; upload-part-copy for large objects; too large for one COPY: GET and PUT', () => {
  const t = new RequestTally(ctx({ multipart: { threshold: '2GiB', partSize: '1GiB' } }, { same: true, dst: { maxServerSideCopy: GiB } }));
  t.copy({ size: 10 * KiB });
  t.copy({ size: 1.5 * GiB });
  t.copy({ size: 3 * GiB });
  const u = t.usage();
  assert.deepEqual(nonZero(u.source.requests), { get: 1, head: 1 });
  assert.equal(u.source.egressBytes, 1.5 * GiB);
  assert.deepEqual(nonZero(u.destination.requests), { copy: 1, put: 1, list: 2, initiate: 1, partCopy: 3, complete: 1, head: 1 });
  const apart = new RequestTally(ctx({}, { same: false }));
  apart.copy({ size: 10 });
  assert.deepEqual(nonZero(apart.usage().destination.requests), { put: 1, list: 1 });
});

test('costContext: server-side only on one endpoint whose destination copies; upload-part-copy only when it has it', () => {
  const side = (id: string, caps: Partial<Capabilities>, methods = true): CostSide => ({ endpointId: id, capabilities: { ...s3Caps, ...caps }, ...(methods ? { copyObject: () => 1, uploadPartCopy: () => 1 } : {}) });
  const j = job();
  assert.equal(costContext(j, side('x', {}), side('x', {})).serverSide, true);
  assert.equal(costContext(j, side('x', {}), side('y', {})).serverSide, false);
  assert.equal(costContext(j, side('x', {}), side('x', { serverSideCopy: false })).serverSide, false);
  assert.equal(costContext(j, side('x', {}), side('x', {}, false)).serverSide, false);
  assert.equal(costContext(j, side('x', {}), side('x', { uploadPartCopy: false })).uploadPartCopy, false);
});

test('verify modes: content reads the destination back; checksum only without an MD5 ETag; checksum-strict never', () => {
  const after = (verify: string, dst: Partial<Capabilities> = {}) => {
    const t = new RequestTally(ctx({ verify }, { dst }));
    t.copy({ size: 1000 });
    const u = t.usage();
    return { dst: nonZero(u.destination.requests), dstBytes: u.destination.egressBytes };
  };
  assert.deepEqual(after('content'), { dst: { put: 1, list: 1, get: 1 }, dstBytes: 1000 });
  assert.deepEqual(after('checksum'), { dst: { put: 1, list: 1 }, dstBytes: 0 });
  assert.deepEqual(after('checksum', { etagIsMd5: false }), { dst: { put: 1, list: 1, get: 1 }, dstBytes: 1000 });
  assert.deepEqual(after('checksum-strict', { etagIsMd5: false }), { dst: { put: 1, list: 1 }, dstBytes: 0 });
  // A server-side copy from a store without MD5 ETags is read back on both sides.
  const t = new RequestTally(ctx({ verify: 'content' }, { same: true, src: { etagIsMd5: false } }));
  t.copy({ size: 10 });
  const u = t.usage();
  assert.deepEqual(nonZero(u.source.requests), { get: 1 });
  assert.deepEqual(nonZero(u.destination.requests), { copy: 1, get: 1, list: 1 });
});

test('verify-only jobs: content compares by reading both sides; missing and size-different objects cost nothing more', () => {
  const t = new RequestTally(ctx({ mode: 'verify', verify: 'content' }));
  t.compare({ size: 5 }, { size: 5 });
  t.compare({ size: 5 }, undefined);
  t.compare({ size: 5 }, { size: 6 });
  const u = t.usage();
  assert.deepEqual(nonZero(u.source.requests), { get: 1 });
  assert.deepEqual(nonZero(u.destination.requests), { get: 1 });
  assert.equal(u.source.egressBytes + u.destination.egressBytes, 10);
  const md5 = new RequestTally(ctx({ mode: 'verify', verify: 'checksum' }));
  md5.compare({ size: 5 }, { size: 5 });
  assert.deepEqual(nonZero(md5.usage().source.requests), {});
});

test('archived objects under archived: restore: a restore request and a HEAD each, retrieval by class and tier, priced by the table', () => {
  const t = new RequestTally(ctx({ archived: 'restore', restore: { tier: 'Standard' } }));
  t.copy({ size: GiB, storageClass: 'GLACIER' });
  t.copy({ size: GiB, storageClass: 'GLACIER' });
  t.copy({ size: GiB, storageClass: 'GLACIER', restore: { ongoing: false } });
  t.copy({ size: 10, storageClass: 'STANDARD' });
  const u = t.usage();
  assert.equal(u.source.requests.restore, 2);
  assert.equal(u.source.requests.head, 2 + 3, 'a look at each restore, and the multipart copies\' HEADs');
  assert.deepEqual(u.source.restores, [{ storageClass: 'GLACIER', tier: 'Standard', objects: 2, bytes: 2 * GiB }]);
  const e = priceUsage(u, { source: sidePricing(job().source, BUILT_IN_PRICES), destination: { store: 'local', notes: [] } });
  const restore = e.lines.find((l) => l.item === 'restore')!;
  const retrieval = e.lines.find((l) => l.item === 'retrieval')!;
  assert.equal(restore.amount, 0.0001); // 2 / 1000 × $0.05
  assert.equal(retrieval.amount, 0.02); // 2 GB × $0.01
  const skip = new RequestTally(ctx({ archived: 'skip' }));
  skip.copy({ size: 1, storageClass: 'GLACIER' });
  assert.equal(skip.usage().source.requests.restore, 0);
});

test('prices: AWS in USD and OSS in CNY are totalled apart; a local side is not priced', () => {
  const u: Usage = { source: new RequestTally(ctx()).usage().source, destination: new RequestTally(ctx()).usage().destination };
  u.source.requests.get = 1_000_000;
  u.source.requests.list = 1000;
  u.source.egressBytes = 10 * GiB;
  u.destination.requests.put = 1_000_000;
  const spec = job({ destination: { type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', bucket: 'b' } });
  const cost = planCost(u, spec, BUILT_IN_PRICES);
  const amount = (side: string, item: string) => cost.list.lines.find((l) => l.side === side && l.item === item)!.amount;
  assert.equal(amount('source', 'get'), 0.4);
  assert.equal(amount('source', 'list'), 0.005);
  assert.equal(amount('source', 'egress'), 0.9);
  assert.equal(amount('destination', 'put'), 1);
  assert.deepEqual(cost.list.totals, { USD: 1.305, CNY: 1 });
  assert.equal(cost.list.sides.source.asOf, BUILT_IN_PRICES.aws!.asOf);
  assert.match(cost.list.sides.destination.label!, /cn-hangzhou/);
  const local = planCost(u, job({ source: { type: 'fs', path: '/x' } }), BUILT_IN_PRICES);
  assert.equal(local.list.lines.find((l) => l.side === 'source')!.currency, '');
  assert.deepEqual(local.list.totals, { USD: 5 });
  assert.ok(local.list.notes.some((n) => n.startsWith('source: a local filesystem')));
});

test('which table: the provider preset; an s3 endpoint without one is `other` (0, said so); regions outside the table are said', () => {
  assert.equal(sidePricing({ type: 's3', bucket: 'b' }, BUILT_IN_PRICES).store, 'aws');
  const other = sidePricing({ type: 's3', bucket: 'b', endpoint: 'http://10.0.0.1:9000' }, BUILT_IN_PRICES);
  assert.equal(other.store, 'other');
  assert.equal(other.table, undefined);
  assert.match(other.notes[0]!, /priced at 0; give them with --prices FILE/);
  assert.equal(sidePricing({ type: 's3', bucket: 'b', provider: 'r2' }, BUILT_IN_PRICES).table, undefined);
  assert.match(sidePricing({ type: 's3', bucket: 'b', region: 'eu-west-1' }, BUILT_IN_PRICES).notes[0]!, /us-east-1's; this bucket is in eu-west-1/);
  assert.match(sidePricing({ type: 'oss', bucket: 'b', endpoint: 'https://oss-ap-southeast-1.aliyuncs.com' }, BUILT_IN_PRICES).notes[0]!, /mainland China/);
  assert.deepEqual(sidePricing({ type: 'oss', bucket: 'b', endpoint: 'https://oss-cn-beijing.aliyuncs.com' }, BUILT_IN_PRICES).notes, []);
  assert.equal(sidePricing({ type: 'http', list: 'u.txt' }, BUILT_IN_PRICES).store, 'http');
});

test('a price file overrides built-in fields one by one and prices other stores', () => {
  const book = parsePriceFile({ aws: { egressPerGB: 0, requests: { get: 0.001 } }, minio: { currency: 'EUR', label: 'our MinIO', asOf: '2026-11-30', requests: { put: 0.002 } } }, 'p.yaml');
  assert.equal(book.aws!.egressPerGB, 0);
  assert.equal(book.aws!.requests.get, 0.001);
  assert.equal(book.aws!.requests.put, 0.005, 'fields the file does not give keep the built-in price');
  assert.match(book.aws!.label, /adjusted by p\.yaml/);
  assert.equal(book.alibaba, BUILT_IN_PRICES.alibaba);
  assert.deepEqual(book.minio!.requests, { list: 0, head: 0, get: 0, put: 0.002, copy: 0, multipart: 0 });
  assert.equal(book.minio!.currency, 'EUR');
  const restored = parsePriceFile({ aws: { restore: { GLACIER: { Bulk: { perGB: 0.5 } } } } });
  assert.deepEqual(restored.aws!.restore.GLACIER!.Bulk, { requests: 0, perGB: 0.5 });
  assert.deepEqual(restored.aws!.restore.GLACIER!.Standard, BUILT_IN_PRICES.aws!.restore.GLACIER!.Standard);
  assert.deepEqual(parsePriceFile(null), BUILT_IN_PRICES, 'an empty file changes nothing');
});

test('a bad price file names every problem with its path', () => {
  const issues = (doc: unknown) => {
    try {
      parsePriceFile(doc, 'p.yaml');
    } catch (e) {
      assert.ok(e instanceof InvalidConfigError);
      assert.match(e.message, /^invalid price file p\.yaml:/);
      return e.issues;
    }
    assert.fail('no error');
  };
  assert.deepEqual(
    [...issues({ aws: { requests: { get: -1, fetch: 1 }, currency: 'dollars', asOf: '5 May', egressPerGB: 'cheap' }, wasabi: { requests: { get: 0.1 } }, acme: {} })].sort(),
    [
      'acme: unknown field',
      'wasabi.currency: required (wasabi has no built-in prices)',
      'aws.asOf: "5 May" is not a date (use YYYY-MM-DD, when the prices were taken)',
      'aws.currency: must be a 3-letter ISO 4217 code such as USD or CNY',
      'aws.egressPerGB: must be a number',
      'aws.requests.fetch: unknown field',
      'aws.requests.get: must not be negative',
    ].sort(),
  );
  assert.deepEqual(issues({ wasabi: { requests: { get: 0.1 } } }), ['wasabi.currency: required (wasabi has no built-in prices)']);
  assert.deepEqual(issues({ aws: { restore: { GLACIER: { Slow: { perGB: 1 } } } } }), ['aws.restore.GLACIER.Slow: unknown field']);
});

test('money: two decimals with separators, tiny amounts as <0.01, totals from unrounded lines', () => {
  assert.equal(formatMoney(1234.567, 'USD'), 'USD 1,234.57');
  assert.equal(formatMoney(0, 'USD'), 'USD 0.00');
  assert.equal(formatMoney(0.004, 'CNY'), 'CNY <0.01');
  assert.equal(formatMoney(0.005, 'CNY'), 'CNY 0.01');
  assert.equal(formatTotals({}), '0 (no side has prices)');
  assert.equal(formatTotals({ USD: 2, CNY: 0.5 }), 'USD 2.00 + CNY 0.50');
  // 3 × 1,000 HEADs at 0.0004/1k: each line 0.0004, total 0.0012 — never 3 × a rounded 0.00.
  const t = new RequestTally(ctx({}, { src: { order: 'list' } }));
  t.comparePage(3000, 0);
  const u = t.usage();
  const e = priceUsage(u, { source: { store: 'local', notes: [] }, destination: sidePricing(job().destination, BUILT_IN_PRICES) });
  assert.equal(e.totals.USD, 0.0012);
});

test('inventory instead of LIST: the listing LISTs become GETs of the report, plus its fee; shown side by side', () => {
  const t = new RequestTally(ctx());
  for (let i = 0; i < 2000; i++) t.sourcePage();
  t.comparePage(5, 0);
  t.copy({ size: 1 });
  const u = t.usage();
  const inv = withInventory(u, { source: { manifests: 1, dataFiles: 4, bytes: GiB, objects: 2_000_000 } });
  assert.equal(inv.source.requests.list, 0);
  assert.equal(inv.source.requests.get, u.source.requests.get + 5);
  assert.equal(inv.source.egressBytes, u.source.egressBytes + GiB);
  assert.deepEqual(inv.destination, u.destination);
  const cost = planCost(u, job(), BUILT_IN_PRICES, { source: { manifests: 1, dataFiles: 4, bytes: GiB, objects: 2_000_000 } });
  assert.equal(cost.inventory!.lines.find((l) => l.item === 'inventory')!.amount, 0.005); // 2 million × $0.0025
  assert.equal(cost.list.lines.find((l) => l.side === 'source' && l.item === 'list')!.amount, 0.01); // 2,000 LISTs
  const text = renderCost(cost).join('\n');
  assert.match(text, /via LIST +via inventory/);
  assert.match(text, /source +LIST +2,000 requests +USD 0\.01 +- +- +at 0\.005\/1k/);
  assert.equal(planCost(u, job(), BUILT_IN_PRICES).inventory, undefined);
});

test('planJob carries the cost of what it found: pages, copies, size checks, priced by the price book', async () => {
  const spec = parseJob({ name: 'p', source: { type: 's3', endpoint: 'http://127.0.0.1:1', provider: 'minio', bucket: 's' }, destination: { type: 'fs', path: '/nowhere' }, multipart: { threshold: '5MiB', partSize: '5MiB' } });
  const book = parsePriceFile({ minio: { currency: 'EUR', requests: { list: 1, get: 0.5 }, egressPerGB: 2 } });
  const p = await planJob(spec, syntheticSource(2500, 64), syntheticSink(), { sampleSeconds: 0, prices: book });
  const u = p.cost!.list.usage;
  assert.deepEqual(nonZero(u.source.requests), { list: 3, get: 2500 });
  assert.equal(u.source.egressBytes, 2500 * 64);
  assert.deepEqual(nonZero(u.destination.requests), { list: 3 + 3, put: 2500 });
  assert.deepEqual(p.cost!.list.totals, { EUR: Math.round((0.003 + 1.25 + (2500 * 64 * 2) / GiB) * 1e6) / 1e6 });
  const text = renderCost(p.cost!).join('\n');
  assert.match(text, /cost +EUR 1\.25/);
  assert.match(text, /source +GET +2,500 requests +EUR 1\.25 +at 0\.5\/1k/);
  assert.match(text, /destination +local filesystem: not priced/);
});
