/**
 * The one helper for in-process retries (a request retried inside an activity or a CLI command; Temporal
 * retries whole activities by error name, see `NON_RETRYABLE_ERROR_NAMES`). One policy shape: attempts,
 * exponential back-off with ±25 % jitter, a server's Retry-After honoured up to a cap, abortable waits.
 */
import { setTimeout as timerSleep } from 'node:timers/promises';
import { ThrottledError, UNEXPECTED_ATTEMPTS, abortError, isAbortError, isRetryable, isUnknownError, unexpectedError, type OperationContext } from './errors';

/** How {@link retry} retries. Only `attempts` and `baseMs` are required. */
export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retry). */
  attempts: number;
  /** Back-off before the second attempt, ms; before attempt n+1 it is `baseMs * factor^(n-1)`, then jittered. */
  baseMs: number;
  /** Growth of the back-off per attempt. Default 2. */
  factor?: number;
  /** Cap on the back-off (before jitter), ms. Default: none. */
  maxMs?: number;
  /**
   * Cap on a server-suggested delay (`ThrottledError.retryAfterMs`, an SDK-shaped error's `retry-after`
   * header), ms. Default `maxMs`, else 60 s.
   */
  retryAfterCapMs?: number;
  /** Whether a failure of attempt `attempt` is worth another. Default: the error's own flag ({@link isRetryable}). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Ends the retry: a wait in progress is cut short, and the retry rejects with the abort error. */
  signal?: AbortSignal;
  /** Called before each wait: the failure, the attempt that failed, and the wait. For logs and metrics. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** The wait (tests inject a fake). Must reject when `signal` aborts. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Uniform random numbers in [0, 1) for the jitter (tests inject a fixed one). Default `Math.random`. */
  random?: () => number;
  /** The clock (epoch ms) an HTTP-date Retry-After is read against. Default `Date.now`. */
  now?: () => number;
}

/**
 * Runs `fn(attempt)` (attempt 1, 2, …) until it resolves, and resolves with its value. A failure is retried while
 * `policy.shouldRetry(error, attempt)` holds and fewer than `policy.attempts` attempts were made, after a wait of
 * the server-suggested delay (capped at `retryAfterCapMs`) when the error carries one, else the back-off.
 *
 * Jitter is ±25 % of the back-off, not "full" jitter (0…100 %): clients that failed together spread out, yet each
 * still pauses at least ¾ of the back-off, so a server asking for air gets some. A server-suggested delay is
 * used as given: the server chose it.
 *
 * Rejects with the last failure when it is not retried, or with an `AbortError` (`abortError(signal)`, or the
 * failure itself when it already is one) once `policy.signal` has aborted: an abort is never retried or swallowed.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const { signal } = policy;
  const shouldRetry = policy.shouldRetry ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw isAbortError(error) ? error : abortError(signal);
      if (attempt >= policy.attempts || !shouldRetry(error, attempt)) throw error;
      const delayMs = retryDelayMs(error, attempt, policy);
      policy.onRetry?.(error, attempt, delayMs);
      if (delayMs > 0) {
        await (policy.sleep ?? defaultSleep)(delayMs, signal).catch((e: unknown) => {
          if (!signal?.aborted) throw e;
        });
      }
      // One abort error whichever way the wait learnt of the abort (a fake sleep may not listen to the signal).
      if (signal?.aborted) throw abortError(signal);
    }
  }
}

/**
 * {@link retry} for work whose errors of no known class (bugs, a library's oddities) must not be retried for long:
 * such an error gets at most {@link UNEXPECTED_ATTEMPTS} attempts (others as `policy` says) and is then thrown as an
 * `UnexpectedError` naming `what`, the original error and the attempts made. Ferry errors and aborts are thrown as
 * they are.
 */
export async function retryBounded<T>(what: OperationContext, fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const shouldRetry = policy.shouldRetry ?? isRetryable;
  let attempts = 0;
  const counted = (attempt: number) => {
    attempts = attempt;
    return fn(attempt);
  };
  try {
    return await retry(counted, { ...policy, shouldRetry: (e, attempt) => (isUnknownError(e) ? attempt < UNEXPECTED_ATTEMPTS : shouldRetry(e, attempt)) });
  } catch (e) {
    if (!isUnknownError(e) || policy.signal?.aborted) throw e;
    throw unexpectedError(e, what, attempts);
  }
}

/**
 * Runs a request outside per-object work (a listing, a destination stat): an error of no known class is retried here
 * ({@link retryBounded}, back-off 1 s, 2 s), so Temporal never retries a bug for hours; any other error is thrown at
 * once, for its caller (or Temporal, by the error's class) to decide.
 */
export function boundUnexpected<T>(what: OperationContext, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retryBounded(what, fn, { attempts: UNEXPECTED_ATTEMPTS, baseMs: 1000, signal, shouldRetry: () => false });
}

/** The wait after attempt `attempt` failed with `error`: the server's delay (capped), else the jittered back-off. */
function retryDelayMs(error: unknown, attempt: number, policy: RetryPolicy): number {
  const suggested = serverDelayMs(error, policy.now ?? Date.now);
  if (suggested !== undefined) return Math.min(suggested, policy.retryAfterCapMs ?? policy.maxMs ?? 60_000);
  const backoff = Math.min(policy.baseMs * (policy.factor ?? 2) ** (attempt - 1), policy.maxMs ?? Infinity);
  return Math.round(backoff * (0.75 + (policy.random ?? Math.random)() * 0.5));
}

/** A positive delay the server asked for: a ThrottledError's, or an SDK-shaped error's `retry-after` header. */
function serverDelayMs(error: unknown, now: () => number): number | undefined {
  if (error instanceof ThrottledError) return error.retryAfterMs && error.retryAfterMs > 0 ? error.retryAfterMs : undefined;
  const header = (error as { $response?: { headers?: Record<string, unknown> } } | undefined)?.$response?.headers?.['retry-after'];
  const ms = typeof header === 'string' ? parseRetryAfter(header, now) : undefined;
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * A `Retry-After` header value (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as ms from `now()`; an HTTP-date
 * in the past is 0. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: () => number = Date.now): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return timerSleep(ms, undefined, signal ? { signal } : undefined);
}
