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
  done: 'done',
  failed: 'failed',
} as const;
export type JobPhase = (typeof JobPhase)[keyof typeof JobPhase];

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
  /** Set when the job failed as a whole (preflight). */
  error?: string;
  reportPath?: string;
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
}
