/**
 * The embedded Temporal dev server of standalone mode (`ferry run` without an address, `ferry server`):
 * `temporal server start-dev` from the provisioned CLI, SQLite under the data directory (`~/.ferry` by
 * default; `--data-dir` / `FERRY_HOME`), the Web UI on a local port, Ferry's search attributes registered on
 * every start (the database persists, the registration must be repeated).
 *
 * A state file (`<data-dir>/server.json`: pid, ports, database) lets later commands reuse a running server
 * instead of starting a second one on the same database; after a stop it keeps the ports (pid 0) as the
 * defaults for the next start. Servers are started in their own process group, so
 * a Ctrl-C in the terminal reaches Ferry (which detaches cleanly) and not the server, and are stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { searchAttributeFlags } from '../common/search-attributes';
import { errorMessage } from '../common/errors';
import { retry } from '../common/retry';
import { connect, DEFAULT_NAMESPACE } from './connection';
import { ServerUnreachableError, ToolMissingError, UsageError } from './errors';

/** The temporal CLI release Ferry provisions (scripts/setup.sh). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const DEFAULT_SERVER_PORT = 7233;

/**
 * The `temporal` binary: `FERRY_TEMPORAL_BIN`, else the provisioned one under
 * `${FERRY_TOOLS_DIR:-~/.cache/ferry/tools}/temporal-v1.5.1/temporal`, else `temporal` on PATH.
 */
export function resolveTemporalBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_TEMPORAL_BIN) {
    if (!isExecutable(env.FERRY_TEMPORAL_BIN)) throw new ToolMissingError(`FERRY_TEMPORAL_BIN=${env.FERRY_TEMPORAL_BIN} is not an executable file`);
    return env.FERRY_TEMPORAL_BIN;
  }
  const toolsDir = env.FERRY_TOOLS_DIR || join(env.HOME || homedir(), '.cache', 'ferry', 'tools');
  const provisioned = join(toolsDir, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
  if (isExecutable(provisioned)) return provisioned;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'temporal');
    if (isExecutable(p)) return p;
  }
  throw new ToolMissingError(
    `the temporal CLI was not found (looked at FERRY_TEMPORAL_BIN, ${provisioned} and PATH): run \`npm run setup\`, set FERRY_TEMPORAL_BIN, or use an existing Temporal server with --address`,
  );
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Ferry's data directory: `--data-dir`, else `FERRY_HOME`, else `~/.ferry`. */
export function ferryHome(dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(dataDir ?? (env.FERRY_HOME || join(env.HOME || homedir(), '.ferry')));
}

/** What `<data-dir>/server.json` records about a running embedded server. */
export interface ServerState {
  pid: number;
  ip: string;
  port: number;
  uiPort: number;
  dbFile: string;
  namespace: string;
  logFile: string;
  startedAt: string;
}

export const stateFile = (dataDir: string) => join(dataDir, 'server.json');

export function readServerState(dataDir: string): ServerState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as ServerState;
    return Number.isInteger(s.pid) && Number.isInteger(s.port) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and (where /proc tells) a `temporal server start-dev` process — never a recycled pid. */
export function isServerProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('start-dev');
  } catch {
    return true; // no /proc (macOS): trust the signal check
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when nothing listens on ip:port. */
export function isPortFree(port: number, ip = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, ip, () => srv.close(() => res(true)));
  });
}

async function healthy(address: string, namespace: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const c = await connect({ address, namespace, taskQueue: '', explicit: true }, timeoutMs);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

async function uiUp(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends SIGTERM to `pid`, then SIGKILL after `graceMs`; resolves when it is gone. Only ever one pid.
 */
export async function stopPid(pid: number, graceMs = 10_000, child?: ChildProcess): Promise<void> {
  const exited = child && child.exitCode === null && child.signalCode === null ? new Promise<void>((r) => child.once('exit', () => r())) : undefined;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  // Waits run on the monotonic clock: a wall clock stepped forward (NTP, a resumed VM) would cut them short.
  const deadline = performance.now() + graceMs;
  while (performance.now() < deadline) {
    if (exited ? child!.exitCode !== null || child!.signalCode !== null : !isAlive(pid)) return;
    await Promise.race([sleep(100), exited ?? sleep(100)]);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  if (exited) await exited;
}

export interface EmbeddedServer {
  address: string;
  namespace: string;
  uiUrl: string;
  pid: number;
  dbFile: string;
  logFile: string;
  /** True when an already running server (recorded in the state file) is used. */
  reused: boolean;
  /** The child process when this call started it. */
  child?: ChildProcess;
  /** Stops the server by pid and removes the state file. */
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  dataDir: string;
  /** Frontend port; default the running server's, else 7233. */
  port?: number;
  /** Web UI port; default port + 1000. */
  uiPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Progress messages (server started, reused, waiting). */
  log?: (line: string) => void;
  /** Health-check budget for a fresh start, ms. */
  startTimeoutMs?: number;
}

function describeServer(s: ServerState): EmbeddedServer {
  const address = `${s.ip}:${s.port}`;
  return {
    address,
    namespace: s.namespace,
    uiUrl: `http://${s.ip}:${s.uiPort}`,
    pid: s.pid,
    dbFile: s.dbFile,
    logFile: s.logFile,
    reused: true,
    stop: () => stopRecordedServer(s),
  };
}

/** Records that the server is stopped, keeping its ports as the default for the next start. */
function markStopped(dataDir: string, s: ServerState): void {
  writeFileSync(stateFile(dataDir), `${JSON.stringify({ ...s, pid: 0 }, null, 2)}\n`, { mode: 0o600 });
}

async function stopRecordedServer(s: ServerState, child?: ChildProcess, dataDir?: string): Promise<void> {
  if (child || isServerProcess(s.pid)) await stopPid(s.pid, 10_000, child);
  const dir = dataDir ?? join(s.dbFile, '..');
  const now = readServerState(dir);
  if (now && now.pid === s.pid) markStopped(dir, s);
}

/**
 * The embedded server recorded for `dataDir`, when its process is alive and answers (waiting up to
 * `waitMs` for one that is still starting). Removes a stale state file.
 */
export async function findRunningServer(dataDir: string, waitMs = 15_000): Promise<EmbeddedServer | undefined> {
  const s = readServerState(dataDir);
  if (!s || s.pid === 0) return undefined;
  if (!isServerProcess(s.pid)) {
    markStopped(dataDir, s);
    return undefined;
  }
  const deadline = performance.now() + waitMs;
  for (;;) {
    if (await healthy(`${s.ip}:${s.port}`, s.namespace)) return describeServer(s);
    if (!isServerProcess(s.pid)) {
      markStopped(dataDir, s);
      return undefined;
    }
    if (performance.now() > deadline) {
      throw new ServerUnreachableError(`the embedded Temporal server of ${dataDir} (pid ${s.pid}) runs but does not answer on ${s.ip}:${s.port}: stop it with \`ferry server --stop --data-dir ${dataDir}\` (log: ${s.logFile})`);
    }
    await sleep(250);
  }
}

/** Starts the embedded server, or reuses the one already running on this data directory. */
export async function ensureEmbeddedServer(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const log = opts.log ?? (() => undefined);
  const running = await findRunningServer(opts.dataDir);
  if (running) {
    const port = Number(running.address.split(':').pop());
    if (opts.port !== undefined && opts.port !== port) {
      throw new UsageError(`the embedded server of ${opts.dataDir} already runs on port ${port} (pid ${running.pid}); drop --port ${opts.port}, or stop it first with \`ferry server --stop\``);
    }
    log(`Using the embedded Temporal server (pid ${running.pid}) at ${running.address} — Web UI ${running.uiUrl}`);
    return running;
  }
  return startEmbeddedServer(opts);
}

/** How many times a start is tried when the server loses a port race (see startEmbeddedServer). */
const START_TRIES = 3;

/**
 * Starts a fresh embedded server (the caller checked that none runs for this data directory).
 *
 * The dev server binds ports of its own besides the frontend and UI ports given to it: one per internal
 * service, the HTTP API and metrics, each picked free a moment before it is bound. Another program can take
 * one in between (any outgoing connection gets an ephemeral port), and the server then exits during start-up
 * (`bind: address already in use`, exit 2). Such a start is tried again, up to 3 times on the same ports.
 */
export async function startEmbeddedServer(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  // At once, as before: each start picks its internal ports afresh, so waiting buys nothing.
  return retry(() => startEmbeddedServerOnce(opts), {
    attempts: START_TRIES,
    baseMs: 0,
    shouldRetry: (e) => e instanceof PortRaceError,
    onRetry: (_e, attempt) => opts.log?.(`The embedded Temporal server lost a port to another program during start-up; starting it again (${attempt + 1}/${START_TRIES})…`),
  });
}

/** The server exited during start-up because a port it had picked was taken before it bound it. */
class PortRaceError extends ServerUnreachableError {}

/** How the dev server's log says a port was taken. */
const PORT_TAKEN = /address already in use/;

async function startEmbeddedServerOnce(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const bin = resolveTemporalBinary(env);
  const ip = '127.0.0.1';
  // Ports: given, else the ones this data directory used last time (so `ferry status` finds `ferry run`'s server).
  const last = readServerState(opts.dataDir);
  const port = opts.port ?? last?.port ?? DEFAULT_SERVER_PORT;
  const uiPort = opts.uiPort ?? (opts.port === undefined && last ? last.uiPort : port + 1000);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  for (const [p, flag] of [[port, '--port'], [uiPort, '--ui-port']] as const) {
    if (await isPortFree(p, ip)) continue;
    const other = flag === '--port' && (await healthy(`${ip}:${p}`, DEFAULT_NAMESPACE));
    throw new ServerUnreachableError(
      other
        ? `port ${p} is used by a Temporal server that Ferry did not start: use it with --address ${ip}:${p}, or give the embedded server another port with ${flag} N`
        : `port ${p} on ${ip} is in use by another program: give the embedded server a free port with ${flag} N`,
    );
  }
  const dbFile = join(opts.dataDir, 'temporal.db');
  const logFile = join(opts.dataDir, 'temporal.log');
  const args = [
    'server', 'start-dev',
    '--ip', ip, '--port', String(port), '--ui-port', String(uiPort),
    '--db-filename', dbFile, '--namespace', DEFAULT_NAMESPACE,
    '--log-level', 'warn', '--log-format', 'pretty',
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
    // One partition per task queue: a single-host server gains nothing from more, and a task that lands on a
    // partition without a waiting poller waited ~2 s to be forwarded (half the one-object runs took 2 s longer).
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
    ...searchAttributeFlags(),
  ];
  const fd = openSync(logFile, 'a', 0o600);
  const logStart = fstatSync(fd).size;
  let child: ChildProcess;
  try {
    // Own process group: a terminal Ctrl-C reaches Ferry (which detaches cleanly), not the server.
    child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true, env });
  } finally {
    closeSync(fd);
  }
  const spawnError = new Promise<Error>((r) => child.once('error', r));
  if (child.pid === undefined) throw new ToolMissingError(`could not start ${bin}: ${errorMessage(await spawnError)}`);
  child.unref();
  const state: ServerState = { pid: child.pid, ip, port, uiPort, dbFile, namespace: DEFAULT_NAMESPACE, logFile, startedAt: new Date().toISOString() };
  writeFileSync(stateFile(opts.dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(stateFile(opts.dataDir), 0o600);
  log(`Starting the embedded Temporal server (pid ${child.pid}, database ${dbFile})…`);
  const server: EmbeddedServer = {
    address: `${ip}:${port}`,
    namespace: DEFAULT_NAMESPACE,
    uiUrl: `http://${ip}:${uiPort}`,
    pid: child.pid,
    dbFile,
    logFile,
    reused: false,
    child,
    stop: () => stopRecordedServer(state, child, opts.dataDir),
  };
  const deadline = performance.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      markStopped(opts.dataDir, state);
      const output = readLog(logFile, logStart);
      const reason = startupFailure(output);
      const Err = PORT_TAKEN.test(output) ? PortRaceError : ServerUnreachableError;
      throw new Err(`the embedded Temporal server exited during start-up (${child.exitCode ?? child.signalCode})${reason ? `: ${reason}` : ''}\nsee ${logFile}:\n${lastLines(output)}`);
    }
    if (await healthy(server.address, server.namespace, 1000)) break;
    if (performance.now() > deadline) {
      await server.stop();
      throw new ServerUnreachableError(`the embedded Temporal server did not answer within ${Math.round((opts.startTimeoutMs ?? 60_000) / 1000)} s: see ${logFile}`);
    }
    await sleep(200);
  }
  // The UI starts alongside the frontend; give it a moment so the printed URL works when clicked.
  for (let i = 0; i < 40 && !(await uiUp(server.uiUrl)); i++) await sleep(250);
  log(`Embedded Temporal server ready at ${server.address} — Web UI ${server.uiUrl}`);
  return server;
}

/** What the server wrote to its log from byte `from` on (this start's output; the log is appended to). */
function readLog(file: string, from: number): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

/** The line that says why a start failed: a port already in use, else a Go panic, else the first error logged. */
function startupFailure(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim());
  return lines.find((l) => PORT_TAKEN.test(l)) ?? lines.find((l) => l.startsWith('panic:')) ?? lines.find((l) => /\b(ERROR|FATAL|level=error)\b|^Error:|failed/i.test(l));
}

function lastLines(output: string, n = 15): string {
  return output.trimEnd().split('\n').slice(-n).join('\n');
}

/** `ferry server --stop`: stops the server recorded for `dataDir`. Returns its state, or undefined if none ran. */
export async function stopEmbeddedServer(dataDir: string): Promise<ServerState | undefined> {
  const s = readServerState(dataDir);
  if (!s || s.pid === 0) return undefined;
  if (!isServerProcess(s.pid)) {
    markStopped(dataDir, s);
    return undefined;
  }
  await stopRecordedServer(s, undefined, dataDir);
  return s;
}

/** Whether the data directory holds a database from earlier standalone runs. */
export function hasDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, 'temporal.db'));
}
