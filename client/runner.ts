/**
 * Shared machinery of the commands: which Temporal to talk to (flags/env, else the embedded server of the
 * data directory), following a job with a live progress display, and the `ferry run` flow (embedded server →
 * in-process worker → start or attach → progress → summary → exit code; Ctrl-C detaches).
 */
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { jobWorkflowId, type JobSpec } from '../common/job';
import type { JobProgress, JobResult } from '../common/progress';
import { childSignal } from '../common/signals';
import { connect, connectionSettings, type Connected, type ConnectionSettings } from './connection';
import { ensureEmbeddedServer, ferryHome, findRunningServer, hasDatabase, startEmbeddedServer, type EmbeddedServer } from './embedded-server';
import { ExitCode, JobStateError } from './errors';
import { info, progressSink, type Io } from './io';
import { queryProgress, runInput, specDifferences, startOrAttach, waitForOutcome, type Outcome } from './jobs';
import { exitCodeForResult, renderProgressLine, renderProgressPlain, renderQuirks, renderSummary, summaryJson } from './render';
import { describeQuirks } from '../activities/quirks-probe';
import type { InProcessWorker } from './in-process-worker';
import type { CliOptions } from './cli';
import { mark } from './timing';

/**
 * How a command finds Temporal when no address is configured:
 * - `run`: start (or reuse) the embedded server;
 * - `operate`: reuse a running embedded server; if none runs but standalone mode left a database, start it
 *   for the duration of the command (so `ferry status`/`report` work after `ferry run` ended);
 * - `connect`: reuse a running embedded server, else the default address (start, worker).
 */
export type ServerMode = 'run' | 'operate' | 'connect';

export interface Session extends Connected {
  /** The embedded server in use, if any. */
  embedded?: EmbeddedServer;
  dataDir: string;
  /**
   * Aborted by {@link Session.end} before the connection closes: long polls (a job's result) must run under
   * it, or a call pending when the server goes away retries on a closed channel and crashes the process.
   */
  signal: AbortSignal;
  /** Closes the client and stops an embedded server this command started (unless --keep-server). */
  end(): Promise<void>;
}

/** Resolves where Temporal is and connects. */
export async function openSession(opts: CliOptions, io: Io, mode: ServerMode): Promise<Session> {
  const say = info(io, opts.json);
  const dataDir = ferryHome(opts.dataDir, io.env);
  let settings: ConnectionSettings = connectionSettings(opts, io.env);
  let embedded: EmbeddedServer | undefined;
  if (!settings.explicit) {
    if (mode === 'run') embedded = await ensureEmbeddedServer({ dataDir, port: opts.port, uiPort: opts.uiPort, env: io.env, log: say });
    else {
      embedded = await findRunningServer(dataDir);
      if (!embedded && mode === 'operate' && hasDatabase(dataDir)) {
        embedded = await startEmbeddedServer({ dataDir, port: opts.port, uiPort: opts.uiPort, env: io.env, log: say });
      }
    }
    if (embedded) settings = { ...settings, address: embedded.address, namespace: embedded.namespace };
  }
  let conn: Connected;
  try {
    conn = await connect(settings);
  } catch (e) {
    if (embedded && !embedded.reused && !opts.keepServer) await embedded.stop();
    throw e;
  }
  const abort = new AbortController();
  return {
    ...conn,
    embedded,
    dataDir,
    signal: abort.signal,
    async end() {
      abort.abort();
      await new Promise((r) => setImmediate(r));
      await conn.close();
      if (embedded && !embedded.reused) {
        if (opts.keepServer) say(`The embedded Temporal server keeps running (pid ${embedded.pid}) — Web UI ${embedded.uiUrl}; stop it with \`ferry server --stop\``);
        else await embedded.stop();
      }
    },
  };
}

/** Runs `fn` with a session and always ends it. */
export async function withSession<T>(opts: CliOptions, io: Io, mode: ServerMode, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await openSession(opts, io, mode);
  try {
    return await fn(s);
  } finally {
    await s.end();
  }
}

/** Why following stopped. */
export type FollowEnd =
  | { kind: 'done'; outcome: Outcome }
  | { kind: 'interrupted'; signal: 'SIGINT' | 'SIGTERM' }
  /** The in-process worker crashed, or waiting for the result failed. */
  | { kind: 'error'; error: unknown };

export interface FollowOptions {
  json?: boolean;
  /** Refresh interval, ms (default 1 s on a terminal, 10 s otherwise). */
  intervalMs?: number;
  /** Settles when the in-process worker stops on its own (a crash). */
  worker?: Promise<void>;
  /** Called once on the first SIGINT/SIGTERM, before following returns. */
  onInterrupt?: (signal: 'SIGINT' | 'SIGTERM') => void;
  /** Cancels the pending calls (the session's signal). */
  signal?: AbortSignal;
}

/**
 * Shows live progress until the job ends (or a signal / worker crash). TTY: one redrawn line; otherwise plain
 * lines every interval. Progress comes from the `progress` query; a tick with no answer keeps the last state.
 */
export async function followJob(client: Client, handle: WorkflowHandle, io: Io, opts: FollowOptions = {}): Promise<FollowEnd> {
  const sink = progressSink(io, opts.json);
  const tty = sink.isTTY;
  const intervalMs = opts.intervalMs ?? (tty ? 1000 : 10_000);
  let drawn = false;
  const clear = () => {
    if (tty && drawn) sink.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (p: JobProgress) => {
    if (tty) {
      sink.write(`\r\x1b[2K${renderProgressLine(p, io.columns())}`);
      drawn = true;
    } else if (!opts.json) sink.line(renderProgressPlain(p, io.now()));
  };

  let stopSignal: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const signalled = new Promise<FollowEnd>((resolve) => {
    stopSignal = (signal) => resolve({ kind: 'interrupted', signal });
  });
  const unsubscribe = io.onSignal((signal) => {
    opts.onInterrupt?.(signal);
    stopSignal?.(signal);
  });
  // The result long poll runs under our own signal too, so it is cancelled when following stops for another reason.
  const polls = childSignal(opts.signal);
  const say = info(io, opts.json);
  const done: Promise<FollowEnd> = waitForOutcome(handle, {
    signal: polls.signal,
    onOutage: () => {
      clear();
      say('The Temporal server is unreachable; waiting for it (the job keeps its state there) …');
    },
  }).then(
    (outcome) => ({ kind: 'done', outcome }),
    (error) => {
      if (polls.signal.aborted) return new Promise<FollowEnd>(() => undefined);
      throw error;
    },
  );
  const crashed: Promise<FollowEnd> = opts.worker ? opts.worker.then(
    () => new Promise<FollowEnd>(() => undefined), // a clean stop is only ever ours (after a signal or the end)
    (error) => ({ kind: 'error', error }),
  ) : new Promise<FollowEnd>(() => undefined);

  let end: FollowEnd | undefined;
  const finished = Promise.race([done, signalled, crashed]).then(
    (e) => (end = e),
    (error: unknown) => (end = { kind: 'error', error }),
  );
  try {
    let lastPlain = 0;
    while (!end) {
      // A signal per poll: the client leaves a listener on it for each call (see common/signals.ts).
      const poll = childSignal(polls.signal);
      const p = await client.withAbortSignal(poll.signal, () => queryProgress(client, handle, Math.min(5000, intervalMs))).catch(() => undefined);
      poll.release();
      if (end) break;
      if (p) {
        if (tty || io.now() - lastPlain >= intervalMs - 50) {
          draw(p);
          lastPlain = io.now();
        }
      }
      await Promise.race([finished, new Promise((r) => setTimeout(r, intervalMs).unref())]);
    }
    return end;
  } finally {
    polls.abort();
    polls.release();
    clear();
    unsubscribe();
  }
}

/** Prints how a finished job ended and returns the exit code. */
export function reportOutcome(outcome: Outcome, io: Io, json: boolean | undefined): number {
  if (outcome.result) {
    const r: JobResult = outcome.result;
    if (json) io.out(JSON.stringify(summaryJson(r), null, 2));
    else io.out(renderSummary(r));
    return exitCodeForResult(r);
  }
  throw outcome.error ?? new JobStateError('the job ended without a result');
}

export interface RunHow {
  /** Attach when `ferry-<name>` is already running (`ferry run`); otherwise that is an error. */
  allowAttach: boolean;
  /** Verb for messages: "run", "verify", "incremental run", "retry". */
  verb: string;
  /** How to come back after Ctrl-C. */
  resumeHint: string;
}

/** Where reports go for an in-process worker. */
export function reportDirFor(opts: CliOptions, io: Io, dataDir: string): string {
  return opts.reportDir ?? (io.env.FERRY_REPORT_DIR || join(dataDir, 'reports'));
}

/**
 * `ferry run` and friends: connect (embedded server unless an address is given), start an in-process worker
 * (unless --no-worker), start the job or attach to the running one, follow it, print the summary.
 * With --detach: start (or find) the run and return at once.
 */
/** The in-process worker of `ferry run`-like commands, with the command's credentials and report directory. */
export async function startSessionWorker(session: Session, opts: CliOptions, io: Io): Promise<InProcessWorker> {
  // Loaded here, not at the top: the SDK's worker module takes about half a second to load, and commands that run
  // no worker (status, --no-worker, --detach) should not pay for it.
  const { startInProcessWorker } = await import('./in-process-worker');
  return startInProcessWorker(session.settings, session.client, {
    credentialsFile: opts.credentials ?? (io.env.FERRY_CREDENTIALS_FILE || undefined),
    reportDir: reportDirFor(opts, io, session.dataDir),
    maxActivities: opts.maxActivities,
    // Ctrl-C should detach promptly: in-flight batches get this long, then are cancelled and save their cursor.
    shutdownGraceTime: '5s',
  });
}

/** The preset and overrides of each s3/oss side (preflight on the worker probes the store and says where it differs). */
function sayQuirks(spec: JobSpec, say: (line: string) => void): void {
  for (const side of ['source', 'destination'] as const) {
    const q = describeQuirks(spec[side]);
    if (q) say(`  ${renderQuirks(side, q)}`);
  }
}

export async function runJobHere(job: JobSpec | ((s: Session) => Promise<JobSpec>), opts: CliOptions, io: Io, how: RunHow): Promise<number> {
  const say = info(io, opts.json);
  const resolveSpec = typeof job === 'function' ? job : async () => job;
  if (opts.detach) {
    return withSession(opts, io, 'connect', async (s) => {
      const spec = await resolveSpec(s);
      const workflowId = jobWorkflowId(spec.name);
      const { started, runId } = await startOrAttach(s.client, spec, s.settings.taskQueue);
      if (!started && !how.allowAttach) throw new JobStateError(`job ${spec.name} is already running (workflow ${workflowId}): wait for it (\`ferry watch ${spec.name}\`) before a new ${how.verb}`);
      if (opts.json) io.out(JSON.stringify({ workflowId, runId, started, address: s.settings.address, namespace: s.settings.namespace }, null, 2));
      else say(`${started ? 'Started' : 'Already running:'} ${workflowId} (run ${runId}) on ${s.settings.address}, namespace ${s.settings.namespace}, task queue ${s.settings.taskQueue}`);
      return ExitCode.ok;
    });
  }

  // Until following starts, a Ctrl-C is remembered and acted on between steps (server start, worker creation).
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  let offEarly: (() => void) | undefined = io.onSignal((signal) => {
    if (!interrupted) io.err(`\n${signal}: stopping…`);
    interrupted ??= signal;
  });
  let session: Session;
  try {
    mark('command parsed');
    session = await openSession(opts, io, 'run');
    mark('connected');
  } catch (e) {
    offEarly();
    throw e;
  }
  let starting: Promise<InProcessWorker> | undefined;
  let worker: InProcessWorker | undefined;
  let forceHandler: (() => void) | undefined;
  try {
    if (interrupted) {
      io.err('Interrupted before the job was started; nothing changed.');
      return ExitCode.interrupted;
    }
    const spec = await resolveSpec(session);
    const workflowId = jobWorkflowId(spec.name);
    if (session.embedded) say(`Web UI: ${session.embedded.uiUrl}/namespaces/${session.settings.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    // The worker is created (~0.5 s: the SDK, the workflow bundle) while the job starts; a job that cannot start
    // stops it again in `finally`.
    starting = opts.noWorker ? undefined : startSessionWorker(session, opts, io);
    starting?.catch(() => undefined); // awaited below, or in `finally` when the command ends before that
    // Is it already running? Attaching must not start a second run, and must say so when settings differ.
    const { handle, started, runId } = await startOrAttach(session.client, spec, session.settings.taskQueue);
    mark('workflow started');
    if (!started) {
      if (!how.allowAttach) throw new JobStateError(`job ${spec.name} is already running (workflow ${workflowId}): wait for it (\`ferry watch ${spec.name}\`) before a new ${how.verb}`);
      const running = await runInput(session.client, workflowId, runId).catch(() => undefined);
      if (running && running.spec.mode !== spec.mode) {
        throw new JobStateError(`job ${spec.name} is running in mode ${running.spec.mode} (workflow ${workflowId}): wait for it (\`ferry watch ${spec.name}\`) before a ${how.verb}`);
      }
      const diff = running ? specDifferences(running.spec, spec) : [];
      say(`Attached to the running job ${workflowId} (run ${runId}): it continues where it is.`);
      if (diff.length) say(`Note: the running job was started with other settings (${diff.slice(0, 5).join(', ')}${diff.length > 5 ? ', …' : ''}); its own settings apply. Change limits live with \`ferry throttle ${spec.name}\`.`);
    } else {
      say(`Started ${how.verb} ${workflowId} (run ${runId}).`);
      sayQuirks(spec, say);
    }

    worker = await starting;
    mark('worker running');
    const w = worker;
    offEarly();
    offEarly = undefined;
    const end: FollowEnd = interrupted ? { kind: 'interrupted', signal: interrupted } : await followJob(session.client, handle, io, {
      signal: session.signal,
      json: opts.json,
      intervalMs: opts.interval,
      worker: w?.running,
      onInterrupt: (signal) => {
        interrupted = signal;
        io.err(`\nDetaching from ${workflowId}: stopping the worker; in-flight batches save their position (Ctrl-C again to quit at once)…`);
        forceHandler = io.onSignal(() => {
          io.err('Quitting now; the job keeps its state in Temporal.');
          process.exit(ExitCode.interrupted);
        });
        void w?.shutdown();
      },
    });
    mark('outcome received');
    if (end.kind === 'error') throw end.error;
    if (end.kind === 'interrupted') {
      await worker?.shutdown();
      const hint = `Job ${workflowId} keeps its state in Temporal${opts.noWorker ? ' and keeps running on the other workers' : ''}. ${how.resumeHint}`;
      if (opts.json) io.out(JSON.stringify({ name: spec.name, workflowId, status: 'detached', hint }, null, 2));
      else io.out(hint);
      return ExitCode.interrupted;
    }
    return reportOutcome(end.outcome, io, opts.json);
  } finally {
    offEarly?.();
    await (worker ?? (await starting?.catch(() => undefined)))?.shutdown();
    mark('worker stopped');
    forceHandler?.();
    await session.end();
    mark('session closed');
    if (interrupted && session.embedded && !session.embedded.reused && !opts.keepServer) say(`Stopped the embedded Temporal server (its database keeps the job: ${session.embedded.dbFile}).`);
  }
}
