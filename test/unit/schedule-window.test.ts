/** `ferry schedule --window`: the daily window becomes skip calendars covering every minute outside it (UTC). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleOptions, skipOutsideWindow } from '../../client/commands/schedule';
import { parseTimeOfDay } from '../../common/throttle-schedule';
import { parseJob } from '../../common/job';

const t = (s: string) => parseTimeOfDay(s)!;
const all = { start: 0, end: 59 };

test('a window inside one day skips the hours after it and before it', () => {
  assert.deepEqual(skipOutsideWindow(t('01:00'), t('06:00')), [
    { hour: { start: 6, end: 23 }, minute: all, second: all },
    { hour: { start: 0, end: 0 }, minute: all, second: all },
  ]);
});

test('a window over midnight with minutes skips partial hours exactly', () => {
  assert.deepEqual(skipOutsideWindow(t('22:30'), t('02:15')), [
    { hour: 2, minute: { start: 15, end: 59 }, second: all },
    { hour: { start: 3, end: 21 }, minute: all, second: all },
    { hour: 22, minute: { start: 0, end: 29 }, second: all },
  ]);
  assert.deepEqual(skipOutsideWindow(t('10:20'), t('10:40')), [
    { hour: 10, minute: { start: 40, end: 59 }, second: all },
    { hour: { start: 11, end: 23 }, minute: all, second: all },
    { hour: { start: 0, end: 9 }, minute: all, second: all },
    { hour: 10, minute: { start: 0, end: 19 }, second: all },
  ]);
});

test('the schedule starts scheduledRound rounds every interval, never overlapping, in UTC', () => {
  const spec = parseJob({ name: 'nightly', source: { type: 'fs', path: '/a' }, destination: { type: 'fs', path: '/b' } });
  const o = scheduleOptions(spec, 'ferry', 3600_000, { from: t('01:00'), to: t('06:00') });
  assert.equal(o.scheduleId, 'ferry-nightly');
  assert.deepEqual(o.spec.intervals, [{ every: 3600_000 }]);
  assert.equal(o.spec.timezone, 'UTC');
  assert.equal(o.spec.skip?.length, 2);
  assert.equal(o.action.type, 'startWorkflow');
  assert.equal(o.action.workflowType, 'scheduledRound');
  assert.deepEqual(o.action.args, [{ spec }]);
  assert.equal(o.policies?.overlap, 'SKIP');
  assert.equal(scheduleOptions(spec, 'ferry', 60_000).spec.skip, undefined);
});
