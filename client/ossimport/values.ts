/**
 * Converters for the value formats of ossimport settings: sizes with k/m/g suffixes, endpoints that may lack a
 * scheme, and rescan intervals that may fit a cron expression.
 */

export const KiB = 1024;
export const MiB = 1024 ** 2;

/** `150m` / `500k` / `5g` / `1048576` → bytes (k/m/g are 1024-based, as ossimport's docs imply). */
export function parseOssimportSize(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: KiB, m: MiB, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** Bytes in the most readable exact unit: `157286400` → `150MiB`, `1000000000` → `1GB`, `1234` → `1234`. */
export function exactSize(n: number): string | number {
  for (const [unit, f] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', MiB], ['KiB', KiB]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`;
  for (const [unit, f] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`;
  return n;
}

/** The cron expression for a rescan interval, when one expresses it exactly (shown next to `--every`). */
export function cronFor(seconds: number): string | undefined {
  if (seconds % 86_400 === 0 && seconds === 86_400) return '0 0 * * *';
  if (seconds % 3600 === 0 && 24 % (seconds / 3600) === 0) return seconds === 3600 ? '0 * * * *' : `0 */${seconds / 3600} * * *`;
  if (seconds % 60 === 0 && 60 % (seconds / 60) === 0) return `*/${seconds / 60} * * * *`;
  return undefined;
}

/** Adds `http://` to a scheme-less domain (ossimport's templates sometimes omit it). */
export function withScheme(domain: string): { url: string; added: boolean } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(domain)) return { url: domain, added: false };
  return { url: `http://${domain}`, added: true };
}

/** True for an absolute http(s) URL with a host. */
export function isUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
  } catch {
    return false;
  }
}
