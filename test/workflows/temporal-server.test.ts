/** The provisioned dev server starts, registers Ferry's search attributes, serves the Web UI, and keeps state across a restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { startTemporal } from '../support/temporal';
import { FERRY_SEARCH_ATTRIBUTES } from '../../common/search-attributes';

test('dev server: search attributes registered, Web UI served, state survives restart', async () => {
  const server = await startTemporal({ ui: true });
  try {
    const client = await server.client();
    const sa = await client.connection.operatorService.listSearchAttributes({ namespace: server.namespace });
    for (const a of FERRY_SEARCH_ATTRIBUTES) assert.ok(a.name in (sa.customAttributes ?? {}), `${a.name} registered`);
    const ui = await fetch(`http://127.0.0.1:${server.uiPort}/namespaces/default/workflows`);
    const html = await ui.text();
    assert.equal(ui.status, 200);
    assert.match(html, /<html/i);
    // Restart on the same SQLite file: namespace and search attributes persist and re-registration is accepted.
    const dbFile = server.dbFile;
    await server.stop({ removeData: false });
    const again = await startTemporal({ dbFile, port: server.port });
    try {
      const c2 = await again.client();
      const sa2 = await c2.connection.operatorService.listSearchAttributes({ namespace: again.namespace });
      assert.ok('FerryPhase' in (sa2.customAttributes ?? {}));
    } finally {
      await again.stop();
      rmSync(dirname(dbFile), { recursive: true, force: true });
    }
  } finally {
    await server.stop();
  }
});
