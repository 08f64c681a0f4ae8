/**
 * The full Temporal server (`temporal-server` built from go.temporal.io/server/cmd/server, all four services in one
 * process) on a throwaway PostgreSQL: schemas installed with `temporal-sql-tool` (embedded postgres12 schemas),
 * a config dir shaped like the server repo's config/development-postgres12.yaml on free loopback ports, namespace
 * `default` created and Ferry's search attributes registered with the provisioned `temporal` CLI. Stopped (and
 * restarted, for durability tests) by pid; the state lives in PostgreSQL, so a restart loses nothing.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { Connection, Client } from '@temporalio/client';
import { FERRY_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { postgresUnavailable, startPostgres, type PostgresTestServer } from './postgres';
import { freePort, spawnManaged, tempDir, toolPath, waitUntil, type ManagedProcess } from './process';

const exec = promisify(execFile);

/** The databases Temporal needs and the embedded schema (`temporal-sql-tool --schema-name`) of each. */
export const TEMPORAL_DATABASES = [
  { database: 'temporal', schema: 'postgresql/v12/temporal' },
  { database: 'temporal_visibility', schema: 'postgresql/v12/visibility' },
] as const;

/** Why the full server cannot run here (a missing binary or PostgreSQL), or undefined when it can. */
export function fullServerUnavailable(): string | undefined {
  for (const tool of ['temporal', 'temporal-server', 'temporal-sql-tool'] as const) {
    try {
      toolPath(tool);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return postgresUnavailable();
}

export interface FullTemporalServer {
  /** Frontend gRPC address, `127.0.0.1:<port>`. */
  address: string;
  namespace: string;
  port: number;
  postgres: PostgresTestServer;
  /** The running temporal-server process (a new one after {@link restart}). */
  readonly process: ManagedProcess;
  /** The config dir (`--root`): config/development.yaml and config/dynamicconfig/. */
  root: string;
  /** A connected client (closed by `stop`/`restart`). */
  client(): Promise<Client>;
  /** Runs the provisioned `temporal` CLI against this server; resolves with its stdout (throws on exit ≠ 0). */
  temporal(...args: string[]): Promise<string>;
  /**
   * Stops temporal-server by pid (SIGTERM, or SIGKILL with `kill`), leaves it down for `downMs` (an outage), and
   * starts it again on the same ports and database; resolves when it serves again.
   */
  restart(opts?: { kill?: boolean; downMs?: number }): Promise<void>;
  /** Stops temporal-server, then PostgreSQL, by pid; removes every temp dir. */
  stop(): Promise<void>;
}

export interface FullTemporalOptions {
  /** Fixed at first start (cannot change later); small is fine for tests. */
  numHistoryShards?: number;
  /** Server log level (default warn). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * `count` distinct free loopback ports below 32768: the SQL schemas store membership ports in a SMALLINT
 * (`cluster_membership.rpc_port`), and Linux hands out ephemeral ports from 32768 up.
 */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort({ min: 20000, max: 32767 }));
  return [...ports];
}

async function run(what: string, cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`.trim());
  }
}

/** {@link waitUntil}, plus the check's last error in the message when it gives up. */
async function retry(proc: ManagedProcess | undefined, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let last: unknown;
  try {
    await waitUntil(proc, what, async () => {
      try {
        return await check();
      } catch (e) {
        last = e;
        throw e;
      }
    }, timeoutMs);
  } catch (e) {
    throw last ? new Error(`${(e as Error).message}\nlast error: ${(last as Error).message ?? String(last)}`) : e;
  }
}

/** Creates both databases and installs the latest embedded schema into each (what the auto-setup image does). */
export async function setupTemporalSchemas(pg: PostgresTestServer): Promise<void> {
  const sqlTool = toolPath('temporal-sql-tool');
  await Promise.all(
    TEMPORAL_DATABASES.map(async ({ database, schema }) => {
      const base = ['--plugin', 'postgres12', '--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user, '--password', pg.password, '--database', database];
      await run(`temporal-sql-tool create-database ${database}`, sqlTool, [...base, 'create-database']);
      await run(`temporal-sql-tool setup-schema ${database}`, sqlTool, [...base, 'setup-schema', '--version', '0.0']);
      await run(`temporal-sql-tool update-schema ${database}`, sqlTool, [...base, 'update-schema', '--schema-name', schema]);
    }),
  );
}

interface Ports {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** config/development.yaml, shaped like the server repo's config/development-postgres12.yaml (v1.29). */
function serverConfig(pg: PostgresTestServer, ports: Ports, numHistoryShards: number, logLevel: string): unknown {
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards,
      datastores: {
        'postgres-default': datastore('temporal', 20),
        'postgres-visibility': datastore('temporal_visibility', 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
    },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      matching: rpc(ports.matching, ports.matchingMembership),
      history: rpc(ports.history, ports.historyMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: 'config/dynamicconfig/development-sql.yaml', pollInterval: '10s' },
  };
}

/** Dynamic config: the repo's development-sql.yaml essentials plus the dev server's visibility RPS (Ferry lists jobs). */
function dynamicConfig(ports: Ports): unknown {
  const v = (value: unknown) => [{ value, constraints: {} }];
  return {
    'limit.maxIDLength': v(255),
    'frontend.enableExecuteMultiOperation': v(true),
    'frontend.enableUpdateWorkflowExecution': v(true),
    'frontend.namespaceRPS.visibility': v(100),
    'history.hostLevelCacheMaxSize': v(8192),
    'component.nexusoperations.callback.endpoint.template': v(`http://127.0.0.1:${ports.frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback`),
  };
}

/**
 * Starts PostgreSQL, installs the schemas, starts temporal-server, creates namespace `default` and registers
 * Ferry's search attributes; resolves when a visibility query on them is accepted.
 */
export async function startFullTemporal(opts: FullTemporalOptions = {}): Promise<FullTemporalServer> {
  const why = fullServerUnavailable();
  if (why) throw new Error(why);
  const serverBin = toolPath('temporal-server');
  const cliBin = toolPath('temporal');
  const namespace = 'default';
  const pg = await startPostgres();
  const root = tempDir('temporal-full');
  let proc: ManagedProcess | undefined;
  let connection: Connection | undefined;
  const closeClient = async () => {
    await connection?.close().catch(() => undefined);
    connection = undefined;
  };
  const cleanup = async () => {
    await closeClient();
    await proc?.stop(15_000);
    await pg.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await setupTemporalSchemas(pg);
    const p = await freePorts(9);
    const ports: Ports = {
      frontend: p[0]!,
      frontendHttp: p[1]!,
      frontendMembership: p[2]!,
      history: p[3]!,
      historyMembership: p[4]!,
      matching: p[5]!,
      matchingMembership: p[6]!,
      worker: p[7]!,
      workerMembership: p[8]!,
    };
    mkdirSync(join(root, 'config', 'dynamicconfig'), { recursive: true });
    writeFileSync(join(root, 'config', 'development.yaml'), toYaml(serverConfig(pg, ports, opts.numHistoryShards ?? 4, opts.logLevel ?? 'warn')));
    writeFileSync(join(root, 'config', 'dynamicconfig', 'development-sql.yaml'), toYaml(dynamicConfig(ports)));
    const address = `127.0.0.1:${ports.frontend}`;
    const temporal = (...args: string[]) => run(`temporal ${args.slice(0, 3).join(' ')}`, cliBin, [...args, '--address', address]);
    const health = () => run('temporal operator cluster health', cliBin, ['operator', 'cluster', 'health', '--address', address, '--client-connect-timeout', '3s', '--command-timeout', '5s'], 10_000);

    const startServer = async (): Promise<ManagedProcess> => {
      const sp = spawnManaged({
        name: 'temporal-server',
        command: serverBin,
        args: ['--root', root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
        cwd: root,
      });
      proc = sp;
      // The frontend's gRPC health service answers SERVING.
      await retry(sp, 'temporal-server frontend', async () => (await health()).includes('SERVING'), 90_000);
      return sp;
    };
    await startServer();

    // Namespace and search attributes: retried until the services (namespace registry) have caught up.
    await retry(proc, 'namespace default', async () => {
      try {
        await temporal('operator', 'namespace', 'create', '--namespace', namespace, '--retention', '24h');
      } catch (e) {
        if (!/already (exists|registered)/i.test((e as Error).message)) throw e;
      }
      return true;
    }, 60_000);
    const saFlags = FERRY_SEARCH_ATTRIBUTES.flatMap((a) => ['--name', a.name, '--type', 'Keyword']);
    await retry(proc, 'Ferry search attributes', async () => {
      try {
        await temporal('operator', 'search-attribute', 'create', '--namespace', namespace, ...saFlags);
      } catch (e) {
        if (!/already exists/i.test((e as Error).message)) throw e;
      }
      return true;
    }, 60_000);

    const client = async () => {
      connection ??= await Connection.connect({ address });
      return new Client({ connection, namespace });
    };
    // Ready when the frontend accepts a visibility query on Ferry's attributes (its namespace cache has them).
    const queryable = async () => {
      const c = await client();
      await c.workflow.count(FERRY_SEARCH_ATTRIBUTES.map((a) => `${a.name} = 'probe'`).join(' AND '));
      return true;
    };
    await retry(proc, 'Ferry search attributes queryable', queryable, 60_000);

    const server: FullTemporalServer = {
      address,
      namespace,
      port: ports.frontend,
      postgres: pg,
      get process() {
        return proc!;
      },
      root,
      client,
      temporal: (...args) => temporal(...args, '--namespace', namespace),
      async restart({ kill, downMs } = {}) {
        await closeClient();
        if (kill) await proc!.kill();
        await proc!.stop(15_000); // after a kill: only removes its log dir
        if (downMs) await new Promise((r) => setTimeout(r, downMs));
        await startServer();
        await retry(proc, 'temporal-server after restart', queryable, 60_000);
      },
      async stop() {
        await cleanup();
      },
    };
    return server;
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}
