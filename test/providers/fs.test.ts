import { after } from 'node:test';
import { rmSync } from 'node:fs';
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
