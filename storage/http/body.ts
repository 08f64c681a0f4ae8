/**
 * The `http` source's GET answers turned into the bodies callers read.
 *
 * - A ranged GET accepts `206` only with a `Content-Range` (and `Content-Length`) matching the request; a server
 *   that ignores `Range` and answers `200` has the full body skipped and sliced, so the caller still gets exactly
 *   the requested bytes (and the connection is dropped once they have arrived).
 * - A body shorter than announced fails with `SizeMismatchError`; an aborted one with an AbortError.
 * - A body that fails before its reader listens keeps the error until an 'error' listener (async iteration,
 *   `pipeline`, `finished`) arrives: an unheard 'error' event would kill the worker process.
 */
import { Readable } from 'node:stream';
import { contentLength, discardBody, infoOf, parseContentRange, toFerryError, type HttpResponse } from './requests';
import type { ListEntry } from './list-file';
import type { GetResult } from '../provider';
import { abortError } from '../../common/errors';

interface BodyPlan {
  what: string;
  /** Bytes to drop first (a server that ignored Range). */
  skip: number;
  /** Bytes to deliver. */
  take: number;
  /** Bytes the server announced. */
  announced: number;
  signal?: AbortSignal;
}

/** A GET answer about to become a {@link GetResult}. */
export interface ContentRead {
  entry: ListEntry;
  res: HttpResponse;
  what: string;
  signal?: AbortSignal;
}

/** A byte range as asked for: `end` inclusive, absent for "to the end". */
type ByteRange = { start: number; end?: number };

/** A 206 answer to a ranged GET, accepted only when Content-Range (and the length) match the request. */
export function partialContent({ entry, res, what, signal }: ContentRead, range: ByteRange): GetResult {
  const header = res.headers['content-range'];
  const contentRange = parseContentRange(header);
  if (contentRange?.start === undefined || contentRange.end === undefined || contentRange.total === undefined) {
    return refuseContent(res, toFerryError({ kind: 'bad-range', what, detail: `206 without a usable Content-Range (${header ?? 'none'})` }));
  }
  const wantEnd = Math.min(range.end ?? contentRange.total - 1, contentRange.total - 1);
  const length = contentRange.end - contentRange.start + 1;
  const announced = contentLength(res.headers);
  if (contentRange.start !== range.start || contentRange.end !== wantEnd || (announced !== undefined && announced !== length)) {
    return refuseContent(res, toFerryError({ kind: 'bad-range', what, detail: `asked for bytes ${range.start}-${range.end ?? ''}, got Content-Range ${header}` }));
  }
  const body = bodyStream(res.body, { what, skip: 0, take: length, announced: length, ...(signal ? { signal } : {}) });
  return { body, info: infoOf(entry, res.headers, contentRange.total), contentLength: length };
}

/** A 200 answer: the whole body, or the requested range cut out of it when the server ignored Range. */
export function fullContent({ entry, res, what, signal }: ContentRead, range: ByteRange | undefined): GetResult {
  const total = contentLength(res.headers);
  if (total === undefined) return refuseContent(res, toFerryError({ kind: 'no-size', what }));
  if (range && range.start >= total) return refuseContent(res, toFerryError({ kind: 'range-beyond-end', what, start: range.start, size: total }));
  const skip = range?.start ?? 0;
  const take = range ? Math.min(range.end ?? total - 1, total - 1) - range.start + 1 : total;
  const body = bodyStream(res.body, { what, skip, take, announced: total, ...(signal ? { signal } : {}) });
  return { body, info: infoOf(entry, res.headers, total), contentLength: take };
}

/** Cuts the connection and throws `err`: for an answer whose body will not be read. */
function refuseContent(res: HttpResponse, err: Error): never {
  discardBody(res, false);
  throw err;
}

/**
 * Wraps a response body into the body a caller reads: exactly `take` bytes after `skip`, with backpressure, failing
 * with SizeMismatchError when the connection ends early and with an AbortError when the signal fires.
 */
function bodyStream(res: Readable, plan: BodyPlan): Readable {
  let toSkip = plan.skip;
  let remaining = plan.take;
  let received = 0;
  let settled = false;
  let ended = false;
  const out = new Readable({
    read() {
      res.resume();
    },
    destroy(err, cb) {
      settled = true;
      if (!res.destroyed) res.destroy();
      cb(err);
    },
  });
  const fail = (cause?: unknown) => {
    if (settled) return;
    settled = true;
    if (!res.destroyed) res.destroy();
    const err = plan.signal?.aborted ? abortError(plan.signal) : toFerryError({ kind: 'truncated', what: plan.what, received, expected: plan.announced, cause });
    failWhenHeard(out, err);
  };
  res.on('data', (chunk: Buffer) => {
    if (settled) return;
    received += chunk.length;
    let piece = chunk;
    if (toSkip > 0) {
      if (piece.length <= toSkip) {
        toSkip -= piece.length;
        return;
      }
      piece = piece.subarray(toSkip);
      toSkip = 0;
    }
    if (piece.length > remaining) piece = piece.subarray(0, remaining);
    remaining -= piece.length;
    const more = piece.length === 0 || out.push(piece);
    if (remaining === 0 && received < plan.announced) {
      // Sliced out of a full body: the rest is not needed, so drop the connection instead of downloading it.
      settled = true;
      out.push(null);
      res.destroy();
      return;
    }
    if (!more) res.pause();
  });
  res.once('end', () => {
    ended = true;
    if (settled) return;
    if (remaining > 0) return fail();
    settled = true;
    out.push(null);
  });
  res.on('error', (err) => fail(err));
  // Guards against any other way of closing early leaving the caller waiting on a body that will never end.
  res.once('close', () => {
    if (!ended) fail();
  });
  return out;
}

/**
 * Fails `out` with `err` as soon as someone can hear it. A body may break (abort, reset) before its caller starts
 * reading, and an 'error' event nobody listens to kills the worker; the error then waits for the first 'error'
 * listener, which async iteration, `pipeline` and `finished` add before they read.
 */
function failWhenHeard(out: Readable, err: Error): void {
  if (out.listenerCount('error') > 0) {
    out.destroy(err);
    return;
  }
  const onListener = (event: string | symbol) => {
    if (event !== 'error') return;
    out.off('newListener', onListener);
    // 'newListener' fires before the listener is added.
    process.nextTick(() => out.destroy(err));
  };
  out.on('newListener', onListener);
}
