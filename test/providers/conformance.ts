/**
 * The provider conformance suite: one set of cases every provider runs against a real server (or real fs).
 * A case a provider cannot run (read-only, no credentials, no multipart …) is skipped with its reason,
 * which node's test runner prints as `# SKIP <reason>`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, PassThrough } from 'node:stream';
import { randomBytes, createHash } from 'node:crypto';
import type { ObjectProvider, ObjectInfo } from '../../storage/provider';
import { compareKeys } from '../../common/keys';
import { AccessDeniedError, BucketNotFoundError, InvalidKeyError, NotFoundError } from '../../common/errors';

export interface SeedObject {
  key: string;
  body: Buffer;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface ConformanceTarget {
  name: string;
  /**
   * A provider holding exactly `objects` (and nothing else). Writable targets create a fresh bucket and put
   * them through the provider itself; read-only targets (http) lay out fixtures on the serving side.
   */
  withObjects(objects: SeedObject[]): Promise<ObjectProvider>;
  /** A provider whose credentials are wrong; omitted when the provider has no credentials. */
  wrongCredentials?: { reason?: never; open(): Promise<ObjectProvider> } | { reason: string; open?: never };
  /** A provider pointed at a bucket (root, list) that does not exist. */
  missingBucket(): Promise<ObjectProvider>;
  /**
   * Keys from the hostile set this store cannot hold → a substring of the reason. Writable stores must refuse
   * them on put with InvalidKeyError (by `validateKey` or the server's answer); read-only ones in `validateKey`.
   */
  refusedKeys?: Record<string, string>;
  /**
   * Store defects: keys the server accepts but stores under another name (original → name it lists). The case
   * asserts the rewrite happens exactly so, so a fixed server makes the test fail and the entry gets removed.
   * Ferry's verify phase reports such objects as missing at the destination.
   */
  rewrittenKeys?: Record<string, string>;
  /**
   * Known departures of a quirky store (test/support/body-quirks.ts) the cases expect as such:
   * - `lengthUnknown`: GET answers carry no length; the caller passes the listed size (`expectedSize`).
   * - `multipartMetadataLost`: metadata sent with a multipart initiate is not kept (Ferry's copy engine restores it,
   *   activities/metadata-kept.ts; the provider alone cannot).
   * - `partEtagsRefused`: parts are answered without ETags, and completion refuses them: a named `PartEtagMissing`.
   */
  departures?: { lengthUnknown?: boolean; multipartMetadataLost?: boolean; partEtagsRefused?: boolean };
}

const MiB = 1024 * 1024;

/** Keys that break naive encoders. NFC and NFD forms are different keys. */
export const HOSTILE_KEYS: readonly string[] = [
  'with space.txt',
  'plus+sign.txt',
  'percent%20encoded%2F.txt',
  'hash#frag.txt',
  'question?mark=1&x.txt',
  `quotes"and'apostrophes.txt`,
  'caf\u00e9-nfc.txt',
  'cafe\u0301-nfc.txt'.replace('-nfc', '-nfd'),
  'caf\u00e9',
  'cafe\u0301',
  '日本語/ファイル.txt',
  'emoji-😀/x.txt',
  `long-${'n'.repeat(210)}.txt`,
  'dir//double-slash.txt',
  'trailing-slash/',
  'tilde~and(parens)[brackets]{braces}.txt',
  'semi;colon,comma=equals@at$dollar&amp!bang*star.txt',
  'back\\slash.txt',
  'tab\tand-newline-free.txt',
  '..dotdot-prefix.txt',
];

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

async function listAll(p: ObjectProvider, opts: { prefix?: string; limit?: number } = {}): Promise<{ objects: ObjectInfo[]; pages: number }> {
  const objects: ObjectInfo[] = [];
  let startAfter: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await p.list({ ...opts, startAfter });
    pages++;
    objects.push(...page.objects);
    if (!page.next) break;
    assert.ok(pages < 10_000, 'listing does not terminate');
    startAfter = page.next;
  }
  return { objects, pages };
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Registers the suite for one target. Call at the top level of a `*.test.ts` file. */
export function runConformance(target: ConformanceTarget): void {
  describe(`provider conformance: ${target.name}`, () => {
    let empty: ObjectProvider;
    before(async () => {
      empty = await target.withObjects([]);
    });
    after(async () => {
      await empty?.close?.();
    });

    const writable = () => empty.capabilities.writable;
    const skipUnlessWritable = () => (writable() ? false : `${empty.type} is read-only`);

    it('lists an empty bucket as one empty page', async () => {
      const page = await empty.list({});
      assert.deepEqual(page.objects, []);
      assert.equal(page.next, undefined);
    });

    it('pages over more than one page in order, with a prefix', async () => {
      const keys = ['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6', 'a/7', 'b/1', 'a-sibling', 'a0'];
      const p = await target.withObjects(keys.map((key) => ({ key, body: Buffer.from(key) })));
      try {
        const all = await listAll(p, { limit: 3 });
        assert.ok(all.pages >= 4, `expected >= 4 pages of 3, got ${all.pages}`);
        const got = all.objects.map((o) => o.key);
        const expected = p.capabilities.order === 'key' ? [...keys].sort(compareKeys) : keys;
        assert.deepEqual(got, expected);
        for (const o of all.objects) assert.equal(o.size, Buffer.byteLength(o.key));
        const pre = await listAll(p, { prefix: 'a/', limit: 3 });
        assert.deepEqual(pre.objects.map((o) => o.key), keys.filter((k) => k.startsWith('a/')).sort(compareKeys));
        const resumed = await p.list({ startAfter: all.objects[4]!.position, limit: 100 });
        assert.deepEqual(resumed.objects.map((o) => o.key), got.slice(5));
      } finally {
        await p.close?.();
      }
    });

    it('stat of a missing key throws NotFoundError (not BucketNotFoundError)', async () => {
      await assert.rejects(empty.stat('no/such/key'), (e: unknown) => e instanceof NotFoundError && !(e instanceof BucketNotFoundError));
      await assert.rejects(empty.get('no/such/key'), (e: unknown) => e instanceof NotFoundError && !(e instanceof BucketNotFoundError));
    });

    describe('round-trips bytes', () => {
      for (const size of [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1]) {
        it(`${size} bytes`, async () => {
          const body = randomBytes(size);
          const key = `size/${size}.bin`;
          const p = await target.withObjects([{ key, body }]);
          try {
            const info = await p.stat(key);
            assert.equal(info.size, size);
            assert.ok(info.lastModified > Date.UTC(2000, 0, 1), 'lastModified is epoch ms');
            const got = target.departures?.lengthUnknown ? await p.get(key, { expectedSize: size }) : await p.get(key);
            assert.equal(got.contentLength, size);
            const bytes = await readAll(got.body);
            assert.equal(bytes.length, size);
            assert.equal(md5(bytes), md5(body));
            const [listed] = (await p.list({ prefix: 'size/' })).objects;
            assert.equal(listed?.key, key);
            assert.equal(listed?.size, size);
          } finally {
            await p.close?.();
          }
        });
      }
    });

    it('put of an unknown-size stream', { skip: false }, async (t) => {
      if (!writable()) return t.skip(skipUnlessWritable() as string);
      const body = randomBytes(3 * MiB + 17);
      const stream = new PassThrough();
      const done = empty.put('unknown-size.bin', stream, { contentType: 'application/x-test' });
      for (let i = 0; i < body.length; i += 64 * 1024) stream.write(body.subarray(i, i + 64 * 1024));
      stream.end();
      await done;
      const got = await readAll((await empty.get('unknown-size.bin')).body);
      assert.equal(md5(got), md5(body));
    });

    it('multipart upload of >= 3 parts', async (t) => {
      const mp = empty.capabilities.multipart;
      if (!writable()) return t.skip(skipUnlessWritable() as string);
      if (!mp || !empty.createMultipart) return t.skip(`${empty.type} has no multipart upload`);
      const partSize = Math.max(mp.minPartSize, 5 * MiB);
      const body = randomBytes(partSize * 3 + 1234);
      const key = 'multipart/obj.bin';
      const uploadId = await empty.createMultipart(key, { contentType: 'application/x-mp', metadata: { origin: 'conformance' } });
      const parts = [];
      for (let n = 1, off = 0; off < body.length; n++, off += partSize) {
        const chunk = body.subarray(off, Math.min(off + partSize, body.length));
        parts.push(await empty.uploadPart!(key, uploadId, n, Readable.from([chunk]), chunk.length));
      }
      assert.equal(parts.length, 4);
      // Not visible before completion.
      await assert.rejects(empty.stat(key), NotFoundError);
      if (target.departures?.partEtagsRefused) {
        await assert.rejects(empty.completeMultipart!(key, uploadId, parts), (e: { code?: string }) => e.code === 'PartEtagMissing');
        await empty.abortMultipart!(key, uploadId);
        return;
      }
      await empty.completeMultipart!(key, uploadId, parts);
      const info = await empty.stat(key);
      assert.equal(info.size, body.length);
      if (empty.capabilities.metadata && !target.departures?.multipartMetadataLost) {
        assert.equal(info.contentType, 'application/x-mp');
        assert.equal(info.metadata?.origin, 'conformance');
      }
      if (target.departures?.multipartMetadataLost) assert.equal(info.metadata?.origin, undefined, 'the store still drops initiate metadata');
      const got = await readAll((await empty.get(key)).body);
      assert.equal(md5(got), md5(body));
      const pending = (await empty.listMultipartUploads?.('multipart/')) ?? [];
      assert.equal(pending.length, 0, 'completed upload is no longer pending');
    });

    it('aborted multipart upload leaves nothing behind', async (t) => {
      if (!writable()) return t.skip(skipUnlessWritable() as string);
      if (!empty.capabilities.multipart || !empty.createMultipart) return t.skip(`${empty.type} has no multipart upload`);
      const key = 'multipart/aborted.bin';
      const uploadId = await empty.createMultipart(key);
      const part = randomBytes(empty.capabilities.multipart.minPartSize);
      await empty.uploadPart!(key, uploadId, 1, part, part.length);
      const pending = await empty.listMultipartUploads!('multipart/abort');
      assert.deepEqual(pending.map((u) => u.uploadId), [uploadId]);
      assert.equal(pending[0]!.key, key);
      await empty.abortMultipart!(key, uploadId);
      assert.equal((await empty.listMultipartUploads!('multipart/aborted')).length, 0);
      await assert.rejects(empty.stat(key), NotFoundError);
    });

    it('ranged get', async () => {
      const body = randomBytes(100_000);
      const p = await target.withObjects([{ key: 'range.bin', body }]);
      try {
        const mid = await p.get('range.bin', { range: { start: 10, end: 19 } });
        assert.equal(mid.contentLength, 10);
        assert.deepEqual(await readAll(mid.body), body.subarray(10, 20));
        assert.equal(mid.info.size, body.length, 'info.size is the whole object');
        const tail = await p.get('range.bin', { range: { start: 99_990 } });
        assert.deepEqual(await readAll(tail.body), body.subarray(99_990));
      } finally {
        await p.close?.();
      }
    });

    it('content-type and user metadata round-trip', async (t) => {
      if (!empty.capabilities.metadata) return t.skip(`${empty.type} stores no content-type or user metadata`);
      const p = await target.withObjects([
        { key: 'meta.json', body: Buffer.from('{}'), contentType: 'application/json', metadata: { owner: 'team-a', 'x-trace': 'abc-123' } },
      ]);
      try {
        const info = await p.stat('meta.json');
        assert.equal(info.contentType, 'application/json');
        assert.equal(info.metadata?.owner, 'team-a');
        assert.equal(info.metadata?.['x-trace'], 'abc-123');
        const got = await p.get('meta.json');
        assert.equal(got.info.contentType, 'application/json');
        await readAll(got.body);
      } finally {
        await p.close?.();
      }
    });

    it('server-side copy: bytes and metadata copied, metadata replaced on request, a changed source refused', async (t) => {
      if (!empty.capabilities.serverSideCopy || !empty.copyObject) return t.skip(`${empty.type} has no server-side copy`);
      const p = await target.withObjects([{ key: 'cp/src.txt', body: Buffer.from('copy me'), contentType: 'text/plain', metadata: { owner: 'team-a' } }]);
      try {
        const src = await p.stat('cp/src.txt');
        const res = await p.copyObject!({ bucket: p.bucket, key: 'cp/src.txt', etag: src.etag }, 'cp/dst 1.txt');
        if (res.etag && src.etag) assert.equal(res.etag, src.etag, 'a single-part copy keeps the MD5 ETag');
        assert.equal((await readAll((await p.get('cp/dst 1.txt')).body)).toString(), 'copy me');
        const copied = await p.stat('cp/dst 1.txt');
        assert.equal(copied.size, 7);
        if (p.capabilities.metadata) {
          assert.equal(copied.contentType, 'text/plain');
          assert.equal(copied.metadata?.owner, 'team-a');
          // Self-copy with new metadata (how Ferry records a whole-object CRC-64 after a multipart upload).
          await p.copyObject!({ bucket: p.bucket, key: 'cp/dst 1.txt' }, 'cp/dst 1.txt', { contentType: 'application/x-test', metadata: { 'ferry-crc64ecma': '42' } });
          const replaced = await p.stat('cp/dst 1.txt');
          assert.equal(replaced.contentType, 'application/x-test');
          assert.equal(replaced.metadata?.['ferry-crc64ecma'], '42');
          assert.equal(replaced.size, 7);
        }
        if (src.etag) {
          // A source that no longer has the listed ETag is not copied.
          await assert.rejects(p.copyObject!({ bucket: p.bucket, key: 'cp/src.txt', etag: '0123456789abcdef0123456789abcdef' }, 'cp/dst2.txt'), (e: Error) => e.name === 'SourceChangedError');
          await assert.rejects(p.stat('cp/dst2.txt'), NotFoundError);
        }
      } finally {
        await p.close?.();
      }
    });

    it('hostile keys survive byte-exact (or are refused with InvalidKeyError naming the rule)', async () => {
      const refused = target.refusedKeys ?? {};
      const rewritten = target.rewrittenKeys ?? {};
      const ok = HOSTILE_KEYS.filter((k) => !(k in refused) && !(k in rewritten));
      const p = await target.withObjects(ok.map((key, i) => ({ key, body: Buffer.from(`body-${i}`) })));
      try {
        const listed = (await listAll(p, { limit: 7 })).objects.map((o) => o.key);
        const expected = p.capabilities.order === 'key' ? [...ok].sort(compareKeys) : ok;
        assert.deepEqual(listed, expected);
        for (const [i, key] of ok.entries()) {
          const got = await readAll((await p.get(key)).body);
          assert.equal(got.toString(), `body-${i}`, `content of ${JSON.stringify(key)}`);
          assert.equal((await p.stat(key)).key, key);
        }
        for (const [key, stored] of Object.entries(rewritten)) {
          await p.put(key, Buffer.from('rewritten'));
          const names = (await p.list({ prefix: stored.slice(0, 3) })).objects.map((o) => o.key);
          assert.ok(names.includes(stored) && !names.includes(key), `store lists ${JSON.stringify(stored)} instead of ${JSON.stringify(key)}: ${JSON.stringify(names)}`);
        }
        const namesRule = (rule: string) => (e: unknown) => e instanceof InvalidKeyError && e.message.includes(rule);
        for (const [key, rule] of Object.entries(refused)) {
          if (p.capabilities.writable) await assert.rejects(p.put(key, Buffer.from('x')), namesRule(rule), `refuses ${JSON.stringify(key)} (${rule})`);
          else assert.throws(() => p.validateKey(key), namesRule(rule), `refuses ${JSON.stringify(key)} (${rule})`);
        }
      } finally {
        await p.close?.();
      }
    });

    it('an aborted put leaves no visible object', async (t) => {
      if (!writable()) return t.skip(skipUnlessWritable() as string);
      const ac = new AbortController();
      const stream = new PassThrough();
      const put = empty.put('aborted-put.bin', stream, { signal: ac.signal, size: 4 * MiB });
      stream.write(randomBytes(256 * 1024));
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      stream.destroy();
      await assert.rejects(put);
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(empty.stat('aborted-put.bin'), NotFoundError);
      const listed = (await empty.list({ prefix: 'aborted' })).objects;
      assert.deepEqual(listed, []);
    });

    it('wrong credentials throw AccessDeniedError', async (t) => {
      const wc = target.wrongCredentials;
      if (!wc || !wc.open) return t.skip(wc?.reason ?? `${target.name} has no credentials`);
      const p = await wc.open();
      try {
        await assert.rejects(p.list({}), AccessDeniedError);
        await assert.rejects(p.stat('any'), AccessDeniedError);
      } finally {
        await p.close?.();
      }
    });

    it('a missing bucket throws BucketNotFoundError', async () => {
      const p = await target.missingBucket();
      try {
        await assert.rejects(p.list({}), BucketNotFoundError);
      } finally {
        await p.close?.();
      }
    });
  });
}
