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
  sleep,
  type SignalDefinition,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FerryActivities } from '../activities';
import type { JobSpec, Limits } from '../common/job';
import { parseJob, taskWorkflowId } from '../common/job';
import { InvalidConfigError } from '../common/errors';
import { addCounters, emptyCounters, JobPhase, type Counters, type FailureRecord, type JobProgress, type JobResult } from '../common/progress';
import { FerryJob, FerryPhase } from '../common/search-attributes';
import { formatBytes, formatDuration } from '../common/units';
import { activeThrottleWindow, type ThrottleWindow } from '../common/throttle-schedule';
import type { TaskOutcome, TaskPlan } from './types';
import { controlQuery, pauseSignal, progressQuery, resumeSignal, taskDoneSignal, taskProgressQuery, throttleSignal, throttleUpdate, type ThrottleArgs } from './messages';
import { planOptions, preflightOptions, reportOptions } from './activity-options';
import { migrationTask } from './migration-task';
import { newTaskRun, runTaskBatches, type TaskRun } from './task-run';

const { preflight } = proxyActivities<FerryActivities>(preflightOptions);
const { planTasks } = proxyActivities<FerryActivities>(planOptions);
const { writeReport } = proxyActivities<FerryActivities>(reportOptions);

/** Continue-as-new after this many child starts in one run, or this many history events, or when suggested. */
export const MAX_STARTS_PER_RUN = 500;
export const MAX_EVENTS_PER_RUN = 8000;

/** Everything that crosses continue-as-new. */
export interface JobState {
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
  /** Tasks of the current round that had failures (retried next round), with the failures they counted. */
  failedTasks: { plan: TaskPlan; failed: number; failedBytes: number; error?: string }[];
  /** Failure counts a retried task contributed in its previous round (subtracted when its retry reports). */
  retryPrev: Record<string, { failed: number; failedBytes: number }>;
  lastRoundOfTask: Record<string, number>;
  planned: { objects: number; bytes: number; tasks: number };
  objects: Counters;
  bytes: Counters;
  tasksDone: number;
  /** Tasks that ended with an error (not just failed objects) in their latest round. */
  taskErrors: Record<string, string>;
  paused: boolean;
  limits: Limits;
  throttleEvents: number;
  partsResumed: number;
  recentFailures: FailureRecord[];
  samples: [number, number, number][];
  error?: string;
  /** Error class of a job-fatal failure (AccessDeniedError, BucketNotFoundError, CredentialsError …). */
  errorClass?: string;
}

function initialState(spec: JobSpec): JobState {
  const now = Date.now();
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

/**
 * A retry re-runs a task's whole range: what it copied is new, its failures replace the earlier ones, and
 * earlier failures it found already in place (copied but not confirmed, say) count as skipped. Objects the
 * first round copied or skipped show up as skipped again and are not counted twice.
 */
export function mergeRetry(total: Counters, retry: Counters, prevFailed: number, verifying: boolean): void {
  const recovered = Math.max(0, prevFailed - retry.failed - retry.copied);
  total.copied += retry.copied;
  total.failed += retry.failed - prevFailed;
  total.skipped += recovered;
  total.verified += retry.verified + (verifying ? recovered : 0);
}

/**
 * Copy rate over the last minute up to now. Samples are taken when tasks finish, so the rate is measured from
 * the last sample at least 60 s old (or the run's start) to *now*, not between two samples: two tasks finishing
 * a moment apart must not read as a burst.
 */
export function rates(s: Pick<JobState, 'samples' | 'startedAt'>, now = Date.now()): { bytes: number; objects: number } {
  let base: [number, number, number] = [s.startedAt, 0, 0];
  for (const sample of s.samples) if (now - sample[0] >= 60_000) base = sample;
  if (s.samples.length >= 30 && base[0] === s.startedAt) base = s.samples[0]!; // older samples were dropped
  const last = s.samples[s.samples.length - 1];
  const dt = (now - base[0]) / 1000;
  if (!last || last[0] <= base[0] || dt < 1) return { bytes: 0, objects: 0 };
  return { bytes: (last[1] - base[1]) / dt, objects: (last[2] - base[2]) / dt };
}

/** The base limits with the active time-of-day window's limits applied (field by field). */
function effectiveLimits(s: JobState, timeWindow: ThrottleWindow | undefined): Limits {
  if (!timeWindow) return { ...s.limits };
  return {
    ...s.limits,
    ...(timeWindow.bandwidth !== undefined ? { bandwidth: timeWindow.bandwidth } : {}),
    ...(timeWindow.objectsPerSecond !== undefined ? { objectsPerSecond: timeWindow.objectsPerSecond } : {}),
  };
}

const windowLabel = (w: ThrottleWindow) => `${w.from}–${w.to} UTC`;

function progressOf(spec: JobSpec, s: JobState, timeWindow?: ThrottleWindow): JobProgress {
  const r = rates(s);
  const doneBytes = s.bytes.copied + s.bytes.skipped + s.bytes.failed + s.bytes.excluded;
  const remaining = Math.max(0, s.planned.bytes - doneBytes);
  return {
    name: spec.name,
    phase: s.phase,
    paused: s.paused,
    round: s.round,
    listingDone: s.listingDone,
    objects: { ...s.objects, listed: s.planned.objects },
    bytes: { ...s.bytes, listed: s.planned.bytes },
    tasks: { planned: s.planned.tasks, done: s.tasksDone, inFlight: Object.keys(s.inFlight).length, failed: s.failedTasks.length },
    inFlightTasks: Object.keys(s.inFlight).slice(0, 100),
    rateBytesPerSec: Math.round(r.bytes),
    rateObjectsPerSec: Math.round(r.objects * 10) / 10,
    etaMs: s.listingDone && r.bytes > 0 ? Math.round((remaining / r.bytes) * 1000) : undefined,
    startedAt: s.startedAt,
    updatedAt: Date.now(),
    limits: effectiveLimits(s, timeWindow),
    ...(timeWindow ? { throttleWindow: windowLabel(timeWindow) } : {}),
    throttleEvents: s.throttleEvents,
    partsResumed: s.partsResumed,
    recentFailures: s.recentFailures,
    error: s.error,
  };
}

function details(spec: JobSpec, s: JobState, timeWindow?: ThrottleWindow): string {
  const p = progressOf(spec, s, timeWindow);
  const o = p.objects;
  const b = p.bytes;
  return [
    `**${spec.name}** — ${s.phase}${s.paused ? ' (paused)' : ''}${s.round ? `, retry round ${s.round}` : ''}`,
    '',
    '| | objects | bytes |',
    '|---|---:|---:|',
    `| listed${s.listingDone ? '' : ' (so far)'} | ${o.listed} | ${formatBytes(b.listed)} |`,
    `| copied | ${o.copied} | ${formatBytes(b.copied)} |`,
    `| skipped | ${o.skipped} | ${formatBytes(b.skipped)} |`,
    `| failed | ${o.failed} | ${formatBytes(b.failed)} |`,
    `| verified | ${o.verified} | ${formatBytes(b.verified)} |`,
    '',
    `rate ${formatBytes(p.rateBytesPerSec)}/s, ${p.rateObjectsPerSec} objects/s; ETA ${p.etaMs !== undefined ? formatDuration(p.etaMs) : '—'}; ` +
      `tasks ${p.tasks.done}/${p.tasks.planned} done, ${p.tasks.inFlight} in flight; throttled ${s.throttleEvents}×`,
    ...(timeWindow ? ['', `throttle window ${windowLabel(timeWindow)}: ${p.limits.bandwidth !== undefined ? `${formatBytes(p.limits.bandwidth)}/s` : 'bandwidth unlimited'}, ${p.limits.objectsPerSecond ?? 'unlimited'} objects/s`] : []),
  ].join('\n');
}

function jobResult(spec: JobSpec, s: JobState, reportPath?: string): JobResult {
  const total = s.objects.copied + s.objects.skipped + s.objects.failed;
  const totalBytes = s.bytes.copied + s.bytes.skipped + s.bytes.failed;
  const status = s.error ? 'failed' : s.objects.failed > 0 || Object.keys(s.taskErrors).length > 0 ? 'completed-with-failures' : 'succeeded';
  return {
    name: spec.name,
    status,
    objects: { ...s.objects, listed: s.planned.objects, total },
    bytes: { ...s.bytes, listed: s.planned.bytes, total: totalBytes },
    durationMs: Date.now() - s.startedAt,
    rounds: s.round + 1,
    partsResumed: s.partsResumed,
    reportPath,
    errorClass: s.errorClass,
    error: s.error ?? (Object.keys(s.taskErrors).length ? `${Object.keys(s.taskErrors).length} task(s) could not finish: ${Object.values(s.taskErrors)[0]}` : undefined),
  };
}

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
  const info = workflowInfo();
  const s: JobState = carried ?? initialState(spec);
  let startsThisRun = 0;
  const setPhase = (phase: JobPhase) => {
    if (s.phase === phase) return;
    s.phase = phase;
    upsertSearchAttributes([{ key: FerryPhase, value: phase }]);
  };
  // The time-of-day throttle window in force (set by the window timer below; undefined outside every window).
  let timeWindow: ThrottleWindow | undefined;
  const refresh = () => setCurrentDetails(details(spec, s, timeWindow));

  const forward = (signal: SignalDefinition<[]>) => {
    for (const id of Object.keys(s.inFlight)) if (id !== info.workflowId) getExternalWorkflowHandle(id).signal(signal).catch(() => undefined);
  };
  setHandler(pauseSignal, () => {
    if (s.paused) return;
    s.paused = true;
    forward(pauseSignal);
    refresh();
  });
  setHandler(resumeSignal, () => {
    if (!s.paused) return;
    s.paused = false;
    forward(resumeSignal);
    refresh();
  });
  const applyThrottle = (a: ThrottleArgs) => {
    if (a.bandwidth !== undefined) s.limits.bandwidth = a.bandwidth ?? undefined;
    if (a.objectsPerSecond !== undefined) s.limits.objectsPerSecond = a.objectsPerSecond ?? undefined;
    if (a.concurrency !== undefined) s.limits.objects = a.concurrency;
    if (a.tasks !== undefined) s.limits.tasks = a.tasks;
    refresh();
    return { ...s.limits };
  };
  const validateThrottle = (a: ThrottleArgs) => {
    for (const [k, v] of Object.entries(a ?? {})) {
      if (v === null && (k === 'bandwidth' || k === 'objectsPerSecond')) continue;
      if (typeof v !== 'number' || !(v > 0)) throw new Error(`throttle ${k}: must be a positive number, got ${JSON.stringify(v)}`);
      if ((k === 'concurrency' || k === 'tasks') && !Number.isInteger(v)) throw new Error(`throttle ${k}: must be a whole number`);
    }
  };
  setHandler(throttleUpdate, applyThrottle, { validator: validateThrottle });
  setHandler(throttleSignal, (a) => {
    try {
      validateThrottle(a);
      applyThrottle(a);
    } catch (e) {
      log.warn('ignored invalid throttle signal', { error: String(e) });
    }
  });
  setHandler(progressQuery, () => progressOf(spec, s, timeWindow));
  setHandler(controlQuery, () => {
    const share = Math.max(1, Math.min(s.limits.tasks, Object.keys(s.inFlight).length || 1));
    const limits = effectiveLimits(s, timeWindow);
    return {
      paused: s.paused,
      bandwidthPerTask: limits.bandwidth !== undefined ? limits.bandwidth / share : undefined,
      objectsPerSecondPerTask: limits.objectsPerSecond !== undefined ? limits.objectsPerSecond / share : undefined,
      objects: limits.objects,
    };
  });
  // The task the job runs itself answers like a child (ferry status adds its live counts to the job's).
  setHandler(taskProgressQuery, () => {
    if (!s.inline) throw new Error('this job is not running a task itself');
    return s.inline.outcome;
  });
  const taskDone = (id: string, o: TaskOutcome) => {
    const plan = s.inFlight[id];
    if (!plan) return; // duplicate or stale
    delete s.inFlight[id];
    s.tasksDone++;
    const key = String(o.n);
    const prev = s.retryPrev[key];
    if (prev) {
      mergeRetry(s.objects, o.objects, prev.failed, spec.verify !== 'none');
      mergeRetry(s.bytes, o.bytes, prev.failedBytes, spec.verify !== 'none');
      delete s.retryPrev[key];
    } else {
      addCounters(s.objects, o.objects);
      addCounters(s.bytes, o.bytes);
    }
    delete s.taskErrors[key];
    if (o.error) s.taskErrors[key] = o.error;
    s.throttleEvents += o.throttleEvents;
    s.partsResumed += o.partsResumed;
    s.lastRoundOfTask[key] = o.round;
    if (o.objects.failed > 0 || o.error) s.failedTasks.push({ plan, failed: o.objects.failed, failedBytes: o.bytes.failed, error: o.error });
    const recent = [...o.failures, ...(o.error ? [{ key: `(task ${o.taskId})`, size: 0, errorClass: 'TaskFailed', message: o.error, task: o.taskId }] : [])];
    s.recentFailures = [...recent, ...s.recentFailures].slice(0, 10);
    s.samples.push([Date.now(), s.bytes.copied + s.bytes.skipped, s.objects.copied + s.objects.skipped]);
    if (s.samples.length > 30) s.samples.splice(0, s.samples.length - 30);
    refresh();
  };
  setHandler(taskDoneSignal, (o: TaskOutcome) => taskDone(o.taskId, o));

  if (!carried) upsertSearchAttributes([{ key: FerryJob, value: spec.name }, { key: FerryPhase, value: s.phase }]);
  // Time-of-day throttle windows: a durable timer wakes the job at every window boundary (in every run, also
  // after continue-as-new). Jobs without a schedule record no marker and no timer (replay-safe).
  const schedule = spec.throttleSchedule ?? [];
  if (schedule.length && patched('throttle-schedule')) {
    const applyWindows = async () => {
      for (;;) {
        const a = activeThrottleWindow(schedule, Date.now());
        const next = a.index !== undefined ? schedule[a.index] : undefined;
        if (next !== timeWindow) {
          timeWindow = next;
          refresh();
        }
        // A little past the boundary, so the next evaluation lands inside the new window.
        await sleep(a.nextChangeMs + 50, { summary: 'next throttle window boundary' });
      }
    };
    void applyWindows();
  }
  refresh();

  // Preflight: a job that cannot run fails at once with a clear reason (and still writes a report).
  if (!s.preflightDone) {
    try {
      await preflight(spec);
      s.preflightDone = true;
      setPhase(spec.mode === 'verify' ? JobPhase.verifying : JobPhase.copying);
    } catch (e) {
      s.error = e instanceof ActivityFailure && e.cause ? e.cause.message : e instanceof Error ? e.message : String(e);
      s.errorClass = e instanceof ActivityFailure && e.cause instanceof ApplicationFailure ? (e.cause.type ?? undefined) : 'Error';
      setPhase(JobPhase.failed);
      return finish();
    }
  }

  const canStart = () => !s.paused && Object.keys(s.inFlight).length < s.limits.tasks;
  const mustContinueAsNew = () => startsThisRun >= MAX_STARTS_PER_RUN || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= MAX_EVENTS_PER_RUN;
  for (;;) {
    // Keep the queue topped up while listing continues (at most 2 windows of planned ranges in state).
    if (!s.listingDone && s.queue.length < s.limits.tasks && !s.paused) {
      const r = await planTasks({ job: spec, cursor: s.cursor, firstTask: s.nextTask, maxTasks: Math.max(1, 2 * s.limits.tasks - s.queue.length) });
      for (const t of r.tasks) {
        s.queue.push(t);
        s.planned.objects += t.objects;
        s.planned.bytes += t.bytes;
        s.planned.tasks++;
      }
      s.nextTask += r.tasks.length;
      s.cursor = r.cursor;
      s.listingDone = r.done;
      refresh();
    }
    // The only task left: run it here rather than in a child (versioned: histories from before replay as they were).
    if (!s.inline && s.listingDone && s.queue.length === 1 && !Object.keys(s.inFlight).length && canStart() && patched('job-runs-last-task')) {
      const plan = s.queue.shift()!;
      s.inline = newTaskRun(taskWorkflowId(spec.name, s.round, plan.n), plan, s.round);
      s.inFlight[info.workflowId] = plan;
      refresh();
    }
    if (s.inline) {
      const run = s.inline;
      let finished = false;
      try {
        finished = await runTaskBatches(run, {
          job: spec,
          runTag: s.runTag,
          parentId: info.workflowId,
          limits: () => effectiveLimits(s, timeWindow),
          paused: () => s.paused,
          stop: mustContinueAsNew,
        });
      } catch (e) {
        run.outcome.error = e instanceof Error ? e.message : String(e);
        log.warn('task failed', { taskId: run.outcome.taskId, error: run.outcome.error });
        finished = true;
      }
      if (!finished) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof migrationJob>(spec, s);
      }
      s.inline = undefined;
      taskDone(info.workflowId, run.outcome);
      continue;
    }
    while (canStart() && s.queue.length) {
      const plan = s.queue.shift()!;
      const workflowId = taskWorkflowId(spec.name, s.round, plan.n);
      s.inFlight[workflowId] = plan;
      try {
        await startChild(migrationTask, {
          workflowId,
          args: [{ job: spec, runTag: s.runTag, parentId: info.workflowId, round: s.round, plan, limits: effectiveLimits(s, timeWindow) }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          staticSummary: `${spec.name}: task ${plan.n} (round ${s.round}), ${plan.objects} objects, ${formatBytes(plan.bytes)}`,
        });
      } catch (e) {
        // Already running (e.g. started before a crash of this workflow task): it will signal us when done.
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
      startsThisRun++;
    }
    refresh();

    const inFlight = () => Object.keys(s.inFlight).length;
    if (s.listingDone && !s.queue.length && !inFlight()) {
      // Round finished: retry the tasks that had failures, up to `retries` rounds.
      if (s.failedTasks.length && s.round < spec.retries && !s.error) {
        s.round++;
        setPhase(JobPhase.retrying);
        for (const f of s.failedTasks) {
          s.queue.push(f.plan);
          s.retryPrev[String(f.plan.n)] = { failed: f.failed, failedBytes: f.failedBytes };
        }
        s.failedTasks = [];
        continue;
      }
      break;
    }

    if (mustContinueAsNew()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof migrationJob>(spec, s);
    }
    // Wait for a free slot, a finished task, or a pause/resume/throttle change.
    const before = { inFlight: inFlight(), paused: s.paused, tasks: s.limits.tasks };
    await condition(
      () =>
        inFlight() < before.inFlight ||
        s.paused !== before.paused ||
        s.limits.tasks !== before.tasks ||
        (!s.paused && (inFlight() < s.limits.tasks && (s.queue.length > 0 || !s.listingDone))),
    );
  }
  setPhase(JobPhase.reporting);
  return finish();

  async function finish(): Promise<JobResult> {
    let reportPath: string | undefined;
    try {
      const r = await writeReport({
        job: spec,
        runTag: s.runTag,
        workflowId: info.workflowId,
        startedAt: s.startedAt,
        finishedAt: Date.now(),
        objects: s.objects,
        bytes: s.bytes,
        rounds: s.round + 1,
        lastRoundOfTask: s.lastRoundOfTask,
        phase: s.phase,
        error: s.error,
        unfinishedTasks: s.failedTasks.flatMap((f) => (f.error ? [{ task: f.plan.n, range: f.plan.range, objects: f.plan.objects, bytes: f.plan.bytes, error: f.error }] : [])),
      });
      reportPath = r.path;
    } catch (e) {
      log.error('report could not be written', { error: String(e) });
    }
    if (!s.error) setPhase(JobPhase.done);
    refresh();
    const result = jobResult(spec, s, reportPath);
    if (s.error) {
      await condition(allHandlersFinished);
      throw ApplicationFailure.create({ type: 'JobFailed', nonRetryable: true, message: s.error, details: [result] });
    }
    await condition(allHandlersFinished);
    return result;
  }
}
