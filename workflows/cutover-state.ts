/**
 * The cut-over workflow's input, state and result, and the pure rules over them: which spec each round runs,
 * when converging is done, what the `cutoverState` query and the Web UI show, which control message is allowed
 * in which phase. No Temporal imports: the CLI reads these shapes too. The commands are issued in cutover.ts.
 */
import { INCREMENTAL_SINCE_MARGIN_MS, jobWorkflowId, type JobSpec } from '../common/job';
import type { JobResult } from '../common/progress';

/** Workflow id of a job's cut-over: `ferry-<name>-cutover` (its rounds run as `ferry-<name>`). */
export function cutoverWorkflowId(name: string): string {
  return `${jobWorkflowId(name)}-cutover`;
}

/** Phases, in order (also the FerryPhase search attribute of the cut-over workflow). */
export const CutoverPhase = {
  converging: 'converging',
  originOn: 'back-to-origin-on',
  waiting: 'waiting-for-switch',
  finalDelta: 'final-delta',
  verifying: 'verifying',
  /** A round failed or verify found differences: waits for `cutoverRetry` or `cutoverAbort`. */
  blocked: 'waiting-for-retry',
  retrying: 'retrying',
  originOff: 'back-to-origin-off',
  done: 'done',
  aborted: 'aborted',
} as const;
export type CutoverPhase = (typeof CutoverPhase)[keyof typeof CutoverPhase];

/** full / incremental: converging and the rounds while waiting; final-delta after the switch; verify; retry (copy what differs). */
export type RoundKind = 'full' | 'incremental' | 'final-delta' | 'verify' | 'retry';

/** One round's figures (a child `migrationJob` run). Times ISO-8601. */
export interface RoundRecord {
  n: number;
  kind: RoundKind;
  /** The round's `filter.modifiedSince` (absent = every object). */
  since?: string;
  startedAt: string;
  endedAt: string;
  /** The job's status, or `error` when it ended without a result. */
  status: JobResult['status'] | 'error';
  copied: number;
  skipped: number;
  failed: number;
  verified: number;
  reportPath?: string;
  error?: string;
}

export interface CutoverInput {
  spec: JobSpec;
  /** Converged when a round copies fewer objects than this. */
  threshold: number;
  /** While waiting for the switch, an incremental round this often (ms). */
  everyMs: number;
  /** Set up back-to-origin (mirror) on the destination before the switch; taken down after a passing verify. */
  backToOrigin?: { originUrl: string; passQueryString?: boolean };
  /** modifiedSince of round 1 (the client: when the last completed run started, minus the overlap). Absent = the job's filter. */
  firstSince?: number;
  /** Safety stop: a source that changes faster than rounds finish. Default {@link MAX_CONVERGE_ROUNDS}. */
  maxRounds?: number;
}

/** What `backToOriginOn` answered, and whether it was taken down again. */
export interface BackToOriginRecord {
  applied: boolean;
  /** The destination's configuration before (restored exactly by `backToOriginOff`). */
  previous: string | null;
  rule?: string;
  note?: string;
  removed?: boolean;
}

/** Carried through continue-as-new. Small: the rounds' figures, a few flags. */
export interface CutoverState {
  phase: CutoverPhase;
  rounds: RoundRecord[];
  /** Workflow time when the last copy round started: the next incremental round starts there, minus the overlap. */
  lastCopyStart?: number;
  /** Rounds run in the current converge attempt (reset by a retry). */
  convergeRounds: number;
  backToOrigin?: BackToOriginRecord;
  switchedAt?: number;
  retryRequested: boolean;
  abortRequested: boolean;
  /** The phase a retry goes back to (set while blocked). */
  resumePhase?: CutoverPhase;
  lastError?: string;
  startedAt: number;
  /** Rounds dropped from `rounds` (beyond {@link ROUNDS_KEPT}), summed. */
  earlier?: RoundTotals;
}

export interface RoundTotals {
  rounds: number;
  copied: number;
  skipped: number;
  failed: number;
}

/** The `cutoverState` query and the answer to every control update. */
export interface CutoverView {
  name: string;
  phase: CutoverPhase;
  rounds: RoundRecord[];
  /** Rounds older than the ones listed, summed. */
  earlier?: RoundTotals;
  backToOriginOn: boolean;
  backToOrigin?: BackToOriginRecord;
  switchedAt?: string;
  lastError?: string;
  threshold: number;
  everyMs: number;
}

/** The workflow's result. */
export interface CutoverResult extends Omit<CutoverView, 'phase' | 'lastError'> {
  status: 'complete' | 'aborted';
  /** `cut-over complete`, or why it was aborted. */
  message: string;
  lastError?: string;
}

export const MAX_CONVERGE_ROUNDS = 50;
export const DEFAULT_CUTOVER_THRESHOLD = 100;
export const DEFAULT_CUTOVER_EVERY_MS = 10 * 60_000;
/** Rounds kept one by one; older ones are summed in `earlier` (days of waiting must not grow the carried state). */
export const ROUNDS_KEPT = 300;

export function initialCutoverState(now: number): CutoverState {
  return { phase: CutoverPhase.converging, rounds: [], convergeRounds: 0, retryRequested: false, abortRequested: false, startedAt: now };
}

/** Where the next incremental round starts: the last copy round's start minus the overlap, never before the job's own filter. */
export function nextSince(input: CutoverInput, state: CutoverState): number | undefined {
  const own = input.spec.filter.modifiedSince;
  if (state.lastCopyStart === undefined) return input.firstSince ?? own;
  const since = state.lastCopyStart - INCREMENTAL_SINCE_MARGIN_MS;
  return own !== undefined ? Math.max(own, since) : since;
}

/** The job spec a round runs: copy rounds filtered by `since`; verify and retry over the whole job. */
export function roundSpec(spec: JobSpec, kind: RoundKind, since: number | undefined): JobSpec {
  if (kind === 'verify') return { ...spec, mode: 'verify' };
  if (kind === 'retry') return { ...spec, mode: 'copy', overwrite: 'if-different' };
  const filter = { ...spec.filter };
  if (since !== undefined) filter.modifiedSince = since;
  return { ...spec, mode: 'copy', filter };
}

/** A round's record from the job's result (or the error it ended with). */
export function roundRecord(n: number, kind: RoundKind, since: number | undefined, startedAt: number, endedAt: number, result: JobResult | undefined, error?: string): RoundRecord {
  const o = result?.objects;
  return {
    n,
    kind,
    ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    status: result?.status ?? 'error',
    copied: o?.copied ?? 0,
    skipped: o?.skipped ?? 0,
    failed: o?.failed ?? 0,
    verified: o?.verified ?? 0,
    ...(result?.reportPath ? { reportPath: result.reportPath } : {}),
    ...(error ?? result?.error ? { error: error ?? result?.error } : {}),
  };
}

/** Number of the next round (1-based, over the whole cut-over). */
export function nextRoundNumber(state: CutoverState): number {
  return (state.earlier?.rounds ?? 0) + state.rounds.length + 1;
}

/** Records a round; the oldest beyond {@link ROUNDS_KEPT} move into the `earlier` sums. */
export function addRound(state: CutoverState, r: RoundRecord): void {
  state.rounds.push(r);
  while (state.rounds.length > ROUNDS_KEPT) {
    const old = state.rounds.shift()!;
    const e = (state.earlier ??= { rounds: 0, copied: 0, skipped: 0, failed: 0 });
    e.rounds++;
    e.copied += old.copied;
    e.skipped += old.skipped;
    e.failed += old.failed;
  }
}

/** Why a round blocks the cut-over (undefined = it passed). */
export function roundProblem(r: RoundRecord): string | undefined {
  if (r.status === 'succeeded') return undefined;
  const where = r.reportPath ? ` (report: ${r.reportPath})` : '';
  if (r.kind === 'verify') return `verify found ${r.failed} difference(s)${where}${r.error ? `: ${r.error}` : ''}`;
  return `${r.kind} round ${r.n} ${r.status === 'error' ? 'ended without a result' : r.status}${r.failed ? `: ${r.failed} object(s) failed` : ''}${where}${r.error ? `: ${r.error}` : ''}`;
}

export function cutoverView(input: CutoverInput, state: CutoverState): CutoverView {
  const b = state.backToOrigin;
  return {
    name: input.spec.name,
    phase: state.phase,
    rounds: state.rounds,
    ...(state.earlier ? { earlier: state.earlier } : {}),
    backToOriginOn: !!b?.applied && !b.removed,
    ...(b ? { backToOrigin: b } : {}),
    ...(state.switchedAt !== undefined ? { switchedAt: new Date(state.switchedAt).toISOString() } : {}),
    ...(state.lastError ? { lastError: state.lastError } : {}),
    threshold: input.threshold,
    everyMs: input.everyMs,
  };
}

export function cutoverResult(input: CutoverInput, state: CutoverState): CutoverResult {
  const { phase: _phase, lastError, ...view } = cutoverView(input, state);
  const aborted = state.phase === CutoverPhase.aborted;
  return { ...view, status: aborted ? 'aborted' : 'complete', message: aborted ? 'cut-over aborted' : 'cut-over complete', ...(lastError ? { lastError } : {}) };
}

/** Thrown by the update validators; the message goes back to the operator. */
export function checkSwitch(state: CutoverState): void {
  if (state.phase === CutoverPhase.aborted || state.abortRequested) throw new Error('the cut-over was aborted');
}

export function checkRetry(state: CutoverState): void {
  if (state.phase !== CutoverPhase.blocked) throw new Error(`nothing to retry: the cut-over is ${state.phase}${state.lastError ? '' : ' and nothing failed'}`);
}

export function checkAbort(state: CutoverState): void {
  const late: CutoverPhase[] = [CutoverPhase.originOff, CutoverPhase.done];
  if (late.includes(state.phase)) throw new Error(`too late to abort: verify passed and the cut-over is completing (${state.phase})`);
}

/** The Web UI's current details: phase, back-to-origin, the last rounds. */
export function cutoverDetails(input: CutoverInput, state: CutoverState): string {
  const v = cutoverView(input, state);
  const origin = v.backToOriginOn ? `on (${v.backToOrigin?.rule ?? input.backToOrigin?.originUrl})` : v.backToOrigin?.note ?? (input.backToOrigin ? 'off' : 'not requested');
  const head = [`**cut-over of ${v.name}: ${v.phase}**`, '', `back-to-origin: ${origin}`];
  if (v.switchedAt) head.push(`switched: ${v.switchedAt}`);
  if (v.lastError) head.push(`last error: ${v.lastError}`);
  const rows = state.rounds.slice(-10).map((r) => `| ${r.n} | ${r.kind} | ${r.since ?? 'all'} | ${r.copied} | ${r.skipped} | ${r.failed} | ${r.status} |`);
  return [...head, '', '| round | kind | since | copied | skipped | failed | status |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}
