/**
 * What activities need from the worker (`createActivities(deps)`): where secrets and reports live, how to
 * reach the job workflow for live control, and a per-process cache of opened providers (connection reuse).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EndpointConfig } from '../common/job';
import type { ObjectProvider } from './providers/provider';
import { openProvider as openFromRegistry, type ProviderContext } from './providers/registry';
import { ControlHub, type ControlSource } from './control';
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
}

export interface ActivityContext {
  deps: ActivityDeps;
  reportDir: string;
  hub: ControlHub;
  provider(spec: EndpointConfig): ObjectProvider;
}

/** Default report directory. */
export function defaultReportDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FERRY_REPORT_DIR ?? join(env.FERRY_HOME ?? join(homedir(), '.ferry'), 'reports');
}

export function createActivityContext(deps: ActivityDeps): ActivityContext {
  const cache = new Map<string, ObjectProvider>();
  const open = deps.openProvider ?? openFromRegistry;
  return {
    deps,
    reportDir: deps.reportDir ?? defaultReportDir(),
    hub: new ControlHub(deps.control, deps.controlIntervalMs),
    provider(spec) {
      const key = JSON.stringify(spec);
      let p = cache.get(key);
      if (!p) {
        p = open(spec, deps.providers ?? {});
        cache.set(key, p);
      }
      return p;
    },
  };
}
