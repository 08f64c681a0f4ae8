/**
 * Lanes go on into a batch's next window while the current one's last transfer finishes: with one object of the
 * first window held back, the second window copies meanwhile, up to one window's worth of entries after the
 * cursor. A pause in that state (the cursor inside the first window, finished objects in the second) and the
 * resume copy every object exactly once, and the size checks still verify them all. A concurrency update changes
 * the number of lanes at the next object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTemporal } from '../support/temporal';
import { startJob, startWorker } from '../support/ferry';
import { syntheticSink, syntheticSource } from '../support/synthetic';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import type { EndpointConfig } from '../../common/job';
import type { JobResult } from '../../common/progress';

const N = 2500; // windows of 1,000, 1,000 and 500 objects
const HELD = 'k/0000000990'; // in the first window
const inSecondWindow = (key: string) => key >= 'k/0000001000' && key < 'k/0000002000';

test('lanes copy the next window while a window waits for its last object; pause and resume there lose and redo nothing', async () => {
  const temporal = await startTemporal();
  const source = syntheticSource(N, 64);
  const sink = syntheticSink();
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  let heldGets = 0;
  let secondWindowPuts = 0;
  const puts = new Map<string, number>();
  const heldSource: ObjectProvider = {
    ...source,
    async get(key, opts) {
      // The first attempt waits for the release (or the pause's abort); a resumed batch's gets go straight on.
      if (key === HELD && heldGets++ === 0) {
        await new Promise<void>((resolve, reject) => {
          void held.then(resolve);
          opts?.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
        });
      }
      return source.get(key, opts);
    },
  };
  const countingSink: ObjectProvider = {
    ...sink,
    async put(key, body, opts) {
      const r = await sink.put(key, body, opts);
      puts.set(key, (puts.get(key) ?? 0) + 1);
      if (inSecondWindow(key)) secondWindowPuts++;
      return r;
    },
  };
  const worker = await startWorker(temporal, {
    deps: { openProvider: (spec: EndpointConfig, ctx) => (spec.path === '/synthetic/src' ? heldSource : spec.path === '/synthetic/sink' ? countingSink : openProvider(spec, ctx)) },
  });
  try {
    const client = await temporal.client();
    const job = { name: 'window-overlap', source: { type: 'fs', path: '/synthetic/src' }, destination: { type: 'fs', path: '/synthetic/sink' }, overwrite: 'always', verify: 'size', retries: 0, concurrency: { tasks: 1, objects: 16 } };
    const h = await startJob(client, job);
    // The second window copies while the first one waits for HELD (before: not one of its objects until HELD ended).
    const deadline = Date.now() + 30_000;
    while (secondWindowPuts < 500 && Date.now() < deadline) await sleep(20);
    assert.ok(secondWindowPuts >= 500, `${secondWindowPuts} objects of the second window copied while the first waited`);
    // Bounded by one window's worth of entries after the cursor (the heartbeat lists the finished ones): HELD and the
    // 9 after it in the first window, then 990 of the second.
    for (let before = -1; before !== secondWindowPuts; ) {
      before = secondWindowPuts;
      await sleep(500);
    }
    assert.equal(secondWindowPuts, 990, 'entries handed out after the cursor stop at one window');
    assert.ok(!puts.has(HELD) && !puts.has('k/0000002000'), 'the held object is not copied yet, nor is the third window started');
    // Pause here: the cursor is inside the first window and the second window's finished objects follow it.
    await h.signal('pause');
    await sleep(1500);
    const atPause = sink.stored.size;
    assert.ok(atPause < N, `paused before the end (${atPause} of ${N})`);
    release();
    await h.signal('resume');
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, N, JSON.stringify(r.objects));
    assert.equal(r.objects.verified, N, JSON.stringify(r.objects));
    assert.equal(sink.stored.size, N);
    const twice = [...puts].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual(twice, [], 'no object was copied twice across the pause');
  } finally {
    release();
    await worker.stop();
    await temporal.stop();
  }
});

test('a concurrency update changes the transfers in flight at the next object, not at the next window', async () => {
  const temporal = await startTemporal();
  const count = 6000;
  const source = syntheticSource(count, 64);
  const sink = syntheticSink();
  let inFlight = 0;
  let max = 0;
  const slowSink: ObjectProvider = {
    ...sink,
    async put(key, body, opts) {
      max = Math.max(max, ++inFlight);
      try {
        await sleep(40);
        return await sink.put(key, body, opts);
      } finally {
        inFlight--;
      }
    },
  };
  const worker = await startWorker(temporal, {
    deps: { openProvider: (spec: EndpointConfig, ctx) => (spec.path === '/synthetic/src' ? source : spec.path === '/synthetic/sink' ? slowSink : openProvider(spec, ctx)) },
  });
  try {
    const client = await temporal.client();
    const h = await startJob(client, { name: 'lanes-update', source: { type: 'fs', path: '/synthetic/src' }, destination: { type: 'fs', path: '/synthetic/sink' }, overwrite: 'always', verify: 'none', retries: 0, concurrency: { tasks: 1, objects: 4 } });
    while (sink.stored.size < 100) await sleep(20);
    assert.equal(max, 4, 'four transfers in flight at most');
    // A window of 1,000 objects takes ~10 s at 4 × 40 ms: a change only at the next window would miss this deadline.
    await h.executeUpdate('throttle', { args: [{ concurrency: 16 }] });
    const atUpdate = sink.stored.size;
    const deadline = Date.now() + 4000;
    while (max < 16 && Date.now() < deadline) await sleep(20);
    assert.equal(max, 16, `16 transfers in flight within 4 s of the update (${max}; ${sink.stored.size - atUpdate} objects since)`);
    await h.executeUpdate('throttle', { args: [{ concurrency: 2 }] });
    await sleep(3000); // the control poll, then the lanes above 2 end after their object
    max = inFlight;
    await sleep(1000);
    assert.ok(max <= 2, `2 transfers in flight at most after lowering (${max})`);
    assert.ok(sink.stored.size < count, 'the job is still running');
    await h.executeUpdate('throttle', { args: [{ concurrency: 64 }] });
    const r = (await h.result()) as JobResult;
    assert.equal(r.objects.copied, count, JSON.stringify(r.objects));
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
