/**
 * Ferry's error hierarchy. Every provider maps its SDK errors into these classes in one function. What a class
 * means is data on the class (its {@link ErrorKind}): whether to retry, whether it stops the whole job, which
 * CLI exit code it maps to. The lists others need are derived from the classes: Temporal's
 * `nonRetryableErrorTypes` ({@link NON_RETRYABLE_ERROR_NAMES}) and the CLI's name → exit code lookup
 * ({@link errorKindsByName}). Workflows decide retry by `name`, never by message text.
 *
 * Names are pinned (not derived from `constructor.name`) so they survive bundling and cross the Temporal
 * boundary as `ApplicationFailure.type`. This module is bundled into the workflow sandbox: no Node built-ins.
 */

/**
 * The CLI's exit codes (DESIGN.md §2): 0 = every object copied and verified, 1 = the job finished with failures
 * (or an unexpected error), 2 = bad usage or an invalid job file, 3 = the job could not run, 130 = interrupted.
 */
export const ExitCode = { ok: 0, failures: 1, usage: 2, cannotRun: 3, interrupted: 130 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What an error class says about its errors; each class carries these as static fields, each instance a copy. */
export interface ErrorKind {
  /** The stable name: each instance's `name`, and its `ApplicationFailure.type` across Temporal. */
  readonly errorName: string;
  /** Whether repeating the same request later can succeed (in-process retry and Temporal's retry). */
  readonly retryable: boolean;
  /** Whether it stops the whole job at preflight rather than fail one object. */
  readonly jobFatal: boolean;
  /** The CLI exit code an error of this kind ends a command with. */
  readonly exitCode: ExitCode;
}

/**
 * Base class of every error Ferry raises on purpose; thrown as such for a rejected request with no better class
 * (e.g. an unexpected 4xx). A subclass states its kind by overriding the static fields of {@link ErrorKind}.
 */
export class FerryError extends Error {
  static readonly errorName: string = 'FerryError';
  static readonly retryable: boolean = false;
  static readonly jobFatal: boolean = false;
  static readonly exitCode: ExitCode = ExitCode.failures;

  override readonly name: string;
  /** Whether repeating the same request later can succeed (the class's {@link ErrorKind.retryable}). */
  readonly retryable: boolean;
  /** Whether it stops the whole job (the class's {@link ErrorKind.jobFatal}). */
  readonly jobFatal: boolean;
  /** The CLI exit code it maps to (the class's {@link ErrorKind.exitCode}). */
  readonly exitCode: ExitCode;
  /** The provider's own error code when there is one (e.g. `NoSuchKey`, `SlowDown`). */
  readonly code: string | undefined;
  /** HTTP status when the error came from an HTTP response. */
  readonly status: number | undefined;

  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    const kind: ErrorKind = new.target;
    this.name = kind.errorName;
    this.retryable = kind.retryable;
    this.jobFatal = kind.jobFatal;
    this.exitCode = kind.exitCode;
    this.code = opts.code;
    this.status = opts.status;
  }
}

/** Thrown when an object (or a multipart upload) does not exist. Per-object failure, not retried. */
export class NotFoundError extends FerryError {
  static override readonly errorName: string = 'NotFoundError';
}

/** Thrown when the bucket (or fs root / http list) itself does not exist. Fatal for a job. */
export class BucketNotFoundError extends NotFoundError {
  static override readonly errorName: string = 'BucketNotFoundError';
  static override readonly jobFatal = true;
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when credentials are wrong or lack permission (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, 401/403). */
export class AccessDeniedError extends FerryError {
  static override readonly errorName: string = 'AccessDeniedError';
  static override readonly jobFatal = true;
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when a credential profile cannot be resolved on the worker. Names the profile and the variables that would satisfy it. */
export class CredentialsError extends FerryError {
  static override readonly errorName: string = 'CredentialsError';
  static override readonly jobFatal = true;
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when the server asks us to slow down (503 SlowDown, 429, RequestLimitExceeded). Retried with back-off. */
export class ThrottledError extends FerryError {
  static override readonly errorName: string = 'ThrottledError';
  static override readonly retryable = true;
  /** Server-suggested delay (Retry-After), when given. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Thrown for faults that usually pass: 5xx, connection resets, timeouts, truncated bodies. (Clock skew is AccessDeniedError: it needs a fix.) */
export class TransientError extends FerryError {
  static override readonly errorName: string = 'TransientError';
  static override readonly retryable = true;
}

/** Thrown when a checksum computed while streaming differs from the one the other side reports. */
export class ChecksumMismatchError extends FerryError {
  static override readonly errorName: string = 'ChecksumMismatchError';
  static override readonly retryable = true;
}

/** Thrown when the number of bytes transferred differs from the size announced. */
export class SizeMismatchError extends FerryError {
  static override readonly errorName: string = 'SizeMismatchError';
  static override readonly retryable = true;
}

/** Thrown when a key cannot be stored by a destination or would escape an fs root. The message names the rule. */
export class InvalidKeyError extends FerryError {
  static override readonly errorName: string = 'InvalidKeyError';
}

/** Thrown when a source object changed (size, ETag or mtime) between listing and copy. */
export class SourceChangedError extends FerryError {
  static override readonly errorName: string = 'SourceChangedError';
  static override readonly retryable = true;
}

/** Thrown when an operation is not offered by a provider (read-only source, no multipart, …). */
export class UnsupportedError extends FerryError {
  static override readonly errorName: string = 'UnsupportedError';
  static override readonly exitCode = ExitCode.cannotRun;
}

/** Thrown when a job file or option is invalid. `issues` holds every problem as `path: message`. */
export class InvalidConfigError extends FerryError {
  static override readonly errorName: string = 'InvalidConfigError';
  static override readonly jobFatal = true;
  static override readonly exitCode = ExitCode.usage;
  readonly issues: readonly string[];
  constructor(issues: readonly string[], message = `invalid job:\n  ${issues.join('\n  ')}`) {
    super(message);
    this.issues = issues;
  }
}

/** Thrown when an object is larger than the destination can store (single put limit with no multipart, max parts). */
export class ObjectTooLargeError extends FerryError {
  static override readonly errorName: string = 'ObjectTooLargeError';
}

/** Thrown when user metadata cannot travel as an HTTP header (non-ASCII a destination cannot encode, CR/LF). Names the key and field. */
export class InvalidMetadataError extends FerryError {
  static override readonly errorName: string = 'InvalidMetadataError';
}

/** Thrown for a symbolic link in an fs source that is not followed (default) or points outside the root. Names the target. */
export class SymlinkSkippedError extends FerryError {
  static override readonly errorName: string = 'SymlinkSkippedError';
}

/** Thrown when an http source's redirect points somewhere the job does not allow (private address, https→http). */
export class RedirectRefusedError extends FerryError {
  static override readonly errorName: string = 'RedirectRefusedError';
}

/**
 * Thrown when a listing does not advance: the server ignored the start position (`start-after`, and the V1 `marker`
 * tried after it), or said the listing goes on without a key past it. Listing again would return the same keys
 * forever. Names the endpoint, bucket and the key it was stuck at; not retried (the same request gets the same answer).
 */
export class ListingNotAdvancingError extends FerryError {
  static override readonly errorName: string = 'ListingNotAdvancingError';
}

/**
 * Thrown when a listing page is not in key order in a way that cannot be repaired: keys at or before the page's
 * start position mixed with new ones, or a key listed twice. Continuing would skip or repeat keys. Not retried.
 */
export class ListingOutOfOrderError extends FerryError {
  static override readonly errorName: string = 'ListingOutOfOrderError';
}

/**
 * Thrown with `verify: checksum-strict` when the destination reported no checksum of a copied object that Ferry could
 * compare with the bytes it sent (no MD5 ETag, no CRC-64 or other stored checksum): the object fails rather than be
 * re-read or counted as checksum-verified. Code `ChecksumUnavailable`; not retried (the server will answer the same).
 */
export class ChecksumUnavailableError extends FerryError {
  static override readonly errorName: string = 'ChecksumUnavailableError';
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, { code: 'ChecksumUnavailable', ...opts });
  }
}

/**
 * Thrown when a listing answer holds a value that cannot be read (e.g. an `encoding-type=url` key that is not valid
 * percent-encoding). Names the raw value and the bucket; not retried (the same request gets the same answer).
 */
export class InvalidListingError extends FerryError {
  static override readonly errorName: string = 'InvalidListingError';
}

/**
 * Thrown when an error of no known class (a bug, a library's odd failure: a `TypeError`, a `URIError`, a thrown
 * string) outlasted its in-activity attempts ({@link UNEXPECTED_ATTEMPTS}). Names the operation, bucket and key and
 * the original error's name and message (the original is the `cause`). Code `Unexpected`; not retried by Temporal
 * (retrying a bug for hours helps nobody); not job-fatal: the object or range is reported and the job goes on.
 */
export class UnexpectedError extends FerryError {
  static override readonly errorName: string = 'UnexpectedError';
}

/**
 * Thrown when an object cannot be read because its storage class is archived (S3 GLACIER/DEEP_ARCHIVE, OSS Archive,
 * ColdArchive, DeepColdArchive) and no restored copy is ready: S3/OSS `InvalidObjectState`, or the job's `archived:
 * fail` policy. The message names the storage class. Not retried (reading again gets the same answer until a restore).
 */
export class ArchivedObjectError extends FerryError {
  static override readonly errorName: string = 'ArchivedObject';
  /** The object's storage class, when known. */
  readonly storageClass: string | undefined;
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown; storageClass?: string } = {}) {
    super(message, { code: 'InvalidObjectState', ...opts });
    this.storageClass = opts.storageClass;
  }
}

/**
 * Thrown when a row of a source inventory or manifest cannot be used (a malformed key, size or date, too few
 * columns). The message names the data file and line. A per-object failure, not retried.
 */
export class InvalidInventoryRowError extends FerryError {
  static override readonly errorName: string = 'InvalidInventoryRow';
}

/**
 * Thrown when an object an inventory or manifest lists is gone from the source when read (the inventory is older
 * than the bucket). A per-object failure, not retried. Not a NotFoundError: it must keep its name in reports.
 */
export class SourceMissingError extends FerryError {
  static override readonly errorName: string = 'SourceMissing';
}

/**
 * Thrown in mirror mode when the destination objects absent from the source are no longer the set that was found
 * (and approved): the deletions stop, deleting nothing more. Not retried: a new run lists and asks again.
 */
export class MirrorSetChangedError extends FerryError {
  static override readonly errorName: string = 'MirrorSetChangedError';
  static override readonly exitCode = ExitCode.cannotRun;
}

/**
 * Thrown by a checksum verify (`checksum`, `checksum-strict`, `content`) when what travels with an object differs
 * between source and destination: content type, standard headers, user metadata, tags, and the storage class or
 * encryption the job set. The message names the fields. A per-object failure, not retried (the store keeps what it
 * keeps).
 */
export class MetadataMismatchError extends FerryError {
  static override readonly errorName: string = 'MetadataMismatch';
}

/**
 * Thrown when a key's versions (`versions: all`) cannot be written in their order at the destination: it answered a
 * write without a version id (versioning is not enabled there), or a source version is missing there before versions
 * Ferry already wrote (a version cannot be inserted into a history). A per-object failure naming the version; not retried.
 */
export class VersionOrderError extends FerryError {
  static override readonly errorName: string = 'VersionOrderError';
}

/** Every error class of this module: what the lists below are derived from. */
export const FERRY_ERROR_CLASSES: readonly ErrorKind[] = [
  FerryError,
  NotFoundError,
  BucketNotFoundError,
  AccessDeniedError,
  CredentialsError,
  ThrottledError,
  TransientError,
  ChecksumMismatchError,
  SizeMismatchError,
  InvalidKeyError,
  SourceChangedError,
  UnsupportedError,
  InvalidConfigError,
  ObjectTooLargeError,
  InvalidMetadataError,
  SymlinkSkippedError,
  RedirectRefusedError,
  InvalidListingError,
  UnexpectedError,
  ChecksumUnavailableError,
  ListingNotAdvancingError,
  ListingOutOfOrderError,
  MetadataMismatchError,
  InvalidInventoryRowError,
  SourceMissingError,
  ArchivedObjectError,
  MirrorSetChangedError,
  VersionOrderError,
];

/** Names of the classes Temporal must never retry (fed to `nonRetryableErrorTypes`): every non-retryable class. */
export const NON_RETRYABLE_ERROR_NAMES: readonly string[] = FERRY_ERROR_CLASSES.filter((c) => !c.retryable).map((c) => c.errorName);

/**
 * The kinds of `classes` by name, for errors known only by name (an `ApplicationFailure.type` that crossed
 * Temporal). Subclasses that keep their parent's name (no `errorName` of their own) share its entry.
 */
export function errorKindsByName(classes: readonly ErrorKind[]): ReadonlyMap<string, ErrorKind> {
  return new Map(classes.map((c) => [c.errorName, c]));
}

/** True when `err` is worth retrying: Ferry errors by their flag, unknown errors (bugs, I/O oddities) yes. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FerryError) return err.retryable;
  if (isAbortError(err)) return false;
  return true;
}

/** True for the errors an AbortSignal produces (`AbortError` from fetch/streams/SDKs). */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}

/** The error an aborted `signal` fails an operation with (the shape node's own `AbortError` has). */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal.reason as unknown });
}

/** A short, stable class name for reports: the Ferry name, or `Error` for anything else. */
export function errorClass(err: unknown): string {
  if (err instanceof FerryError) return err.name;
  if (err instanceof Error && typeof err.name === 'string') return err.name;
  return 'Error';
}

/**
 * One-line message of any thrown value, without stack, never `[object Object]`: an Error's message (its name when it
 * has none), a string as is, an object by its useful fields ({@link describeObject}).
 */
export function errorMessage(err: unknown): string {
  let text: string;
  if (err instanceof Error) text = stringField(err.message) ?? stringField(err.name) ?? 'Error';
  else if (typeof err === 'object' && err !== null) text = describeObject(err);
  else text = err === undefined || err === null ? 'an empty error value' : String(err);
  return withoutObjectText(text);
}

/** `text` with `[object Object]` (an object concatenated into a message, e.g. urllib's `${method} ${url}`) named plainly. */
export function withoutObjectText(text: string): string {
  return text.replaceAll('[object Object]', 'an object');
}

/** A field as text when it is a non-empty string, a number or a boolean: an object would print as `[object Object]`. */
export function stringField(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** A thrown non-Error object by its name or code, message, method and URL, and status; else by its fields. */
function describeObject(o: object): string {
  const f = o as Record<string, unknown>;
  const request = [stringField(f.method), urlText(f.url ?? f.path)].filter(Boolean).join(' ');
  const status = stringField(f.status ?? f.statusCode);
  const parts = [stringField(f.name) ?? stringField(f.code), stringField(f.message), request, status && `status ${status}`].filter(Boolean);
  return parts.length ? parts.join(' — ') : fieldsText(o);
}

/** A URL given as a string, a URL object or request options (`{ host, path }`), with its query masked (signatures). */
function urlText(v: unknown): string | undefined {
  const u = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const text = typeof v === 'string' ? v : (stringField(u.href) ?? `${stringField(u.host ?? u.hostname) ?? ''}${stringField(u.pathname ?? u.path) ?? ''}`);
  return text ? text.replace(/\?.*$/, '?…') : undefined;
}

/** Field names whose values a message must not show (a thrown request object may carry an STS token). */
const SECRET_FIELD = /token|secret|password|signature|authori[sz]ation|credential|key/i;

/** An object without the usual error fields: its type and up to 8 fields, values only when plain and not secret. */
function fieldsText(o: object): string {
  const type = stringField((o as { constructor?: { name?: unknown } }).constructor?.name) ?? 'object';
  const fields = Object.entries(o).slice(0, 8).map(([k, v]) => (SECRET_FIELD.test(k) || stringField(v) === undefined ? k : `${k}=${JSON.stringify(v)}`));
  return fields.length ? `a thrown ${type} {${fields.join(', ')}}` : `a thrown ${type} without a message`;
}

/** Attempts an error of no known class gets inside an activity before it is reported as {@link UnexpectedError}. */
export const UNEXPECTED_ATTEMPTS = 3;

/** True for an error of no known class: not a Ferry error, not an abort (a bug, a library's oddity). */
export function isUnknownError(err: unknown): boolean {
  return !(err instanceof FerryError) && !isAbortError(err);
}

/** What an operation was doing, for the message of an {@link UnexpectedError}. */
export interface OperationContext {
  /** What was done, e.g. `copy`, `list source`, `stat destination`. */
  operation: string;
  /** The bucket (fs root, list location) it was done on. */
  bucket: string;
  /** The object's key. */
  key?: string;
  /** The position a listing started after. */
  after?: string;
}

/** The {@link UnexpectedError} reporting `err`, of no known class, after `attempts` attempts at `what`. */
export function unexpectedError(err: unknown, what: OperationContext, attempts: number): UnexpectedError {
  const key = what.key !== undefined ? ` key ${JSON.stringify(what.key)}` : '';
  const after = what.after !== undefined ? ` after ${JSON.stringify(what.after)}` : '';
  const message = `${what.operation} in bucket ${what.bucket}${key}${after}: unexpected ${thrownName(err)}: ${errorMessage(err)} (${attempts} attempt${attempts === 1 ? '' : 's'})`;
  return new UnexpectedError(message, { code: 'Unexpected', cause: err });
}

/** The name of a thrown value: an Error's, an object's `name` field, else what it is (`thrown string`). */
function thrownName(err: unknown): string {
  if (err instanceof Error) return stringField(err.name) ?? 'Error';
  const named = typeof err === 'object' && err !== null ? stringField((err as { name?: unknown }).name) : undefined;
  return named ?? `thrown ${err === null ? 'null' : typeof err}`;
}
