import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64, Crc64Stream, combineCrc64, combineCrc64Parts, crc64ecma, parseCrc64 } from '../../storage/checksum/crc64';

/** Bit-at-a-time BigInt reference implementation of CRC-64/XZ, independent of the table code. */
function referenceCrc64(data: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let i = 0; i < 8; i++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

describe('crc64 (CRC-64/XZ, OSS x-oss-hash-crc64ecma)', () => {
  it('has the standard check value for "123456789"', () => {
    assert.equal(new Crc64().update(Buffer.from('123456789')).digest(), 0x995dc9bbdf1939fan);
    assert.equal(crc64ecma(Buffer.from('123456789')), '11051210869376104954');
  });

  it('is 0 for empty input', () => {
    assert.equal(crc64ecma(Buffer.alloc(0)), '0');
    assert.equal(new Crc64().digest(), 0n);
  });

  it('matches a bit-at-a-time reference for every length 0..64 and a large random buffer', () => {
    const data = randomBytes(70_001);
    for (let n = 0; n <= 64; n++) assert.equal(new Crc64().update(data.subarray(0, n)).digest(), referenceCrc64(data.subarray(0, n)), `length ${n}`);
    assert.equal(new Crc64().update(data).digest(), referenceCrc64(data));
  });

  it('is incremental: any split of the input gives the same CRC, and counts bytes', () => {
    const data = randomBytes(10_007);
    const whole = crc64ecma(data);
    for (const cut of [0, 1, 3, 7, 8, 9, 4096, 10_006, 10_007]) {
      const c = new Crc64().update(data.subarray(0, cut)).update(data.subarray(cut));
      assert.equal(c.toString(), whole, `cut at ${cut}`);
      assert.equal(c.bytes, data.length);
    }
  });

  it('combine(crc(A), crc(B), len(B)) == crc(A‖B) for 300,001 + 123,457 random bytes', () => {
    const a = randomBytes(300_001);
    const b = randomBytes(123_457);
    const combined = combineCrc64(crc64ecma(a), crc64ecma(b), b.length);
    assert.equal(combined.toString(), crc64ecma(Buffer.concat([a, b])));
    assert.equal(combineCrc64(BigInt(crc64ecma(a)), BigInt(crc64ecma(b)), b.length), combined, 'bigint and string inputs agree');
  });

  it('combine handles empty parts and many parts', () => {
    const a = randomBytes(1000);
    assert.equal(combineCrc64(crc64ecma(a), 0n, 0), BigInt(crc64ecma(a)));
    assert.equal(combineCrc64(0n, crc64ecma(a), a.length), BigInt(crc64ecma(a)));
    const parts = [randomBytes(1), randomBytes(0), randomBytes(100_000), randomBytes(17), randomBytes(65_536)];
    const got = combineCrc64Parts(parts.map((p) => ({ crc: crc64ecma(p), size: p.length })));
    assert.equal(got, crc64ecma(Buffer.concat(parts)));
    assert.equal(combineCrc64Parts([]), '0');
    assert.equal(combineCrc64Parts([{ crc: '1', size: 1 }, { crc: undefined, size: 2 }]), undefined);
  });

  it('combine rejects malformed input', () => {
    assert.throws(() => combineCrc64('abc', 0n, 1), RangeError);
    assert.throws(() => combineCrc64(1n << 64n, 0n, 1), RangeError);
    assert.throws(() => combineCrc64(0n, 0n, -1), RangeError);
    assert.throws(() => combineCrc64(0n, 0n, 1.5), RangeError);
  });

  it('parses header values strictly', () => {
    assert.equal(parseCrc64('11051210869376104954'), 11051210869376104954n);
    assert.equal(parseCrc64(' 0 '), 0n);
    assert.equal(parseCrc64('18446744073709551615'), (1n << 64n) - 1n);
    assert.equal(parseCrc64('18446744073709551616'), undefined);
    assert.equal(parseCrc64('-1'), undefined);
    assert.equal(parseCrc64('0x10'), undefined);
    assert.equal(parseCrc64(''), undefined);
    assert.equal(parseCrc64(undefined), undefined);
  });

  it('Crc64Stream passes bytes through unchanged while computing the CRC', async () => {
    const data = randomBytes(200_003);
    const stream = new Crc64Stream();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([data.subarray(0, 5), data.subarray(5, 100_000), data.subarray(100_000)]),
      stream,
      new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }),
    );
    assert.deepEqual(Buffer.concat(out), data);
    assert.equal(stream.crc.toString(), crc64ecma(data));
    assert.equal(stream.bytes, data.length);
  });

  it('Crc64Stream can fail its end from onFlush', async () => {
    const stream = new Crc64Stream({ onFlush: (c) => (c.toString() === '0' ? undefined : new Error(`crc ${c.toString()}`)) });
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), stream, new Writable({ write: (_c, _e, cb) => cb() })), /crc \d+/);
  });

  it('Crc64Stream can fail early from onChunk (before all data passed)', async () => {
    const passed: Buffer[] = [];
    const stream = new Crc64Stream({ onChunk: (c) => (c.bytes > 4 ? new Error(`too long: ${c.bytes}`) : undefined) });
    await assert.rejects(
      pipeline(Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')]), stream, new Writable({ write: (c: Buffer, _e, cb) => (passed.push(c), cb()) })),
      /too long: 6/,
    );
    assert.equal(Buffer.concat(passed).toString(), 'abc', 'the failing chunk is not passed on');
  });
});
