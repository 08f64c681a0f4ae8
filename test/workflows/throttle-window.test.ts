/**
 * Time-of-day throttle windows (`throttle.schedule`, UTC): a window that opens a few seconds after the job starts
 * and closes a few seconds later. The job workflow's durable timer switches the limits at both boundaries: the
 * progress and control queries show the window's limits while it is open, the copy rate drops to the window's
 * objects/s, and the base limit is back after it closes; the job then finishes with every object copied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal } from '../support/temporal';
import { startWorker, startJob, type InProcessWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import { formatTimeOfDay } from '../../common/throttle-schedule';
import type { JobProgress, JobResult } from '../../common/progress';
import type { ControlState } from '../../workflows/messages';

const OBJECTS = 3000;
const BASE_RATE = 200;
const WINDOW_RATE = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && !e.parentPath.includes('.ferry-uploads')) n++;
  return n;
}

test('a throttle window opens and closes on durable timers and its limit takes effect', { timeout: 180_000 }, async () => {
  const temporal = await startTemporal();
  const src = tempDir('tw-src');
  const dst = tempDir('tw-dst');
  let worker: InProcessWorker | undefined;
  try {
    for (let i = 0; i < OBJECTS; i++) writeFileSync(join(src, `o-${String(i).padStart(5, '0')}.txt`), `window ${i}`);
    mkdirSync(dst, { recursive: true });
    worker = await startWorker(temporal);
    const client = await temporal.client();
    // Workflow time is the server's clock: the same machine's clock here. Whole seconds, UTC.
    const nowSec = Math.floor(Date.now() / 1000);
    const from = formatTimeOfDay(nowSec + 7);
    const to = formatTimeOfDay(nowSec + 17);
    const h = await startJob(client, {
      name: 'tw',
      source: { type: 'fs', path: src },
      destination: { type: 'fs', path: dst },
      tasks: { maxObjects: 500 },
      concurrency: { tasks: 2, objects: 4 },
      throttle: { objectsPerSecond: BASE_RATE, schedule: [{ from, to, objectsPerSecond: WINDOW_RATE }] },
      verify: 'none',
    });
    const before = await h.query<JobProgress>('progress');
    assert.equal(before.limits.objectsPerSecond, BASE_RATE);
    assert.equal(before.throttleWindow, undefined);

    // The window opens.
    let inWindow: JobProgress | undefined;
    for (let i = 0; i < 200 && !inWindow; i++) {
      await sleep(100);
      const p = await h.query<JobProgress>('progress');
      if (p.throttleWindow) inWindow = p;
    }
    assert.ok(inWindow, 'the window opened');
    const openedAt = Date.now() / 1000;
    assert.ok(openedAt >= nowSec + 7 - 0.5, `opened at ${openedAt - nowSec}s, window starts at 7s`);
    assert.equal(inWindow.throttleWindow, `${from}–${to} UTC`);
    assert.equal(inWindow.limits.objectsPerSecond, WINDOW_RATE);
    const control = await h.query<ControlState>('control');
    assert.ok(control.objectsPerSecondPerTask !== undefined && control.objectsPerSecondPerTask <= WINDOW_RATE, JSON.stringify(control));
    assert.ok(countFiles(dst) < OBJECTS, 'work remained when the window opened');

    // Inside the window (after the batches' control poll picked it up): at most ~WINDOW_RATE objects/s.
    await sleep(1500);
    const c0 = countFiles(dst);
    await sleep(4000);
    const c1 = countFiles(dst);
    const windowRate = (c1 - c0) / 4;
    assert.ok(windowRate <= WINDOW_RATE * 1.5 + 2, `copy rate in the window: ${windowRate}/s (limit ${WINDOW_RATE}/s)`);

    // The window closes: the base limit is back and the job finishes.
    let after: JobProgress | undefined;
    for (let i = 0; i < 200 && !after; i++) {
      await sleep(100);
      const p = await h.query<JobProgress>('progress');
      if (!p.throttleWindow) after = p;
    }
    assert.ok(after, 'the window closed');
    assert.equal(after.limits.objectsPerSecond, BASE_RATE);
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded');
    assert.equal(r.objects.copied, OBJECTS);
    assert.equal(countFiles(dst), OBJECTS);
    console.log(`throttle window ${from}–${to} UTC: ${windowRate}/s inside (limit ${WINDOW_RATE}), job done in ${(r.durationMs / 1000).toFixed(1)} s`);

    // Durable: the boundaries are timers in the job's history, and the change sits behind a patch marker.
    const events = (await h.fetchHistory()).events ?? [];
    assert.ok(events.filter((e) => e.timerStartedEventAttributes).length >= 2, 'a timer per boundary');
    assert.ok(events.some((e) => e.markerRecordedEventAttributes), 'patch marker recorded');
  } finally {
    await worker?.stop();
    await temporal.stop();
    rmSync(src, { recursive: true, force: true });
    rmSync(dst, { recursive: true, force: true });
  }
});
