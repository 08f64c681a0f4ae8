/**
 * The provisioned dev server starts, registers Ferry's search attributes, serves the Web UI, and keeps state across a
 * restart; the embedded server of standalone mode survives a lost port race at start-up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporal } from '../support/temporal';
import { freePort, tempDir, toolPath } from '../support/process';
import { startEmbeddedServer } from '../../client/embedded-server';
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

/**
 * A `temporal` that fails its first `fails` starts as the dev server does when a port it picked was taken
 * before it bound it (an error line, a Go panic, exit 2) — or with `other` instead — then runs the real one.
 */
function flakyTemporal(dir: string): string {
  const script = join(dir, 'temporal');
  writeFileSync(
    script,
    `#!/bin/sh
n=$(cat "$FLAKY_COUNT" 2>/dev/null || echo 0)
echo $((n + 1)) > "$FLAKY_COUNT"
if [ "$n" -lt "$FLAKY_FAILS" ]; then
  if [ -n "$FLAKY_OTHER" ]; then echo "Error: $FLAKY_OTHER" >&2; exit 1; fi
  echo 'time=2026-12-01T04:20:00Z level=ERROR msg="Failed to start gRPC listener" service=matching error="listen tcp 127.0.0.1:41233: bind: address already in use"'
  echo 'panic: runtime error: invalid memory address or nil pointer dereference'
  echo 'goroutine 1 [running]:'
  exit 2
fi
exec "$FLAKY_REAL" "$@"
`,
  );
  chmodSync(script, 0o755);
  return script;
}

test('embedded server: a start that loses a port race is tried again; other start-up failures are reported at once with their reason', async () => {
  const dir = tempDir('flaky-temporal');
  const count = join(dir, 'count');
  const env = (fails: number, other = '') => ({ ...process.env, FERRY_TEMPORAL_BIN: flakyTemporal(dir), FLAKY_REAL: toolPath('temporal'), FLAKY_COUNT: count, FLAKY_FAILS: String(fails), FLAKY_OTHER: other });
  const tries = () => Number(readFileSync(count, 'utf8'));
  try {
    const lines: string[] = [];
    const server = await startEmbeddedServer({ dataDir: join(dir, 'home'), port: await freePort(), uiPort: await freePort(), env: env(2), log: (l) => lines.push(l) });
    try {
      assert.equal(tries(), 3);
      assert.equal(lines.filter((l) => /lost a port to another program during start-up; starting it again/.test(l)).length, 2);
      const client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace });
      await client.connection.workflowService.describeNamespace({ namespace: server.namespace });
      await client.connection.close();
    } finally {
      await server.stop();
    }

    rmSync(count);
    await assert.rejects(startEmbeddedServer({ dataDir: join(dir, 'home'), env: env(3) }), (e: Error) => {
      assert.match(e.message, /exited during start-up \(2\): .*Failed to start gRPC listener.*bind: address already in use/);
      assert.match(e.message, /panic: runtime error/);
      return true;
    });
    assert.equal(tries(), 3, 'three tries, then the error');

    rmSync(count);
    await assert.rejects(startEmbeddedServer({ dataDir: join(dir, 'home'), env: env(1, 'sqlite: database disk image is malformed') }), /exited during start-up \(1\): Error: sqlite: database disk image is malformed/);
    assert.equal(tries(), 1, 'not a port race: no second try');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
