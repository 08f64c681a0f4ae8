/**
 * Golden tests of the OSS protocol test server: the REAL `ali-oss` client (not Ferry's provider) against it,
 * in V1 and V4 signature modes, plus the signature test vectors of the protocol reference sent byte-exact.
 * If these pass, the server speaks what ali-oss speaks; the provider tests can then trust it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import OSS from 'ali-oss';
import { startOssServer, type OssServer } from '../support/oss-server';
import { tempDir } from '../support/process';
import { crc64ecma, combineCrc64 } from '../../storage/checksum/crc64';

const AK = 'AKID-golden';
const SK = 'golden-secret';
const KiB = 1024;

type Client = OSS & Record<string, (...args: never[]) => Promise<unknown>>;

/** ali-oss errors carry these (see lib/client.js requestError). */
interface OssClientError extends Error {
  code?: string;
  status?: number;
  requestId?: string;
}

function client(server: OssServer, v4: boolean, extra: Record<string, unknown> = {}): Client {
  return new OSS({
    endpoint: server.endpoint,
    region: 'oss-cn-hangzhou',
    accessKeyId: AK,
    accessKeySecret: SK,
    bucket: 'golden',
    authorizationV4: v4,
    ...extra,
  } as OSS.Options) as Client;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, status: number, code: string): Promise<OssClientError> {
  let caught: OssClientError | undefined;
  try {
    await p;
  } catch (e) {
    caught = e as OssClientError;
  }
  assert.ok(caught, `expected ${status} ${code}, but the call succeeded`);
  assert.equal(caught.status, status, `status of ${caught.code}: ${caught.message}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

const md5Upper = (b: Buffer) => createHash('md5').update(b).digest('hex').toUpperCase();

for (const mode of ['v1', 'v4'] as const) {
  const v4 = mode === 'v4';
  describe(`OSS test server with the real ali-oss client, signature ${mode}`, () => {
    let server: OssServer;
    let oss: Client;
    const dir = tempDir('oss-golden');

    before(async () => {
      server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK, maxCopySize: 300 * KiB });
      server.createBucket('golden');
      server.createBucket('other');
      oss = client(server, v4);
    });
    after(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('signs every request with the expected scheme', async () => {
      await oss.put('scheme.txt', Buffer.from('x'));
      const last = server.requests[server.requests.length - 1]!;
      assert.equal(last.auth, mode);
      assert.equal(last.op, 'PutObject');
      assert.equal(last.bucket, 'golden');
      assert.equal(last.headers.host, 'golden.oss-cn-hangzhou.aliyuncs.com', 'ali-oss puts the bucket in Host for IP endpoints');
    });

    it('put/head/get round-trip with metadata, ETag and CRC-64', async () => {
      const body = Buffer.from('hello, oss');
      const put = (await oss.put('dir/a b+.txt', body, { meta: { owner: 'team-a' } as never })) as { res: { headers: Record<string, string> } };
      assert.equal(put.res.headers.etag, `"${md5Upper(body)}"`);
      assert.equal(put.res.headers['x-oss-hash-crc64ecma'], crc64ecma(body));
      const head = await oss.head('dir/a b+.txt');
      assert.equal(head.meta.owner, 'team-a');
      const h = head.res.headers as Record<string, string>;
      assert.equal(h['content-type'], 'text/plain', 'content type from the key extension');
      assert.equal(h['content-length'], String(body.length));
      assert.equal(h['x-oss-object-type'], 'Normal');
      assert.equal(h['x-oss-hash-crc64ecma'], crc64ecma(body));
      const got = await oss.get('dir/a b+.txt');
      assert.deepEqual(got.content, body);
      const meta = (await (oss as unknown as { getObjectMeta(n: string): Promise<{ status: number; res: { headers: Record<string, string> } }> }).getObjectMeta('dir/a b+.txt'));
      assert.equal(meta.res.headers['content-length'], String(body.length));
    });

    it('putStream without a length goes chunked and is stored whole', async () => {
      const body = randomBytes(300 * KiB + 7);
      const s = new PassThrough();
      const done = oss.putStream('chunked.bin', s);
      for (let i = 0; i < body.length; i += 64 * KiB) s.write(body.subarray(i, i + 64 * KiB));
      s.end();
      await done;
      const seen = server.requests.filter((r) => r.key === 'chunked.bin' && r.op === 'PutObject').pop()!;
      assert.equal(seen.headers['transfer-encoding'], 'chunked');
      const got = await oss.getStream('chunked.bin');
      assert.deepEqual(await readAll(got.stream as Readable), body);
      assert.equal(server.inspect('golden', 'chunked.bin')?.crc64, crc64ecma(body));
    });

    it('hostile keys survive byte-exact', async () => {
      const keys = ['sp ace/plus+/pct%2F/x', 'uni/日本語-😀', 'a//double', 'trailing/', 'q?#&=.txt', "quote'\"(paren)!*~", '..dots../x'];
      for (const [i, k] of keys.entries()) await oss.put(`hostile/${k}`, Buffer.from(`v${i}`));
      const listed = await oss.listV2({ prefix: 'hostile/', 'max-keys': 1000 });
      assert.deepEqual(listed.objects.map((o) => o.name), server.keys('golden').filter((k) => k.startsWith('hostile/')));
      assert.deepEqual(new Set(listed.objects.map((o) => o.name)), new Set(keys.map((k) => `hostile/${k}`)));
      for (const [i, k] of keys.entries()) assert.equal((await oss.get(`hostile/${k}`)).content.toString(), `v${i}`, k);
    });

    it('a key with dot segments, which plain ali-oss mangles (WHATWG URL parsing in urllib), is refused by signature', async () => {
      // urllib sends /dot/x for "dot/./seg/../x" but signed the real key: the server must notice.
      await rejectsWith(oss.put('dot/./seg/../x', Buffer.from('x')), 403, 'SignatureDoesNotMatch');
      assert.deepEqual(server.keys('golden').filter((k) => k.startsWith('dot/')), []);
    });

    it('list v1 carries Owner, marker paging, delimiter and common prefixes', async () => {
      for (const k of ['l1/a', 'l1/b', 'l1/c/1', 'l1/c/2', 'l1/d']) await oss.put(k, Buffer.from(k));
      const page1 = await oss.list({ prefix: 'l1/', 'max-keys': 2 }, {});
      assert.deepEqual(page1.objects.map((o) => o.name), ['l1/a', 'l1/b']);
      assert.equal(page1.isTruncated, true);
      assert.equal(page1.nextMarker, 'l1/b');
      assert.equal(page1.objects[0]!.owner?.id, '1234567890123456', 'v1 listings always carry Owner');
      const grouped = await oss.list({ prefix: 'l1/', delimiter: '/', marker: 'l1/b', 'max-keys': 10 }, {});
      assert.deepEqual(grouped.objects.map((o) => o.name), ['l1/d']);
      assert.deepEqual(grouped.prefixes, ['l1/c/']);
      assert.equal(grouped.isTruncated, false);
    });

    it('list v2 with continuation-token, start-after, fetch-owner and encoding-type=url', async () => {
      for (const k of ['l2/a', 'l2/b', 'l2/c', 'l2/e f+g']) await oss.put(k, Buffer.from(k));
      const p1 = await oss.listV2({ prefix: 'l2/', 'max-keys': 2 });
      assert.deepEqual(p1.objects.map((o) => o.name), ['l2/a', 'l2/b']);
      assert.equal(p1.keyCount, 2);
      assert.equal(p1.isTruncated, true);
      assert.ok(p1.nextContinuationToken);
      assert.equal(p1.objects[0]!.owner, null, 'no Owner without fetch-owner');
      const p2 = await oss.listV2({ prefix: 'l2/', 'max-keys': 2, 'continuation-token': p1.nextContinuationToken, 'fetch-owner': true });
      assert.deepEqual(p2.objects.map((o) => o.name), ['l2/c', 'l2/e f+g']);
      assert.equal(p2.isTruncated, false);
      assert.ok(p2.objects[0]!.owner);
      const after = await oss.listV2({ prefix: 'l2/', 'start-after': 'l2/b', 'max-keys': 10 });
      assert.deepEqual(after.objects.map((o) => o.name), ['l2/c', 'l2/e f+g']);
      const encoded = await oss.listV2({ prefix: 'l2/e', 'encoding-type': 'url', 'max-keys': 10 });
      assert.deepEqual(encoded.objects.map((o) => o.name), ['l2%2Fe+f%2Bg'], 'ali-oss does not decode url-encoded keys');
      assert.equal(encoded.objects[0]!.size, 'l2/e f+g'.length);
      assert.match(encoded.objects[0]!.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    });

    it('ranged and conditional get/head', async () => {
      const body = randomBytes(1000);
      const etag = `"${md5Upper(body)}"`;
      await oss.put('range.bin', body);
      const r = await oss.get('range.bin', { headers: { Range: 'bytes=10-19' } });
      assert.equal(r.res.status, 206);
      assert.deepEqual(r.content, body.subarray(10, 20));
      assert.equal((r.res.headers as Record<string, string>)['content-range'], 'bytes 10-19/1000');
      assert.equal((r.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64ecma(body), 'whole-object CRC on a ranged GET');
      const suffix = await oss.get('range.bin', { headers: { Range: 'bytes=-5' } });
      assert.deepEqual(suffix.content, body.subarray(995));
      const invalid = await oss.get('range.bin', { headers: { Range: 'bytes=5000-' } });
      assert.equal(invalid.res.status, 200, 'OSS answers an invalid range with the whole object');
      await rejectsWith(oss.get('range.bin', { headers: { Range: 'bytes=5000-', 'x-oss-range-behavior': 'standard' } }), 416, 'InvalidRange');
      const notModified = await oss.getStream('range.bin', { headers: { 'If-None-Match': etag } });
      assert.equal(notModified.res.status, 304);
      await readAll(notModified.stream as Readable);
      await rejectsWith(oss.get('range.bin', { headers: { 'If-Match': '"0000"' } }), 412, 'PreconditionFailed');
      const headNotModified = await oss.head('range.bin', { headers: { 'If-Modified-Since': new Date(Date.now() + 60_000).toUTCString() } });
      assert.equal(headNotModified.status, 304);
      await rejectsWith(oss.head('range.bin', { headers: { 'If-Unmodified-Since': new Date(Date.now() - 3600_000).toUTCString() } }), 412, 'PreconditionFailed');
      assert.equal((await oss.head('range.bin', { headers: { 'If-Match': etag } })).status, 200);
    });

    it('put checks Content-MD5 and honours x-oss-forbid-overwrite', async () => {
      await rejectsWith(oss.put('md5.txt', Buffer.from('abc'), { headers: { 'Content-MD5': createHash('md5').update('abd').digest('base64') } }), 400, 'InvalidDigest');
      assert.equal(server.inspect('golden', 'md5.txt'), undefined);
      await oss.put('once.txt', Buffer.from('first'));
      await rejectsWith(oss.put('once.txt', Buffer.from('second'), { headers: { 'x-oss-forbid-overwrite': 'true' } }), 409, 'FileAlreadyExists');
      assert.equal((await oss.get('once.txt')).content.toString(), 'first');
    });

    it('copy with COPY and REPLACE directives, across buckets, with copy-source conditions', async () => {
      const body = Buffer.from('copy me');
      await oss.put('src/orig.json', body, { meta: { a: '1' } as never });
      const copied = await oss.copy('dst/copy.bin', 'src/orig.json');
      assert.equal(copied.res.status, 200);
      assert.equal(copied.data.etag, `"${md5Upper(body)}"`);
      const h1 = await oss.head('dst/copy.bin');
      assert.equal(h1.meta.a, '1');
      assert.equal((h1.res.headers as Record<string, string>)['content-type'], 'application/json', 'COPY keeps the source content type');
      await oss.copy('dst/replaced.bin', 'src/orig.json', { meta: { b: '2' } as never, headers: { 'Content-Type': 'text/x-replaced' } });
      const h2 = await oss.head('dst/replaced.bin');
      assert.deepEqual(h2.meta, { b: '2' });
      assert.equal((h2.res.headers as Record<string, string>)['content-type'], 'text/x-replaced');
      const copySource = server.requests.filter((r) => r.op === 'CopyObject').pop()!.headers['x-oss-copy-source'];
      assert.equal(copySource, '/golden/src%2Forig.json');
      const other = client(server, v4, { bucket: 'other' });
      await other.copy('from-golden.json', 'src/orig.json', 'golden');
      assert.deepEqual((await other.get('from-golden.json')).content, body);
      await rejectsWith(oss.copy('dst/guarded', 'src/orig.json', { headers: { 'If-Match': '"FFFF"' } }), 412, 'PreconditionFailed');
      await rejectsWith(oss.copy('dst/missing', 'src/none'), 404, 'NoSuchKey');
    });

    it('CopyObject refuses sources above the copy limit; multipartUploadCopy (UploadPartCopy) copies them', async () => {
      const big = randomBytes(350 * KiB);
      await oss.put('big.bin', big);
      await rejectsWith(oss.copy('big-copy.bin', 'big.bin'), 400, 'EntityTooLarge');
      await oss.multipartUploadCopy('big-copy.bin', { sourceKey: 'big.bin', sourceBucketName: 'golden', startOffset: 0, endOffset: big.length }, { partSize: 100 * KiB });
      assert.deepEqual((await oss.get('big-copy.bin')).content, big);
      const seen = server.requests.filter((r) => r.op === 'UploadPartCopy');
      assert.ok(seen.length >= 4, `expected >= 4 UploadPartCopy requests, saw ${seen.length}`);
      assert.match(seen[0]!.headers['x-oss-copy-source-range']!, /^bytes=\d+-\d+$/);
    });

    it('multipart: init, uploadPart, uploadPartCopy, listParts, listUploads, complete with combined ETag and CRC-64', async () => {
      const part1 = randomBytes(120 * KiB);
      const part3 = randomBytes(5 * KiB);
      const file = join(dir, `parts-${mode}.bin`);
      writeFileSync(file, Buffer.concat([part1, part3]));
      const source = randomBytes(150 * KiB);
      await oss.put('mp/source.bin', source);
      const init = await oss.initMultipartUpload('mp/obj.bin', { mime: 'application/x-mp', meta: { origin: 'golden' } as never });
      const up1 = await oss.uploadPart('mp/obj.bin', init.uploadId, 1, file, 0, part1.length);
      assert.equal(up1.etag, `"${md5Upper(part1)}"`);
      assert.equal((up1.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64ecma(part1));
      const up2 = await oss.uploadPartCopy('mp/obj.bin', init.uploadId, 2, `0-${source.length - 1}`, { sourceKey: 'mp/source.bin', sourceBucketName: 'golden' }, {});
      assert.equal(up2.etag, `"${md5Upper(source)}"`);
      const up3 = await oss.uploadPart('mp/obj.bin', init.uploadId, 3, file, part1.length, part1.length + part3.length);
      const parts = await oss.listParts('mp/obj.bin', init.uploadId);
      assert.equal((parts.parts as unknown as unknown[]).length, 3);
      const uploads = await oss.listUploads({ prefix: 'mp/' });
      assert.deepEqual(uploads.uploads.map((u) => u.uploadId), [init.uploadId]);
      assert.equal(server.inspect('golden', 'mp/obj.bin'), undefined, 'not visible before Complete');
      const done = await oss.completeMultipartUpload('mp/obj.bin', init.uploadId, [
        { number: 3, etag: up3.etag },
        { number: 1, etag: up1.etag },
        { number: 2, etag: up2.etag },
      ]);
      const whole = Buffer.concat([part1, source, part3]);
      assert.match(done.etag, /^"[0-9A-F]{32}-3"$/);
      const crc = (done.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'];
      assert.equal(crc, crc64ecma(whole));
      assert.equal(BigInt(crc!), combineCrc64(combineCrc64(crc64ecma(part1), crc64ecma(source), source.length), crc64ecma(part3), part3.length));
      const got = await oss.get('mp/obj.bin');
      assert.deepEqual(got.content, whole);
      const h = got.res.headers as Record<string, string>;
      assert.equal(h['x-oss-object-type'], 'Multipart');
      assert.equal(h['content-type'], 'application/x-mp');
      assert.equal(h['x-oss-meta-origin'], 'golden');
      assert.equal((await oss.listUploads({ prefix: 'mp/' })).uploads.length, 0);
    });

    it('multipart errors: EntityTooSmall, InvalidPart, NoSuchUpload after abort', async () => {
      const small = join(dir, `small-${mode}.bin`);
      writeFileSync(small, randomBytes(10 * KiB));
      const init = await oss.initMultipartUpload('mp/small.bin');
      const a = await oss.uploadPart('mp/small.bin', init.uploadId, 1, small, 0, 10 * KiB);
      const b = await oss.uploadPart('mp/small.bin', init.uploadId, 2, small, 0, 10 * KiB);
      await rejectsWith(oss.completeMultipartUpload('mp/small.bin', init.uploadId, [{ number: 1, etag: a.etag }, { number: 2, etag: b.etag }]), 400, 'EntityTooSmall');
      await rejectsWith(oss.completeMultipartUpload('mp/small.bin', init.uploadId, [{ number: 1, etag: '"00000000000000000000000000000000"' }]), 400, 'InvalidPart');
      const aborted = await oss.abortMultipartUpload('mp/small.bin', init.uploadId);
      assert.equal((aborted as unknown as { res: { status: number } }).res.status, 204);
      await rejectsWith(oss.completeMultipartUpload('mp/small.bin', init.uploadId, [{ number: 1, etag: a.etag }]), 404, 'NoSuchUpload');
      assert.deepEqual(server.uploadIds('golden').filter((id) => id === init.uploadId), []);
    });

    it('managed multipartUpload (ali-oss own part loop) produces the same object', async () => {
      const body = randomBytes(260 * KiB);
      const file = join(dir, `managed-${mode}.bin`);
      writeFileSync(file, body);
      await oss.multipartUpload('mp/managed.bin', file, { partSize: 100 * KiB, parallel: 2 });
      assert.deepEqual((await oss.get('mp/managed.bin')).content, body);
      assert.equal(server.inspect('golden', 'mp/managed.bin')?.crc64, crc64ecma(body));
    });

    it('delete answers 204 (also for a missing key) and deleteMulti removes several', async () => {
      await oss.put('del/a', Buffer.from('a'));
      await oss.put('del/b', Buffer.from('b'));
      await oss.put('del/c & d', Buffer.from('c'));
      assert.equal((await oss.delete('del/a')).res.status, 204);
      assert.equal((await oss.delete('del/never')).res.status, 204);
      const multi = await oss.deleteMulti(['del/b', 'del/c & d']);
      assert.deepEqual((multi.deleted as unknown as { Key: string }[]).map((d) => d.Key).sort(), ['del/b', 'del/c & d']);
      assert.deepEqual(server.keys('golden').filter((k) => k.startsWith('del/')), []);
    });

    it('errors: NoSuchKey, NoSuchBucket (XML and x-oss-err for HEAD), request id', async () => {
      const e = await rejectsWith(oss.get('no/such/key'), 404, 'NoSuchKey');
      assert.match(e.requestId ?? '', /^[0-9A-F]{24}$/);
      await rejectsWith(oss.head('no/such/key'), 404, 'NoSuchKey');
      const missing = client(server, v4, { bucket: 'no-such-bucket' });
      await rejectsWith(missing.listV2({ 'max-keys': 1 }), 404, 'NoSuchBucket');
      await rejectsWith(missing.list({ 'max-keys': 1 }, {}), 404, 'NoSuchBucket');
      // HEAD has no body: ali-oss reports 404 as NoSuchKey; other statuses come from the x-oss-err header.
      const h = server.faults.add({ op: 'HeadObject', action: { kind: 'error', status: 503, code: 'SlowDown' } });
      await rejectsWith(oss.head('range.bin'), 503, 'SlowDown');
      assert.equal(h.hits, 1);
    });

    it('rejects a request signed with a wrong secret: 403 SignatureDoesNotMatch', async () => {
      const bad = client(server, v4, { accessKeySecret: 'not-the-secret' });
      const before = server.keys('golden').length;
      const e = await rejectsWith(bad.put('forged.txt', Buffer.from('x')), 403, 'SignatureDoesNotMatch');
      assert.match(e.message, /signature/i);
      await rejectsWith(bad.get('range.bin'), 403, 'SignatureDoesNotMatch');
      await rejectsWith(bad.listV2({ 'max-keys': 1 }), 403, 'SignatureDoesNotMatch');
      await rejectsWith(bad.head('range.bin'), 403, 'SignatureDoesNotMatch');
      assert.equal(server.keys('golden').length, before, 'nothing written');
      assert.equal(server.inspect('golden', 'forged.txt'), undefined);
    });

    it('rejects an unknown access key id and a skewed clock', async () => {
      await rejectsWith(client(server, v4, { accessKeyId: 'AKID-unknown' }).get('range.bin'), 403, 'InvalidAccessKeyId');
      await rejectsWith(client(server, v4, { amendTimeSkewed: -20 * 60_000 }).get('range.bin'), 403, 'RequestTimeTooSkewed');
    });

    it('path-style addressing (sldEnable with a hostname endpoint) works too', async () => {
      // With an IP endpoint ali-oss always rewrites Host to the virtual-host name, so path style needs a hostname.
      const sld = client(server, v4, { sldEnable: true, endpoint: `http://localhost:${server.port}` });
      await sld.put('sld/x.txt', Buffer.from('path style'));
      const last = server.requests[server.requests.length - 1]!;
      assert.equal(last.headers.host, `localhost:${server.port}`);
      assert.equal(last.bucket, 'golden');
      assert.equal((await oss.get('sld/x.txt')).content.toString(), 'path style');
    });

    it('fault hooks: error, latency, truncated body, wrong CRC, mutated object, reset', async () => {
      const body = randomBytes(200 * KiB);
      await oss.put('fault.bin', body);
      const slow = server.faults.add({ op: 'PutObject', key: 'fault.bin', action: { kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } });
      await rejectsWith(oss.put('fault.bin', Buffer.from('x')), 503, 'SlowDown');
      assert.equal(slow.hits, 1);
      await oss.put('fault.bin', body); // the fault fired once only

      server.faults.add({ op: 'GetObject', key: 'fault.bin', action: { kind: 'latency', ms: 300 } });
      const t0 = Date.now();
      await oss.get('fault.bin');
      assert.ok(Date.now() - t0 >= 290, 'latency added');

      server.faults.add({ op: 'GetObject', key: 'fault.bin', action: { kind: 'truncate', afterBytes: 1000 } });
      const truncated = await oss.getStream('fault.bin');
      await assert.rejects(readAll(truncated.stream as Readable));

      server.faults.add({ op: 'HeadObject', key: 'fault.bin', action: { kind: 'wrongCrc' } });
      const wrong = (await oss.head('fault.bin')).res.headers as Record<string, string>;
      assert.equal(BigInt(wrong['x-oss-hash-crc64ecma']!), BigInt(crc64ecma(body)) + 1n);
      assert.equal((await oss.head('fault.bin')).res.headers['x-oss-hash-crc64ecma' as never], crc64ecma(body));

      const listed = (await oss.listV2({ prefix: 'fault.bin' })).objects[0]!;
      server.faults.add({ op: 'GetObject', key: 'fault.bin', action: { kind: 'mutate' } });
      const changed = await oss.get('fault.bin');
      assert.equal(changed.content.length, body.length);
      assert.notDeepEqual(changed.content, body);
      assert.notEqual((changed.res.headers as Record<string, string>).etag, listed.etag, 'ETag differs from the listing');

      server.faults.add({ op: 'GetObject', key: 'fault.bin', action: { kind: 'reset' } });
      await assert.rejects(oss.get('fault.bin'), (e: OssClientError) => e.status === -1 || /socket|reset|hang up/i.test(e.message));
    });
  });
}

describe('OSS test server: reference signature vectors and STS tokens', () => {
  let server: OssServer;
  before(async () => {
    server = await startOssServer({ accessKeyId: 'AKID', secretAccessKey: 'SECRET', maxSkewMs: Number.MAX_SAFE_INTEGER });
    server.createBucket('mybucket');
  });
  after(async () => {
    await server.stop();
  });

  /** Sends the reference's captured request byte-exact (fixed 2026-11-22 date, so the skew check is off). */
  function send(headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'PUT', path: '/dir/a%20b%2B.txt', headers: { host: 'mybucket.oss-cn-hangzhou.aliyuncs.com', 'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==', 'content-type': 'text/plain', 'content-length': '5', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end('hello');
    });
  }

  it('accepts the V1 test vector and rejects it with one byte changed', async () => {
    const date = 'Sun, 22 Nov 2026 03:53:24 GMT';
    assert.equal(await send({ 'x-oss-date': date, authorization: 'OSS AKID:lCS4PwiwICpTFL4UaRMipO5JOkY=' }), 200);
    assert.equal(server.inspect('mybucket', 'dir/a b+.txt')?.size, 5);
    assert.equal(await send({ 'x-oss-date': date, authorization: 'OSS AKID:lCS4PwiwICpTFL4UaRMipO5JOkZ=' }), 403);
  });

  it('accepts the V4 test vector and rejects it with one byte changed', async () => {
    const headers = { 'x-oss-date': '20261122T035324Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' };
    const sig = 'c9ea5b10dbf31b10ad1d1ff65354d245f850d2734c6ecb9d3e9c1d376b936b4a';
    assert.equal(await send({ ...headers, authorization: `OSS4-HMAC-SHA256 Credential=AKID/20261122/cn-hangzhou/oss/aliyun_v4_request,Signature=${sig}` }), 200);
    assert.equal(await send({ ...headers, authorization: `OSS4-HMAC-SHA256 Credential=AKID/20261122/cn-hangzhou/oss/aliyun_v4_request, Signature=${sig}` }), 200, 'spaces after commas are accepted');
    assert.equal(await send({ ...headers, authorization: `OSS4-HMAC-SHA256 Credential=AKID/20261122/cn-hangzhou/oss/aliyun_v4_request,Signature=${sig.replace(/a$/, 'b')}` }), 403);
  });

  it('requires the configured STS token', async () => {
    const sts = await startOssServer({ accessKeyId: AK, secretAccessKey: SK, sessionToken: 'sts-token' });
    try {
      sts.createBucket('golden');
      for (const v4 of [false, true]) {
        const ok = client(sts, v4, { stsToken: 'sts-token', refreshSTSTokenInterval: 3_600_000 });
        await ok.put('sts.txt', Buffer.from('sts'));
        assert.equal(sts.requests[sts.requests.length - 1]!.headers['x-oss-security-token'], 'sts-token');
        await rejectsWith(client(sts, v4, { stsToken: 'other', refreshSTSTokenInterval: 3_600_000 }).get('sts.txt'), 403, 'InvalidSecurityToken');
        await rejectsWith(client(sts, v4).get('sts.txt'), 403, 'InvalidSecurityToken');
      }
    } finally {
      await sts.stop();
    }
  });
});
