import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from './conformance';
import { openFsProvider } from '../../storage/fs/fs';
import { tempDir } from '../support/process';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

runConformance({
  name: 'fs',
  async withObjects(objects) {
    const root = tempDir('fs-conf');
    roots.push(root);
    const p = openFsProvider({ type: 'fs', path: root });
    for (const o of objects) await p.put(o.key, o.body, { size: o.body.length });
    return p;
  },
  wrongCredentials: { reason: 'fs has no credentials (permissions are the OS user\'s)' },
  async missingBucket() {
    return openFsProvider({ type: 'fs', path: join(tempDir('fs-missing'), 'does-not-exist') });
  },
  refusedKeys: {
    'dir//double-slash.txt': 'empty path segment',
    'trailing-slash/': 'trailing "/"',
  },
});

// The provider caches sorted directory listings for paging; a file another writer adds must show in the very next
// listing (an incremental round or `ferry cutover` starting right after a round would otherwise miss it).
test('a listing right after another writer adds or removes files shows the change', async () => {
  const root = tempDir('fs-cache');
  roots.push(root);
  const p = openFsProvider({ type: 'fs', path: root });
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'a.txt'), 'a');
  writeFileSync(join(root, 'top.txt'), 'top');
  const keys = async () => (await p.list({ limit: 100 })).objects.map((o) => o.key);
  // Read the listings well after the directories' mtimes, so the cache would be trusted if nothing changed.
  await new Promise((r) => setTimeout(r, 2100));
  assert.deepEqual(await keys(), ['d/a.txt', 'top.txt']);
  writeFileSync(join(root, 'd', 'b.txt'), 'b');
  writeFileSync(join(root, 'new.txt'), 'new');
  assert.deepEqual(await keys(), ['d/a.txt', 'd/b.txt', 'new.txt', 'top.txt']);
  unlinkSync(join(root, 'top.txt'));
  assert.deepEqual(await keys(), ['d/a.txt', 'd/b.txt', 'new.txt']);
});

// Listings stat files 64 at a time: pages must still hold exactly `limit` keys in order, across directories.
test('pages of a tree larger than one stat batch hold every file once, in key order, with its size', async () => {
  const root = tempDir('fs-pages');
  roots.push(root);
  const want: { key: string; size: number }[] = [];
  for (const dir of ['', 'a/', 'a/b/', 'c/']) {
    if (dir) mkdirSync(join(root, dir), { recursive: true });
    for (let i = 0; i < 90; i++) {
      const key = `${dir}f${String(i).padStart(3, '0')}`;
      writeFileSync(join(root, key), Buffer.alloc(i));
      want.push({ key, size: i });
    }
  }
  const p = openFsProvider({ type: 'fs', path: root });
  for (const limit of [1, 63, 64, 65, 70, 1000]) {
    const got: { key: string; size: number }[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await p.list({ limit, startAfter });
      if (page.next) assert.equal(page.objects.length, limit, `a page of ${limit} not at the end`);
      got.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
      if (!page.next) break;
      startAfter = page.next;
    }
    assert.deepEqual(got, [...want].sort((x, y) => (x.key < y.key ? -1 : 1)), `limit ${limit}`);
  }
});
