/**
 * `ferry schedule JOB.yaml --every 1h [--window 01:00-06:00]`: a Temporal Schedule (id `ferry-<name>`) that
 * starts the `scheduledRound` workflow every interval; each round runs the job with `modifiedSince` = the start
 * of the previous successful round (see workflows/scheduled-round.ts). Overlap policy SKIP: a round still
 * running when the next is due makes that one skip. The window becomes the schedule's `skip` calendars
 * (every minute outside it), in UTC.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type CalendarSpec, type ScheduleOptions } from '@temporalio/client';
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { readJobFile } from '../job-file';
import { withSession } from '../runner';
import { ExitCode, UsageError } from '../errors';
import { jobWorkflowId, type JobSpec } from '../../common/job';
import { FerryJob } from '../../common/search-attributes';
import { formatDuration } from '../../common/units';
import type { ScheduledRoundInput } from '../../workflows/scheduled-round';

const DAY_MIN = 24 * 60;
const all = { start: 0, end: 59 };

/** Calendar entries matching every second of the minutes [a, b) of a day (0 ≤ a < b ≤ 1440). */
function minutesCalendars(a: number, b: number): CalendarSpec[] {
  const out: CalendarSpec[] = [];
  let m = a;
  while (m < b) {
    const hour = Math.floor(m / 60);
    if (m % 60 === 0 && b - m >= 60) {
      const hours = Math.floor((b - m) / 60);
      out.push({ hour: { start: hour, end: hour + hours - 1 }, minute: all, second: all });
      m += hours * 60;
    } else {
      const end = Math.min(b, (hour + 1) * 60);
      out.push({ hour, minute: { start: m % 60, end: (end - 1) % 60 }, second: all });
      m = end;
    }
  }
  return out;
}

/** `skip` calendars for "only inside [from, to) every day" (seconds of day, minute-aligned; may span midnight). */
export function skipOutsideWindow(fromSec: number, toSec: number): CalendarSpec[] {
  const from = Math.floor(fromSec / 60);
  const to = Math.floor(toSec / 60);
  // Outside = [to, from) around the clock.
  return to < from ? minutesCalendars(to, from) : [...minutesCalendars(to, DAY_MIN), ...minutesCalendars(0, from)];
}

/** The schedule of a job: id, spec, action and policies. */
export function scheduleOptions(spec: JobSpec, taskQueue: string, everyMs: number, window?: { from: number; to: number }): ScheduleOptions {
  const input: ScheduledRoundInput = { spec };
  return {
    scheduleId: jobWorkflowId(spec.name),
    spec: { intervals: [{ every: everyMs }], ...(window ? { skip: skipOutsideWindow(window.from, window.to) } : {}), timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledRound',
      workflowId: `${jobWorkflowId(spec.name)}-round`,
      taskQueue,
      args: [input],
      typedSearchAttributes: [{ key: FerryJob, value: spec.name }],
      staticSummary: `${spec.name}: scheduled incremental round`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute', pauseOnFailure: false },
    memo: { ferryJob: spec.name },
  };
}

export async function scheduleCommand(opts: CliOptions, io: Io): Promise<number> {
  if (opts.every === undefined) throw new UsageError('--every is required, e.g. --every 1h', 'schedule');
  if (opts.every < 1000) throw new UsageError('--every must be at least 1s', 'schedule');
  const spec = readJobFile(opts.job!);
  const say = info(io, opts.json);
  return withSession(opts, io, 'connect', async (s) => {
    const o = scheduleOptions(spec, s.settings.taskQueue, opts.every!, opts.window);
    let created = true;
    try {
      await s.client.schedule.create(o);
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
      created = false;
      await s.client.schedule.getHandle(o.scheduleId).update((prev) => ({ ...prev, spec: o.spec, action: o.action, policies: o.policies }));
    }
    const d = await s.client.schedule.getHandle(o.scheduleId).describe();
    const next = d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString());
    if (opts.json) {
      io.out(JSON.stringify({ scheduleId: o.scheduleId, created, everyMs: opts.every, window: opts.window?.text, nextActionTimes: next, address: s.settings.address, namespace: s.settings.namespace }, null, 2));
    } else {
      say(`${created ? 'Created' : 'Updated'} schedule ${o.scheduleId}: an incremental round of ${spec.name} every ${formatDuration(opts.every!)}${opts.window ? `, starting only between ${opts.window.text} UTC` : ''}.`);
      say(`Next rounds: ${next.join(', ') || '—'}. Each copies what changed since the previous successful round started.`);
      say(`Workers: \`ferry worker\` on machines that reach ${s.settings.address}. Pause: \`temporal schedule toggle --schedule-id ${o.scheduleId} --pause --reason …\`; remove: \`temporal schedule delete --schedule-id ${o.scheduleId}\`.`);
    }
    return ExitCode.ok;
  });
}
