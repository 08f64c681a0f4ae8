/**
 * The `oss` provider against the OSS protocol test server, in V1 and V4 signature modes: the shared
 * conformance suite, then what is OSS-specific — CRC-64 verification, error mapping, server-side copy and
 * upload-part-copy, key rules, abort, configuration.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { runConformance } from './conformance';
import { startOssServer, type OssServer } from '../support/oss-server';
import { mapOssError, openOssProvider, type OssProviderOptions } from '../../storage/oss/oss';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import { crc64ecma } from '../../storage/checksum/crc64';
import {
  AccessDeniedError,
  BucketNotFoundError,
  ChecksumMismatchError,
  CredentialsError,
  FerryError,
  InvalidConfigError,
  InvalidKeyError,
  NotFoundError,
  ObjectTooLargeError,
  SizeMismatchError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  isRetryable,
} from '../../common/errors';

const AK = 'AKID-provider';
const SK = 'provider-secret';
const KiB = 1024;
const COPY_LIMIT = 256 * KiB;

const env: NodeJS.ProcessEnv = {
  FERRY_CREDENTIALS_OSSTEST_ACCESS_KEY_ID: AK,
  FERRY_CREDENTIALS_OSSTEST_SECRET_ACCESS_KEY: SK,
  FERRY_CREDENTIALS_WRONG_ACCESS_KEY_ID: AK,
  FERRY_CREDENTIALS_WRONG_SECRET_ACCESS_KEY: 'not-the-secret',
};

let serverPromise: Promise<OssServer> | undefined;
/** One server for the whole file (started on first use). */
function server(): Promise<OssServer> {
  serverPromise ??= startOssServer({ accessKeyId: AK, secretAccessKey: SK, maxCopySize: COPY_LIMIT });
  return serverPromise;
}
after(async () => {
  if (serverPromise) await (await serverPromise).stop();
});

let buckets = 0;
async function freshBucket(prefix: string): Promise<string> {
  const name = `${prefix}-${++buckets}`;
  (await server()).createBucket(name);
  return name;
}

async function open(bucket: string, sig: 'v1' | 'v4', profile = 'osstest', opts: OssProviderOptions = {}): Promise<ObjectProvider> {
  const s = await server();
  return openOssProvider({ type: 'oss', endpoint: s.endpoint, region: 'cn-hangzhou', bucket, credentials: profile, signatureVersion: sig }, { env }, opts);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

for (const sig of ['v1', 'v4'] as const) {
  runConformance({
    name: `oss (test server, signature ${sig})`,
    async withObjects(objects) {
      const p = await open(await freshBucket(`conf-${sig}`), sig);
      for (const o of objects) await p.put(o.key, o.body, { contentType: o.contentType, metadata: o.metadata });
      return p;
    },
    wrongCredentials: { open: async () => open(await freshBucket(`wrong-${sig}`), sig, 'wrong') },
    missingBucket: async () => open('no-such-bucket', sig),
    // No hostile key starts with "/" or "\" or exceeds 1023 bytes: OSS refuses none of them.
    refusedKeys: {},
  });

  describe(`oss provider specifics (signature ${sig})`, () => {
    let s: OssServer;
    let p: ObjectProvider;
    let bucket: string;
    before(async () => {
      s = await server();
      bucket = await freshBucket(`spec-${sig}`);
      p = await open(bucket, sig);
    });
    after(async () => {
      s.faults.clear();
      await p.close?.();
    });

    it(`signs with ${sig} and reports CRC-64 and metadata on stat`, async () => {
      const body = Buffer.from('stat me');
      const put = await p.put('stat.txt', body, { contentType: 'text/x-stat', metadata: { Owner: 'team-a' } });
      assert.equal(s.requests[s.requests.length - 1]!.auth, sig);
      assert.equal(put.checksums?.crc64ecma, crc64ecma(body));
      assert.equal(put.etag, s.inspect(bucket, 'stat.txt')!.etag);
      const info = await p.stat('stat.txt');
      assert.equal(info.checksums?.crc64ecma, crc64ecma(body));
      assert.equal(info.contentType, 'text/x-stat');
      assert.deepEqual(info.metadata, { owner: 'team-a' }, 'metadata names are lower-case');
      assert.equal(info.etag, s.inspect(bucket, 'stat.txt')!.etag);
      assert.equal(info.position, 'stat.txt');
    });

    it('a wrong CRC-64 on GET is a ChecksumMismatchError at the end of a whole-object read', async () => {
      const body = randomBytes(100 * KiB);
      await p.put('crc/get.bin', body);
      s.faults.add({ op: 'GetObject', key: 'crc/get.bin', action: { kind: 'wrongCrc' } });
      const got = await p.get('crc/get.bin');
      await assert.rejects(readAll(got.body), (e: unknown) => e instanceof ChecksumMismatchError && /crc64ecma/.test((e as Error).message) && isRetryable(e));
      // A range covering the whole object is verified too; a partial range cannot be.
      s.faults.add({ op: 'GetObject', key: 'crc/get.bin', times: 2, action: { kind: 'wrongCrc' } });
      await assert.rejects(readAll((await p.get('crc/get.bin', { range: { start: 0, end: body.length - 1 } })).body), ChecksumMismatchError);
      assert.deepEqual(await readAll((await p.get('crc/get.bin', { range: { start: 5, end: 9 } })).body), body.subarray(5, 10));
      assert.deepEqual(await readAll((await p.get('crc/get.bin')).body), body, 'fault spent: clean read');
    });

    it('a wrong CRC-64 on a write response is a ChecksumMismatchError (put buffer, put stream, part, complete)', async () => {
      s.faults.add({ op: 'PutObject', key: 'crc/put.bin', times: 2, action: { kind: 'wrongCrc' } });
      await assert.rejects(p.put('crc/put.bin', randomBytes(1000)), ChecksumMismatchError);
      await assert.rejects(p.put('crc/put.bin', Readable.from([randomBytes(1000)]), { size: 1000 }), ChecksumMismatchError);
      const key = 'crc/mp.bin';
      const uploadId = await p.createMultipart!(key);
      const part1 = randomBytes(100 * KiB);
      s.faults.add({ op: 'UploadPart', key, action: { kind: 'wrongCrc' } });
      await assert.rejects(p.uploadPart!(key, uploadId, 1, part1, part1.length), ChecksumMismatchError);
      const parts = [await p.uploadPart!(key, uploadId, 1, part1, part1.length), await p.uploadPart!(key, uploadId, 2, Readable.from([Buffer.from('tail')]), 4)];
      s.faults.add({ op: 'CompleteMultipartUpload', key, action: { kind: 'wrongCrc' } });
      await assert.rejects(p.completeMultipart!(key, uploadId, parts), ChecksumMismatchError);
    });

    it('multipart completion reports the combined CRC-64 of the parts', async () => {
      const key = 'crc/combined.bin';
      const a = randomBytes(150 * KiB);
      const b = randomBytes(33);
      const uploadId = await p.createMultipart!(key);
      const parts = [await p.uploadPart!(key, uploadId, 2, b, b.length), await p.uploadPart!(key, uploadId, 1, Readable.from([a.subarray(0, 1000), a.subarray(1000)]), a.length)];
      const done = await p.completeMultipart!(key, uploadId, parts);
      assert.equal(done.checksums?.crc64ecma, crc64ecma(Buffer.concat([a, b])));
      assert.equal((await p.stat(key)).checksums?.crc64ecma, crc64ecma(Buffer.concat([a, b])));
    });

    it('maps 503 SlowDown to ThrottledError, 500 to TransientError, AccessDenied and clock skew to AccessDeniedError', async () => {
      s.faults.add({ op: 'ListObjectsV2', bucket, action: { kind: 'error', status: 503, code: 'SlowDown' } });
      await assert.rejects(p.list({}), (e: unknown) => e instanceof ThrottledError && (e as ThrottledError).code === 'SlowDown' && isRetryable(e));
      s.faults.add({ op: 'PutObject', bucket, action: { kind: 'error', status: 503, code: 'SlowDown' } });
      await assert.rejects(p.put('x', Buffer.from('x')), ThrottledError);
      s.faults.add({ op: 'HeadObject', bucket, action: { kind: 'error', status: 503, code: 'ServiceUnavailable' } });
      await assert.rejects(p.stat('stat.txt'), ThrottledError);
      s.faults.add({ op: 'GetObject', bucket, action: { kind: 'error', status: 500, code: 'InternalError' } });
      await assert.rejects(p.get('stat.txt'), (e: unknown) => e instanceof TransientError && isRetryable(e));
      s.faults.add({ op: 'GetObject', bucket, action: { kind: 'error', status: 403, code: 'AccessDenied' } });
      await assert.rejects(p.get('stat.txt'), (e: unknown) => e instanceof AccessDeniedError && !isRetryable(e));
      s.faults.add({ op: 'ListObjectsV2', bucket, action: { kind: 'error', status: 403, code: 'RequestTimeTooSkewed' } });
      await assert.rejects(p.list({}), (e: unknown) => e instanceof AccessDeniedError && /clock/.test((e as Error).message));
      s.faults.add({ op: 'GetObject', bucket, action: { kind: 'reset' } });
      await assert.rejects(p.get('stat.txt'), TransientError);
    });

    it('SignatureDoesNotMatch and InvalidAccessKeyId are AccessDeniedError', async () => {
      const wrong = await open(bucket, sig, 'wrong');
      await assert.rejects(wrong.put('w', Buffer.from('w')), (e: unknown) => e instanceof AccessDeniedError && (e as AccessDeniedError).code === 'SignatureDoesNotMatch');
      await assert.rejects(wrong.get('stat.txt'), AccessDeniedError);
      await wrong.close?.();
      const unknownId = openOssProvider(
        { type: 'oss', endpoint: s.endpoint, region: 'cn-hangzhou', bucket, credentials: 'ghost', signatureVersion: sig },
        { env: { FERRY_CREDENTIALS_GHOST_ACCESS_KEY_ID: 'AKID-ghost', FERRY_CREDENTIALS_GHOST_SECRET_ACCESS_KEY: SK } },
      );
      await assert.rejects(unknownId.list({}), (e: unknown) => e instanceof AccessDeniedError && (e as AccessDeniedError).code === 'InvalidAccessKeyId');
      await unknownId.close?.();
    });

    it('a truncated body and a body of the wrong length are SizeMismatchError', async () => {
      const body = randomBytes(200 * KiB);
      await p.put('trunc.bin', body);
      s.faults.add({ op: 'GetObject', key: 'trunc.bin', action: { kind: 'truncate', afterBytes: 70 * KiB } });
      await assert.rejects(readAll((await p.get('trunc.bin')).body), (e: unknown) => e instanceof SizeMismatchError && isRetryable(e));
      const short = new PassThrough();
      const put = p.put('short.bin', short, { size: 1000 });
      short.end(randomBytes(999));
      await assert.rejects(put, SizeMismatchError);
      const long = p.put('long.bin', Readable.from([randomBytes(600), randomBytes(600)]), { size: 1000 });
      await assert.rejects(long, SizeMismatchError);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(s.inspect(bucket, 'short.bin'), undefined);
      assert.equal(s.inspect(bucket, 'long.bin'), undefined);
    });

    it('a source error while putting surfaces as that error, and nothing is written', async () => {
      const failing = new Readable({ read() {} });
      const put = p.put('src-error.bin', failing, { size: 10_000 });
      failing.push(randomBytes(100));
      setTimeout(() => failing.destroy(new TransientError('source connection lost')), 50);
      await assert.rejects(put, (e: unknown) => e instanceof TransientError && /source connection lost/.test((e as Error).message));
      assert.equal(s.inspect(bucket, 'src-error.bin'), undefined);
    });

    it('an object changed between list and get shows a different ETag and CRC in the GET info', async () => {
      await p.put('changing.bin', randomBytes(1000));
      const [listed] = (await p.list({ prefix: 'changing.bin' })).objects;
      s.faults.add({ op: 'GetObject', key: 'changing.bin', action: { kind: 'mutate' } });
      const got = await p.get('changing.bin');
      await readAll(got.body);
      assert.equal(got.info.size, listed!.size);
      assert.notEqual(got.info.etag, listed!.etag);
      assert.equal(got.info.checksums?.crc64ecma, s.inspect(bucket, 'changing.bin')!.crc64);
    });

    it('server-side copyObject keeps or replaces metadata, guards the source ETag, and refuses sources over the copy limit', async () => {
      const srcBucket = await freshBucket(`src-${sig}`);
      const src = await open(srcBucket, sig);
      const body = randomBytes(10 * KiB);
      const put = await src.put('docs/a b.json', body, { contentType: 'application/json', metadata: { origin: 'src' } });
      assert.equal(src.endpointId, p.endpointId, 'same endpoint and profile: server-side copy possible');
      const kept = await p.copyObject!({ bucket: srcBucket, key: 'docs/a b.json', etag: put.etag }, 'copied/kept.json');
      assert.equal(kept.etag, put.etag);
      assert.equal(kept.checksums?.crc64ecma, crc64ecma(body));
      const keptInfo = await p.stat('copied/kept.json');
      assert.equal(keptInfo.contentType, 'application/json');
      assert.deepEqual(keptInfo.metadata, { origin: 'src' });
      assert.deepEqual(await readAll((await p.get('copied/kept.json')).body), body);
      await p.copyObject!({ bucket: srcBucket, key: 'docs/a b.json' }, 'copied/replaced.json', { metadata: { origin: 'dest' } });
      const replaced = await p.stat('copied/replaced.json');
      assert.deepEqual(replaced.metadata, { origin: 'dest' });
      assert.equal(replaced.contentType, 'application/json', 'replacing metadata keeps the source content type');
      await assert.rejects(p.copyObject!({ bucket: srcBucket, key: 'docs/a b.json', etag: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' }, 'copied/guarded.json'), SourceChangedError);
      await assert.rejects(p.copyObject!({ bucket: srcBucket, key: 'docs/missing' }, 'copied/missing.json'), NotFoundError);
      await src.put('big.bin', randomBytes(COPY_LIMIT + 1));
      await assert.rejects(p.copyObject!({ bucket: srcBucket, key: 'big.bin' }, 'copied/big.bin'), ObjectTooLargeError);
      await src.close?.();
    });

    it('uploadPartCopy copies objects above the copy limit, with explicit and open-ended ranges', async () => {
      const srcBucket = await freshBucket(`psrc-${sig}`);
      const src = await open(srcBucket, sig);
      const body = randomBytes(COPY_LIMIT + 50 * KiB);
      const put = await src.put('large.bin', body, { contentType: 'application/x-large' });
      const key = 'copied/large.bin';
      const uploadId = await p.createMultipart!(key, { contentType: 'application/x-large', metadata: { whole: put.checksums!.crc64ecma! } });
      const half = 150 * KiB;
      const parts = [
        await p.uploadPartCopy!(key, uploadId, 1, { bucket: srcBucket, key: 'large.bin', etag: put.etag }, { start: 0, end: half - 1 }),
        await p.uploadPartCopy!(key, uploadId, 2, { bucket: srcBucket, key: 'large.bin', etag: put.etag }, { start: half }),
      ];
      assert.deepEqual(parts.map((x) => x.size), [half, body.length - half]);
      assert.equal(parts[0]!.checksums?.crc64ecma, crc64ecma(body.subarray(0, half)));
      const done = await p.completeMultipart!(key, uploadId, parts);
      assert.equal(done.checksums?.crc64ecma, put.checksums?.crc64ecma, 'combined part CRCs equal the source CRC');
      assert.deepEqual(await readAll((await p.get(key)).body), body);
      assert.equal((await p.stat(key)).metadata?.whole, put.checksums?.crc64ecma);
      await assert.rejects(
        p.uploadPartCopy!(key, await p.createMultipart!(key), 1, { bucket: srcBucket, key: 'large.bin', etag: '00000000000000000000000000000000' }, { start: 0, end: 9 }),
        SourceChangedError,
      );
      await src.close?.();
    });

    it('refuses keys OSS cannot store with InvalidKeyError naming the rule', async () => {
      const cases: [string, string][] = [
        ['', 'empty key'],
        ['/leading-slash', 'starts with "/"'],
        ['\\leading-backslash', 'starts with "\\"'],
        ['x'.repeat(1024), 'longer than 1023 bytes'],
        ['日'.repeat(342), 'longer than 1023 bytes'],
        ['lone\ud800surrogate', 'unpaired surrogate'],
      ];
      for (const [key, rule] of cases) {
        assert.throws(() => p.validateKey(key), (e: unknown) => e instanceof InvalidKeyError && (e as Error).message.includes(rule), rule);
        await assert.rejects(p.put(key, Buffer.from('x')), InvalidKeyError);
        await assert.rejects(p.stat(key), InvalidKeyError);
        await assert.rejects(p.get(key), InvalidKeyError);
        await assert.rejects(p.createMultipart!(key), InvalidKeyError);
      }
      const longest = '日'.repeat(341); // 1023 bytes
      p.validateKey(longest);
      await p.put(longest, Buffer.from('max'));
      assert.equal((await readAll((await p.get(longest)).body)).toString(), 'max');
    });

    it('metadata an HTTP header cannot carry is refused before sending; Latin-1 round-trips', async () => {
      const before = s.requests.length;
      for (const metadata of [{ note: '日本' }, { note: 'line\nbreak' }, { 'bad name': 'x' }] as Record<string, string>[]) {
        await assert.rejects(p.put('meta/bad', Buffer.from('x'), { metadata }), (e: unknown) => e instanceof FerryError && e.code === 'InvalidMetadata' && !isRetryable(e));
        await assert.rejects(p.createMultipart!('meta/bad', { metadata }), (e: unknown) => e instanceof FerryError && e.code === 'InvalidMetadata');
      }
      assert.equal(s.requests.length, before, 'nothing sent');
      await p.put('meta/latin1', Buffer.from('x'), { metadata: { note: 'café' } });
      assert.equal((await p.stat('meta/latin1')).metadata?.note, 'café');
    });

    it('keys with "." and ".." segments round-trip (plain ali-oss cannot address them)', async () => {
      const keys = ['dots/./a', 'dots/../b', 'dots/..', 'dots/.', './lead', '../lead2'];
      for (const k of keys) await p.put(k, Buffer.from(`v:${k}`));
      for (const k of keys) {
        assert.equal((await readAll((await p.get(k)).body)).toString(), `v:${k}`);
        assert.equal((await p.stat(k)).key, k);
      }
      const listed = (await p.list({ prefix: 'dots/' })).objects.map((o) => o.key);
      assert.deepEqual(listed, keys.filter((k) => k.startsWith('dots/')).sort());
      for (const k of keys) await p.delete!(k);
      assert.deepEqual((await p.list({ prefix: 'dots/' })).objects, []);
    });

    it('abort: a pending request stops promptly, a started read errors, a pre-aborted call never sends', async () => {
      await p.put('abort.bin', randomBytes(300 * KiB));
      s.faults.add({ op: 'HeadObject', key: 'abort.bin', action: { kind: 'latency', ms: 3000 } });
      const ac = new AbortController();
      const t0 = Date.now();
      const pending = p.stat('abort.bin', { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(pending, (e: unknown) => (e as Error).name === 'AbortError');
      assert.ok(Date.now() - t0 < 1500, `aborted after ${Date.now() - t0} ms`);
      const reading = new AbortController();
      const got = await p.get('abort.bin', { signal: reading.signal });
      reading.abort();
      await assert.rejects(readAll(got.body), (e: unknown) => (e as Error).name === 'AbortError');
      const before = s.requests.length;
      await assert.rejects(p.list({ signal: AbortSignal.abort() }), (e: unknown) => (e as Error).name === 'AbortError');
      assert.equal(s.requests.length, before, 'nothing sent');
      assert.equal((await p.stat('abort.bin')).size, 300 * KiB, 'the provider still works after aborts');
    });

    it('reading only part of a body and destroying it releases the connection', async () => {
      const got = await p.get('abort.bin');
      for await (const _ of got.body) break; // destroys the body after the first chunk
      assert.equal((await p.stat('abort.bin')).size, 300 * KiB);
    });
  });
}

describe('oss provider configuration', () => {
  it('is registered as "oss" and derives region and endpointId', async () => {
    const s = await server();
    const p = openProvider({ type: 'oss', endpoint: s.endpoint, region: 'oss-cn-hangzhou', bucket: 'any-bucket', credentials: 'osstest' }, { env });
    assert.equal(p.type, 'oss');
    assert.equal(p.bucket, 'any-bucket');
    assert.equal(p.endpointId, `oss|${s.endpoint}|osstest`);
    assert.deepEqual(p.capabilities.checksums, ['crc64ecma']);
    assert.equal(p.capabilities.maxServerSideCopy, 1024 * 1024 * 1024);
    const fromHost = openOssProvider({ type: 'oss', endpoint: 'https://oss-cn-shanghai-internal.aliyuncs.com', bucket: 'b-1', credentials: 'osstest' }, { env });
    assert.equal(fromHost.endpointId, 'oss|https://oss-cn-shanghai-internal.aliyuncs.com|osstest');
    const fromRegion = openOssProvider({ type: 'oss', region: 'cn-beijing', bucket: 'b-1', credentials: 'osstest' }, { env });
    assert.equal(fromRegion.endpointId, 'oss|https://oss-cn-beijing.aliyuncs.com|osstest');
    for (const x of [p, fromHost, fromRegion]) await x.close?.();
  });

  it('reports every configuration problem at once', () => {
    assert.throws(
      () => openOssProvider({ type: 'oss', endpoint: 'http://127.0.0.1:1', bucket: 'Bad_Bucket', credentials: 'osstest' }, { env }),
      (e: unknown) => e instanceof InvalidConfigError && e.issues.length === 2 && /bucket:/.test(e.issues[0]!) && /region:.*v4/.test(e.issues[1]!),
    );
    assert.throws(() => openOssProvider({ type: 'oss', bucket: 'b-1', credentials: 'osstest' }, { env }), (e: unknown) => e instanceof InvalidConfigError && /endpoint:/.test(e.issues[0]!));
    assert.throws(() => openOssProvider({ type: 'oss', endpoint: 'ftp://x', region: 'cn-hangzhou', bucket: 'b-1', credentials: 'osstest' }, { env }), InvalidConfigError);
    // v1 needs no region even with an IP endpoint.
    openOssProvider({ type: 'oss', endpoint: 'http://127.0.0.1:1', bucket: 'b-1', credentials: 'osstest', signatureVersion: 'v1' }, { env });
  });

  it('resolves credentials from the OSS default chain, and names the variables when there are none', async () => {
    const s = await server();
    s.createBucket('chain-bucket');
    const p = openOssProvider({ type: 'oss', endpoint: s.endpoint, region: 'cn-hangzhou', bucket: 'chain-bucket' }, { env: { OSS_ACCESS_KEY_ID: AK, OSS_ACCESS_KEY_SECRET: SK } });
    assert.equal(p.endpointId, `oss|${s.endpoint}|default`);
    assert.deepEqual((await p.list({})).objects, []);
    await p.close?.();
    assert.throws(() => openOssProvider({ type: 'oss', endpoint: s.endpoint, region: 'cn-hangzhou', bucket: 'chain-bucket' }, { env: {} }), (e: unknown) => e instanceof CredentialsError && /OSS_ACCESS_KEY_ID/.test((e as Error).message));
  });

  it('sends the STS session token of a profile', async () => {
    const sts = await startOssServer({ accessKeyId: AK, secretAccessKey: SK, sessionToken: 'sts-123' });
    try {
      sts.createBucket('sts-bucket');
      const spec = { type: 'oss' as const, endpoint: sts.endpoint, region: 'cn-hangzhou', bucket: 'sts-bucket', credentials: 'temp' };
      const withToken = openOssProvider(spec, { env: { FERRY_CREDENTIALS_TEMP_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_TEMP_SECRET_ACCESS_KEY: SK, FERRY_CREDENTIALS_TEMP_SESSION_TOKEN: 'sts-123' } });
      await withToken.put('t.txt', Buffer.from('t'));
      const without = openOssProvider(spec, { env: { FERRY_CREDENTIALS_TEMP_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_TEMP_SECRET_ACCESS_KEY: SK } });
      await assert.rejects(without.stat('t.txt'), AccessDeniedError);
      for (const x of [withToken, without]) await x.close?.();
    } finally {
      await sts.stop();
    }
  });
});

describe('mapOssError', () => {
  const ossError = (code: string, status: number) => Object.assign(new Error(`${code} message`), { name: `${code}Error`, code, status, requestId: 'RID', params: { headers: { 'x-oss-security-token': 'secret-token' } } });
  it('maps codes and statuses to Ferry classes with the right retryability', () => {
    const rows: [unknown, new (...a: never[]) => Error, boolean][] = [
      [ossError('NoSuchKey', 404), NotFoundError, false],
      [ossError('NoSuchUpload', 404), NotFoundError, false],
      [ossError('NoSuchBucket', 404), BucketNotFoundError, false],
      [ossError('AccessDenied', 403), AccessDeniedError, false],
      [ossError('SignatureDoesNotMatch', 403), AccessDeniedError, false],
      [ossError('InvalidAccessKeyId', 403), AccessDeniedError, false],
      [ossError('RequestTimeTooSkewed', 403), AccessDeniedError, false],
      [ossError('SlowDown', 503), ThrottledError, true],
      [ossError('Whatever', 429), ThrottledError, true],
      [ossError('InternalError', 500), TransientError, true],
      [ossError('InvalidObjectName', 400), InvalidKeyError, false],
      [ossError('InvalidDigest', 400), ChecksumMismatchError, true],
      [ossError('EntityTooLarge', 400), ObjectTooLargeError, false],
      [ossError('PreconditionFailed', 412), SourceChangedError, true],
      [ossError('EntityTooSmall', 400), FerryError, false],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1, GET http://127.0.0.1:1/ -1 (connected: false)'), { name: 'RequestError', code: 'RequestError', status: -1 }), TransientError, true],
      [Object.assign(new Error('Response timeout for 60000ms'), { name: 'ResponseTimeoutError' }), TransientError, true],
    ];
    for (const [input, cls, retry] of rows) {
      const out = mapOssError(input, 'op');
      assert.ok(out instanceof cls, `${(input as Error).name} → ${cls.name}, got ${(out as Error).name}`);
      assert.equal(isRetryable(out), retry, `${(input as Error).name} retryable=${retry}`);
    }
  });

  it('keeps request ids, drops request params (secrets) from the cause, passes bugs through', () => {
    const out = mapOssError(ossError('AccessDenied', 403), 'stat oss://b/k') as AccessDeniedError;
    assert.match(out.message, /^stat oss:\/\/b\/k: AccessDenied — AccessDenied message \(HTTP 403\) \[request RID\]$/);
    assert.equal(JSON.stringify(out.cause).includes('secret-token'), false);
    assert.equal((out.cause as { params?: unknown }).params, undefined);
    const net = mapOssError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1, GET http://127.0.0.1:1/k -1 (connected: false)'), { name: 'RequestError', status: -1 }), 'get') as Error;
    assert.doesNotMatch(net.message, /http:\/\//, 'the long urllib suffix is cut');
    const bug = new TypeError('cannot read properties of undefined');
    assert.equal(mapOssError(bug, 'op'), bug);
  });
});
