/** Inputs and results that cross workflow and activity boundaries. Plain JSON, small, no secrets. */
import type { JobSpec, Limits } from './job';
import type { Counters, FailureRecord, JobPhase } from './progress';

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
  /**
   * Objects copied by this or an earlier attempt and not yet size-verified (verification runs at the end of the
   * batch): source key, size, and the listing position when it differs from the key. A retried attempt verifies
   * them too, so `verified` stays exact across worker crashes and server outages. Capped in size (heartbeats).
   */
  copiedUnverified?: ([key: string, size: number] | [key: string, size: number, position: string])[];
}

export interface MultipartCheckpoint {
  uploadId: string;
  sourceEtag?: string;
  sourceSize: number;
  sourceModified: number;
  partSize: number;
  /** Completed parts: number, etag, size, crc64 (for whole-object combination). */
  parts: { partNumber: number; etag: string; size: number; crc64?: string }[];
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
}

export interface PreflightResult {
  sourceObjectsSeen: number;
  warnings: string[];
}

export interface ReportInput {
  job: JobSpec;
  runTag: string;
  workflowId: string;
  startedAt: number;
  finishedAt: number;
  objects: Counters;
  bytes: Counters;
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
