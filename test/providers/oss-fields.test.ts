/**
 * What travels with an object on OSS: the test server's tagging, standard headers, storage class, SSE and object ACL
 * checked with the REAL `ali-oss` client (V1 and V4 signatures), then Ferry's oss provider writing each field on
 * put, createMultipart and copyObject and reading it back on stat and getTags.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OSS from 'ali-oss';
import { startOssServer, type OssServer } from '../support/oss-server';
import { openOssProvider } from '../../storage/oss/oss';
import type { ObjectProvider, WriteOptions } from '../../storage/provider';

const AK = 'AKID-fields';
const SK = 'fields-secret';
const KiB = 1024;

/** The part of the ali-oss client these tests drive. */
interface Client {
  put(name: string, body: Buffer, opts?: { headers?: Record<string, string> }): Promise<unknown>;
  head(name: string): Promise<{ res: { headers: Record<string, string> } }>;
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
  putObjectTagging(name: string, tag: Record<string, string>): Promise<unknown>;
  deleteObjectTagging(name: string): Promise<unknown>;
  getACL(name: string): Promise<{ acl: string }>;
  putACL(name: string, acl: string): Promise<unknown>;
  listV2(query: Record<string, string>): Promise<{ objects: { name: string; storageClass: string }[] }>;
  copy(name: string, source: string, opts?: { headers?: Record<string, string> }): Promise<unknown>;
  initMultipartUpload(name: string, opts?: { headers?: Record<string, string> }): Promise<{ uploadId: string }>;
  uploadPart(name: string, uploadId: string, partNo: number, file: Buffer, start: number, end: number): Promise<{ etag: string }>;
  completeMultipartUpload(name: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<unknown>;
}

const HEADERS = { 'Cache-Control': 'max-age=3600, public', 'Content-Disposition': "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", 'Content-Encoding': 'gzip', 'Content-Language': 'de-CH', Expires: 'Wed, 21 Oct 2037 07:28:00 GMT' };
const TAGS = { project: 'ferry', 'with space': 'a&b=c/d', empty: '', 'ünï': 'çödé 中文' };

describe('OSS test server: object fields with the real ali-oss client', () => {
  let server: OssServer;
  before(async () => {
    server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    server.createBucket('fields');
  });
  after(() => server?.stop());

  for (const v4 of [false, true]) {
    const client = () => new OSS({ endpoint: server.endpoint, region: 'oss-cn-hangzhou', accessKeyId: AK, accessKeySecret: SK, bucket: 'fields', authorizationV4: v4 } as OSS.Options) as unknown as Client;

    it(`${v4 ? 'V4' : 'V1'}: PUT keeps headers, tags, class, SSE and ACL; HEAD, listing, ?tagging and ?acl return them`, async () => {
      const c = client();
      const key = `put-${v4}`;
      const tagging = Object.entries(TAGS).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      await c.put(key, Buffer.from('hello'), { headers: { ...HEADERS, 'x-oss-tagging': tagging, 'x-oss-storage-class': 'IA', 'x-oss-server-side-encryption': 'KMS', 'x-oss-server-side-encryption-key-id': 'key-123', 'x-oss-object-acl': 'private' } });
      const head = (await c.head(key)).res.headers;
      for (const [name, value] of Object.entries(HEADERS)) assert.equal(head[name.toLowerCase()], value, name);
      assert.equal(head['x-oss-storage-class'], 'IA');
      assert.equal(head['x-oss-server-side-encryption'], 'KMS');
      assert.equal(head['x-oss-server-side-encryption-key-id'], 'key-123');
      assert.equal(head['x-oss-tagging-count'], String(Object.keys(TAGS).length));
      assert.deepEqual((await c.getObjectTagging(key)).tag, TAGS);
      assert.equal((await c.getACL(key)).acl, 'private');
      const listed = (await c.listV2({ prefix: key })).objects;
      assert.deepEqual(listed.map((o) => [o.name, o.storageClass]), [[key, 'IA']]);
    });

    it(`${v4 ? 'V4' : 'V1'}: PUT/GET/DELETE ?tagging replace the tags; PUT ?acl sets the ACL`, async () => {
      const c = client();
      const key = `tagging-${v4}`;
      await c.put(key, Buffer.from('x'));
      assert.deepEqual((await c.getObjectTagging(key)).tag, {});
      assert.equal((await c.getACL(key)).acl, 'default');
      await c.putObjectTagging(key, { a: '1', b: 'x y' });
      assert.deepEqual((await c.getObjectTagging(key)).tag, { a: '1', b: 'x y' });
      await c.deleteObjectTagging(key);
      assert.deepEqual((await c.getObjectTagging(key)).tag, {});
      await c.putACL(key, 'private');
      assert.equal((await c.getACL(key)).acl, 'private');
      await assert.rejects(c.put('bad-class', Buffer.from('x'), { headers: { 'x-oss-storage-class': 'Frozen' } }), { status: 400, code: 'InvalidArgument' });
    });

    it(`${v4 ? 'V4' : 'V1'}: CopyObject copies tags and headers by default, replaces them by directive; class from the request`, async () => {
      const c = client();
      const src = `copy-src-${v4}`;
      await c.put(src, Buffer.from('copied'), { headers: { ...HEADERS, 'x-oss-tagging': 'k=v', 'x-oss-storage-class': 'IA' } });
      await c.copy(`copy-kept-${v4}`, src);
      const kept = (await c.head(`copy-kept-${v4}`)).res.headers;
      assert.equal(kept['cache-control'], HEADERS['Cache-Control']);
      assert.equal(kept['x-oss-storage-class'], 'Standard');
      assert.deepEqual((await c.getObjectTagging(`copy-kept-${v4}`)).tag, { k: 'v' });
      await c.copy(`copy-replaced-${v4}`, src, { headers: { 'x-oss-tagging-directive': 'Replace', 'x-oss-tagging': 'n=2', 'x-oss-storage-class': 'ColdArchive', 'Cache-Control': 'no-cache' } });
      const replaced = (await c.head(`copy-replaced-${v4}`)).res.headers;
      assert.equal(replaced['cache-control'], 'no-cache');
      assert.equal(replaced['content-disposition'], undefined, 'REPLACE drops the headers not given');
      assert.equal(replaced['x-oss-storage-class'], 'ColdArchive');
      assert.deepEqual((await c.getObjectTagging(`copy-replaced-${v4}`)).tag, { n: '2' });
    });

    it(`${v4 ? 'V4' : 'V1'}: a multipart upload keeps what InitiateMultipartUpload was sent`, async () => {
      const c = client();
      const key = `mp-${v4}`;
      const { uploadId } = await c.initMultipartUpload(key, { headers: { 'Content-Language': 'fr', 'x-oss-tagging': 'mp=yes', 'x-oss-storage-class': 'IA', 'x-oss-server-side-encryption': 'AES256' } });
      const part = await c.uploadPart(key, uploadId, 1, Buffer.alloc(200 * KiB, 1), 0, 200 * KiB);
      await c.completeMultipartUpload(key, uploadId, [{ number: 1, etag: part.etag }]);
      const head = (await c.head(key)).res.headers;
      assert.equal(head['content-language'], 'fr');
      assert.equal(head['x-oss-storage-class'], 'IA');
      assert.equal(head['x-oss-server-side-encryption'], 'AES256');
      assert.deepEqual((await c.getObjectTagging(key)).tag, { mp: 'yes' });
    });
  }
});

describe('oss provider: write options on put, createMultipart and copyObject; stat and getTags read them back', () => {
  let server: OssServer;
  let p: ObjectProvider;
  const env = { FERRY_CREDENTIALS_OSSF_ACCESS_KEY_ID: AK, FERRY_CREDENTIALS_OSSF_SECRET_ACCESS_KEY: SK };
  const opts: WriteOptions = {
    contentType: 'application/pdf',
    headers: { cacheControl: HEADERS['Cache-Control'], contentDisposition: HEADERS['Content-Disposition'], contentEncoding: 'gzip', contentLanguage: 'de-CH', expires: HEADERS.Expires },
    metadata: { owner: 'team-a', title: '=?UTF-8?B?5L2g5aW9?=' },
    tags: TAGS,
    storageClass: 'IA',
    encryption: { algorithm: 'kms', keyId: 'key-9' },
    acl: 'private',
  };
  before(async () => {
    server = await startOssServer({ accessKeyId: AK, secretAccessKey: SK });
    server.createBucket('prov');
    p = openOssProvider({ type: 'oss', endpoint: server.endpoint, region: 'cn-hangzhou', bucket: 'prov', credentials: 'ossf' }, { env });
  });
  after(async () => {
    await p?.close?.();
    await server?.stop();
  });

  const assertFields = async (key: string, want: WriteOptions) => {
    const st = await p.stat(key);
    assert.equal(st.contentType, want.contentType, key);
    assert.deepEqual(st.headers, want.headers, key);
    assert.deepEqual(st.metadata, want.metadata, key);
    assert.equal(st.storageClass, want.storageClass ?? 'Standard', key);
    assert.deepEqual(st.encryption, want.encryption, key);
    assert.deepEqual(await p.getTags!(key), want.tags ?? {}, key);
    assert.equal(server.inspect('prov', key)?.fields.acl, want.acl ?? 'default', key);
  };

  it('declares tags and write classes', () => {
    assert.equal(p.capabilities.tags, true);
    assert.equal(p.capabilities.writeClasses, true);
  });

  it('put (buffer and stream) writes every field', async () => {
    await p.put('single', Buffer.from('hello'), opts);
    await assertFields('single', opts);
    const { Readable } = await import('node:stream');
    await p.put('streamed', Readable.from([Buffer.from('hel'), Buffer.from('lo')]), { ...opts, size: 5 });
    await assertFields('streamed', opts);
  });

  it('createMultipart writes every field', async () => {
    const id = await p.createMultipart!('multi', opts);
    const part = await p.uploadPart!('multi', id, 1, Buffer.alloc(100 * KiB, 2), 100 * KiB);
    await p.completeMultipart!('multi', id, [part]);
    await assertFields('multi', opts);
  });

  it('copyObject: no fields keeps the source\'s (tags too); given fields replace them; class/SSE/ACL alone keep the rest', async () => {
    await p.copyObject!({ bucket: 'prov', key: 'single' }, 'copy-kept');
    await assertFields('copy-kept', { ...opts, storageClass: undefined, encryption: undefined, acl: undefined });
    const other: WriteOptions = { contentType: 'text/plain', headers: { cacheControl: 'no-store' }, metadata: { n: '1' }, tags: { t: '2' }, storageClass: 'Archive', encryption: { algorithm: 'AES256' } };
    await p.copyObject!({ bucket: 'prov', key: 'single' }, 'copy-replaced', other);
    await assertFields('copy-replaced', other);
    await p.copyObject!({ bucket: 'prov', key: 'single' }, 'copy-class', { storageClass: 'ColdArchive', acl: 'private' });
    await assertFields('copy-class', { ...opts, storageClass: 'ColdArchive', encryption: undefined, acl: 'private' });
    const copy = server.requests.filter((r) => r.op === 'CopyObject').at(-1)!;
    assert.ok(!Object.keys(copy.headers).some((h) => h.startsWith('x-oss-copy-source-x-oss')), 'no header sent twice under an x-oss-copy-source- name');
  });

  it('a header value a request cannot carry fails with InvalidMetadata before any request', async () => {
    const before = server.requests.length;
    await assert.rejects(p.put('bad', Buffer.from('x'), { headers: { contentDisposition: 'a\r\nX-Injected: 1' } }), { code: 'InvalidMetadata' });
    assert.equal(server.requests.length, before);
  });
});
