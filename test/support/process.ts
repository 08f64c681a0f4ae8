/**
 * Shared plumbing for test servers: free loopback ports, spawning with a recorded pid, health-check waits
 * (never fixed sleeps), and stop-by-pid. Every server helper (temporal, minio, versitygw, toxiproxy) uses it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';

/** Where `npm run setup` caches tool binaries. */
export const TOOLS_DIR = process.env.FERRY_TOOLS_DIR ?? join(homedir(), '.cache', 'ferry', 'tools');

/** Tool versions provisioned by scripts/setup.sh (keep in sync). */
export const TOOL_VERSIONS = {
  temporal: 'v1.5.1',
  minio: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  versitygw: 'v1.7.0',
  'toxiproxy-server': 'v2.12.0',
  rclone: 'v1.75.0',
  'temporal-server': 'v1.29.1',
  'temporal-sql-tool': 'v1.29.1',
} as const;

/** moto's version (scripts/setup.sh installs it from PyPI into a virtualenv under the tools cache). */
export const MOTO_VERSION = '5.2.6';

/** moto_server of the tools cache; throws with the fix when it has not been installed. */
export function motoServerPath(): string {
  const dir = join(TOOLS_DIR, `moto-${MOTO_VERSION}`);
  if (!existsSync(join(dir, '.installed'))) throw new Error(`moto ${MOTO_VERSION} is not provisioned at ${dir}: run \`npm run setup\``);
  return join(dir, 'bin', 'moto_server');
}

/** Absolute path of a provisioned tool; throws with the fix when it has not been built. */
export function toolPath(name: keyof typeof TOOL_VERSIONS): string {
  const p = join(TOOLS_DIR, `${name}-${TOOL_VERSIONS[name]}`, name);
  if (!existsSync(p)) throw new Error(`${name} ${TOOL_VERSIONS[name]} is not provisioned at ${p}: run \`npm run setup\``);
  return p;
}

/** Binds `port` on 127.0.0.1 (0 = any), reads the port, closes. */
function probePort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1 (bind to 0, read, close). With `range`, a free port within [min, max] (random
 * tries) — for servers that cannot store ephemeral ports, e.g. Temporal's SQL `cluster_membership.rpc_port` SMALLINT.
 */
export async function freePort(range?: { min: number; max: number }): Promise<number> {
  if (!range) return probePort(0);
  for (let i = 0; i < 200; i++) {
    const candidate = range.min + Math.floor(Math.random() * (range.max - range.min + 1));
    const port = await probePort(candidate).catch(() => undefined);
    if (port) return port;
  }
  throw new Error(`no free port in ${range.min}-${range.max}`);
}

/** A fresh temp directory (removed by {@link ManagedProcess.stop} when passed as `ownedDirs`). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ferry-${prefix}-`));
}

export interface ManagedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Path of the combined stdout/stderr log. */
  readonly logFile: string;
  /** SIGTERM by pid, SIGKILL after `graceMs`; removes owned directories. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL by pid, no cleanup of directories (crash tests). */
  kill(): Promise<void>;
  /** Last lines of the log, for error messages. */
  tail(lines?: number): string;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directories removed on stop. */
  ownedDirs?: string[];
}

const live = new Set<ManagedProcess>();
process.once('exit', () => {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Spawns a server process with output to a log file in a temp dir; tracks it by pid. */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  const logDir = tempDir(`${opts.name}-log`);
  const logFile = join(logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd, fd],
    detached: false,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`failed to start ${opts.name} (${opts.command})`);
  const pid = child.pid;
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const cleanup = () => {
    for (const d of [...(opts.ownedDirs ?? []), logDir]) rmSync(d, { recursive: true, force: true });
  };
  const proc: ManagedProcess = {
    pid,
    child,
    logFile,
    async stop(graceMs = 5000) {
      live.delete(proc);
      if (!exited) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, graceMs);
        await exitPromise;
        clearTimeout(t);
      }
      cleanup();
    },
    async kill() {
      live.delete(proc);
      if (!exited) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await exitPromise;
      }
    },
    tail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  live.add(proc);
  child.once('exit', () => live.delete(proc));
  return proc;
}

/**
 * Polls `check` until it returns true; fails with the process log when the process exits or `timeoutMs` passes
 * (on the monotonic clock: in clean-clone CI a dev server was reported "not healthy after 60000 ms" 16 s into its
 * test, so the wall clock had been stepped forward).
 */
export async function waitUntil(proc: ManagedProcess | undefined, what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${what}: process exited with ${proc.child.exitCode}\n${proc.tail()}`);
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    if (performance.now() > deadline) throw new Error(`${what}: not healthy after ${timeoutMs} ms\n${proc?.tail() ?? ''}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/** A server's log saying a port it was given is taken: Go's bind error, or MinIO's own wording. */
const PORT_TAKEN = /address already in use|port is already in use/i;

/** Hands a start's spawned server to {@link startOnFreshPorts} (and returns it). */
export type Spawned = (proc: ManagedProcess) => ManagedProcess;

/**
 * Runs `start` — pick free ports, spawn the server (passing it to `spawned`), wait until it answers — up to 3
 * times. A port found free can be taken before the server binds it (another server starting at the same time,
 * an outgoing connection's ephemeral port): a start whose server exited with a port-taken error in its log is
 * tried again on fresh ports, after stopping what it left (owned directories included). Other failures throw at once.
 */
export async function startOnFreshPorts<T>(start: (spawned: Spawned) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let proc: ManagedProcess | undefined;
    try {
      return await start((p) => (proc = p));
    } catch (e) {
      const taken = proc !== undefined && proc.child.exitCode !== null && PORT_TAKEN.test(readFileSync(proc.logFile, 'utf8'));
      if (!taken || attempt >= 3) throw e;
      await proc!.stop();
    }
  }
}

/** True when GET `url` answers with `status` (default 200). */
export async function httpOk(url: string, status = 200): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === status;
}
