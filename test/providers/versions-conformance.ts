/**
 * Version conformance: what every provider with `capabilities.versions` must do on a bucket with versioning enabled
 * (storage/provider.ts listVersions, versionId on stat/get/delete, PutResult.versionId, versioning()). Run by
 * versions.test.ts against MinIO (both paths), versitygw, moto and the OSS protocol test server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectInfo, ObjectProvider } from '../../storage/provider';
import { NotFoundError } from '../../common/errors';
import { versionsOfKey } from '../../storage/versions';

export interface VersionConformanceTarget {
  name: string;
  /** A fresh bucket with versioning enabled. */
  versioned(): Promise<ObjectProvider>;
  /** A fresh bucket whose versioning was never set. */
  unversioned(): Promise<ObjectProvider>;
}

async function bytesOf(p: ObjectProvider, key: string, versionId?: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of (await p.get(key, { versionId })).body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function allVersions(p: ObjectProvider, limit: number, prefix?: string): Promise<{ pages: ObjectInfo[][]; all: ObjectInfo[] }> {
  const pages: ObjectInfo[][] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await p.listVersions!({ prefix, startAfter, limit });
    pages.push(page.versions);
    if (!page.next) return { pages, all: pages.flat() };
    assert.equal(page.next, page.versions[page.versions.length - 1]!.key, 'next is the last key listed');
    startAfter = page.next;
  }
}

const put = async (p: ObjectProvider, key: string, body: string) => (await p.put(key, Buffer.from(body), { size: body.length })).versionId!;

export function runVersionConformance(t: VersionConformanceTarget): void {
  describe(`versions: ${t.name}`, () => {
    it('reports its versioning status', async () => {
      assert.equal(await (await t.versioned()).versioning!(), 'Enabled');
      assert.equal(await (await t.unversioned()).versioning!(), 'Off');
    });

    it('writes versions with ids; stat and get read any of them; a plain delete adds a delete marker', async () => {
      const p = await t.versioned();
      assert.equal(p.capabilities.versions, true);
      const key = 'dir/é ü+%/v';
      const ids = [await put(p, key, 'one'), await put(p, key, 'two-2'), await put(p, key, 'three-33')];
      assert.equal(new Set(ids).size, 3, `three distinct version ids: ${ids.join(', ')}`);
      assert.equal((await p.stat(key)).versionId, ids[2]);
      assert.equal((await p.stat(key, { versionId: ids[0] })).size, 3);
      assert.equal(await bytesOf(p, key, ids[1]), 'two-2');
      assert.equal(await bytesOf(p, key), 'three-33');
      const marker = await p.delete!(key);
      assert.ok(marker && marker.versionId, 'the delete marker has a version id');
      await assert.rejects(p.stat(key), NotFoundError);
      assert.equal(await bytesOf(p, key, ids[2]), 'three-33', 'older versions stay readable');
      const listed = await versionsOfKey(p, key);
      assert.deepEqual(listed.map((v) => [v.versionId, !!v.deleteMarker, v.size]), [[ids[0], false, 3], [ids[1], false, 5], [ids[2], false, 8], [marker.versionId, true, 0]]);
      assert.deepEqual(listed.map((v) => v.isLatest), [false, false, false, true]);
      assert.ok(listed.every((v) => v.key === key && v.position === key));
    });

    it('removes one version by id, a delete marker included', async () => {
      const p = await t.versioned();
      const a = await put(p, 'k', 'a');
      const b = await put(p, 'k', 'bb');
      const m = (await p.delete!('k')) as { versionId: string };
      await p.delete!('k', { versionId: m.versionId });
      assert.equal(await bytesOf(p, 'k'), 'bb', 'removing the marker makes the newest version current again');
      await p.delete!('k', { versionId: b });
      assert.equal(await bytesOf(p, 'k'), 'a');
      assert.deepEqual((await versionsOfKey(p, 'k')).map((v) => v.versionId), [a]);
    });

    it('pages hold whole keys, newest first within a key, in key order', async () => {
      const p = await t.versioned();
      for (let i = 0; i < 5; i++) await put(p, 'pg/a', `a${i}`);
      await p.delete!('pg/a');
      for (let i = 0; i < 2; i++) await put(p, 'pg/b', `b${i}`);
      await put(p, 'pg/c', 'c');
      await put(p, 'other', 'x');
      const whole = await allVersions(p, 1000, 'pg/');
      assert.equal(whole.pages.length, 1);
      assert.deepEqual(whole.all.map((v) => v.key), ['pg/a', 'pg/a', 'pg/a', 'pg/a', 'pg/a', 'pg/a', 'pg/b', 'pg/b', 'pg/c']);
      assert.equal(whole.all[0]!.deleteMarker, true, 'the newest entry of pg/a is its delete marker');
      for (const limit of [1, 2, 3, 7]) {
        const paged = await allVersions(p, limit, 'pg/');
        assert.deepEqual(paged.all.map((v) => v.versionId), whole.all.map((v) => v.versionId), `limit ${limit}: the same versions in the same order`);
        const seen = new Set<string>();
        for (const page of paged.pages) {
          const keys = [...new Set(page.map((v) => v.key))];
          for (const k of keys) assert.ok(!seen.has(k), `limit ${limit}: ${k} is split across pages`);
          for (const k of keys) seen.add(k);
        }
      }
    });

    it('multipart completion and server-side copy answer with version ids', async () => {
      const p = await t.versioned();
      const src = await put(p, 'src', 'copy me');
      const copied = await p.copyObject!({ bucket: p.bucket, key: 'src' }, 'dst');
      assert.ok(copied.versionId && copied.versionId !== src);
      const uploadId = await p.createMultipart!('mp');
      const part = await p.uploadPart!('mp', uploadId, 1, Buffer.from('part one'), 8);
      const done = await p.completeMultipart!('mp', uploadId, [part]);
      assert.ok(done.versionId);
      assert.equal((await p.stat('mp')).versionId, done.versionId);
    });
  });
}
