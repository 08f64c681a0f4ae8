/** Parsing of the unit syntax used in job files and flags: sizes, rates, durations, times. Pure. */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** `64MiB`, `1GB`, `1.5 GiB`, `1000` (bytes) → bytes. Returns undefined when not a size. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/** `100MiB/s`, `100MiB` (per second implied) → bytes per second. */
export function parseRate(input: string | number): number | undefined {
  if (typeof input === 'number') return parseSize(input);
  return parseSize(input.replace(/\s*\/\s*s(ec(ond)?)?\s*$/i, ''));
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30s`, `7d`, `1h30m`, `500ms` → milliseconds. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return input * 1000;
  const s = input.trim();
  if (!s) return undefined;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

/** ISO-8601 (`2026-01-01T00:00:00Z`, `2026-01-01`) or Unix seconds → epoch ms. */
export function parseTime(input: string | number | Date): number | undefined {
  if (input instanceof Date) return Number.isNaN(input.getTime()) ? undefined : input.getTime();
  if (typeof input === 'number' || /^\s*\d{9,11}\s*$/.test(input)) {
    const n = Number(input);
    return Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(input.trim())) return undefined;
  const t = Date.parse(input);
  return Number.isNaN(t) ? undefined : t;
}

/** 1536 → `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** 93784000 → `1d 2h 3m 4s` (the two largest parts). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: [number, string][] = [
    [Math.floor(ms / 86_400_000), 'd'],
    [Math.floor(ms / 3_600_000) % 24, 'h'],
    [Math.floor(ms / 60_000) % 60, 'm'],
    [Math.floor(ms / 1000) % 60, 's'],
  ];
  const first = parts.findIndex(([v]) => v > 0);
  return parts.slice(first, first + 2).filter(([v]) => v > 0).map(([v, u]) => `${v}${u}`).join(' ');
}
