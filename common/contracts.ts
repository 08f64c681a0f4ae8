/** Inputs and results that cross workflow and activity boundaries. Plain JSON, small, no secrets. */
import type { EndpointConfig, JobSpec, Limits } from './job';
import type { ArchiveCounts, Counters, FailureRecord, JobPhase, MirrorSummary, VerifiedBy } from './progress';
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
  /** Archived objects skipped, handed to restore waits and restores requested (absent: none). */
  archive?: ArchiveCounts;
  /** The restore waits (workflows/restore-wait.ts) this task started: the job waits for each to report. */
  restoreWaits?: RestoreWaitStarted[];
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
  /** Archived objects handed to a restore wait (at most RESTORE_HANDOFF_MAX, activities/archive.ts). */
  restoring?: RestoringObject[];
  archive?: ArchiveCounts;
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
  /** Archived objects whose copy waits for their restore: the task hands them to a restore wait. */
  restoring?: RestoringObject[];
  archive?: ArchiveCounts;
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
  /** Archived objects: skipped, restored, waiting (absent: none met). */
  archive?: ArchiveCounts;
  /** Mirror mode's deletions (deletions.jsonl is written from the run's mirror files). */
  mirror?: MirrorSummary;
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

// ---------------------------------------------------------------- mirror mode (activities/mirror.ts)

/** A deletion set as approved: count, bytes and the chained digest of its `(key, size)` entries in key order. */
export interface MirrorSet {
  objects: number;
  bytes: number;
  digest: string;
}

export interface MirrorDiffInput {
  job: JobSpec;
  /** Names the run's report folder, where the set is written (deletions.jsonl). */
  runTag: string;
}

export interface MirrorDiffResult {
  /** Destination objects absent from the source and not excluded by the job's filters. */
  set: MirrorSet;
  /** Its first keys, for the Web UI and `ferry status`. */
  sample: string[];
  destinationObjects: number;
  /** Destination objects absent from the source that the filters exclude (kept). */
  protected: number;
  /** The source lists no object the job's filters select. */
  sourceEmpty: boolean;
}

export interface MirrorDeleteInput {
  job: JobSpec;
  runTag: string;
  /** The set to delete: the deletion stops, deleting nothing more, when the listings give another one. */
  approved: MirrorSet;
}

export interface MirrorDeleteResult {
  deleted: number;
  deletedBytes: number;
  failed: number;
  /** Deletions a versioned destination answered with a delete marker (older versions remain). */
  deleteMarkers: number;
}

// ---------------------------------------------------------------- archived objects (activities/archive*.ts, workflows/restore-wait.ts)

/** An archived source object whose copy waits for its restore (as listed). */
export interface RestoringObject {
  key: string;
  size: number;
  position: string;
  lastModified: number;
  etag?: string;
  storageClass: string;
}

/** A restore wait a task started, as its outcome tells the job. */
export interface RestoreWaitStarted {
  id: string;
  objects: number;
  bytes: number;
}

export interface RestoreWaitInput {
  job: JobSpec;
  runTag: string;
  /** The job workflow, signalled with the outcome. */
  parentId: string;
  round: number;
  /** Task number and batch the objects came from (names the failure files). */
  n: number;
  batch: number;
  limits: Limits;
  objects: RestoringObject[];
}

export interface RestoreWaitOutcome {
  id: string;
  objects: Counters;
  bytes: Counters;
  verifiedBy?: VerifiedBy;
  /** Bounded sample; every failure is in the report location. */
  failures: FailureRecord[];
  /** Objects handed to this wait, restored (copied after their restore), restore requests made while waiting. */
  handed: number;
  handedBytes: number;
  restored: number;
  restoredBytes: number;
  requests: number;
}

export interface CheckRestoredInput {
  job: JobSpec;
  restore: { days: number; tier: 'Bulk' | 'Standard' | 'Expedited' };
  objects: RestoringObject[];
}

export interface CheckRestoredResult {
  /** Keys readable now (restored, no longer archived, or gone: the copy reports those). */
  ready: string[];
  /** Restores requested again (a restored copy that expired before it was copied). */
  requests: number;
}

export interface CopyRestoredInput {
  job: JobSpec;
  runTag: string;
  parentId: string;
  /** The restore wait's workflow id and its copy call number (name the failure file). */
  waitId: string;
  call: number;
  round: number;
  n: number;
  limits: Limits;
  objects: RestoringObject[];
  /** Record each object as an ArchivedObject failure (the wait gave up) instead of copying it. */
  giveUp?: string;
}

export interface CopyRestoredResult {
  objects: Counters;
  bytes: Counters;
  verifiedBy?: VerifiedBy;
  failures: FailureRecord[];
  /** Keys found archived again (the restored copy expired): a new restore was requested. */
  stillArchived: string[];
  requests: number;
}
