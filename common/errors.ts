/**
 * Ferry's error hierarchy. Every provider maps its SDK errors into these classes in one function, and the
 * workflows decide retry by `name` (see {@link NON_RETRYABLE_ERROR_NAMES}), never by message text.
 *
 * Names are pinned (not derived from `constructor.name`) so they survive bundling and cross the Temporal
 * boundary as `ApplicationFailure.type`.
 */

/** Base class of every error Ferry raises on purpose. `retryable` is data, not a guess. */
export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  /** Whether repeating the same request later can succeed. */
  readonly retryable: boolean = false;
  /** The provider's own error code when there is one (e.g. `NoSuchKey`, `SlowDown`). */
  readonly code: string | undefined;
  /** HTTP status when the error came from an HTTP response. */
  readonly status: number | undefined;

  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = opts.code;
    this.status = opts.status;
  }
}

/** Thrown when an object (or a multipart upload) does not exist. Per-object failure, not retried. */
export class NotFoundError extends FerryError {
  override readonly name: string = 'NotFoundError';
}

/** Thrown when the bucket (or fs root / http list) itself does not exist. Fatal for a job. */
export class BucketNotFoundError extends NotFoundError {
  override readonly name = 'BucketNotFoundError';
}

/** Thrown when credentials are wrong or lack permission (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, 401/403). */
export class AccessDeniedError extends FerryError {
  override readonly name = 'AccessDeniedError';
}

/** Thrown when a credential profile cannot be resolved on the worker. Names the profile and the variables that would satisfy it. */
export class CredentialsError extends FerryError {
  override readonly name = 'CredentialsError';
}

/** Thrown when the server asks us to slow down (503 SlowDown, 429, RequestLimitExceeded). Retried with back-off. */
export class ThrottledError extends FerryError {
  override readonly name = 'ThrottledError';
  override readonly retryable = true;
  /** Server-suggested delay (Retry-After), when given. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Thrown for faults that usually pass: 5xx, connection resets, timeouts, truncated bodies. (Clock skew is AccessDeniedError: it needs a fix.) */
export class TransientError extends FerryError {
  override readonly name = 'TransientError';
  override readonly retryable = true;
}

/** Thrown when a checksum computed while streaming differs from the one the other side reports. */
export class ChecksumMismatchError extends FerryError {
  override readonly name = 'ChecksumMismatchError';
  override readonly retryable = true;
}

/** Thrown when the number of bytes transferred differs from the size announced. */
export class SizeMismatchError extends FerryError {
  override readonly name = 'SizeMismatchError';
  override readonly retryable = true;
}

/** Thrown when a key cannot be stored by a destination or would escape an fs root. The message names the rule. */
export class InvalidKeyError extends FerryError {
  override readonly name = 'InvalidKeyError';
}

/** Thrown when a source object changed (size, ETag or mtime) between listing and copy. */
export class SourceChangedError extends FerryError {
  override readonly name = 'SourceChangedError';
  override readonly retryable = true;
}

/** Thrown when an operation is not offered by a provider (read-only source, no multipart, …). */
export class UnsupportedError extends FerryError {
  override readonly name = 'UnsupportedError';
}

/** Thrown when a job file or option is invalid. `issues` holds every problem as `path: message`. */
export class InvalidConfigError extends FerryError {
  override readonly name = 'InvalidConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[], message = `invalid job:\n  ${issues.join('\n  ')}`) {
    super(message);
    this.issues = issues;
  }
}

/** Thrown when an object is larger than the destination can store (single put limit with no multipart, max parts). */
export class ObjectTooLargeError extends FerryError {
  override readonly name = 'ObjectTooLargeError';
}

/** Thrown when user metadata cannot travel as an HTTP header (non-ASCII a destination cannot encode, CR/LF). Names the key and field. */
export class InvalidMetadataError extends FerryError {
  override readonly name = 'InvalidMetadataError';
}

/** Thrown for a symbolic link in an fs source that is not followed (default) or points outside the root. Names the target. */
export class SymlinkSkippedError extends FerryError {
  override readonly name = 'SymlinkSkippedError';
}

/** Thrown when an http source's redirect points somewhere the job does not allow (private address, https→http). */
export class RedirectRefusedError extends FerryError {
  override readonly name = 'RedirectRefusedError';
}

/** Error names that must never be retried by Temporal (fed to `nonRetryableErrorTypes`). */
export const NON_RETRYABLE_ERROR_NAMES = [
  // A Ferry error of the base class is a rejected request with no better class (e.g. an unexpected 4xx).
  'FerryError',
  'NotFoundError',
  'BucketNotFoundError',
  'AccessDeniedError',
  'CredentialsError',
  'InvalidKeyError',
  'UnsupportedError',
  'InvalidConfigError',
  'ObjectTooLargeError',
  'InvalidMetadataError',
  'SymlinkSkippedError',
  'RedirectRefusedError',
] as const;

/** Errors that stop a whole job (preflight) rather than fail one object. */
export const JOB_FATAL_ERROR_NAMES = ['BucketNotFoundError', 'AccessDeniedError', 'CredentialsError', 'InvalidConfigError'] as const;

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

/** One-line message of any thrown value, without stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
