/**
 * `migrationJob` (id `ferry-<name>`): preflight → split the source into key-range tasks while a sliding window
 * of `migrationTask` children copies them → retry rounds for tasks with failures → report. A job whose listing
 * is done with a single task left (a small job, or a retry round of one task) runs that task's batches itself:
 * a child would cost more history than the copy.
 *
 * State is small (listing cursor, counters, a queue of ≤ 2 × window planned ranges, the in-flight set) and is
 * carried through continue-as-new long before history limits. Children are started with ABANDON and report
 * back by signal, so they survive continue-as-new. Operators steer it with `pause`/`resume`/`throttle` and read
 * it with the `progress` query, the Web UI's current details and the FerryJob/FerryPhase search attributes.
 * This file issues the commands; the pure rules over the state (accounting, retry rounds, rates, result, Web UI
 * text) are in job-state.ts.
 */
import {
  proxyActivities,
  startChild,
  setHandler,
  condition,
  continueAsNew,
  workflowInfo,
  upsertSearchAttributes,
  getExternalWorkflowHandle,
  allHandlersFinished,
  setCurrentDetails,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  ApplicationFailure,
  ActivityFailure,
  log,
  patched,
  CancellationScope,
  sleep,
  type SignalDefinition,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FerryActivities } from '../activities';
import type { JobSpec } from '../common/job';
import { parseJob, taskWorkflowId, withProbedListing } from '../common/job';
import { InvalidConfigError } from '../common/errors';
import { JobPhase, type JobResult } from '../common/progress';
import { FerryJob, FerryPhase } from '../common/search-attributes';
import { activeThrottleWindow, type ThrottleWindow } from '../common/throttle-schedule';
import type { TaskOutcome } from '../common/contracts';
import { controlQuery, pauseSignal, progressQuery, resumeSignal, taskDoneSignal, taskProgressQuery, throttleSignal, throttleUpdate, type ThrottleArgs } from './messages';
import { planOptions, preflightOptions, reportOptions } from './activity-options';
import { migrationTask } from './migration-task';
import { runTaskBatches } from './task-run';
import { registerMirrorHandlers, runMirror } from './mirror';
import { taskErrorText, type TaskRun } from './task-state';
import { restoreDoneSignal } from './restore-wait';
import { restoreWaitReported, restoreWaitsRunning } from './restore-wait-state';
import {
  addPlannedTasks,
  applyThrottleArgs,
  canStartTask,
  completeTask,
  controlState,
  effectiveLimits,
  inFlightCount,
  initialState,
  MAX_RECENT_FAILURES,
  jobDetails,
  jobProgress,
  jobResult,
  needsPlanning,
  nextPlanInput,
  onlyTaskLeft,
  reportInput,
  retryRoundDue,
  roundFinished,
  startRetryRound,
  takeInlineTask,
  taskSummary,
  validateThrottleArgs,
  type JobState,
} from './job-state';


const { preflight } = proxyActivities<FerryActivities>(preflightOptions);
const { planTasks } = proxyActivities<FerryActivities>(planOptions);
const { writeReport } = proxyActivities<FerryActivities>(reportOptions);

/** Continue-as-new after this many child starts in one run, or this many history events, or when suggested. */
export const MAX_STARTS_PER_RUN = 500;
export const MAX_EVENTS_PER_RUN = 8000;

/**
 * Accepts the normalised JobSpec (what `ferry start` sends) or a raw job document, as operators pass it with
 * `temporal workflow start --type migrationJob --input-file job.json`; a raw document is validated here and an
 * invalid one fails the job at once with every problem listed.
 */
function normalise(input: JobSpec | Record<string, unknown>): JobSpec {
  if ('limits' in input && 'mode' in input) return input as JobSpec;
  try {
    return parseJob(input);
  } catch (e) {
    if (e instanceof InvalidConfigError) throw ApplicationFailure.create({ type: 'InvalidConfigError', nonRetryable: true, message: e.message });
    throw e;
  }
}

export async function migrationJob(input: JobSpec | Record<string, unknown>, carried?: JobState): Promise<JobResult> {
  const spec = normalise(input);
  const job = new JobRun(spec, carried ?? initialState(spec), workflowInfo().workflowId);
  job.registerControlHandlers();
  job.registerQueryHandlers();
  registerMirrorHandlers(job);
  if (!carried) upsertSearchAttributes([{ key: FerryJob, value: spec.name }, { key: FerryPhase, value: job.state.phase }]);
  job.followThrottleSchedule();
  job.refresh();
  // Preflight: a job that cannot run fails at once with a clear reason (and still writes a report).
  if (!job.state.preflightDone && !(await job.runPreflight())) return job.finish();
  await job.runRounds();
  // Mirror mode deletes after the copy (versioned: such jobs ran as copies before).
  if (spec.mode === 'mirror' && patched('mirror-deletions')) await runMirror(job);
  if (!job.state.error) job.setPhase(JobPhase.reporting);
  return job.finish();
}

/** One run of the job workflow (until it ends or continues as new): the handlers, the main loop and the report. */
class JobRun {
  private startsThisRun = 0;
  /** The time-of-day throttle window in force (set by the window timer; undefined outside every window). */
  private timeWindow: ThrottleWindow | undefined;

  constructor(
    readonly spec: JobSpec,
    readonly state: JobState,
    /** The job's own workflow id (also the in-flight id of the task it runs itself). */
    readonly workflowId: string,
  ) {}

  setPhase(phase: JobPhase): void {
    if (this.state.phase === phase) return;
    this.state.phase = phase;
    upsertSearchAttributes([{ key: FerryPhase, value: phase }]);
  }

  refresh(): void {
    setCurrentDetails(jobDetails(this.spec, this.state, this.timeWindow));
  }

  /** Pause, resume and throttle (signal and update). */
  registerControlHandlers(): void {
    const state = this.state;
    setHandler(pauseSignal, () => {
      if (state.paused) return;
      state.paused = true;
      this.forwardToTasks(pauseSignal);
      this.refresh();
    });
    setHandler(resumeSignal, () => {
      if (!state.paused) return;
      state.paused = false;
      this.forwardToTasks(resumeSignal);
      this.refresh();
    });
    const applyThrottle = (args: ThrottleArgs) => {
      applyThrottleArgs(state.limits, args);
      this.refresh();
      return { ...state.limits };
    };
    setHandler(throttleUpdate, applyThrottle, { validator: validateThrottleArgs });
    setHandler(throttleSignal, (args) => {
      try {
        validateThrottleArgs(args);
        applyThrottle(args);
      } catch (e) {
        log.warn('ignored invalid throttle signal', { error: String(e) });
      }
    });
  }

  /** Progress and control queries, and the children's taskDone signal. */
  registerQueryHandlers(): void {
    const state = this.state;
    setHandler(progressQuery, () => jobProgress(this.spec, state, this.timeWindow));
    setHandler(controlQuery, () => controlState(state, this.timeWindow));
    // The task the job runs itself answers like a child (ferry status adds its live counts to the job's).
    setHandler(taskProgressQuery, () => {
      if (!state.inline) throw new Error('this job is not running a task itself');
      return state.inline.outcome;
    });
    setHandler(taskDoneSignal, (outcome: TaskOutcome) => this.taskDone(outcome.taskId, outcome));
    setHandler(restoreDoneSignal, (outcome) => void (restoreWaitReported(this.state, outcome, MAX_RECENT_FAILURES) && this.refresh()));
  }

  private forwardToTasks(signal: SignalDefinition<[]>): void {
    for (const id of Object.keys(this.state.inFlight)) if (id !== this.workflowId) getExternalWorkflowHandle(id).signal(signal).catch(() => undefined);
  }

  private taskDone(taskWorkflowId: string, outcome: TaskOutcome): void {
    if (!completeTask(this.state, taskWorkflowId, outcome, this.spec.verify !== 'none')) return; // duplicate or stale
    this.refresh();
  }

  /**
   * Time-of-day throttle windows: a durable timer wakes the job at every window boundary (in every run, also
   * after continue-as-new). Jobs without a schedule record no marker and no timer (replay-safe).
   */
  followThrottleSchedule(): void {
    const schedule = this.spec.throttleSchedule ?? [];
    if (!schedule.length || !patched('throttle-schedule')) return;
    const applyWindows = async () => {
      for (;;) {
        const active = activeThrottleWindow(schedule, Date.now());
        const next = active.index !== undefined ? schedule[active.index] : undefined;
        if (next !== this.timeWindow) {
          this.timeWindow = next;
          this.refresh();
        }
        // A little past the boundary, so the next evaluation lands inside the new window.
        await sleep(active.nextChangeMs + 50, { summary: 'next throttle window boundary' });
      }
    };
    void applyWindows();
  }

  /** Runs preflight; false when the job cannot run (the error is recorded and the phase is failed). */
  async runPreflight(): Promise<boolean> {
    try {
      // A store that ignored `start-after` lists with V1 from here on (continue-as-new carries the spec).
      Object.assign(this.spec, withProbedListing(this.spec, await preflight(this.spec)));
      this.state.preflightDone = true;
      this.setPhase(this.spec.mode === 'verify' ? JobPhase.verifying : JobPhase.copying);
      return true;
    } catch (e) {
      this.recordError(e);
      this.setPhase(JobPhase.failed);
      return false;
    }
  }

  /** Records why the job cannot go on: it ends as failed (after what is in flight, and with its report). */
  recordError(e: unknown, context = ''): void {
    const message = e instanceof ActivityFailure && e.cause ? e.cause.message : e instanceof Error ? e.message : String(e);
    this.state.error = `${context}${message}`;
    this.state.errorClass = e instanceof ActivityFailure && e.cause instanceof ApplicationFailure ? (e.cause.type ?? undefined) : 'Error';
  }

  /**
   * Lists the next part of the source into tasks. When listing fails for good (a store whose listing does not
   * advance, an error Temporal stopped retrying), what was planned still runs, and the job then fails with the
   * reason and its report (versioned: histories from before ended the workflow here).
   */
  private async planMore(): Promise<void> {
    const state = this.state;
    if (!patched('planning-failure-reported')) return addPlannedTasks(state, await planTasks(nextPlanInput(this.spec, state)));
    try {
      addPlannedTasks(state, await planTasks(nextPlanInput(this.spec, state)));
    } catch (e) {
      if (!(e instanceof ActivityFailure)) throw e;
      state.listingDone = true;
      this.recordError(e, `listing the source stopped after ${state.planned.objects} object(s) were planned: `);
    }
  }

  private mustContinueAsNew(): boolean {
    return this.startsThisRun >= MAX_STARTS_PER_RUN || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= MAX_EVENTS_PER_RUN;
  }

  private async continueAsNewNow(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof migrationJob>(this.spec, this.state);
  }

  /** The main loop: plan, start tasks in a sliding window, retry rounds; returns when the last round is done. */
  async runRounds(): Promise<void> {
    const state = this.state;
    for (;;) {
      // Keep the queue topped up while listing continues (at most 2 windows of planned ranges in state).
      if (needsPlanning(state)) {
        await this.planMore();
        this.refresh();
      }
      // The only task left: run it here rather than in a child (versioned: histories from before replay as they were).
      if (onlyTaskLeft(state) && patched('job-runs-last-task')) {
        takeInlineTask(state, this.spec.name, this.workflowId);
        this.refresh();
      }
      if (state.inline) {
        await this.runInlineTask(state.inline);
        continue;
      }
      await this.startQueuedTasks();
      this.refresh();

      if (roundFinished(state)) {
        // Round finished: retry the tasks that had failures, up to `retries` rounds.
        if (retryRoundDue(state, this.spec.retries)) {
          startRetryRound(state);
          this.setPhase(JobPhase.retrying);
          continue;
        }
        return this.waitForRestores();
      }
      if (this.mustContinueAsNew()) await this.continueAsNewNow();
      await this.waitForChange();
    }
  }

  /** Archived objects still wait for their restore (`archived: restore`): the job ends once every restore wait reported. */
  private async waitForRestores(): Promise<void> {
    if (restoreWaitsRunning(this.state) && patched('restore-wait')) await condition(() => !restoreWaitsRunning(this.state));
  }

  /** Runs the task the job took on itself; continues as new when history grows (the task resumes there). */
  private async runInlineTask(run: TaskRun): Promise<void> {
    let finished = false;
    try {
      finished = await runTaskBatches(run, {
        job: this.spec,
        runTag: this.state.runTag,
        parentId: this.workflowId,
        limits: () => effectiveLimits(this.state, this.timeWindow),
        paused: () => this.state.paused,
        stop: () => this.mustContinueAsNew(),
      });
    } catch (e) {
      run.outcome.error = taskErrorText(e);
      log.warn('task failed', { taskId: run.outcome.taskId, error: run.outcome.error });
      finished = true;
    }
    if (!finished) await this.continueAsNewNow();
    this.state.inline = undefined;
    this.taskDone(this.workflowId, run.outcome);
  }

  /** Starts queued tasks as children while the window has room. */
  private async startQueuedTasks(): Promise<void> {
    const { spec, state } = this;
    while (canStartTask(state) && state.queue.length) {
      const plan = state.queue.shift()!;
      const workflowId = taskWorkflowId(spec.name, state.round, plan.n);
      state.inFlight[workflowId] = plan;
      try {
        await startChild(migrationTask, {
          workflowId,
          args: [{ job: spec, runTag: state.runTag, parentId: this.workflowId, round: state.round, plan, limits: effectiveLimits(state, this.timeWindow) }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          staticSummary: taskSummary(spec.name, plan, state.round),
        });
      } catch (e) {
        // Already running (e.g. started before a crash of this workflow task): it will signal us when done.
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
      this.startsThisRun++;
    }
  }

  /** Waits for a free slot, a finished task, or a pause/resume/throttle change. */
  private async waitForChange(): Promise<void> {
    const state = this.state;
    const before = { inFlight: inFlightCount(state), paused: state.paused, tasks: state.limits.tasks };
    await condition(
      () =>
        inFlightCount(state) < before.inFlight ||
        state.paused !== before.paused ||
        state.limits.tasks !== before.tasks ||
        (!state.paused && inFlightCount(state) < state.limits.tasks && (state.queue.length > 0 || !state.listingDone)),
    );
  }

  /** Writes the report (a failure to write it is logged, not fatal) and ends the job with its result. */
  async finish(): Promise<JobResult> {
    let reportPath: string | undefined;
    try {
      const write = () => writeReport(reportInput(this.spec, this.state, this.workflowId));
      // A cancelled job (an aborted cut-over round) still writes its report (versioned: older histories did not).
      reportPath = (await (patched('report-after-cancel') ? CancellationScope.nonCancellable(write) : write())).path;
    } catch (e) {
      log.error('report could not be written', { error: String(e) });
    }
    this.setPhase(this.state.error ? JobPhase.failed : JobPhase.done);
    this.refresh();
    const result = jobResult(this.spec, this.state, reportPath);
    await condition(allHandlersFinished);
    if (this.state.error) throw ApplicationFailure.create({ type: 'JobFailed', nonRetryable: true, message: this.state.error, details: [result] });
    return result;
  }
}
