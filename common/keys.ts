/** Key rules shared by providers, planner and tests. No Node I/O here. */

const encoder = new TextEncoder();

/**
 * Compares two keys in UTF-8 byte order — the order S3, OSS and Ferry's fs provider list in. (JS `<` compares
 * UTF-16 code units, which differs for characters above U+FFFF vs. U+E000–U+FFFF.)
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path: pure ASCII/BMP-below-surrogates strings compare the same in UTF-16 and UTF-8.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca < 0xd800 && cb < 0xd800) return ca - cb;
    return compareBytes(encoder.encode(a.slice(i)), encoder.encode(b.slice(i)));
  }
  return a.length - b.length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Byte length of a key in UTF-8. */
export function keyByteLength(key: string): number {
  return encoder.encode(key).length;
}

/** Destination key = destination prefix + (source key − source prefix). */
export function mapKey(sourceKey: string, sourcePrefix: string | undefined, destPrefix: string | undefined): string {
  const sp = sourcePrefix ?? '';
  const rel = sp && sourceKey.startsWith(sp) ? sourceKey.slice(sp.length) : sourceKey;
  return (destPrefix ?? '') + rel;
}
