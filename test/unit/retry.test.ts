// The retry helper: attempts, back-off and its cap, jitter bounds, Retry-After, non-retryable errors, aborts.
// A fake sleep records the waits, so no test waits for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retry, retryBounded, parseRetryAfter, type RetryPolicy } from '../../common/retry';
import { AccessDeniedError, NON_RETRYABLE_ERROR_NAMES, ThrottledError, TransientError, UnexpectedError } from '../../common/errors';

/** A policy whose waits are recorded instead of slept; `random` fixed at the middle (no jitter) unless given. */
function fake(policy: Partial<RetryPolicy> = {}): { policy: RetryPolicy; waits: number[] } {
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  return { waits, policy: { attempts: 5, baseMs: 100, random: () => 0.5, sleep, ...policy } };
}

/** `fn` failing with `errors` in turn, then resolving with its attempt number; counts its calls. */
function failing(...errors: unknown[]): { fn: (attempt: number) => Promise<number>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    fn: async (attempt) => {
      calls++;
      if (calls <= errors.length) throw errors[calls - 1];
      return attempt;
    },
  };
}

test('retries a retryable failure until it succeeds, numbering the attempts', async () => {
  const { policy, waits } = fake();
  const f = failing(new TransientError('a'), new TransientError('b'));
  assert.equal(await retry(f.fn, policy), 3);
  assert.equal(f.calls(), 3);
  assert.equal(waits.length, 2);
});

test('gives up after `attempts` in all with the last failure', async () => {
  const { policy, waits } = fake({ attempts: 3 });
  const last = new TransientError('third');
  const f = failing(new TransientError('first'), new TransientError('second'), last, new TransientError('never'));
  await assert.rejects(retry(f.fn, policy), (e) => e === last);
  assert.equal(f.calls(), 3);
  assert.equal(waits.length, 2);
});

test('back-off grows by `factor` from `baseMs` and stops at `maxMs`', async () => {
  const { policy, waits } = fake({ attempts: 6, baseMs: 100, factor: 4, maxMs: 5000 });
  const f = failing(...Array.from({ length: 5 }, () => new TransientError('x')));
  await retry(f.fn, policy);
  assert.deepEqual(waits, [100, 400, 1600, 5000, 5000]);
  const doubling = fake({ attempts: 4, baseMs: 10 });
  await retry(failing(new TransientError('x'), new TransientError('x'), new TransientError('x')).fn, doubling.policy);
  assert.deepEqual(doubling.waits, [10, 20, 40], 'factor defaults to 2');
});

test('jitter stays within ±25 % of the back-off', async () => {
  for (const [r, expected] of [[0, 750], [0.999999, 1250], [0.25, 875]] as const) {
    const { policy, waits } = fake({ attempts: 2, baseMs: 1000, random: () => r });
    await retry(failing(new TransientError('x')).fn, policy);
    assert.equal(waits[0], expected, `random ${r}`);
  }
  const { policy, waits } = fake({ attempts: 200, baseMs: 1000, factor: 1, random: Math.random });
  await retry(failing(...Array.from({ length: 199 }, () => new TransientError('x'))).fn, policy);
  assert.ok(waits.every((w) => w >= 750 && w <= 1250), `waits within 750…1250: ${Math.min(...waits)}…${Math.max(...waits)}`);
});

test('a server-suggested delay replaces the back-off, without jitter, up to `retryAfterCapMs`', async () => {
  const { policy, waits } = fake({ attempts: 4, retryAfterCapMs: 5000, random: () => 0 });
  const sdkShaped = (value: string) => Object.assign(new Error('SlowDown'), { $metadata: { httpStatusCode: 503 }, $response: { headers: { 'retry-after': value } } });
  await retry(failing(new ThrottledError('t', { retryAfterMs: 2000 }), new ThrottledError('t', { retryAfterMs: 60_000 }), sdkShaped('3')).fn, policy);
  assert.deepEqual(waits, [2000, 5000, 3000]);
  // No (or a zero) suggestion: the back-off, jittered.
  const plain = fake({ attempts: 3, random: () => 0 });
  await retry(failing(new ThrottledError('t'), sdkShaped('0')).fn, plain.policy);
  assert.deepEqual(plain.waits, [75, 150]);
  // An HTTP-date is read against the policy's clock.
  const dated = fake({ attempts: 2, retryAfterCapMs: 60_000, now: () => Date.parse('2026-01-01T00:00:00Z') });
  await retry(failing(sdkShaped('Thu, 01 Jan 2026 00:00:07 GMT')).fn, dated.policy);
  assert.deepEqual(dated.waits, [7000]);
});

test('parseRetryAfter: delay-seconds, HTTP-dates (past = 0), junk', () => {
  const now = () => Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(' 2 ', now), 2000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('a non-retryable failure ends the retry at once; `shouldRetry` overrides the error flag', async () => {
  const { policy, waits } = fake();
  const denied = new AccessDeniedError('no');
  const f = failing(denied);
  await assert.rejects(retry(f.fn, policy), (e) => e === denied);
  assert.equal(f.calls(), 1);
  assert.deepEqual(waits, []);

  const seen: number[] = [];
  const custom = fake({ shouldRetry: (e, attempt) => (seen.push(attempt), e instanceof AccessDeniedError) });
  const g = failing(new AccessDeniedError('retry me'), new TransientError('but not me'));
  await assert.rejects(retry(g.fn, custom.policy), TransientError);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(g.calls(), 2);
});

test('onRetry hears each failure before its wait', async () => {
  const heard: [string, number, number][] = [];
  const { policy } = fake({ attempts: 3, onRetry: (e, attempt, ms) => heard.push([(e as Error).message, attempt, ms]) });
  await retry(failing(new TransientError('a'), new TransientError('b')).fn, policy);
  assert.deepEqual(heard, [['a', 1, 100], ['b', 2, 200]]);
});

test('an abort during the wait ends the retry with the abort error (real timer, cut short)', async () => {
  const ac = new AbortController();
  const f = failing(new TransientError('x'));
  const started = performance.now();
  const p = retry(f.fn, { attempts: 3, baseMs: 60_000, signal: ac.signal, onRetry: () => setImmediate(() => ac.abort(new Error('operator cancelled'))) });
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.name, 'AbortError');
    assert.equal(e.code, 'ABORT_ERR');
    assert.equal((e.cause as Error).message, 'operator cancelled');
    return true;
  });
  assert.equal(f.calls(), 1, 'no attempt after the abort');
  assert.ok(performance.now() - started < 5000, 'the 60 s wait was cut short');
});

test('an abort is never swallowed: a fake sleep that ignores the signal, a failure after the abort', async () => {
  const ac = new AbortController();
  const f = failing(new TransientError('x'), new TransientError('y'));
  await assert.rejects(retry(f.fn, { attempts: 5, baseMs: 10, signal: ac.signal, sleep: async () => ac.abort() }), { name: 'AbortError' });
  assert.equal(f.calls(), 1);

  // The operation failed for another reason while the signal aborted: the abort error, not a retry.
  const aborted = new AbortController();
  aborted.abort();
  const g = failing(new TransientError('reset'));
  await assert.rejects(retry(g.fn, { attempts: 5, baseMs: 10, signal: aborted.signal, sleep: async () => assert.fail('no wait') }), { name: 'AbortError' });
  // The operation's own abort error passes through as it is.
  const own = Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
  await assert.rejects(retry(failing(own).fn, { attempts: 5, baseMs: 10, signal: aborted.signal }), (e) => e === own);
});

// ── retryBounded: errors of no known class get UNEXPECTED_ATTEMPTS (3) attempts, then become an UnexpectedError ──

const copyOfKey = { operation: 'copy', bucket: 'photos-src', key: 'a/b é.jpg' };

test('an unknown error gets 3 attempts, then is an UnexpectedError naming the operation, bucket, key and original', async () => {
  const { policy, waits } = fake({ attempts: 5 });
  const bug = new TypeError("Cannot read properties of undefined (reading 'etag')");
  const f = failing(bug, bug, bug, bug, bug);
  await assert.rejects(retryBounded(copyOfKey, f.fn, policy), (e: unknown) => {
    assert.ok(e instanceof UnexpectedError);
    assert.equal(e.name, 'UnexpectedError');
    assert.equal(e.code, 'Unexpected');
    assert.equal(e.cause, bug);
    assert.equal(e.message, `copy in bucket photos-src key "a/b é.jpg": unexpected TypeError: Cannot read properties of undefined (reading 'etag') (3 attempts)`);
    assert.equal(e.retryable, false);
    assert.equal(e.jobFatal, false);
    return true;
  });
  assert.equal(f.calls(), 3);
  assert.deepEqual(waits, [100, 200]);
  assert.ok(NON_RETRYABLE_ERROR_NAMES.includes('UnexpectedError'), 'Temporal does not retry it either');
});

test('a known retryable error keeps the policy\'s attempts and is thrown as it is', async () => {
  const { policy } = fake({ attempts: 5 });
  const last = new TransientError('reset');
  const f = failing(new TransientError('a'), new TransientError('b'), new TransientError('c'), new TransientError('d'), last);
  await assert.rejects(retryBounded(copyOfKey, f.fn, policy), (e) => e === last);
  assert.equal(f.calls(), 5);
  const denied = new AccessDeniedError('no');
  const g = failing(denied);
  await assert.rejects(retryBounded(copyOfKey, g.fn, fake().policy), (e) => e === denied);
  assert.equal(g.calls(), 1, 'a non-retryable Ferry error: one attempt, as before');
});

test('an unknown error that passes within its 3 attempts is no failure', async () => {
  const f = failing(new URIError('URI malformed'), new URIError('URI malformed'));
  assert.equal(await retryBounded(copyOfKey, f.fn, fake().policy), 3);
});

test('outside per-object work (shouldRetry false): known errors go at once, unknown ones get 3 attempts', async () => {
  const listing = { operation: 'list source', bucket: 'b', after: 'k09' };
  const throttled = new ThrottledError('slow down');
  const f = failing(throttled);
  await assert.rejects(retryBounded(listing, f.fn, fake({ attempts: 3, shouldRetry: () => false }).policy), (e) => e === throttled);
  assert.equal(f.calls(), 1);
  const g = failing('boom', 'boom', 'boom');
  await assert.rejects(retryBounded(listing, g.fn, fake({ attempts: 3, shouldRetry: () => false }).policy), (e: unknown) => {
    assert.ok(e instanceof UnexpectedError);
    assert.equal(e.message, 'list source in bucket b after "k09": unexpected thrown string: boom (3 attempts)');
    return true;
  });
  assert.equal(g.calls(), 3);
});

test('an abort is not turned into an UnexpectedError', async () => {
  const ac = new AbortController();
  const f = failing(new TypeError('x'), new TypeError('y'));
  await assert.rejects(retryBounded(copyOfKey, f.fn, { attempts: 5, baseMs: 10, signal: ac.signal, sleep: async () => ac.abort() }), { name: 'AbortError' });
  assert.equal(f.calls(), 1);
});
