/** How the CLI reads a progress query that nobody answers (no worker polling): `undefined`, never an error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { queryProgress, serverUnavailable, waitForOutcome } from '../../client/jobs';
import { ServerUnreachableError } from '../../client/errors';

const wrapped = (inner: Error & { code?: number }) => Object.assign(new Error('Failed to query Workflow'), { cause: inner });
const fakeClient = () => ({ connection: { withDeadline: (_d: number, fn: () => Promise<unknown>) => fn() } }) as unknown as Client;
const handleFailing = (err: unknown) => ({ query: () => Promise.reject(err) }) as unknown as WorkflowHandle;

test('queryProgress: DEADLINE_EXCEEDED or a server-side CANCELLED (wrapped by the client) mean no worker answered', async () => {
  for (const inner of [Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 }), Object.assign(new Error('1 CANCELLED: Call cancelled'), { code: 1 })]) {
    const err = wrapped(inner);
    assert.equal(await queryProgress(fakeClient(), handleFailing(err), 10), undefined, inner.message);
  }
  const denied = wrapped(Object.assign(new Error('7 PERMISSION_DENIED: no'), { code: 7 }));
  await assert.rejects(queryProgress(fakeClient(), handleFailing(denied), 10), /Failed to query Workflow/);
});

test('serverUnavailable recognises UNAVAILABLE in the cause chain', () => {
  assert.equal(serverUnavailable(wrapped(Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14 }))), true);
  assert.equal(serverUnavailable(new Error('Failed to query Workflow')), false);
});

/** A handle whose result() fails with UNAVAILABLE `outage` times, then resolves; `onFailure` runs at each failure. */
function handleAfterOutage(outage: number, onFailure: (n: number) => void = () => undefined): WorkflowHandle {
  let calls = 0;
  return {
    client: { withAbortSignal: (_s: AbortSignal, fn: () => Promise<unknown>) => fn() },
    result: async () => {
      if (++calls > outage) return { status: 'completed' };
      onFailure(calls);
      throw wrapped(Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14 }));
    },
  } as unknown as WorkflowHandle;
}

test('waitForOutcome rides out an outage shorter than its patience even when the wall clock is stepped forward', async () => {
  const realNow = Date.now;
  try {
    // The first failure starts the outage; before the second, the wall clock jumps an hour (NTP, a resumed VM).
    const handle = handleAfterOutage(2, (n) => {
      if (n === 2) Date.now = () => realNow() + 3_600_000;
    });
    let outages = 0;
    const outcome = await waitForOutcome(handle, { patienceMs: 3000, onOutage: () => outages++ });
    assert.deepEqual(outcome, { result: { status: 'completed' } });
    assert.equal(outages, 1);
  } finally {
    Date.now = realNow;
  }
});

test('waitForOutcome gives up with ServerUnreachableError once the outage outlasts its patience', async () => {
  await assert.rejects(waitForOutcome(handleAfterOutage(Infinity), { patienceMs: 1500 }), (e: unknown) => e instanceof ServerUnreachableError && /unreachable for 2 s/.test((e as Error).message));
});
