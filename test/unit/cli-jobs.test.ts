/** How the CLI reads a progress query that nobody answers (no worker polling): `undefined`, never an error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { queryProgress, serverUnavailable } from '../../client/jobs';

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
