/**
 * The job workflow's state and the pure rules over it: accounting of planned and finished tasks, retry rounds,
 * throughput and ETA, the JobResult and report input, and the Web UI text. No Temporal imports (types only), so
 * unit tests need no server. `now` defaults to Date.now(), which inside a workflow is the workflow-task time.
 */
import { taskWorkflowId, type JobSpec, type Limits } from '../common/job';
import { addCounters, addVerifiedBy, emptyCounters, emptyVerifiedBy, formatVerifiedBy, JobPhase, type Counters, type FailureRecord, type JobProgress, type JobResult, type MirrorSummary, type VerifiedBy } from '../common/progress';
import type { ThrottleWindow } from '../common/throttle-schedule';
import { formatBytes, formatDuration } from '../common/units';
import type { ControlState, ThrottleArgs } from './messages';
import { newTaskRun, type TaskRun } from './task-state';
import type { PlanTasksInput, PlanTasksResult, ReportInput, TaskOutcome, TaskPlan } from '../common/contracts';
import { mirrorDetails } from './mirror-state';
import { addTaskArchive, archiveDetails, archiveProgress, type JobArchiveState } from './restore-wait-state';

/** Rate samples kept (one per finished task). */
export const MAX_RATE_SAMPLES = 30;
/** Rates are measured from a sample at least this old (or from the run's start). */
export const RATE_WINDOW_MS = 60_000;
/** Failures the `progress` query shows. */
export const MAX_RECENT_FAILURES = 10;
/** In-flight task ids the `progress` query lists (live progress asks each of them for its counters). */
export const MAX_LISTED_TASKS = 100;

/**
 * Copied-or-skipped totals when a task finished. A tuple rather than an object because samples cross
 * continue-as-new as JSON: jobs already running carry this shape.
 */
export type RateSample = [at: number, bytesDone: number, objectsDone: number];

/** Throughput per second. */
export interface Rates {
  bytes: number;
  objects: number;
}

/** A task of the current round that had failures (retried next round), with the failures it counted. */
export interface FailedTask {
  plan: TaskPlan;
  failed: number;
  failedBytes: number;
  error?: string;
}

/** Failure counts a retried task contributed in its previous round (subtracted when its retry reports). */
export interface RetryBaseline {
  failed: number;
  failedBytes: number;
}

/** Everything that crosses continue-as-new. */
export interface JobState extends JobArchiveState {
  phase: JobPhase;
  round: number;
  runTag: string;
  startedAt: number;
  preflightDone: boolean;
  cursor?: string;
  listingDone: boolean;
  nextTask: number;
  queue: TaskPlan[];
  /** Tasks running, by workflow id (the job's own id for the task it runs itself). */
  inFlight: Record<string, TaskPlan>;
  /** The task this workflow runs itself, when it is the only one left. */
  inline?: TaskRun;
  failedTasks: FailedTask[];
  /** By task number. */
  retryPrev: Record<string, RetryBaseline>;
  lastRoundOfTask: Record<string, number>;
  planned: { objects: number; bytes: number; tasks: number };
  objects: Counters;
  bytes: Counters;
  /** Verified objects by check (absent in jobs started before checks were counted). */
  verifiedBy?: VerifiedBy;
  tasksDone: number;
  /** Tasks that ended with an error (not just failed objects) in their latest round, by task number. */
  taskErrors: Record<string, string>;
  paused: boolean;
  limits: Limits;
  throttleEvents: number;
  partsResumed: number;
  recentFailures: FailureRecord[];
  samples: RateSample[];
  error?: string;
  /** Error class of a job-fatal failure (AccessDeniedError, BucketNotFoundError, CredentialsError …). */
  errorClass?: string;
  /** Mirror mode's deletions (absent until the mirror step starts, or a `reject` comes before it). */
  mirror?: MirrorSummary;
}

/** A job's state before preflight. */
export function initialState(spec: JobSpec, now = Date.now()): JobState {
  return {
    phase: JobPhase.preflight,
    round: 0,
    runTag: new Date(now).toISOString(),
    startedAt: now,
    preflightDone: false,
    listingDone: false,
    nextTask: 0,
    queue: [],
    inFlight: {},
    failedTasks: [],
    retryPrev: {},
    lastRoundOfTask: {},
    planned: { objects: 0, bytes: 0, tasks: 0 },
    objects: emptyCounters(),
    bytes: emptyCounters(),
    tasksDone: 0,
    taskErrors: {},
    paused: false,
    limits: { ...spec.limits },
    throttleEvents: 0,
    partsResumed: 0,
    recentFailures: [],
    samples: [],
  };
}

// ── Planning and the sliding window ─────────────────────────────────────────────────────────────────────────

export const inFlightCount = (state: Pick<JobState, 'inFlight'>): number => Object.keys(state.inFlight).length;

/** Not paused and a free slot in the window of `limits.tasks` tasks. */
export const canStartTask = (state: JobState): boolean => !state.paused && inFlightCount(state) < state.limits.tasks;

/** Listing continues and the queue is below one window (it holds at most 2 windows of planned ranges). */
export const needsPlanning = (state: JobState): boolean => !state.listingDone && state.queue.length < state.limits.tasks && !state.paused;

/** The next `planTasks` call: continue the listing and top the queue up to 2 windows. */
export function nextPlanInput(spec: JobSpec, state: JobState): PlanTasksInput {
  return { job: spec, cursor: state.cursor, firstTask: state.nextTask, maxTasks: Math.max(1, 2 * state.limits.tasks - state.queue.length) };
}

/** Queues newly planned tasks and counts what they cover. */
export function addPlannedTasks(state: JobState, planned: PlanTasksResult): void {
  for (const task of planned.tasks) {
    state.queue.push(task);
    state.planned.objects += task.objects;
    state.planned.bytes += task.bytes;
    state.planned.tasks++;
  }
  state.nextTask += planned.tasks.length;
  state.cursor = planned.cursor;
  state.listingDone = planned.done;
}

/** Listing is done and one task is left, with nothing in flight: the job may run it itself. */
export const onlyTaskLeft = (state: JobState): boolean =>
  !state.inline && state.listingDone && state.queue.length === 1 && !inFlightCount(state) && canStartTask(state);

/** Takes the last queued task to run in the job workflow itself (in flight under the job's own id). */
export function takeInlineTask(state: JobState, jobName: string, jobWorkflowId: string): TaskRun {
  const plan = state.queue.shift()!;
  state.inline = newTaskRun(taskWorkflowId(jobName, state.round, plan.n), plan, state.round);
  state.inFlight[jobWorkflowId] = plan;
  return state.inline;
}

/** Nothing queued or in flight and the listing is done. */
export const roundFinished = (state: JobState): boolean => state.listingDone && !state.queue.length && !inFlightCount(state);

// ── Accounting of finished tasks ────────────────────────────────────────────────────────────────────────────

/**
 * Counts a task's outcome once: the task in flight under `taskWorkflowId` leaves the window, its counters and
 * failures join the job's, and a rate sample is taken. Returns false for a duplicate or stale report.
 */
export function completeTask(state: JobState, taskWorkflowId: string, outcome: TaskOutcome, verifying: boolean, now = Date.now()): boolean {
  const plan = state.inFlight[taskWorkflowId];
  if (!plan) return false;
  delete state.inFlight[taskWorkflowId];
  addTaskOutcome(state, plan, outcome, verifying);
  addRateSample(state, now);
  return true;
}

/** Adds a finished task's counters (a retry's replace its previous round's failures) and records its failures. */
export function addTaskOutcome(state: JobState, plan: TaskPlan, outcome: TaskOutcome, verifying: boolean): void {
  state.tasksDone++;
  const taskNumber = String(outcome.n);
  const baseline = state.retryPrev[taskNumber];
  if (outcome.verifiedBy) addVerifiedBy((state.verifiedBy ??= emptyVerifiedBy()), outcome.verifiedBy);
  if (baseline) {
    const verifiedBefore = state.objects.verified;
    mergeRetry(state.objects, outcome.objects, baseline.failed, verifying);
    mergeRetry(state.bytes, outcome.bytes, baseline.failedBytes, verifying);
    // Earlier failures the retry found in place count as verified by their size alone.
    const recovered = state.objects.verified - verifiedBefore - outcome.objects.verified;
    if (recovered > 0) (state.verifiedBy ??= emptyVerifiedBy()).size += recovered;
    delete state.retryPrev[taskNumber];
  } else {
    addCounters(state.objects, outcome.objects);
    addCounters(state.bytes, outcome.bytes);
  }
  delete state.taskErrors[taskNumber];
  if (outcome.error) state.taskErrors[taskNumber] = outcome.error;
  state.throttleEvents += outcome.throttleEvents;
  state.partsResumed += outcome.partsResumed;
  state.lastRoundOfTask[taskNumber] = outcome.round;
  if (outcome.objects.failed > 0 || outcome.error) {
    state.failedTasks.push({ plan, failed: outcome.objects.failed, failedBytes: outcome.bytes.failed, error: outcome.error });
  }
  state.recentFailures = [...outcomeFailures(outcome), ...state.recentFailures].slice(0, MAX_RECENT_FAILURES);
  addTaskArchive(state, outcome);
}

/** A task's failed objects, plus the task itself when it ended with an error. */
function outcomeFailures(outcome: TaskOutcome): FailureRecord[] {
  if (!outcome.error) return [...outcome.failures];
  return [...outcome.failures, { key: `(task ${outcome.taskId})`, size: 0, errorClass: 'TaskFailed', message: outcome.error, task: outcome.taskId }];
}

// ── Retry rounds ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A retry re-runs a task's whole range: what it copied is new, its failures replace the earlier ones, and
 * earlier failures it found already in place (copied but not confirmed, say) count as skipped. Objects the
 * first round copied or skipped show up as skipped again and are not counted twice.
 */
export function mergeRetry(total: Counters, retry: Counters, previousFailed: number, verifying: boolean): void {
  const recovered = Math.max(0, previousFailed - retry.failed - retry.copied);
  total.copied += retry.copied;
  total.failed += retry.failed - previousFailed;
  total.skipped += recovered;
  total.verified += retry.verified + (verifying ? recovered : 0);
}

/** A finished round is followed by a retry round when tasks had failures, rounds are left and the job has not failed. */
export const retryRoundDue = (state: JobState, retries: number): boolean => state.failedTasks.length > 0 && state.round < retries && !state.error;

/** Starts the next round: the failed tasks go back in the queue, remembering the failures they counted. */
export function startRetryRound(state: JobState): void {
  state.round++;
  for (const failedTask of state.failedTasks) {
    state.queue.push(failedTask.plan);
    state.retryPrev[String(failedTask.plan.n)] = { failed: failedTask.failed, failedBytes: failedTask.failedBytes };
  }
  state.failedTasks = [];
}

// ── Rates and ETA ───────────────────────────────────────────────────────────────────────────────────────────

/** Samples the copied-or-skipped totals (after a task finished), keeping the newest MAX_RATE_SAMPLES. */
export function addRateSample(state: Pick<JobState, 'samples' | 'bytes' | 'objects'>, now = Date.now()): void {
  state.samples.push([now, state.bytes.copied + state.bytes.skipped, state.objects.copied + state.objects.skipped]);
  if (state.samples.length > MAX_RATE_SAMPLES) state.samples.splice(0, state.samples.length - MAX_RATE_SAMPLES);
}

/**
 * Copy rate over the last minute up to now. Samples are taken when tasks finish, so the rate is measured from
 * the last sample at least 60 s old (or the run's start) to *now*, not between two samples: two tasks finishing
 * a moment apart must not read as a burst.
 */
export function rates(state: Pick<JobState, 'samples' | 'startedAt'>, now = Date.now()): Rates {
  let base: RateSample = [state.startedAt, 0, 0];
  for (const sample of state.samples) if (now - sample[0] >= RATE_WINDOW_MS) base = sample;
  if (state.samples.length >= MAX_RATE_SAMPLES && base[0] === state.startedAt) base = state.samples[0]!; // older samples were dropped
  const [baseAt, baseBytes, baseObjects] = base;
  const last = state.samples[state.samples.length - 1];
  const seconds = (now - baseAt) / 1000;
  if (!last || last[0] <= baseAt || seconds < 1) return { bytes: 0, objects: 0 };
  const [, lastBytes, lastObjects] = last;
  return { bytes: (lastBytes - baseBytes) / seconds, objects: (lastObjects - baseObjects) / seconds };
}

/** Time to finish the listed bytes at `bytesPerSecond`; known once listing is done and a rate is measured. */
export function etaMs(state: Pick<JobState, 'listingDone' | 'planned' | 'bytes'>, bytesPerSecond: number): number | undefined {
  const doneBytes = state.bytes.copied + state.bytes.skipped + state.bytes.failed + state.bytes.excluded;
  const remainingBytes = Math.max(0, state.planned.bytes - doneBytes);
  return state.listingDone && bytesPerSecond > 0 ? Math.round((remainingBytes / bytesPerSecond) * 1000) : undefined;
}

// ── Limits and throttling ───────────────────────────────────────────────────────────────────────────────────

/** The base limits with the active time-of-day window's limits applied (field by field). */
export function effectiveLimits(state: Pick<JobState, 'limits'>, timeWindow: ThrottleWindow | undefined): Limits {
  if (!timeWindow) return { ...state.limits };
  return {
    ...state.limits,
    ...(timeWindow.bandwidth !== undefined ? { bandwidth: timeWindow.bandwidth } : {}),
    ...(timeWindow.objectsPerSecond !== undefined ? { objectsPerSecond: timeWindow.objectsPerSecond } : {}),
  };
}

/** "08:00–20:00 UTC". */
export const throttleWindowLabel = (timeWindow: ThrottleWindow): string => `${timeWindow.from}–${timeWindow.to} UTC`;

/** What batches poll: pause, and each in-flight task's equal share of the job's rate limits. */
export function controlState(state: JobState, timeWindow: ThrottleWindow | undefined): ControlState {
  const share = Math.max(1, Math.min(state.limits.tasks, inFlightCount(state) || 1));
  const limits = effectiveLimits(state, timeWindow);
  return {
    paused: state.paused,
    bandwidthPerTask: limits.bandwidth !== undefined ? limits.bandwidth / share : undefined,
    objectsPerSecondPerTask: limits.objectsPerSecond !== undefined ? limits.objectsPerSecond / share : undefined,
    objects: limits.objects,
  };
}

/** Throws on a field that is not a positive number (whole for counts); null lifts a rate limit. */
export function validateThrottleArgs(args: ThrottleArgs): void {
  for (const [field, value] of Object.entries(args ?? {})) {
    if (value === null && (field === 'bandwidth' || field === 'objectsPerSecond')) continue;
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`throttle ${field}: must be a positive number, got ${JSON.stringify(value)}`);
    if ((field === 'concurrency' || field === 'tasks') && !Number.isInteger(value)) throw new Error(`throttle ${field}: must be a whole number`);
  }
}

/** Applies validated throttle arguments to the base limits (in place); omitted fields stay. */
export function applyThrottleArgs(limits: Limits, args: ThrottleArgs): void {
  if (args.bandwidth !== undefined) limits.bandwidth = args.bandwidth ?? undefined;
  if (args.objectsPerSecond !== undefined) limits.objectsPerSecond = args.objectsPerSecond ?? undefined;
  if (args.concurrency !== undefined) limits.objects = args.concurrency;
  if (args.tasks !== undefined) limits.tasks = args.tasks;
}

// ── Progress, Web UI text, report input and result ──────────────────────────────────────────────────────────

/** What the `progress` query returns. */
export function jobProgress(spec: JobSpec, state: JobState, timeWindow?: ThrottleWindow, now = Date.now()): JobProgress {
  const rate = rates(state, now);
  return {
    name: spec.name,
    phase: state.phase,
    paused: state.paused,
    round: state.round,
    listingDone: state.listingDone,
    objects: { ...state.objects, listed: state.planned.objects },
    bytes: { ...state.bytes, listed: state.planned.bytes },
    tasks: { planned: state.planned.tasks, done: state.tasksDone, inFlight: inFlightCount(state), failed: state.failedTasks.length },
    inFlightTasks: Object.keys(state.inFlight).slice(0, MAX_LISTED_TASKS),
    rateBytesPerSec: Math.round(rate.bytes),
    rateObjectsPerSec: Math.round(rate.objects * 10) / 10,
    etaMs: etaMs(state, rate.bytes),
    startedAt: state.startedAt,
    updatedAt: now,
    limits: effectiveLimits(state, timeWindow),
    ...(timeWindow ? { throttleWindow: throttleWindowLabel(timeWindow) } : {}),
    throttleEvents: state.throttleEvents,
    partsResumed: state.partsResumed,
    ...(state.verifiedBy ? { verifiedBy: state.verifiedBy } : {}),
    recentFailures: state.recentFailures,
    error: state.error,
    ...(state.mirror ? { mirror: { ...state.mirror } } : {}),
    ...(archiveProgress(state) ? { archive: archiveProgress(state) } : {}),
  };
}

/** The Web UI's current details: phase, counts, bytes, rate and ETA as a small Markdown table. */
export function jobDetails(spec: JobSpec, state: JobState, timeWindow?: ThrottleWindow, now = Date.now()): string {
  const progress = jobProgress(spec, state, timeWindow, now);
  const { objects, bytes, tasks } = progress;
  return [
    `**${spec.name}** — ${state.phase}${state.paused ? ' (paused)' : ''}${state.round ? `, retry round ${state.round}` : ''}`,
    '',
    '| | objects | bytes |',
    '|---|---:|---:|',
    `| listed${state.listingDone ? '' : ' (so far)'} | ${objects.listed} | ${formatBytes(bytes.listed)} |`,
    `| copied | ${objects.copied} | ${formatBytes(bytes.copied)} |`,
    `| skipped | ${objects.skipped} | ${formatBytes(bytes.skipped)} |`,
    `| failed | ${objects.failed} | ${formatBytes(bytes.failed)} |`,
    `| verified | ${objects.verified} | ${formatBytes(bytes.verified)} |`,
    '',
    ...(state.verifiedBy ? [`verified by: ${formatVerifiedBy(state.verifiedBy)}`, ''] : []),
    `rate ${formatBytes(progress.rateBytesPerSec)}/s, ${progress.rateObjectsPerSec} objects/s; ETA ${progress.etaMs !== undefined ? formatDuration(progress.etaMs) : '—'}; ` +
      `tasks ${tasks.done}/${tasks.planned} done, ${tasks.inFlight} in flight; throttled ${state.throttleEvents}×`,
    ...(timeWindow ? ['', throttleWindowLine(timeWindow, progress.limits)] : []),
    ...mirrorDetails(state.mirror),
    ...archiveDetails(state),
  ].join('\n');
}

function throttleWindowLine(timeWindow: ThrottleWindow, limits: Limits): string {
  const bandwidth = limits.bandwidth !== undefined ? `${formatBytes(limits.bandwidth)}/s` : 'bandwidth unlimited';
  return `throttle window ${throttleWindowLabel(timeWindow)}: ${bandwidth}, ${limits.objectsPerSecond ?? 'unlimited'} objects/s`;
}

/** The Web UI's one-line summary of a task child. */
export function taskSummary(jobName: string, plan: TaskPlan, round: number): string {
  return `${jobName}: task ${plan.n} (round ${round}), ${plan.objects} objects, ${formatBytes(plan.bytes)}`;
}

/** The `writeReport` input: counters, rounds, and the tasks that could not finish after every retry round. */
export function reportInput(spec: JobSpec, state: JobState, workflowId: string, finishedAt = Date.now()): ReportInput {
  return {
    job: spec,
    runTag: state.runTag,
    workflowId,
    startedAt: state.startedAt,
    finishedAt,
    objects: state.objects,
    bytes: state.bytes,
    ...(state.verifiedBy ? { verifiedBy: state.verifiedBy } : {}),
    rounds: state.round + 1,
    lastRoundOfTask: state.lastRoundOfTask,
    phase: state.phase,
    error: state.error,
    unfinishedTasks: state.failedTasks.flatMap(({ plan, error }) =>
      error ? [{ task: plan.n, range: plan.range, objects: plan.objects, bytes: plan.bytes, error }] : [],
    ),
    ...(state.mirror ? { mirror: state.mirror } : {}),
    ...(archiveProgress(state) ? { archive: archiveProgress(state) } : {}),
  };
}

/** Failed when the job failed as a whole; completed-with-failures when objects failed or tasks could not finish. */
export function jobStatus(state: JobState): JobResult['status'] {
  if (state.error) return 'failed';
  return state.objects.failed > 0 || Object.keys(state.taskErrors).length > 0 || (state.mirror?.failed ?? 0) > 0 ? 'completed-with-failures' : 'succeeded';
}

/** The workflow's result (and the `--json` summary). */
export function jobResult(spec: JobSpec, state: JobState, reportPath?: string, now = Date.now()): JobResult {
  const taskErrors = Object.values(state.taskErrors);
  return {
    name: spec.name,
    status: jobStatus(state),
    objects: { ...state.objects, listed: state.planned.objects, total: state.objects.copied + state.objects.skipped + state.objects.failed },
    bytes: { ...state.bytes, listed: state.planned.bytes, total: state.bytes.copied + state.bytes.skipped + state.bytes.failed },
    durationMs: now - state.startedAt,
    rounds: state.round + 1,
    partsResumed: state.partsResumed,
    ...(state.verifiedBy ? { verifiedBy: state.verifiedBy } : {}),
    reportPath,
    errorClass: state.errorClass,
    ...(state.mirror ? { mirror: { ...state.mirror } } : {}),
    ...(state.archive ? { archive: { ...state.archive } } : {}),
    error: state.error ?? (taskErrors.length ? `${taskErrors.length} task(s) could not finish: ${taskErrors[0]}` : undefined),
  };
}
