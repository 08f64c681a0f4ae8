/** Inputs and results that cross workflow and activity boundaries. Plain JSON, small, no secrets. */
import type { EndpointConfig, JobSpec, Limits } from './job';
import type { Counters, FailureRecord, JobPhase, VerifiedBy } from './progress';
import type { Preset } from '../storage/quirks';

/** A contiguous slice of the source in listing order: positions (startAfter, last]. */
export interface KeyRange {
  /** Exclusive start position; undefined = from the beginning of the listing. */
  startAfter?: string;
  /** Inclusive last position. */
  last: string;
}

/** One planned task. */
export interface TaskPlan {
  /** Task number (ids `ferry-<name>/<round>/<n>`); a short wire name that captured histories and running jobs carry. */
  n: number;
  range: KeyRange;
  objects: number;
  bytes: number;
}

export interface PlanTasksInput {
  job: JobSpec;
  /** Listing cursor (position) to continue after. */
  cursor?: string;
  /** Number for the first task planned by this call. */
  firstTask: number;
  /** Plan at most this many tasks in this call. */
  maxTasks: number;
}

export interface PlanTasksResult {
  tasks: TaskPlan[];
  cursor?: string;
  done: boolean;
  /** Objects/bytes seen by the listing in this call (before filters). */
  listedObjects: number;
  listedBytes: number;
}

export interface TaskInput {
  job: JobSpec;
  /** Names this run's report folder (the job's start time, ISO). */
  runTag: string;
  /** The job workflow id to signal on completion. */
  parentId: string;
  round: number;
  plan: TaskPlan;
  /** Limits when the task started (batches poll the job for changes). */
  limits: Limits;
}

export interface TaskOutcome {
  taskId: string;
  /** Task number (TaskPlan.n). */
  n: number;
  round: number;
  objects: Counters;
  bytes: Counters;
  /** Bounded sample; the full list is in the report location. */
  failures: FailureRecord[];
  throttleEvents: number;
  /** Multipart parts found already uploaded when a batch resumed a large object (not re-sent). */
  partsResumed: number;
  /** Verified objects by check (absent: counted before checks were recorded, or nothing verified). */
  verifiedBy?: VerifiedBy;
  /** The task itself failed (not only some objects): e.g. the destination became unwritable. */
  error?: string;
}

export interface BatchInput {
  job: JobSpec;
  runTag: string;
  taskId: string;
  parentId: string;
  round: number;
  /** Task number (TaskPlan.n). */
  n: number;
  batch: number;
  range: KeyRange;
  /** Position to continue after (within range). */
  cursor?: string;
  /** Multipart uploads in progress, handed over from a paused batch. */
  uploads?: Record<string, MultipartCheckpoint>;
  /** Positions after `cursor` that a paused batch already finished (skipped, not redone or recounted). */
  doneAfterCursor?: string[];
  limits: Limits;
}

/** Heartbeat details of a batch: enough to resume inside the batch and inside large objects. */
export interface BatchCheckpoint {
  /** Every object at or before this position is finished (copied, skipped or failed). */
  cursor?: string;
  /** Finished objects after `cursor` (parallel lanes finish out of order); at most `limits.objects` entries. */
  doneAfterCursor: string[];
  objects: Counters;
  bytes: Counters;
  /** Multipart uploads in progress: destination key → upload state. */
  uploads: Record<string, MultipartCheckpoint>;
  failuresRecorded: number;
  throttleEvents: number;
  partsResumed: number;
  /** Verified objects by check, as `objects.verified` counts them. */
  verifiedBy?: VerifiedBy;
  /**
   * Objects copied by this or an earlier attempt and not yet size-verified (verification runs at the end of the
   * batch): source key, size, the listing position when it differs from the key (or when checks follow), and the
   * checks made during the copy (comma-separated `Check` names). A retried attempt verifies them too, so
   * `verified` stays exact across worker crashes and server outages. Capped in size (heartbeats).
   */
  copiedUnverified?: ([key: string, size: number] | [key: string, size: number, position: string] | [key: string, size: number, position: string, checks: string])[];
}

export interface MultipartCheckpoint {
  uploadId: string;
  sourceEtag?: string;
  sourceSize: number;
  sourceModified: number;
  partSize: number;
  /**
   * Completed parts: number, etag, size, crc64 (for whole-object combination), and `md5` true when the part's ETag
   * was an MD5 equal to the MD5 of the bytes sent.
   */
  parts: { partNumber: number; etag: string; size: number; crc64?: string; md5?: boolean }[];
}

export interface BatchResult {
  /** Multipart uploads left in progress by a pause (resume them in the next batch). */
  uploads?: Record<string, MultipartCheckpoint>;
  doneAfterCursor?: string[];
  cursor?: string;
  done: boolean;
  paused: boolean;
  objects: Counters;
  bytes: Counters;
  failures: FailureRecord[];
  failureCount: number;
  throttleEvents: number;
  partsResumed: number;
  verifiedBy?: VerifiedBy;
}

/** The quirks one s3/oss side ran with (storage/quirks.ts) and what probing the store showed. Plain data. */
export interface QuirksReport {
  preset: Preset;
  /** `job`: named by `provider:`; `default`: the type's preset (aws for s3, alibaba for oss). */
  presetFrom: 'job' | 'default';
  /** The job's `quirks:` fields (and `forcePathStyle`) as `field=value`. */
  overrides: string[];
  /** The ListObjects version the job lists with after probing. */
  listVersion: 1 | 2;
  /** Whether a listing after the first key began after it; `untested` with fewer than two keys. */
  startAfter: 'honoured' | 'ignored' | 'untested';
  /** Shape of the first listed object's ETag (`md5-like` = 32 hex); `untested` when nothing is listed. */
  etag: 'md5-like' | 'other' | 'untested';
  /** Where the store contradicts the preset, in words. */
  notes: string[];
}

export interface PreflightResult {
  sourceObjectsSeen: number;
  warnings: string[];
  /** Per s3/oss side; absent for fs/http sides (and in results of workers older than quirks). */
  quirks?: { source?: QuirksReport; destination?: QuirksReport };
}

export interface ReportInput {
  job: JobSpec;
  runTag: string;
  workflowId: string;
  startedAt: number;
  finishedAt: number;
  objects: Counters;
  bytes: Counters;
  /** Verified objects by check. */
  verifiedBy?: VerifiedBy;
  rounds: number;
  /** For each task that ran more than once, the last round it ran in: only that round's failures count. */
  lastRoundOfTask: Record<string, number>;
  phase: JobPhase;
  error?: string;
  /** Tasks that could not finish after every retry round (their objects are not in failures.jsonl one by one). */
  unfinishedTasks?: { task: number; range: KeyRange; objects: number; bytes: number; error: string }[];
}

export interface ReportResult {
  path: string;
  failures: number;
}

// ---------------------------------------------------------------- back-to-origin (activities/back-to-origin.ts)

export interface BackToOriginOnInput {
  destination: EndpointConfig;
  /** Where a missing key is fetched from, ending in `/` (default for s3/oss sources: `defaultOriginUrl`, common/origin-url.ts). */
  originUrl: string;
  /** Pass the reader's query string on to the origin (default false). */
  passQueryString?: boolean;
}

export interface BackToOriginOnResult {
  /** Whether the destination now has Ferry's rule (false: the store has no back-to-origin; see `note`). */
  applied: boolean;
  /** The destination's configuration from before Ferry's rule (OSS: website configuration XML; null: none), for backToOriginOff. */
  previous: string | null;
  /** Ferry's rule as the store holds it (OSS: the `<RoutingRule>` XML). */
  rule?: string;
  /** Why nothing was applied, or that the rule was already set (a retried activity). */
  note?: string;
}

export interface BackToOriginOffInput {
  destination: EndpointConfig;
  /** `previous` from backToOriginOn: put back exactly (null: the destination had no configuration). */
  previous: string | null;
}
