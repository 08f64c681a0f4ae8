/**
 * The body of a GET as the provider hands it out: counted against the announced length and checked against the
 * server's CRC-64 (`x-oss-hash-crc64ecma`, CRC-64/XZ) while it streams, cut by the caller's AbortSignal, and
 * never leaving a half-read socket in the pool.
 */
import type { IncomingMessage } from 'node:http';
import { Crc64Stream } from '../checksum/crc64';
import { ChecksumMismatchError, SizeMismatchError } from '../../common/errors';
import { abortedRequestError } from './client';
import { mapOssError } from './errors';

/** What the body is checked against. */
export interface DownloadExpectations {
  /** Names the request in error messages. */
  what: string;
  contentLength: number;
  /** False when the server announced no length (then `contentLength` is informative only). */
  checkLength: boolean;
  /** CRC-64 of the whole object, when the body is the whole object and the server reported it. */
  expectedCrc: bigint | undefined;
}

/**
 * Pipes an ali-oss response into a checking stream. The stream fails with SizeMismatchError (short, long or cut
 * bodies), ChecksumMismatchError (`Crc64Mismatch`), the signal's reason on abort, or a mapped network error.
 */
export function checkedDownload(res: IncomingMessage, expect: DownloadExpectations, signal: AbortSignal | undefined): Crc64Stream {
  const { what, contentLength, checkLength, expectedCrc } = expect;
  const body = new Crc64Stream({
    onChunk: (counter) => (checkLength && counter.bytes > contentLength ? new SizeMismatchError(`${what}: server sent more than the announced ${contentLength} bytes`) : undefined),
    onFlush: (counter) => {
      if (checkLength && counter.bytes !== contentLength) return new SizeMismatchError(`${what}: body ended after ${counter.bytes} of ${contentLength} bytes`);
      if (expectedCrc !== undefined && counter.digest() !== expectedCrc) {
        return new ChecksumMismatchError(`${what}: CRC-64 mismatch: received bytes have crc64ecma ${counter.toString()}, server reports ${expectedCrc}`, { code: 'Crc64Mismatch' });
      }
      return undefined;
    },
  });
  // Errors reach the reader through its own listener or iterator. A socket error that arrives after the reader
  // stopped listening (it gave up on a short body) must not become an uncaught exception in the worker.
  body.on('error', () => undefined);
  const cut = (err: Error) => {
    if (!body.destroyed) body.destroy(err);
  };
  res.on('error', (err) => cut(!checkLength || body.bytes < contentLength ? new SizeMismatchError(`${what}: connection lost after ${body.bytes} of ${contentLength} bytes`, { cause: err }) : mapOssError(err, what) as Error));
  res.on('close', () => {
    if (!res.complete && !body.destroyed) cut(new SizeMismatchError(`${what}: connection closed after ${body.bytes} of ${contentLength} bytes`));
  });
  const onAbort = () => cut(signal!.reason instanceof Error ? signal!.reason : abortedRequestError());
  signal?.addEventListener('abort', onAbort, { once: true });
  body.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    if (!res.complete) res.destroy(); // the reader stopped early: do not return a half-read socket to the pool
  });
  res.pipe(body);
  return body;
}
