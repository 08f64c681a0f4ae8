/** Activity options, in one place. Retry is decided by error name: Ferry's non-retryable names never retry. */
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_NAMES } from '../common/errors';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_NAMES];

/** Preflight: fast, and a job-fatal answer (auth, missing bucket) ends the job at once. */
export const preflightOptions: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
};

/** Planning lists up to 50,000 keys per call and heartbeats its cursor. */
export const planOptions: ActivityOptions = {
  startToCloseTimeout: '30m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 20, nonRetryableErrorTypes },
};

/**
 * Copy batches heartbeat at least every few seconds; a dead worker is noticed after `heartbeatTimeout` and the
 * batch resumes on another worker from its last cursor. Long start-to-close: a batch may hold a huge object.
 */
export const copyOptions: ActivityOptions = {
  startToCloseTimeout: '24h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 30, nonRetryableErrorTypes },
};

export const reportOptions: ActivityOptions = {
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10, nonRetryableErrorTypes },
};

/**
 * Back-to-origin on/off (one bucket-configuration call each). Patient: taking back-to-origin down must not give
 * up on a passing blip, and an `on` whose result is lost would leave a rule nobody records.
 */
export const originOptions: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 20, nonRetryableErrorTypes },
};

/**
 * Mirror mode's diff and deletions walk whole listings and heartbeat their cursor: a dead worker is noticed after
 * `heartbeatTimeout` and the walk continues on another from the last cursor.
 */
export const mirrorOptions: ActivityOptions = {
  startToCloseTimeout: '24h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20, nonRetryableErrorTypes },
};
