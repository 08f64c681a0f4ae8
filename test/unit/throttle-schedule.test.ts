/** Time-of-day throttle windows: parsing in the job file, the active window and the next boundary (UTC). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJob } from '../../common/job';
import { activeThrottleWindow, formatTimeOfDay, parseTimeOfDay, type ThrottleWindow } from '../../common/throttle-schedule';
import { InvalidConfigError } from '../../common/errors';

const base = { name: 'tw', source: { type: 'fs', path: '/a' }, destination: { type: 'fs', path: '/b' } };
const at = (hhmmss: string) => Date.UTC(2026, 10, 22) + parseTimeOfDay(hhmmss)! * 1000;
const w = (from: string, to: string, extra: Partial<ThrottleWindow> = {}): ThrottleWindow => ({ from, to, fromSec: parseTimeOfDay(from)!, toSec: parseTimeOfDay(to)!, ...extra });

test('times of day parse as HH:MM or HH:MM:SS and format back', () => {
  assert.equal(parseTimeOfDay('08:00'), 8 * 3600);
  assert.equal(parseTimeOfDay('23:59:59'), 86_399);
  assert.equal(parseTimeOfDay('7:05'), 7 * 3600 + 300);
  for (const bad of ['24:00', '12:60', '1200', '12:00:60', 'noon', '']) assert.equal(parseTimeOfDay(bad), undefined, bad);
  assert.equal(formatTimeOfDay(86_400 + 61), '00:01:01');
});

test('the job file takes throttle.schedule and normalises it; bad windows are reported with their path', () => {
  const spec = parseJob({ ...base, throttle: { bandwidth: '100MiB/s', schedule: [{ from: '08:00', to: '20:00', bandwidth: '10MiB/s' }, { from: '22:00', to: '06:00', objectsPerSecond: 50 }] } });
  assert.deepEqual(spec.throttleSchedule, [
    { from: '08:00', to: '20:00', fromSec: 8 * 3600, toSec: 20 * 3600, bandwidth: 10 * 1024 * 1024 },
    { from: '22:00', to: '06:00', fromSec: 22 * 3600, toSec: 6 * 3600, objectsPerSecond: 50 },
  ]);
  assert.equal(parseJob(base).throttleSchedule, undefined, 'absent when not configured');
  assert.throws(
    () => parseJob({ ...base, throttle: { schedule: [{ from: '25:00', to: '08:00', bandwidth: '1MiB/s' }, { from: '08:00', to: '08:00', bandwidth: '1MiB/s' }, { from: '01:00', to: '02:00' }] } }),
    (e: unknown) => {
      assert.ok(e instanceof InvalidConfigError);
      const msg = e.message;
      assert.match(msg, /throttle\.schedule\.0\.from: "25:00" is not a time of day/);
      assert.match(msg, /throttle\.schedule\.1\.to: must differ from "from"/);
      assert.match(msg, /throttle\.schedule\.2: give bandwidth and\/or objectsPerSecond/);
      return true;
    },
  );
});

test('the active window and the time to the next boundary, including windows over midnight', () => {
  const day = w('08:00', '20:00', { bandwidth: 1 });
  const night = w('22:00', '06:00', { bandwidth: 2 });
  assert.deepEqual(activeThrottleWindow([day, night], at('07:59:00')), { index: undefined, nextChangeMs: 60_000 });
  assert.deepEqual(activeThrottleWindow([day, night], at('08:00:00')), { index: 0, nextChangeMs: 12 * 3600_000 });
  assert.deepEqual(activeThrottleWindow([day, night], at('23:00:00')), { index: 1, nextChangeMs: 7 * 3600_000 });
  assert.deepEqual(activeThrottleWindow([day, night], at('05:59:59')), { index: 1, nextChangeMs: 1000 });
  assert.equal(activeThrottleWindow([day, night], at('06:00:00')).index, undefined);
  // Overlap: the first listed wins.
  assert.equal(activeThrottleWindow([w('09:00', '10:00'), day], at('09:30')).index, 0);
});
