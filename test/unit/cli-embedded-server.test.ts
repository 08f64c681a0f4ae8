/** Embedded server plumbing that needs no server: finding the temporal binary, the data dir, the state file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferryHome, findRunningServer, readServerState, resolveTemporalBinary, stateFile, stopEmbeddedServer, TEMPORAL_CLI_VERSION } from '../../client/embedded-server';
import { ToolMissingError } from '../../client/errors';

function fakeBinary(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'temporal');
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

test('temporal binary: FERRY_TEMPORAL_BIN, then the provisioned tools dir, then PATH; else a clear error', () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-bin-'));
  try {
    const explicit = fakeBinary(join(root, 'explicit'));
    const tools = join(root, 'tools');
    const provisioned = fakeBinary(join(tools, `temporal-${TEMPORAL_CLI_VERSION}`));
    const onPath = fakeBinary(join(root, 'bin'));
    assert.equal(resolveTemporalBinary({ FERRY_TEMPORAL_BIN: explicit, FERRY_TOOLS_DIR: tools, PATH: join(root, 'bin') }), explicit);
    assert.equal(resolveTemporalBinary({ FERRY_TOOLS_DIR: tools, PATH: join(root, 'bin') }), provisioned);
    assert.equal(resolveTemporalBinary({ FERRY_TOOLS_DIR: join(root, 'none'), PATH: `/nonexistent:${join(root, 'bin')}` }), onPath);
    assert.equal(resolveTemporalBinary({ HOME: root, PATH: join(root, 'bin') }), onPath);
    assert.throws(() => resolveTemporalBinary({ FERRY_TEMPORAL_BIN: join(root, 'missing') }), (e) => e instanceof ToolMissingError && /FERRY_TEMPORAL_BIN=.* is not an executable/.test(e.message));
    assert.throws(
      () => resolveTemporalBinary({ FERRY_TOOLS_DIR: join(root, 'none'), PATH: '/nonexistent' }),
      (e) => e instanceof ToolMissingError && /temporal CLI was not found .*npm run setup.*--address/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('data dir: --data-dir, else FERRY_HOME, else ~/.ferry', () => {
  assert.equal(ferryHome('/srv/ferry', { FERRY_HOME: '/x' }), '/srv/ferry');
  assert.equal(ferryHome(undefined, { FERRY_HOME: '/x' }), '/x');
  assert.equal(ferryHome(undefined, { HOME: '/home/u' }), '/home/u/.ferry');
});

test('a stale state file (dead pid) is not reused, and its ports are kept as defaults', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-state-'));
  try {
    assert.equal(readServerState(dir), undefined);
    assert.equal(await findRunningServer(dir), undefined);
    // A pid that cannot be a running temporal server.
    writeFileSync(stateFile(dir), JSON.stringify({ pid: 2 ** 22 + 12345, ip: '127.0.0.1', port: 17999, uiPort: 18999, dbFile: join(dir, 'temporal.db'), namespace: 'default', logFile: join(dir, 'temporal.log'), startedAt: '' }));
    assert.equal(await findRunningServer(dir), undefined);
    const kept = readServerState(dir)!;
    assert.equal(kept.pid, 0);
    assert.equal(kept.port, 17999);
    assert.equal(await stopEmbeddedServer(dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
