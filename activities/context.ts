/**
 * What activities need from the worker (`createActivities(deps)`): where secrets and reports live, how to
 * reach the job workflow for live control, and a per-process pool of opened providers (connection reuse).
 *
 * The pool keeps a provider (its keep-alive connections, its SDK client) while activities use it and for
 * PROVIDER_IDLE_MS after the last one ended, then closes it: a worker that serves jobs for months, each with
 * its own bucket or prefix, does not keep every provider it ever opened.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EndpointConfig } from '../common/job';
import type { ObjectProvider } from '../storage/provider';
import { openProvider as openFromRegistry, type ProviderContext } from '../storage/registry';
import { Context } from '@temporalio/activity';
import { ControlHub, type ControlSource } from './control';
import { runGuarded } from './guard';
import { PlannedPages } from './range';
import { openListedProvider } from '../storage/inventory/open';
import type { LastRoundSource } from './rounds';

export interface ActivityDeps {
  providers?: ProviderContext;
  /** Local directory for reports and failure lists (default `$FERRY_REPORT_DIR` or `~/.ferry/reports`). */
  reportDir?: string;
  /** Live pause/limits source (the job's `control` query); none = limits from the input only. */
  control?: ControlSource;
  /** Opens providers (tests and benchmarks may wrap the registry). */
  openProvider?: (spec: EndpointConfig, ctx: ProviderContext) => ObjectProvider;
  /** Poll interval of the control query, ms (default 2000). */
  controlIntervalMs?: number;
  /** Start of a job's previous completed scheduled round (for `scheduledRound`); none = no scheduled rounds. */
  lastRound?: LastRoundSource;
  /** How long an unused provider stays open, ms (default PROVIDER_IDLE_MS). */
  providerIdleMs?: number;
  /** Planning's listed pages for the job's batches (default: one per worker; tests share theirs). */
  plannedPages?: PlannedPages;
}

/** An opened provider is closed this long after the last activity using it ended: 10 minutes. */
export const PROVIDER_IDLE_MS = 10 * 60_000;

/** What one activity execution sees: its providers stay open until the execution ends. */
export interface ActivityContext {
  deps: ActivityDeps;
  reportDir: string;
  hub: ControlHub;
  /** Pages planTasks listed, taken by the batches of the tasks it cut (so the source is listed once). */
  plannedPages: PlannedPages;
  provider(spec: EndpointConfig): ObjectProvider;
  /** Aborts when a stray error (activities/guard.ts) fails this attempt. */
  strayAbort: AbortSignal;
}

/** The worker's context: opens an ActivityContext per activity execution. */
export interface WorkerContext {
  /** Runs one activity execution; the providers it opened are released when `fn` settles. */
  run<T>(fn: (ctx: ActivityContext) => Promise<T>): Promise<T>;
  pool: ProviderPool;
}

/** Default report directory. */
export function defaultReportDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FERRY_REPORT_DIR ?? join(env.FERRY_HOME ?? join(homedir(), '.ferry'), 'reports');
}

/** `<workflow id> <activity type>` of the running activity (for logs), or `activity` outside one (unit tests). */
function attemptName(): string {
  try {
    const info = Context.current().info;
    return `${info.workflowExecution?.workflowId ?? info.workflowType} ${info.activityType}`;
  } catch {
    return 'activity';
  }
}

export function createActivityContext(deps: ActivityDeps): WorkerContext {
  const open = (spec: EndpointConfig) => (deps.openProvider ?? openFromRegistry)(spec, deps.providers ?? {});
  // A side with `inventory:`/`manifest:` lists from that report (storage/inventory/): the job never LISTs it.
  const pool = new ProviderPool((spec) => openListedProvider(spec, open), deps.providerIdleMs);
  const shared = { deps, reportDir: deps.reportDir ?? defaultReportDir(), hub: new ControlHub(deps.control, deps.controlIntervalMs), plannedPages: deps.plannedPages ?? new PlannedPages() };
  return {
    pool,
    run(fn) {
      return runGuarded(attemptName(), async (strayAbort) => {
        const leases: ProviderLease[] = [];
        try {
          return await fn({
            ...shared,
            strayAbort,
            provider(spec) {
              const lease = pool.acquire(spec);
              leases.push(lease);
              return lease.provider;
            },
          });
        } finally {
          for (const l of leases) l.release();
        }
      });
    },
  };
}

export interface ProviderLease {
  provider: ObjectProvider;
  release(): void;
}

interface Pooled {
  provider: ObjectProvider;
  users: number;
  idleSince: number;
}

/**
 * Opened providers by endpoint spec, shared by concurrent activities. A provider nobody holds is closed once it
 * has been idle for `idleMs` (checked every minute at most, on an unref'd timer that runs only while the pool has
 * providers); the next activity that needs it opens a new one.
 */
export class ProviderPool {
  private readonly entries = new Map<string, Pooled>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly open: (spec: EndpointConfig) => ObjectProvider,
    private readonly idleMs = PROVIDER_IDLE_MS,
  ) {}

  /** The provider for `spec` (opened now or shared), held until `release()`. */
  acquire(spec: EndpointConfig): ProviderLease {
    const key = JSON.stringify(spec);
    let e = this.entries.get(key);
    if (!e) {
      e = { provider: this.open(spec), users: 0, idleSince: 0 };
      this.entries.set(key, e);
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(this.idleMs, 60_000)).unref();
    }
    const entry = e;
    entry.users++;
    let released = false;
    return {
      provider: entry.provider,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.users === 0) entry.idleSince = Date.now();
      },
    };
  }

  /** Closes the providers idle for `idleMs` at `now`; returns how many it closed. */
  sweep(now = Date.now()): number {
    let closed = 0;
    for (const [key, e] of this.entries) {
      if (e.users > 0 || now - e.idleSince < this.idleMs) continue;
      this.entries.delete(key);
      closed++;
      e.provider.close?.().catch(() => undefined);
    }
    if (this.entries.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    return closed;
  }

  /** Providers open now. */
  get size(): number {
    return this.entries.size;
  }
}
