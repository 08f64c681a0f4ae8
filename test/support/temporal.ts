/**
 * A real Temporal dev server (`temporal server start-dev` from the provisioned CLI) on free loopback ports,
 * SQLite in a temp dir (or a given file, so restart tests reuse it), Ferry's search attributes registered.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { searchAttributeFlags } from '../../common/search-attributes';
import { freePort, httpOk, spawnManaged, startOnFreshPorts, type Spawned, tempDir, toolPath, waitUntil, type ManagedProcess } from './process';

export interface TemporalTestServer {
  address: string;
  namespace: string;
  port: number;
  /** Web UI port, or undefined when headless. */
  uiPort?: number;
  dbFile: string;
  process: ManagedProcess;
  /** A connected client (closed by `stop`). */
  client(): Promise<Client>;
  /** Stops the server (by pid). The SQLite file survives unless `removeData`. */
  stop(opts?: { removeData?: boolean }): Promise<void>;
  /** SIGKILLs the server (restart tests). */
  kill(): Promise<void>;
}

export interface TemporalServerOptions {
  /** Keep state across restarts: pass the same file again. */
  dbFile?: string;
  port?: number;
  ui?: boolean;
  /** Extra `--dynamic-config-value KEY=JSON` entries, e.g. `limit.historyCount.suggestContinueAsNew=200`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * Starts the dev server; resolves when its frontend answers a namespace describe (and the UI, if on). A port
 * found free can be taken before the server binds it (another server starting, an outgoing connection's
 * ephemeral port): a server that exits with "address already in use" is started again on fresh ports (3 tries)
 * unless the caller pinned the port.
 */
export function startTemporal(opts: TemporalServerOptions = {}): Promise<TemporalTestServer> {
  return opts.port !== undefined ? startTemporalOnce(opts, (p) => p) : startOnFreshPorts((spawned) => startTemporalOnce(opts, spawned));
}

async function startTemporalOnce(opts: TemporalServerOptions, spawned: Spawned): Promise<TemporalTestServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? await freePort() : undefined;
  const dataDir = opts.dbFile ? undefined : tempDir('temporal');
  const dbFile = opts.dbFile ?? join(dataDir!, 'temporal.db');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', dbFile, '--log-level', 'warn', ...searchAttributeFlags()];
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  for (const [k, v] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  const proc = spawned(spawnManaged({ name: 'temporal', command: toolPath('temporal'), args, ownedDirs: [] }));
  const address = `127.0.0.1:${port}`;
  const namespace = 'default';
  let connection: Connection | undefined;
  try {
    await waitUntil(proc, 'temporal dev server', async () => {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await c.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await c.close();
      }
    });
    if (uiPort) await waitUntil(proc, 'temporal web ui', () => httpOk(`http://127.0.0.1:${uiPort}/`));
  } catch (e) {
    if (dataDir && proc.child.exitCode !== null) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    address,
    namespace,
    port,
    uiPort,
    dbFile,
    process: proc,
    async client() {
      connection ??= await Connection.connect({ address });
      return new Client({ connection, namespace });
    },
    async stop({ removeData } = {}) {
      await connection?.close().catch(() => undefined);
      connection = undefined;
      await proc.stop();
      if (removeData !== false && dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      await connection?.close().catch(() => undefined);
      connection = undefined;
      await proc.kill();
    },
  };
}
