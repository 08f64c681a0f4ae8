/**
 * CRC-64/XZ — the checksum OSS keeps for every object and reports as `x-oss-hash-crc64ecma` (unsigned
 * decimal). ECMA-182 polynomial in reflected form `0xC96C5795D7870F42`, init and xorout all ones, check value
 * of `"123456789"` = `0x995DC9BBDF1939FA`, empty input = `0`.
 *
 * It runs over every byte Ferry moves to or from OSS, so the inner loop is slicing-by-8 over two 32-bit
 * halves (no BigInt per byte); BigInt appears only at the edges (digest, parse, combine results).
 * `combineCrc64` joins part CRCs into the whole-object CRC (zlib's `crc32_combine` with x^(2^n) mod p).
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Reflected ECMA-182 polynomial, high and low 32 bits. */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

/** Slicing-by-8 tables: `TABLE_LO[k * 256 + n]` / `TABLE_HI[…]` are the halves of T_k[n]. */
const TABLE_LO = new Uint32Array(8 * 256);
const TABLE_HI = new Uint32Array(8 * 256);

(function buildTables() {
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    TABLE_LO[n] = lo;
    TABLE_HI[n] = hi;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prevLo = TABLE_LO[(k - 1) * 256 + n]!;
      const prevHi = TABLE_HI[(k - 1) * 256 + n]!;
      const idx = prevLo & 0xff;
      // T_k[n] = (T_{k-1}[n] >> 8) ^ T_0[T_{k-1}[n] & 0xff]
      TABLE_LO[k * 256 + n] = (((prevLo >>> 8) | (prevHi << 24)) ^ TABLE_LO[idx]!) >>> 0;
      TABLE_HI[k * 256 + n] = ((prevHi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
    }
  }
})();

const MASK64 = (1n << 64n) - 1n;

/**
 * Incremental CRC-64/XZ. `update` as often as data arrives, then `digest()` (bigint) or `toString()`
 * (unsigned decimal, the `x-oss-hash-crc64ecma` form). Digesting does not end the computation.
 */
export class Crc64 {
  /** Running (pre-xorout) register, two unsigned 32-bit halves. */
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  /** Bytes seen so far. */
  bytes = 0;

  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    const len = data.length;
    let i = 0;
    const end8 = len - (len & 7);
    const tl = TABLE_LO;
    const th = TABLE_HI;
    while (i < end8) {
      const a = (lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
      const b = (hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24))) >>> 0;
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      lo = tl[i7]! ^ tl[i6]! ^ tl[i5]! ^ tl[i4]! ^ tl[i3]! ^ tl[i2]! ^ tl[i1]! ^ tl[i0]!;
      hi = th[i7]! ^ th[i6]! ^ th[i5]! ^ th[i4]! ^ th[i3]! ^ th[i2]! ^ th[i1]! ^ th[i0]!;
      i += 8;
    }
    while (i < len) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tl[idx]!;
      hi = (hi >>> 8) ^ th[idx]!;
      i++;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.bytes += len;
    return this;
  }

  /** The CRC of everything seen so far. */
  digest(): bigint {
    return (BigInt((~this.hi) >>> 0) << 32n) | BigInt((~this.lo) >>> 0);
  }

  /** Unsigned decimal, as in `x-oss-hash-crc64ecma`. */
  toString(): string {
    return this.digest().toString();
  }
}

/** CRC-64/XZ of one buffer, as an unsigned decimal string. */
export function crc64ecma(data: Uint8Array): string {
  return new Crc64().update(data).toString();
}

/**
 * Parses an `x-oss-hash-crc64ecma` value (unsigned decimal, < 2^64). Returns undefined for anything else, so
 * a garbled header is treated as "no checksum" by callers that then decide what that means.
 */
export function parseCrc64(value: string | undefined | null): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if (!/^\d{1,20}$/.test(v)) return undefined;
  const n = BigInt(v);
  return n <= MASK64 ? n : undefined;
}

// ---- combine: crc(A‖B) = x^(8·len(B)) · crc(A) ⊕ crc(B) over GF(2) mod p (zlib 1.2.12+ method) ----

/** A 64-bit GF(2) polynomial in reflected bit order (bit 63 = x^0), as two 32-bit halves. */
interface Poly {
  hi: number;
  lo: number;
}

/** a · b mod p, reflected. */
function multModP(a: Poly, b: Poly): Poly {
  let bHi = b.hi;
  let bLo = b.lo;
  let pHi = 0;
  let pLo = 0;
  for (let bit = 63; bit >= 0; bit--) {
    const set = bit >= 32 ? (a.hi >>> (bit - 32)) & 1 : (a.lo >>> bit) & 1;
    if (set) {
      pHi ^= bHi;
      pLo ^= bLo;
    }
    // b = b · x mod p (a right shift in reflected order).
    const carry = bLo & 1;
    bLo = ((bLo >>> 1) | ((bHi & 1) << 31)) >>> 0;
    bHi = bHi >>> 1;
    if (carry) {
      bLo = (bLo ^ POLY_LO) >>> 0;
      bHi = (bHi ^ POLY_HI) >>> 0;
    }
  }
  return { hi: pHi >>> 0, lo: pLo >>> 0 };
}

/** X2N[k] = x^(2^k) mod p, for k up to 63 (lengths up to 2^60 bytes). */
const X2N: Poly[] = (() => {
  const table: Poly[] = [];
  let p: Poly = { hi: 0x40000000, lo: 0 }; // x^1
  for (let k = 0; k < 64; k++) {
    table.push(p);
    p = multModP(p, p);
  }
  return table;
})();

/** x^(n · 2^k) mod p. */
function x2nModP(n: number, k: number): Poly {
  let p: Poly = { hi: 0x80000000, lo: 0 }; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

function toPoly(v: bigint): Poly {
  return { hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn) };
}

function toCrc(v: bigint | string): bigint {
  const n = typeof v === 'bigint' ? v : parseCrc64(v);
  if (n === undefined || n < 0n || n > MASK64) throw new RangeError(`not a CRC-64 value: ${String(v)}`);
  return n;
}

/**
 * CRC-64/XZ of A‖B from crc(A), crc(B) and the byte length of B. Accepts bigints or the unsigned decimal
 * strings OSS sends; returns a bigint. Throws RangeError for a malformed CRC or a negative/non-integer length.
 */
export function combineCrc64(crcA: bigint | string, crcB: bigint | string, lenB: number): bigint {
  if (!Number.isSafeInteger(lenB) || lenB < 0) throw new RangeError(`lenB must be a non-negative integer, got ${lenB}`);
  const a = toCrc(crcA);
  const b = toCrc(crcB);
  if (lenB === 0) return a;
  const op = x2nModP(lenB, 3); // x^(8·lenB)
  const shifted = multModP(op, toPoly(a));
  return ((BigInt(shifted.hi) << 32n) | BigInt(shifted.lo)) ^ b;
}

/**
 * Whole-object CRC from consecutive parts (`crc` as bigint or decimal string, `size` in bytes). Returns the
 * unsigned decimal string, or undefined when any part lacks a CRC.
 */
export function combineCrc64Parts(parts: readonly { crc: bigint | string | undefined; size: number }[]): string | undefined {
  let acc = 0n; // CRC of the empty string
  for (const p of parts) {
    if (p.crc === undefined) return undefined;
    acc = combineCrc64(acc, p.crc, p.size);
  }
  return acc.toString();
}

/** Checks a {@link Crc64Stream} runs: return an Error to fail the stream with it. */
export interface Crc64StreamChecks {
  /** After every chunk (e.g. "more bytes than announced"). */
  onChunk?: (crc: Crc64) => Error | undefined;
  /** At the end, before the stream ends (e.g. a checksum or length check). */
  onFlush?: (crc: Crc64) => Error | undefined;
}

/**
 * A pass-through stream that computes CRC-64/XZ and counts bytes of everything flowing through it. Read
 * `crc`/`bytes` after `end`/`finish`. The optional checks fail the stream (it emits their Error instead of
 * ending), so a reader sees a mismatch as a stream error rather than silently wrong data.
 */
export class Crc64Stream extends Transform {
  readonly crc = new Crc64();
  private readonly checks: Crc64StreamChecks;

  constructor(checks: Crc64StreamChecks = {}) {
    super();
    this.checks = checks;
  }

  get bytes(): number {
    return this.crc.bytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc.update(chunk);
    const err = this.checks.onChunk?.(this.crc);
    if (err) cb(err);
    else cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    cb(this.checks.onFlush?.(this.crc) ?? null);
  }
}
