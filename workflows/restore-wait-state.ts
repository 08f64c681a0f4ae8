/**
 * The pure rules of restore waits (workflows/restore-wait.ts) and of the job's account of them. No Temporal imports:
 * unit tests use it without a server. A wait holds the keys it waits for (at most RESTORE_HANDOFF_MAX, one batch's
 * handover); the job holds only a count per running wait.
 */
import { addArchiveCounts, addCounters, addVerifiedBy, emptyArchiveCounts, emptyCounters, emptyVerifiedBy, type ArchiveCounts, type ArchiveProgress, type Counters, type FailureRecord, type VerifiedBy } from '../common/progress';
import { formatBytes } from '../common/units';
import type { CopyRestoredResult, RestoreWaitInput, RestoreWaitOutcome, RestoringObject, TaskOutcome } from '../common/contracts';

const MINUTE = 60_000;
/** Waits between checks of a restore: 1, 2, 5, 15 and 30 minutes, then hourly (a Bulk restore takes hours, Expedited minutes). */
export const RESTORE_CHECK_INTERVALS_MS: readonly number[] = [1, 2, 5, 15, 30, 60].map((m) => m * MINUTE);
/** A restore wait gives up after 7 days (a DeepColdArchive Bulk restore takes up to 48 hours): its objects fail as ArchivedObject. */
export const RESTORE_GIVE_UP_MS = 7 * 24 * 60 * MINUTE;
/** Checks one run of a wait makes before it continues as new (each check's input holds the waited-for keys). */
export const CHECKS_PER_RUN = 40;
/** Failures a wait's outcome carries (the full list is in the report location). */
const FAILURE_SAMPLE = 10;

/** What a restore wait carries across continue-as-new. */
export interface RestoreWaitState {
  pending: RestoringObject[];
  startedAt: number;
  checks: number;
  copyCalls: number;
  outcome: RestoreWaitOutcome;
}

/** A restore wait before its first check: every object pending. */
export function newRestoreWait(id: string, input: RestoreWaitInput, now: number): RestoreWaitState {
  const handedBytes = input.objects.reduce((n, o) => n + o.size, 0);
  return {
    pending: [...input.objects],
    startedAt: now,
    checks: 0,
    copyCalls: 0,
    outcome: { id, objects: emptyCounters(), bytes: emptyCounters(), failures: [], handed: input.objects.length, handedBytes, restored: 0, restoredBytes: 0, requests: 0 },
  };
}

/** The wait before check number `checks` (0-based): the intervals in turn, the last one repeated. */
export function checkDelayMs(checks: number, intervals: readonly number[] = RESTORE_CHECK_INTERVALS_MS): number {
  const list = intervals.length ? intervals : RESTORE_CHECK_INTERVALS_MS;
  return list[Math.min(checks, list.length - 1)]!;
}

/** Time left before the wait gives up (0: give up now). */
export const timeLeftMs = (state: Pick<RestoreWaitState, 'startedAt'>, now: number, giveUpMs = RESTORE_GIVE_UP_MS): number => Math.max(0, state.startedAt + giveUpMs - now);

/** Takes the objects whose keys are ready out of `pending` (in place) and returns them. */
export function takeReady(state: RestoreWaitState, readyKeys: readonly string[]): RestoringObject[] {
  const ready = new Set(readyKeys);
  const taken = state.pending.filter((o) => ready.has(o.key));
  state.pending = state.pending.filter((o) => !ready.has(o.key));
  return taken;
}

/**
 * Adds a copy call's result: counters and failures join the outcome, objects found archived again go back to
 * `pending` (their restore was requested again). `restored`: copied objects count as restored (false for give-up).
 */
export function addCopyResult(state: RestoreWaitState, sent: readonly RestoringObject[], result: CopyRestoredResult): void {
  const { outcome } = state;
  addCounters(outcome.objects, result.objects);
  addCounters(outcome.bytes, result.bytes);
  if (result.verifiedBy) addVerifiedBy((outcome.verifiedBy ??= emptyVerifiedBy()), result.verifiedBy);
  outcome.restored += result.objects.copied;
  outcome.restoredBytes += result.bytes.copied;
  outcome.requests += result.requests;
  for (const f of result.failures) if (outcome.failures.length < FAILURE_SAMPLE) outcome.failures.push(f);
  const again = new Set(result.stillArchived);
  state.pending.push(...sent.filter((o) => again.has(o.key)));
}

/** The workflow id of the restore wait of one batch's handover: `ferry-<name>/restore/<round>/<task>/<batch>`. */
export const restoreWaitId = (jobName: string, round: number, n: number, batch: number): string => `ferry-${jobName}/restore/${round}/${n}/${batch}`;

/** The Web UI's one-line summary of a restore wait. */
export function restoreWaitSummary(jobName: string, objects: readonly RestoringObject[]): string {
  const classes = [...new Set(objects.map((o) => o.storageClass))].join(', ');
  return `${jobName}: waiting for the restore of ${objects.length} archived object(s) (${classes})`;
}

// ── The job's account of archived objects ─────────────────────────────────────────────────────────────────

/** What the job keeps: counts, and the restore waits still running (objects, bytes) by workflow id. */
export interface JobArchiveState {
  archive?: ArchiveCounts;
  /** Waits a task announced that have not reported yet. */
  restoreWaits?: Record<string, [objects: number, bytes: number]>;
  /** Waits that reported before the task that started them did. */
  restoreWaitsReported?: string[];
}

/** Adds a finished task's archived counts and the restore waits it started. */
export function addTaskArchive(state: JobArchiveState, outcome: TaskOutcome): void {
  if (outcome.archive) addArchiveCounts((state.archive ??= emptyArchiveCounts()), { skipped: outcome.archive.skipped, skippedBytes: outcome.archive.skippedBytes, restoring: outcome.archive.restoring, restoringBytes: outcome.archive.restoringBytes, requests: outcome.archive.requests });
  for (const wait of outcome.restoreWaits ?? []) {
    const early = state.restoreWaitsReported?.indexOf(wait.id) ?? -1;
    if (early >= 0) state.restoreWaitsReported!.splice(early, 1);
    else (state.restoreWaits ??= {})[wait.id] = [wait.objects, wait.bytes];
  }
}

/** The job's counters a wait's report adds to. */
export interface JobCounts {
  objects: Counters;
  bytes: Counters;
  verifiedBy?: VerifiedBy;
  recentFailures: FailureRecord[];
}

/** Adds a wait's report (its copies, failures, restored objects) to the job's counts; false for a duplicate (a wait reports once). */
export function restoreWaitReported(state: JobArchiveState & JobCounts, outcome: RestoreWaitOutcome, maxRecentFailures = 10): boolean {
  if (state.restoreWaits?.[outcome.id]) delete state.restoreWaits[outcome.id];
  else if (state.restoreWaitsReported?.includes(outcome.id)) return false;
  else (state.restoreWaitsReported ??= []).push(outcome.id);
  addCounters(state.objects, outcome.objects);
  addCounters(state.bytes, outcome.bytes);
  if (outcome.verifiedBy) addVerifiedBy((state.verifiedBy ??= emptyVerifiedBy()), outcome.verifiedBy);
  state.recentFailures = [...outcome.failures, ...state.recentFailures].slice(0, maxRecentFailures);
  addArchiveCounts((state.archive ??= emptyArchiveCounts()), { restored: outcome.restored, restoredBytes: outcome.restoredBytes, requests: outcome.requests });
  return true;
}

/** Restore waits announced and still running: the job does not finish before they report. */
export const restoreWaitsRunning = (state: JobArchiveState): number => Object.keys(state.restoreWaits ?? {}).length;

/** The `progress` query's archive figures (undefined when the job met no archived object). */
export function archiveProgress(state: JobArchiveState): ArchiveProgress | undefined {
  if (!state.archive && !restoreWaitsRunning(state)) return undefined;
  let waiting = 0;
  let waitingBytes = 0;
  for (const [objects, bytes] of Object.values(state.restoreWaits ?? {})) {
    waiting += objects;
    waitingBytes += bytes;
  }
  return { ...(state.archive ?? emptyArchiveCounts()), waiting, waitingBytes };
}

/** One line on archived objects, e.g. `archived: 3 waiting for restore (3 MiB), 5 restored (5 MiB), 0 skipped (0 B); 8 restore request(s)`. */
export function archiveLine(a: ArchiveCounts & Partial<Pick<ArchiveProgress, 'waiting' | 'waitingBytes'>>): string {
  const waiting = a.waiting !== undefined ? `${a.waiting} waiting for restore (${formatBytes(a.waitingBytes ?? 0)}), ` : '';
  return `archived: ${waiting}${a.restored} restored (${formatBytes(a.restoredBytes)}), ${a.skipped} skipped (${formatBytes(a.skippedBytes)}); ${a.requests} restore request(s)`;
}

/** The Web UI's lines about archived objects (none when the job met none). */
export function archiveDetails(state: JobArchiveState): string[] {
  const a = archiveProgress(state);
  return a ? ['', archiveLine(a)] : [];
}
