/**
 * Following a cut-over workflow from the CLI: polls the `cutoverState` query, prints each finished round and each
 * phase change once (with the command the operator needs next), and waits for the workflow's result.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { info, type Io } from './io';
import { noWorkerAnswered, waitForOutcome } from './jobs';
import { childSignal } from '../common/signals';
import { CutoverPhase, type CutoverResult, type CutoverView, type RoundRecord } from '../workflows/cutover-state';

/** Why following stopped. */
export type CutoverEnd =
  | { kind: 'done'; result?: CutoverResult; error?: Error }
  | { kind: 'interrupted'; signal: 'SIGINT' | 'SIGTERM' }
  | { kind: 'error'; error: unknown };

export interface CutoverFollowOptions {
  json?: boolean;
  /** Poll interval, ms (default 1 s). */
  intervalMs?: number;
  /** Settles when the in-process worker stops on its own (a crash). */
  worker?: Promise<void>;
  signal?: AbortSignal;
  onInterrupt?: (signal: 'SIGINT' | 'SIGTERM') => void;
}

export function renderRound(r: RoundRecord): string {
  const what = r.kind === 'verify' ? 'verify' : `${r.kind}${r.since ? ` since ${r.since}` : ''}`;
  const figures = r.kind === 'verify' ? `verified ${r.verified}, differences ${r.failed}` : `copied ${r.copied}, skipped ${r.skipped}, failed ${r.failed}`;
  return `Round ${r.n} (${what}): ${figures} — ${r.status}${r.error ? ` (${r.error})` : ''}.`;
}

/** What an operator reads when the cut-over enters `phase`. */
export function renderPhase(v: CutoverView): string | undefined {
  const last = v.rounds.at(-1);
  const next = (flag: string) => `\`ferry cutover ${v.name} --${flag}\``;
  switch (v.phase) {
    case CutoverPhase.converging:
      return `Converging: rounds until one copies fewer than ${v.threshold} object(s).`;
    case CutoverPhase.originOn:
      return 'Setting up back-to-origin on the destination…';
    case CutoverPhase.waiting:
      return [
        v.backToOrigin ? `Back-to-origin: ${v.backToOriginOn ? `on${v.backToOrigin.rule ? ` (${v.backToOrigin.rule})` : ''}` : `not set (${v.backToOrigin.note ?? 'skipped'})`}.` : undefined,
        `ready to switch: ${last ? `round ${last.n} copied ${last.copied} object(s) (< ${v.threshold}); ` : ''}switch traffic to the destination, then run ${next('switched')}.`,
        `Meanwhile an incremental round runs every ${Math.round(v.everyMs / 1000)} s; ${next('abort')} stops.`,
      ].filter(Boolean).join('\n');
    case CutoverPhase.finalDelta:
      return `Switched${v.switchedAt ? ` at ${v.switchedAt}` : ''}: copying the final delta…`;
    case CutoverPhase.verifying:
      return 'Verifying every object…';
    case CutoverPhase.blocked:
      return `Stopped: ${v.lastError ?? 'a round failed'}.\nRun ${next('retry')} to copy what differs and verify again, or ${next('abort')}.`;
    case CutoverPhase.retrying:
      return 'Retrying: copying what is missing or different…';
    case CutoverPhase.originOff:
      return 'Verify passed: taking back-to-origin down…';
    default:
      return undefined;
  }
}

/** The closing line (the rounds were printed as they finished). */
export function renderResult(r: CutoverResult): string {
  const rounds = r.rounds.length + (r.earlier?.rounds ?? 0);
  const copied = r.rounds.reduce((n, x) => n + (x.kind === 'verify' ? 0 : x.copied), r.earlier?.copied ?? 0);
  const b = r.backToOrigin;
  const origin = b ? `back-to-origin ${b.applied ? (b.removed ? 'set and removed again' : 'STILL SET on the destination') : `not set (${b.note ?? 'skipped'})`}` : undefined;
  const parts = [`${rounds} round(s), ${copied} object(s) copied`, r.switchedAt ? `switched at ${r.switchedAt}` : 'not switched', origin, r.lastError ? `last error: ${r.lastError}` : undefined];
  return `${r.message} (${r.name}): ${parts.filter(Boolean).join('; ')}.`;
}

/** The `cutoverState` query with a deadline; undefined when no worker answers in time. */
export async function queryCutover(client: Client, handle: WorkflowHandle, timeoutMs = 5000): Promise<CutoverView | undefined> {
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, () => handle.query<CutoverView>('cutoverState'));
  } catch (e) {
    if (noWorkerAnswered(e)) return undefined;
    throw e;
  }
}

/** Prints what is new in `v` since `seen` (rounds by number, the phase once per change). */
function printNews(v: CutoverView, seen: { round: number; phase?: string }, say: (t: string) => void): void {
  for (const r of v.rounds) {
    if (r.n <= seen.round) continue;
    say(renderRound(r));
    seen.round = r.n;
  }
  if (v.phase === seen.phase) return;
  seen.phase = v.phase;
  const text = renderPhase(v);
  if (text) say(text);
}

/** Follows the cut-over until it ends, the user interrupts, or the in-process worker crashes. */
export async function followCutover(client: Client, handle: WorkflowHandle, io: Io, opts: CutoverFollowOptions = {}): Promise<CutoverEnd> {
  const say = info(io, opts.json);
  const polls = childSignal(opts.signal);
  let end: CutoverEnd | undefined;
  const unsubscribe = io.onSignal((signal) => {
    opts.onInterrupt?.(signal);
    end ??= { kind: 'interrupted', signal };
  });
  waitForOutcome(handle, { signal: polls.signal, onOutage: () => say('The Temporal server is unreachable; waiting for it (the cut-over keeps its state there) …') }).then(
    (o) => (end ??= { kind: 'done', result: o.result as unknown as CutoverResult | undefined, error: o.error }),
    (error: unknown) => (end ??= polls.signal.aborted ? end : { kind: 'error', error }),
  );
  opts.worker?.then(undefined, (error: unknown) => (end ??= { kind: 'error', error }));
  const seen = { round: 0, phase: undefined as string | undefined };
  try {
    while (!end) {
      const v = await queryCutover(client, handle, 5000).catch(() => undefined);
      if (v && !end) printNews(v, seen, say);
      for (let waited = 0; !end && waited < (opts.intervalMs ?? 1000); waited += 100) await new Promise((r) => setTimeout(r, 100));
    }
    if (end.kind === 'done' && end.result) for (const r of end.result.rounds) if (r.n > seen.round) say(renderRound(r));
    return end;
  } finally {
    polls.abort();
    polls.release();
    unsubscribe();
  }
}
