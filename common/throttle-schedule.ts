/**
 * Time-of-day throttle windows (`throttle.schedule` in the job file). Times are **UTC** wall-clock times of day,
 * `HH:MM` or `HH:MM:SS`; a window whose `to` is earlier than its `from` runs over midnight. While a window is
 * active its limits replace the job's base limits (`throttle.bandwidth` / `throttle.objectsPerSecond`, or what
 * `ferry throttle` set) field by field; outside every window the base limits apply. When windows overlap the
 * first one listed wins. Pure functions: the job workflow evaluates them against workflow time.
 */

/** One normalised window of the job spec. */
export interface ThrottleWindow {
  /** As written, for display. */
  from: string;
  to: string;
  /** Seconds since 00:00 UTC. */
  fromSec: number;
  toSec: number;
  bandwidth?: number;
  objectsPerSecond?: number;
}

const DAY = 86_400;

/** `HH:MM` or `HH:MM:SS` (24-hour clock) → seconds since midnight, or undefined. */
export function parseTimeOfDay(s: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return undefined;
  const [h, min, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || min > 59 || sec > 59) return undefined;
  return h * 3600 + min * 60 + sec;
}

/** `HH:MM:SS` of a time of day in seconds. */
export function formatTimeOfDay(sec: number): string {
  const s = ((Math.floor(sec) % DAY) + DAY) % DAY;
  return [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
}

function inWindow(w: ThrottleWindow, sec: number): boolean {
  return w.fromSec < w.toSec ? sec >= w.fromSec && sec < w.toSec : sec >= w.fromSec || sec < w.toSec;
}

/**
 * Which window (index into `windows`) is active at `nowMs` (Unix ms), and how many ms until the next window
 * boundary (when the answer may change; at most one day).
 */
export function activeThrottleWindow(windows: readonly ThrottleWindow[], nowMs: number): { index?: number; nextChangeMs: number } {
  const msOfDay = ((nowMs % (DAY * 1000)) + DAY * 1000) % (DAY * 1000);
  const sec = msOfDay / 1000;
  const index = windows.findIndex((w) => inWindow(w, Math.floor(sec)));
  let next = DAY * 1000;
  for (const w of windows) {
    for (const b of [w.fromSec, w.toSec]) {
      let d = b * 1000 - msOfDay;
      if (d <= 0) d += DAY * 1000;
      next = Math.min(next, d);
    }
  }
  return { index: index >= 0 ? index : undefined, nextChangeMs: next };
}
