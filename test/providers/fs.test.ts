import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runConformance } from './conformance';
import { openFsProvider } from '../../activities/providers/fs';
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
