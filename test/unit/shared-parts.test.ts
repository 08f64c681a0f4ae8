/** SharedParts (activities/copy.ts): the parts of one multipart upload that free lanes of a batch take. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { _internal } from '../../activities/copy';
import { PART_LANES } from '../../activities/multipart';

const { SharedParts } = _internal;


test('lanes that join before the upload exists take parts once it starts; every part runs once', async () => {
  const s = new SharedParts(6);
  assert.ok(s.open);
  const helpers = [s.join(), s.join()];
  let inFlight = 0;
  let max = 0;
  const ran: number[] = [];
  s.start([1, 2, 3, 4, 5, 6], async (n) => {
    max = Math.max(max, ++inFlight);
    await sleep(5);
    ran.push(n);
    inFlight--;
  });
  await s.run();
  await Promise.all(helpers);
  assert.deepEqual([...ran].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
  assert.equal(max, 3, 'the owner and two helpers');
  assert.ok(!s.open);
});

test('open: before the start while fewer lanes than parts; after it while parts are left to start', async () => {
  const s = new SharedParts(3);
  void s.join();
  assert.ok(s.open, '2 lanes for 3 parts');
  void s.join();
  assert.ok(!s.open, '3 lanes for 3 parts');
  const t = new SharedParts(5);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  t.start([1, 2, 3], () => gate);
  const owner = t.run();
  assert.ok(t.open, 'parts 2 and 3 not started');
  const helpers = [t.join()];
  assert.ok(t.open, 'part 3 not started');
  helpers.push(t.join());
  assert.ok(!t.open, 'all three started, each by its own lane');
  release();
  await Promise.all([owner, ...helpers]);
});

test('a failed part: no part starts after it, helpers resolve, the owner throws it after the parts in flight end', async () => {
  const s = new SharedParts(10);
  const helper = s.join();
  const started: number[] = [];
  let slowEnded = false;
  s.start([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], async (n) => {
    started.push(n);
    if (n === 1) {
      await sleep(30);
      slowEnded = true;
      return;
    }
    await sleep(1);
    throw new Error(`part ${n} failed`);
  });
  await assert.rejects(s.run(), /part 2 failed/);
  assert.ok(slowEnded, 'the owner waited for the part in flight');
  await helper; // resolves, never rejects
  assert.deepEqual([...started].sort((a, b) => a - b), [1, 2], 'nothing started after the failure');
  assert.ok(!s.open);
});

test('an upload that never starts releases the lanes waiting for it', async () => {
  const s = new SharedParts(4);
  const helper = s.join();
  s.cancel();
  await helper;
  assert.ok(!s.open);
});

test(`at most PART_LANES (${PART_LANES}) lanes work on one object, however many parts it has`, async () => {
  const s = new SharedParts(100);
  const helpers: Promise<void>[] = [];
  while (s.open) helpers.push(s.join());
  assert.equal(helpers.length + 1, PART_LANES);
  let inFlight = 0;
  let max = 0;
  s.start(Array.from({ length: 100 }, (_, i) => i + 1), async () => {
    max = Math.max(max, ++inFlight);
    await sleep(1);
    inFlight--;
  });
  assert.ok(!s.open, 'parts left, but every lane it may have is on it');
  await s.run();
  await Promise.all(helpers);
  assert.equal(max, PART_LANES);
});
