/**
 * A throwaway PostgreSQL cluster from the Debian `postgresql` package: `initdb` into a fresh data dir under a temp
 * dir, `postgres` on a free loopback port (Unix socket in the same temp dir, so it never touches a system cluster),
 * ready when `pg_isready` says so, stopped by pid. PostgreSQL refuses to run as root: as root every program runs
 * as the `postgres` system user (`setpriv`, which execs, so the recorded pid is the postmaster's own) and the temp
 * dir is chowned to it. Trust authentication on loopback only; tuned for tests (no fsync).
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnManaged, tempDir, waitUntil, type ManagedProcess } from './process';

const exec = promisify(execFile);

/** Where Debian puts the server binaries: `/usr/lib/postgresql/<major>/bin` (newest major), or FERRY_PG_BIN. */
export function postgresBinDir(): string | undefined {
  const env = process.env.FERRY_PG_BIN;
  if (env) return existsSync(join(env, 'initdb')) ? env : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0]!, 'bin') : undefined;
}

/** Why PostgreSQL cannot run here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBinDir()) return 'PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin (apt-get install postgresql, or set FERRY_PG_BIN)';
  if (process.getuid?.() === 0 && !postgresUser()) return 'running as root and there is no `postgres` system user to run PostgreSQL as';
  return undefined;
}

interface PgUser {
  uid: number;
  gid: number;
}

/** The `postgres` system user (from the passwd database), when running as root. */
function postgresUser(): PgUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PostgresTestServer {
  host: string;
  port: number;
  /** Superuser role created by initdb (trust authentication: any password is accepted). */
  user: string;
  password: string;
  dataDir: string;
  process: ManagedProcess;
  /** Runs SQL through `psql` (tuples only, unaligned) and returns its stdout, trimmed. */
  psql(database: string, sql: string): Promise<string>;
  /** Fast shutdown (SIGINT to the postmaster, by pid), then removes the data. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Name of the superuser role (default `temporal`). */
  user?: string;
  port?: number;
}

/** Starts a fresh cluster; resolves when it accepts connections. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresTestServer> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  const bin = postgresBinDir()!;
  const user = opts.user ?? 'temporal';
  const password = 'temporal';
  const port = opts.port ?? (await freePort());
  const host = '127.0.0.1';
  const root = tempDir('postgres');
  const dataDir = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  const pgUser = asRoot ? postgresUser()! : undefined;
  if (pgUser) chownSync(root, pgUser.uid, pgUser.gid);
  /** argv that runs `program` as the postgres user when we are root (setpriv execs: no extra process). */
  const as = (program: string, args: string[]): [string, string[]] =>
    pgUser ? ['setpriv', ['--reuid', String(pgUser.uid), '--regid', String(pgUser.gid), '--clear-groups', '--', program, ...args]] : [program, args];
  // Run from a directory the postgres user can read (root's cwd may not be).
  const run = (program: string, args: string[]) => {
    const [cmd, argv] = as(program, args);
    return exec(cmd, argv, { cwd: root, env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } });
  };

  try {
    await run(join(bin, 'initdb'), ['-D', dataDir, '-U', user, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`initdb failed: ${err.stderr ?? err.message}`);
  }
  const [cmd, argv] = as(join(bin, 'postgres'), [
    '-D', dataDir,
    '-p', String(port),
    '-c', `listen_addresses=${host}`,
    '-c', `unix_socket_directories=${root}`,
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    '-c', 'max_connections=200',
  ]);
  const proc = spawnManaged({ name: 'postgres', command: cmd, args: argv, cwd: root, env: { LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' }, ownedDirs: [root] });
  const isReady = join(bin, 'pg_isready');
  await waitUntil(proc, 'postgres', async () => {
    await exec(isReady, ['-q', '-h', host, '-p', String(port), '-U', user, '-d', 'postgres', '-t', '2']);
    return true;
  });
  const psqlBin = join(bin, 'psql');
  let stopped = false;
  return {
    host,
    port,
    user,
    password,
    dataDir,
    process: proc,
    async psql(database, sql) {
      const { stdout } = await exec(psqlBin, ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', database, '-c', sql]);
      return stdout.trim();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGTERM is PostgreSQL's "smart" shutdown (waits for every client to leave); SIGINT is the fast one.
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.stop();
        try {
          process.kill(proc.pid, 'SIGINT');
        } catch {
          /* gone */
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      }
      await proc.stop(); // SIGKILL if still there; removes the temp dir and the log
    },
  };
}
