/**
 * The body of a GET as the provider hands it out: cut and counted by its {@link BodyFrame} (`get-body.ts`), checked
 * against the server's whole-object CRC-64 (`x-oss-hash-crc64ecma`, CRC-64/XZ) while it streams, cut by the caller's
 * AbortSignal, and never leaving a half-read socket in the pool.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Crc64 } from '../checksum/crc64';
import { ChecksumMismatchError } from '../../common/errors';
import { failWhenHeard, framedBody, type BodyFrame } from '../get-body';

/** Passes the body through, failing it (once a reader listens) when its CRC-64 differs from the server's. */
class CrcCheck extends Transform {
  private readonly crc = new Crc64();

  constructor(
    private readonly what: string,
    private readonly expected: bigint,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.crc.digest() === this.expected) return cb();
    failWhenHeard(this, new ChecksumMismatchError(`${this.what}: CRC-64 mismatch: received bytes have crc64ecma ${this.crc.toString()}, server reports ${this.expected}`, { code: 'Crc64Mismatch' }));
  }
}

/**
 * The checked body of an ali-oss response. It fails with SizeMismatchError (short, long or cut bodies),
 * ChecksumMismatchError (`Crc64Mismatch`, when `expectedCrc` is given: the body is the whole object) or an
 * AbortError when the signal fires.
 */
export function checkedDownload(res: IncomingMessage, frame: BodyFrame, expectedCrc: bigint | undefined, signal: AbortSignal | undefined): Readable {
  const framed = framedBody(res, frame, signal);
  if (expectedCrc === undefined) return framed;
  const body = new CrcCheck(frame.what, expectedCrc);
  // Not `pipe`: its own 'error' listener on `body` would count as a reader's in failWhenHeard.
  framed.on('data', (chunk: Buffer) => {
    if (!body.write(chunk)) framed.pause();
  });
  body.on('drain', () => framed.resume());
  framed.once('end', () => body.end());
  framed.on('error', (err) => failWhenHeard(body, err));
  body.once('close', () => framed.destroy()); // the reader stopped early: drop the connection
  return body;
}
