/**
 * The test servers' start helper: a server that exits because a port picked for it was taken meanwhile is started
 * again on fresh ports (3 tries); any other start-up failure is thrown at once. Real processes (`sh`) stand in for
 * the servers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnManaged, startOnFreshPorts, tempDir, waitUntil, type Spawned } from '../support/process';

/** A start that spawns `sh` printing `line` and exiting 1, as a server failing at start-up; records its owned dir. */
function failingStart(line: string, dirs: string[]) {
  return async (spawned: Spawned): Promise<string> => {
    const dir = tempDir('fresh-ports');
    dirs.push(dir);
    const proc = spawned(spawnManaged({ name: 'fake-server', command: 'sh', args: ['-c', `echo '${line}' >&2; exit 1`], ownedDirs: [dir] }));
    await waitUntil(proc, 'fake server', async () => false, 10_000);
    return 'up';
  };
}

test('startOnFreshPorts: a start that lost a port race is tried again; the failed try is stopped and its dirs removed', async () => {
  const dirs: string[] = [];
  const lines = ['listen tcp 127.0.0.1:41234: bind: address already in use', 'FATAL Unable to start the server: Specified port is already in use'];
  let calls = 0;
  const result = await startOnFreshPorts(async (spawned) => {
    const line = lines[calls++];
    return line ? failingStart(line, dirs)(spawned) : 'up';
  });
  assert.equal(result, 'up');
  assert.equal(calls, 3);
  assert.equal(dirs.length, 2);
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
});

test('startOnFreshPorts: gives up after 3 lost races, with the last error', async () => {
  const dirs: string[] = [];
  let calls = 0;
  await assert.rejects(
    startOnFreshPorts((spawned) => (calls++, failingStart('bind: address already in use', dirs)(spawned))),
    /fake server: process exited with 1[\s\S]*address already in use/,
  );
  assert.equal(calls, 3);
});

test('startOnFreshPorts: another start-up failure is thrown at once', async () => {
  const dirs: string[] = [];
  let calls = 0;
  await assert.rejects(
    startOnFreshPorts((spawned) => (calls++, failingStart('open /data: permission denied', dirs)(spawned))),
    /permission denied/,
  );
  assert.equal(calls, 1);
});
