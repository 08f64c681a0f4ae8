/**
 * Signals, queries and updates of the job and task workflows: the names operators use with
 * `temporal workflow signal --name pause` / `temporal workflow query --type progress`.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobProgress, MirrorSummary } from '../common/progress';
import type { TaskOutcome } from '../common/contracts';
import type { CutoverView } from './cutover-state';

/** Stop starting work and cancel in-flight batches cleanly; they resume from their cursors. */
export const pauseSignal = defineSignal('pause');
/** Continue after `pause`. */
export const resumeSignal = defineSignal('resume');

/** New limits for a running job; omitted fields stay. Bandwidth in bytes/s. */
export interface ThrottleArgs {
  bandwidth?: number | null;
  objectsPerSecond?: number | null;
  concurrency?: number;
  tasks?: number;
}
/** Changes limits (acknowledged). Every in-flight batch picks them up within seconds. */
export const throttleUpdate = defineUpdate<JobProgress['limits'], [ThrottleArgs]>('throttle');
/** The same as a signal, for `temporal workflow signal --name throttle --input '{"bandwidth":1048576}'`. */
export const throttleSignal = defineSignal<[ThrottleArgs]>('throttle');

/** Progress snapshot: phase, counters, rate, ETA, paused, tasks in flight, round. */
export const progressQuery = defineQuery<JobProgress>('progress');

/** What batches poll every couple of seconds: pause state and their share of the limits. */
export interface ControlState {
  paused: boolean;
  /** This task's share of the job's bandwidth (bytes/s), if limited. */
  bandwidthPerTask?: number;
  objectsPerSecondPerTask?: number;
  objects: number;
}
export const controlQuery = defineQuery<ControlState>('control');

/** Sent by a task child to its job when it ends (success or failure). */
export const taskDoneSignal = defineSignal<[TaskOutcome]>('taskDone');

/** A task's counters so far (completed batches only; the running batch's are in its heartbeat details). */
export const taskProgressQuery = defineQuery<TaskOutcome>('taskProgress');

// ── Mirror mode: a deletion set over `mirror.maxDelete` waits for one of these (`ferry approve` / `ferry reject`).
// Each is an Update (acknowledged, validated) and a signal of the same name (`temporal workflow signal --name approve`).

/** What `approve` approves: the digest of the set as `progress` shows it (absent: the set awaiting approval now). */
export interface ApproveArgs {
  digest?: string;
}
/** Deletes the set awaiting approval. Refused when none awaits or the digest is another set's. */
export const approveUpdate = defineUpdate<MirrorSummary, [ApproveArgs?]>('approve');
export const approveSignal = defineSignal<[ApproveArgs?]>('approve');
/** Deletes nothing this run (the set awaiting approval, or the one still to be found); the job then ends. */
export const rejectUpdate = defineUpdate<MirrorSummary>('reject');
export const rejectSignal = defineSignal('reject');

// ── Cut-over workflow (`cutover`, id `ferry-<name>-cutover`) ──────────────────────────────────────────────────
// Each control message is an Update (acknowledged, validated: `ferry cutover NAME --switched|--retry|--abort`)
// and a signal of the same name (fire-and-forget: `temporal workflow signal --name cutoverSwitched`).

/** Traffic now goes to the destination: run the final delta and the full verify. Idempotent. */
export const cutoverSwitchedUpdate = defineUpdate<CutoverView>('cutoverSwitched');
export const cutoverSwitchedSignal = defineSignal('cutoverSwitched');
/** After a failed round or verify: copy what differs (or re-run the failed step), then verify again. */
export const cutoverRetryUpdate = defineUpdate<CutoverView>('cutoverRetry');
export const cutoverRetrySignal = defineSignal('cutoverRetry');
/** Stop at once: cancel the running round, undo back-to-origin when it was applied; no data is deleted. */
export const cutoverAbortUpdate = defineUpdate<CutoverView>('cutoverAbort');
export const cutoverAbortSignal = defineSignal('cutoverAbort');
/** Phase, every round's figures, back-to-origin, switch time, last error. */
export const cutoverStateQuery = defineQuery<CutoverView>('cutoverState');
