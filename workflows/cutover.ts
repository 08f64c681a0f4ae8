/**
 * `cutover` (id `ferry-<name>-cutover`): ossimport's T1/T2 recipe as one durable saga.
 * converge (a full round, then incremental rounds until one copies fewer than `threshold` objects) → back-to-origin
 * on (optional) → wait for the operator's `cutoverSwitched`, with an incremental round every `everyMs` → final delta
 * → full verify → back-to-origin off → `cut-over complete`. A failed round or a failed verify waits for
 * `cutoverRetry` (verify: copy what differs, then verify again) or `cutoverAbort`; abort cancels the running round
 * and undoes back-to-origin, and never deletes data. Every round is a child `migrationJob` with the job's own id
 * `ferry-<name>`, so `ferry status NAME` follows it.
 *
 * The main loop is a state machine over `state.phase`, so a new run after continue-as-new resumes where the last
 * one stopped. Pure rules and shapes: cutover-state.ts.
 */
import {
  proxyActivities,
  executeChild,
  setHandler,
  condition,
  continueAsNew,
  workflowInfo,
  upsertSearchAttributes,
  allHandlersFinished,
  setCurrentDetails,
  CancellationScope,
  isCancellation,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  ActivityFailure,
  ApplicationFailure,
  log,
  type SignalDefinition,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type UpdateDefinition } from '@temporalio/common';
import type { FerryActivities } from '../activities';
import { jobWorkflowId, parseJob, type JobSpec } from '../common/job';
import type { JobResult } from '../common/progress';
import { FerryJob, FerryPhase } from '../common/search-attributes';
import { originOptions } from './activity-options';
import { migrationJob } from './migration-job';
import {
  cutoverAbortSignal,
  cutoverAbortUpdate,
  cutoverRetrySignal,
  cutoverRetryUpdate,
  cutoverStateQuery,
  cutoverSwitchedSignal,
  cutoverSwitchedUpdate,
} from './messages';
import {
  CutoverPhase,
  DEFAULT_CUTOVER_EVERY_MS,
  DEFAULT_CUTOVER_THRESHOLD,
  MAX_CONVERGE_ROUNDS,
  addRound,
  checkAbort,
  checkRetry,
  checkSwitch,
  cutoverDetails,
  cutoverResult,
  cutoverView,
  initialCutoverState,
  nextRoundNumber,
  nextSince,
  roundProblem,
  roundRecord,
  roundSpec,
  type CutoverInput,
  type CutoverResult,
  type CutoverState,
  type CutoverView,
  type RoundKind,
  type RoundRecord,
} from './cutover-state';

const { backToOriginOn, backToOriginOff } = proxyActivities<FerryActivities>(originOptions);

/** Continue-as-new after this many history events (or when Temporal suggests it), between rounds. */
export const MAX_CUTOVER_EVENTS_PER_RUN = 2000;

export async function cutover(input: CutoverInput, carried?: CutoverState): Promise<CutoverResult> {
  const run = new CutoverRun(checkedInput(input), carried ?? initialCutoverState(Date.now()));
  run.registerHandlers();
  if (!carried) upsertSearchAttributes([{ key: FerryJob, value: run.input.spec.name }, { key: FerryPhase, value: run.state.phase }]);
  run.refresh();
  return run.execute();
}

/** Defaults for what operators leave out with `temporal workflow start`; a raw job document is validated like migrationJob's. */
function checkedInput(input: CutoverInput): CutoverInput {
  const fail = (message: string) => ApplicationFailure.create({ type: 'InvalidConfigError', nonRetryable: true, message });
  if (!input?.spec) throw fail('cutover input: `spec` (the job) is required');
  let spec: JobSpec;
  try {
    spec = 'limits' in input.spec && 'mode' in input.spec ? input.spec : parseJob(input.spec);
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e));
  }
  if (input.backToOrigin && !input.backToOrigin.originUrl) throw fail('cutover input: backToOrigin.originUrl is required (the URL the destination fetches missing objects from)');
  return { ...input, spec, threshold: input.threshold ?? DEFAULT_CUTOVER_THRESHOLD, everyMs: input.everyMs ?? DEFAULT_CUTOVER_EVERY_MS };
}

function errorText(e: unknown): string {
  if ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) return e.cause.message;
  return e instanceof Error ? e.message : String(e);
}

/** One run of the cut-over workflow: handlers, the phase loop, the undo. */
class CutoverRun {
  /** Everything abortable runs in here; `cutoverAbort` cancels it. */
  private readonly scope = new CancellationScope();

  constructor(
    readonly input: CutoverInput,
    readonly state: CutoverState,
  ) {}

  private view(): CutoverView {
    return cutoverView(this.input, this.state);
  }

  refresh(): void {
    setCurrentDetails(cutoverDetails(this.input, this.state));
  }

  private setPhase(phase: CutoverPhase): void {
    if (this.state.phase !== phase) {
      this.state.phase = phase;
      upsertSearchAttributes([{ key: FerryPhase, value: phase }]);
    }
    this.refresh();
  }

  registerHandlers(): void {
    const s = this.state;
    setHandler(cutoverStateQuery, () => this.view());
    const switched = () => {
      s.switchedAt ??= Date.now();
      this.refresh();
      return this.view();
    };
    const retry = () => {
      s.retryRequested = true;
      return this.view();
    };
    const abort = () => {
      if (!s.abortRequested) {
        s.abortRequested = true;
        this.scope.cancel();
      }
      return this.view();
    };
    this.handle(cutoverSwitchedUpdate, cutoverSwitchedSignal, switched, () => checkSwitch(s));
    this.handle(cutoverRetryUpdate, cutoverRetrySignal, retry, () => checkRetry(s));
    this.handle(cutoverAbortUpdate, cutoverAbortSignal, abort, () => checkAbort(s));
  }

  /** The same action as an update (validated, answered) and as a signal (a refused one is logged and ignored). */
  private handle(update: UpdateDefinition<CutoverView, []>, signal: SignalDefinition<[]>, act: () => CutoverView, check: () => void): void {
    setHandler(update, act, { validator: check });
    setHandler(signal, () => {
      try {
        check();
        act();
      } catch (e) {
        log.warn(`ignored ${signal.name} signal`, { reason: errorText(e) });
      }
    });
  }

  /** Runs the phases until done, or undoes what was set when aborted (or cancelled), and returns the result. */
  async execute(): Promise<CutoverResult> {
    try {
      if (!this.state.abortRequested) await this.scope.run(() => this.phases());
    } catch (e) {
      if (!isCancellation(e)) throw e; // continue-as-new and unexpected errors pass
    }
    // Not cancellable: after `temporal workflow cancel` the undo and the last handlers must still run.
    await CancellationScope.nonCancellable(async () => {
      if (this.state.phase !== CutoverPhase.done) await this.undo();
      await condition(allHandlersFinished);
    });
    return cutoverResult(this.input, this.state);
  }

  private async phases(): Promise<void> {
    for (;;) {
      switch (this.state.phase) {
        case CutoverPhase.converging: await this.converge(); break;
        case CutoverPhase.originOn: await this.originOn(); break;
        case CutoverPhase.waiting: await this.waitForSwitch(); break;
        case CutoverPhase.finalDelta: await this.copyThen('final-delta', CutoverPhase.verifying); break;
        case CutoverPhase.verifying: await this.verify(); break;
        case CutoverPhase.retrying: await this.copyThen('retry', CutoverPhase.verifying); break;
        case CutoverPhase.blocked: await this.waitForRetry(); break;
        case CutoverPhase.originOff: await this.originOff(); break;
        default: return; // done, aborted
      }
    }
  }

  /** Rounds until one copies fewer than `threshold` objects (or the operator switched already). */
  private async converge(): Promise<void> {
    const s = this.state;
    const max = this.input.maxRounds ?? MAX_CONVERGE_ROUNDS;
    for (;;) {
      if (s.convergeRounds >= max) {
        return this.block(`not converging: ${max} rounds each copied ${this.input.threshold} or more objects; raise the threshold or slow the writers, then retry`, CutoverPhase.converging);
      }
      const r = await this.copyRound(s.lastCopyStart === undefined && nextSince(this.input, s) === undefined ? 'full' : 'incremental');
      s.convergeRounds++;
      if (this.blocked(r, CutoverPhase.converging)) return;
      if (r.copied < this.input.threshold || s.switchedAt !== undefined) return this.setPhase(this.input.backToOrigin ? CutoverPhase.originOn : CutoverPhase.waiting);
      await this.continueAsNewIfLong();
    }
  }

  /** Back-to-origin on; its answer (the previous configuration) is kept, so an abort or the end restores exactly. */
  private async originOn(): Promise<void> {
    const b = this.input.backToOrigin!;
    try {
      // Not cancellable: an abort arriving meanwhile must still learn what was set, to undo it.
      const res = await CancellationScope.nonCancellable(() => backToOriginOn({ destination: this.input.spec.destination, originUrl: b.originUrl, passQueryString: b.passQueryString }));
      this.state.backToOrigin = { applied: res.applied, previous: res.previous, ...(res.rule ? { rule: res.rule } : {}), ...(res.note ? { note: res.note } : {}) };
    } catch (e) {
      if (isCancellation(e)) throw e;
      return this.block(`back-to-origin could not be set up: ${errorText(e)}`, CutoverPhase.originOn);
    }
    this.setPhase(CutoverPhase.waiting);
  }

  /** Waits for `cutoverSwitched`, with an incremental round every `everyMs` so the final delta stays small. */
  private async waitForSwitch(): Promise<void> {
    const s = this.state;
    for (;;) {
      if (s.switchedAt !== undefined) return this.setPhase(CutoverPhase.finalDelta);
      if (await condition(() => s.switchedAt !== undefined, this.input.everyMs)) continue;
      const r = await this.copyRound('incremental');
      if (this.blocked(r, CutoverPhase.waiting)) return;
      await this.continueAsNewIfLong();
    }
  }

  /** A copy round (final delta, retry), then `next`. */
  private async copyThen(kind: RoundKind, next: CutoverPhase): Promise<void> {
    const r = await this.copyRound(kind);
    if (!this.blocked(r, this.state.phase)) this.setPhase(next);
  }

  /** The full verify: differences wait for a retry (copy what differs); a verify that could not run is simply run again. */
  private async verify(): Promise<void> {
    const r = await this.round('verify', undefined);
    if (this.blocked(r, r.status === 'completed-with-failures' ? CutoverPhase.retrying : CutoverPhase.verifying)) return;
    this.setPhase(this.input.backToOrigin ? CutoverPhase.originOff : CutoverPhase.done);
  }

  private async waitForRetry(): Promise<void> {
    const s = this.state;
    await condition(() => s.retryRequested);
    s.retryRequested = false;
    if (s.resumePhase === CutoverPhase.converging) s.convergeRounds = 0;
    this.setPhase(s.resumePhase ?? CutoverPhase.converging);
  }

  /** After a passing verify: back-to-origin off (restoring the recorded configuration). */
  private async originOff(): Promise<void> {
    try {
      await this.takeOriginDown();
    } catch (e) {
      if (isCancellation(e)) throw e;
      return this.block(`back-to-origin could not be taken down: ${errorText(e)}`, CutoverPhase.originOff);
    }
    this.setPhase(CutoverPhase.done);
  }

  private async takeOriginDown(): Promise<void> {
    const b = this.state.backToOrigin;
    if (!b?.applied || b.removed) return;
    await CancellationScope.nonCancellable(() => backToOriginOff({ destination: this.input.spec.destination, previous: b.previous }));
    b.removed = true;
    this.refresh();
  }

  /** Abort (or cancellation): undo back-to-origin when it was applied; data stays where it is. */
  private async undo(): Promise<void> {
    try {
      await this.takeOriginDown();
    } catch (e) {
      const previous = this.state.backToOrigin?.previous ?? 'none';
      this.state.lastError = `back-to-origin could not be taken down; restore the destination's configuration by hand (before: ${previous}): ${errorText(e)}`;
    }
    this.setPhase(CutoverPhase.aborted);
  }

  /** Records why the cut-over stops, and the phase a retry goes back to. */
  private block(reason: string, resume: CutoverPhase): void {
    log.warn('cut-over waits for retry or abort', { reason });
    Object.assign(this.state, { lastError: reason, resumePhase: resume, retryRequested: false });
    this.setPhase(CutoverPhase.blocked);
  }

  /** Blocks when the round did not pass; true when it did block. */
  private blocked(r: RoundRecord, resume: CutoverPhase): boolean {
    const problem = roundProblem(r);
    if (problem) this.block(problem, resume);
    return problem !== undefined;
  }

  /** A copy round since the last good copy round started (minus the overlap); the next one starts from this one if it passes. */
  private async copyRound(kind: RoundKind): Promise<RoundRecord> {
    const since = kind === 'retry' ? undefined : nextSince(this.input, this.state);
    const startedAt = Date.now();
    const r = await this.round(kind, since);
    if (r.status === 'succeeded') this.state.lastCopyStart = startedAt;
    return r;
  }

  /** Runs one round as the child `migrationJob` `ferry-<name>` and records its figures. */
  private async round(kind: RoundKind, since: number | undefined): Promise<RoundRecord> {
    const n = nextRoundNumber(this.state);
    const startedAt = Date.now();
    const { result, error } = await this.runJob(roundSpec(this.input.spec, kind, since), `${kind} round ${n}`);
    const r = roundRecord(n, kind, since, startedAt, Date.now(), result, error);
    addRound(this.state, r);
    this.refresh();
    return r;
  }

  private async runJob(spec: JobSpec, label: string): Promise<{ result?: JobResult; error?: string }> {
    try {
      return {
        result: await executeChild(migrationJob, {
          workflowId: jobWorkflowId(spec.name),
          args: [spec],
          // Abort requests the round's cancellation and goes on undoing without waiting for in-flight batches;
          // a cut-over that ends (or is terminated) asks its round to stop too.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: [{ key: FerryJob, value: spec.name }, { key: FerryPhase, value: 'preflight' }],
          staticSummary: `${spec.name}: cut-over ${label}${spec.filter.modifiedSince !== undefined && spec.mode === 'copy' ? ` since ${new Date(spec.filter.modifiedSince).toISOString()}` : ''}`.slice(0, 200),
        }),
      };
    } catch (e) {
      if (isCancellation(e) && CancellationScope.current().consideredCancelled) throw e;
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { error: `job ${spec.name} is already running (${jobWorkflowId(spec.name)}) outside the cut-over: let it finish, then retry` };
      return this.failedJob(e);
    }
  }

  /** A job that failed as a whole still carries its figures (JobFailed details). */
  private failedJob(e: unknown): { result?: JobResult; error: string } {
    const cause = e instanceof ChildWorkflowFailure ? e.cause : undefined;
    const details = cause instanceof ApplicationFailure && cause.type === 'JobFailed' ? (cause.details?.[0] as JobResult | undefined) : undefined;
    if (details && typeof details === 'object' && 'status' in details) return { result: { ...details, status: 'failed' }, error: errorText(e) };
    return { error: errorText(e) };
  }

  /** Between rounds: a new run (carrying the state) once history is long, so days of waiting stay small. */
  private async continueAsNewIfLong(): Promise<void> {
    const info = workflowInfo();
    if (!info.continueAsNewSuggested && info.historyLength < MAX_CUTOVER_EVENTS_PER_RUN) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof cutover>(this.input, this.state);
  }
}
