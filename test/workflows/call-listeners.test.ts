/**
 * Long-lived signals stay clean: the Temporal client adds an abort listener to the signal of every call it makes
 * under `withAbortSignal` and never removes it (each keeps ~15 KB reachable). The worker's control poll (one query
 * per job every 2 s, for as long as the job runs there) and the CLI's result wait (one long poll per ~20 s) must
 * leave nothing on their long-lived signals, and still answer and cancel as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { startTemporal } from '../support/temporal';
import { startJob } from '../support/ferry';
import { startSyntheticWorker } from '../support/synthetic';
import { queryControlSource } from '../../activities/control';
import { waitForOutcome } from '../../client/jobs';
import { jobWorkflowId } from '../../common/job';

const N = 3000;

test('control polls and the result wait leave no listener on their long-lived signal', async () => {
  const temporal = await startTemporal();
  const { worker } = await startSyntheticWorker(temporal, N);
  try {
    const client = await temporal.client();
    // ~3 s of copying at 1,000 objects/s: long enough for many polls and several result leases.
    const h = await startJob(client, { name: 'listeners', source: { type: 'fs', path: '/synthetic/src' }, destination: { type: 'fs', path: '/synthetic/sink' }, throttle: { objectsPerSecond: 1000 } });

    const jobSignal = new AbortController();
    const control = queryControlSource(client);
    let answered = 0;
    for (let i = 0; i < 30; i++) if (await control(jobWorkflowId('listeners'), jobSignal.signal)) answered++;
    assert.equal(answered, 30, 'every control poll answered');
    assert.equal(getEventListeners(jobSignal.signal, 'abort').length, 0, 'no listener left on the job signal after 30 polls');

    // The result wait under a 250 ms lease: its long poll is cancelled and restarted ~12 times, and it still gets the result.
    const follow = new AbortController();
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, getEventListeners(follow.signal, 'abort').length)), 20);
    const outcome = await waitForOutcome(h, { signal: follow.signal, leaseMs: 250 });
    clearInterval(sampler);
    assert.equal(outcome.result?.status, 'succeeded', JSON.stringify(outcome));
    assert.equal(outcome.result?.objects.copied, N);
    assert.ok(most <= 1, `at most one listener on the follow signal at a time (saw ${most})`);
    assert.equal(getEventListeners(follow.signal, 'abort').length, 0, 'none left after the wait');

    // Aborting the long-lived signal still cancels a poll in flight.
    const gone = new AbortController();
    const started = Date.now();
    const pending = control(jobWorkflowId('no-such-job-yet'), gone.signal);
    gone.abort();
    assert.equal(await pending, undefined);
    assert.ok(Date.now() - started < 2000, 'an aborted poll returns at once');
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
