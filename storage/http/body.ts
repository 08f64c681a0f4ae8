/**
 * The `http` source's GET answers turned into the bodies callers read.
 *
 * - A ranged GET accepts `206` only with a `Content-Range` (and `Content-Length`) matching the request; a server
 *   that ignores `Range` and answers `200` has the full body skipped and sliced, so the caller still gets exactly
 *   the requested bytes (and the connection is dropped once they have arrived).
 * - The body is cut and counted by `framedBody` (storage/get-body.ts), as the object stores' are: one shorter than
 *   announced fails with `SizeMismatchError`, an aborted one with an AbortError, and an error before its reader
 *   listens waits for an 'error' listener (an unheard 'error' event would kill the worker process).
 */
import { contentLength, discardBody, infoOf, parseContentRange, toFerryError, type HttpResponse } from './requests';
import type { ListEntry } from './list-file';
import type { GetResult } from '../provider';
import { framedBody } from '../get-body';

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
  const body = framedBody(res.body, { what, size: contentRange.total, skip: 0, length, whole: length === contentRange.total, sliced: false }, signal);
  return { body, info: infoOf(entry, res.headers, contentRange.total), contentLength: length };
}

/** A 200 answer: the whole body, or the requested range cut out of it when the server ignored Range. */
export function fullContent({ entry, res, what, signal }: ContentRead, range: ByteRange | undefined): GetResult {
  const total = contentLength(res.headers);
  if (total === undefined) return refuseContent(res, toFerryError({ kind: 'no-size', what }));
  if (range && range.start >= total) return refuseContent(res, toFerryError({ kind: 'range-beyond-end', what, start: range.start, size: total }));
  const skip = range?.start ?? 0;
  const take = range ? Math.min(range.end ?? total - 1, total - 1) - range.start + 1 : total;
  const body = framedBody(res.body, { what, size: total, skip, length: take, whole: take === total, sliced: skip + take < total }, signal);
  return { body, info: infoOf(entry, res.headers, total), contentLength: take };
}

/** Cuts the connection and throws `err`: for an answer whose body will not be read. */
function refuseContent(res: HttpResponse, err: Error): never {
  discardBody(res, false);
  throw err;
}
