/** Counters and progress shapes shared by workflows, activities, CLI and reports. Plain data. */

/** Object or byte counters. `total` = objects the job covers (after filters); `excluded` = filtered out. */
export interface Counters {
  listed: number;
  copied: number;
  skipped: number;
  failed: number;
  verified: number;
  excluded: number;
}

export const emptyCounters = (): Counters => ({ listed: 0, copied: 0, skipped: 0, failed: 0, verified: 0, excluded: 0 });

/** Adds `b` into `a` (in place) and returns `a`. */
export function addCounters(a: Counters, b: Partial<Counters>): Counters {
  for (const k of Object.keys(a) as (keyof Counters)[]) a[k] += b[k] ?? 0;
  return a;
}

/**
 * What a verified object was checked by: `size` (the destination's size after the copy, or found in place),
 * `md5` (an MD5 ETag — single-part — equal to the MD5 of the bytes Ferry sent, or of the other side's ETag),
 * `crc64` / `crc32c` / `sha256` (a checksum a server reported, equal to the bytes Ferry sent), `content` (the
 * destination read back and hashed by Ferry).
 */
export const Check = { size: 'size', md5: 'md5', crc64: 'crc64', crc32c: 'crc32c', sha256: 'sha256', content: 'content' } as const;
export type Check = (typeof Check)[keyof typeof Check];
export const CHECKS: readonly Check[] = Object.values(Check);

/** Verified objects by check: an object counts once under every check it passed (a size-only check counts under `size` alone). */
export type VerifiedBy = Record<Check, number>;

export const emptyVerifiedBy = (): VerifiedBy => ({ size: 0, md5: 0, crc64: 0, crc32c: 0, sha256: 0, content: 0 });

/** Adds `b` into `a` (in place) and returns `a`. */
export function addVerifiedBy(a: VerifiedBy, b: Partial<VerifiedBy> | undefined): VerifiedBy {
  for (const k of CHECKS) a[k] += b?.[k] ?? 0;
  return a;
}

/** One object's checks as counts: 1 under each. */
export function checkCounts(checks: Iterable<Check>): Partial<VerifiedBy> {
  const out: Partial<VerifiedBy> = {};
  for (const c of checks) out[c] = 1;
  return out;
}

/** "size 10, md5 6, content 4" (checks that counted nothing left out); "none" when nothing was verified. */
export function formatVerifiedBy(v: VerifiedBy | undefined): string {
  const parts = CHECKS.filter((k) => (v?.[k] ?? 0) > 0).map((k) => `${k} ${v![k]}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** Archived source objects by what happened to them (activities/archive.ts, workflows/restore-wait.ts). */
export interface ArchiveCounts {
  /** Skipped by `archived: skip` (listed in the report's skipped.jsonl). */
  skipped: number;
  skippedBytes: number;
  /** Handed to a restore wait. */
  restoring: number;
  restoringBytes: number;
  /** Restore requests the store accepted as new (re-requests after an expiry included). */
  requests: number;
  /** Copied after their restore. */
  restored: number;
  restoredBytes: number;
}

export const emptyArchiveCounts = (): ArchiveCounts => ({ skipped: 0, skippedBytes: 0, restoring: 0, restoringBytes: 0, requests: 0, restored: 0, restoredBytes: 0 });

/** Adds `b` into `a` (in place) and returns `a`. */
export function addArchiveCounts(a: ArchiveCounts, b: Partial<ArchiveCounts> | undefined): ArchiveCounts {
  for (const k of Object.keys(a) as (keyof ArchiveCounts)[]) a[k] += b?.[k] ?? 0;
  return a;
}

/** Archived objects in the `progress` query: the counts, and the objects whose restore waits are still running. */
export interface ArchiveProgress extends ArchiveCounts {
  waiting: number;
  waitingBytes: number;
}

/** One object that could not be copied or verified. */
export interface FailureRecord {
  key: string;
  size: number;
  /** Error class name from common/errors.ts (or the JS error name). */
  errorClass: string;
  message: string;
  /** Task workflow id the object belonged to. */
  task: string;
}

export const JobPhase = {
  preflight: 'preflight',
  copying: 'copying',
  verifying: 'verifying',
  retrying: 'retrying',
  reporting: 'reporting',
  /** Mirror mode: both sides listed to find destination objects absent from the source. */
  diffing: 'diffing',
  /** Mirror mode: more deletions than `mirror.maxDelete`; waiting for `ferry approve` / `ferry reject`. */
  awaitingApproval: 'awaiting-approval',
  /** Mirror mode: deleting the approved set. */
  deleting: 'deleting',
  done: 'done',
  failed: 'failed',
} as const;
export type JobPhase = (typeof JobPhase)[keyof typeof JobPhase];

/**
 * Mirror mode's deletions (jobs with `mode: mirror`): where they stand, the set found (destination objects absent
 * from the source, keys the job's filters exclude left out) and what was deleted.
 */
export interface MirrorSummary {
  /**
   * `pending` while copying; `skipped`: a guard kept every deletion off (`reason` says which); `rejected` by
   * `ferry reject`; `failed`: the set could not be listed or changed after approval (`reason`); `done` otherwise.
   */
  stage: 'pending' | 'diffing' | 'awaiting-approval' | 'deleting' | 'done' | 'skipped' | 'rejected' | 'failed';
  reason?: string;
  /** The deletion set: count, bytes and its digest (what `ferry approve` approves). */
  set?: { objects: number; bytes: number; digest: string };
  /** The first keys of the set (all of them are in the report's deletions.jsonl). */
  sample?: string[];
  /** Destination objects listed (the base of a percentage `maxDelete`). */
  destinationObjects?: number;
  /** Destination objects absent from the source that the job's filters exclude: never deleted. */
  protected?: number;
  /** Deletions allowed without approval. */
  limit?: number;
  /** How the set was let through: under the limit (`automatic`), or by `ferry approve`. */
  approval?: 'automatic' | 'approved';
  deleted: number;
  deletedBytes: number;
  /** Deletions the store refused (listed in deletions.jsonl). */
  failed: number;
  /** The destination keeps versions: each deletion added a delete marker and older versions remain. */
  deleteMarkers?: boolean;
}

/** What the `progress` query returns. */
export interface JobProgress {
  name: string;
  phase: JobPhase;
  paused: boolean;
  /** Retry round (0 = first pass). */
  round: number;
  listingDone: boolean;
  objects: Counters;
  bytes: Counters;
  tasks: { planned: number; done: number; inFlight: number; failed: number };
  /** Ids of (up to 100) task workflows in flight: live progress adds their `taskProgress` to the totals. */
  inFlightTasks: string[];
  /** Bytes per second over the last minute of completed work. */
  rateBytesPerSec: number;
  rateObjectsPerSec: number;
  /** Estimated ms to finish the listed work, when listing is done and a rate is known. */
  etaMs?: number;
  startedAt: number;
  updatedAt: number;
  /** Limits in force now: the base limits with the active throttle window's applied. */
  limits: { bandwidth?: number; objectsPerSecond?: number; objects: number; tasks: number };
  /** The time-of-day throttle window in force, e.g. "08:00–20:00 UTC" (absent outside every window). */
  throttleWindow?: string;
  /** Throttling responses seen (503 SlowDown/429) — adaptive back-off is active when this grows. */
  throttleEvents: number;
  /** Multipart parts reused after a batch resumed (a killed worker's large object continued, not restarted). */
  partsResumed: number;
  /** Verified objects by check (finished tasks; absent from jobs started before it was counted). */
  verifiedBy?: VerifiedBy;
  /** Up to 10 recent failures. */
  recentFailures: FailureRecord[];
  /** Archived source objects: skipped, waiting for their restore, restored (absent: none met). */
  archive?: ArchiveProgress;
  /** Set when the job failed as a whole (preflight). */
  error?: string;
  reportPath?: string;
  /** Mirror mode's deletions. */
  mirror?: MirrorSummary;
}

/** The final outcome of a job (workflow result, `--json` summary). */
export interface JobResult {
  name: string;
  status: 'succeeded' | 'completed-with-failures' | 'failed';
  objects: Counters & { total: number };
  bytes: Counters & { total: number };
  durationMs: number;
  rounds: number;
  partsResumed: number;
  /** Verified objects by check (see {@link Check}). */
  verifiedBy?: VerifiedBy;
  reportPath?: string;
  error?: string;
  /** Error class of a job-fatal failure (e.g. AccessDeniedError, BucketNotFoundError, CredentialsError). */
  errorClass?: string;
  /** Mirror mode's deletions. */
  mirror?: MirrorSummary;
  /** Archived source objects: skipped, restored, restore requests (absent: none met). */
  archive?: ArchiveCounts;
}
