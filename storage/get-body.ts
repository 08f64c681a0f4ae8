/** What a GET answer's body must be (length, range, whole-object size) and the body cut and counted to match. */
import { Readable } from 'node:stream';
import type { ByteRange } from './provider';
import { FerryError, SizeMismatchError, SourceChangedError, abortError } from '../common/errors';

/** The parts of a GET answer (status and headers) that say what its body is. */
export interface GetAnswer {
  /** Names the request in error messages. */
  what: string;
  status: number;
  /** `Content-Length` as sent (undefined when absent: a body framed by closing the connection). */
  contentLength: string | undefined;
  contentRange: string | undefined;
  /** The range asked for (undefined: the whole object). */
  range: ByteRange | undefined;
  /** The whole object's size as the caller listed it ({@link GetOptions.expectedSize}). */
  expectedSize: number | undefined;
}

/** How to read the body of one GET answer. */
export interface BodyFrame {
  what: string;
  /** The whole object's size, when the answer or the caller says. */
  size: number | undefined;
  /** Bytes to drop first (a server that ignored Range and sent the whole object). */
  skip: number;
  /** Bytes the caller gets; undefined = to where the server ends the body (length unknown). */
  length: number | undefined;
  /** The body holds the whole object, so whole-object checksums apply. */
  whole: boolean;
  /** The body may go on past `skip + length` with bytes nobody asked for: the connection is dropped once they arrived. */
  sliced: boolean;
}

const whole = (r: ByteRange | undefined) => !r || (r.start === 0 && r.end === undefined);

function parseLength(value: string | undefined): number | undefined {
  return value !== undefined && /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
}

/** `bytes a-b/total` (total `*` = unknown). */
function parseContentRange(value: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const m = value === undefined ? null : /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  return m ? { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) } : undefined;
}

/**
 * The frame of a 2xx GET answer. A 200 to a ranged GET (the server ignored `Range`) has the range cut out of the
 * whole body. Throws FerryError (`RangeNotHonoured`) for a 206 whose Content-Range is missing or does not match the
 * range asked for, and SourceChangedError when a range starts past the end of the object the answer describes.
 */
export function bodyFrame(a: GetAnswer): BodyFrame {
  const { what, range } = a;
  const announced = parseLength(a.contentLength);
  if (a.status === 206) {
    const cr = parseContentRange(a.contentRange);
    const asked = range ?? { start: 0 };
    const size = cr?.total ?? a.expectedSize;
    const wantEnd = size === undefined ? asked.end : Math.min(asked.end ?? size - 1, size - 1);
    const length = cr ? cr.end - cr.start + 1 : undefined;
    if (!cr || cr.start !== asked.start || (wantEnd !== undefined && cr.end !== wantEnd) || (announced !== undefined && announced !== length)) {
      throw new FerryError(`${what}: asked for bytes ${asked.start}-${asked.end ?? ''}, the server answered 206 with Content-Range ${a.contentRange ?? '(none)'} and Content-Length ${a.contentLength ?? '(none)'}`, { code: 'RangeNotHonoured', status: 206 });
    }
    return { what, size, skip: 0, length, whole: cr.start === 0 && size !== undefined && length === size, sliced: false };
  }
  const size = announced ?? a.expectedSize;
  if (whole(range)) return { what, size, skip: 0, length: size, whole: true, sliced: false };
  const { start, end } = range!;
  if (size !== undefined && start >= size && size > 0) throw new SourceChangedError(`${what}: asked for bytes from ${start}, the object is now ${size} bytes`, { status: a.status });
  const last = size === undefined ? end : Math.min(end ?? size - 1, size - 1);
  const length = last === undefined ? undefined : Math.max(0, last - start + 1);
  return { what, size, skip: start, length, whole: false, sliced: true };
}

/**
 * The body the caller reads: `frame.length` bytes after `frame.skip`, with backpressure. Fails with
 * SizeMismatchError when the server's body ends early or (unless sliced) goes on too long, and with an AbortError
 * when `signal` fires. Whatever ends it, `res` is destroyed unless it was read to its end.
 */
export function framedBody(res: Readable, frame: BodyFrame, signal?: AbortSignal): Readable {
  const { what, length } = frame;
  const expected = length === undefined ? 'an unknown number of' : String(length);
  let toSkip = frame.skip;
  let delivered = 0;
  let ended = false;
  /** The body ended or failed: later events of `res` change nothing. */
  let settled = false;
  const out = new Readable({
    read() {
      res.resume();
    },
    destroy(err, cb) {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (!ended && !res.destroyed) res.destroy();
      cb(err);
    },
  });
  const fail = (err: Error) => {
    if (settled) return;
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    if (!res.destroyed) res.destroy();
    failWhenHeard(out, err);
  };
  const onAbort = () => fail(abortError(signal!));
  const finish = () => {
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    out.push(null);
  };
  res.on('data', (chunk: Buffer) => {
    if (settled) return;
    let piece = chunk;
    if (toSkip > 0) {
      const n = Math.min(toSkip, piece.length);
      toSkip -= n;
      piece = piece.subarray(n);
    }
    if (length !== undefined && delivered + piece.length > length) {
      if (!frame.sliced) return fail(new SizeMismatchError(`${what}: server sent more than the ${length} bytes it should`));
      piece = piece.subarray(0, length - delivered);
    }
    delivered += piece.length;
    const more = piece.length === 0 || out.push(piece);
    if (frame.sliced && delivered === length) {
      // The range is cut out of a whole body: drop the connection rather than download the rest.
      finish();
      res.destroy();
      return;
    }
    if (!more) res.pause();
  });
  res.once('end', () => {
    ended = true;
    if (settled) return;
    if (toSkip > 0 || (length !== undefined && delivered < length)) return fail(new SizeMismatchError(`${what}: body ended after ${delivered} of ${expected} bytes${frame.skip ? ` (${frame.skip - toSkip} of ${frame.skip} skipped first)` : ''}`));
    finish();
  });
  res.on('error', (err) => fail(new SizeMismatchError(`${what}: connection lost after ${delivered} of ${expected} bytes`, { cause: err })));
  res.once('close', () => {
    if (!ended) fail(new SizeMismatchError(`${what}: connection closed after ${delivered} of ${expected} bytes`));
  });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  if (frame.sliced && length === 0) {
    finish();
    res.destroy();
  }
  return out;
}

/**
 * Fails `out` with `err` as soon as someone can hear it: a body may break (abort, reset) before its caller starts
 * reading, and an 'error' event nobody listens to kills the worker. Async iteration, `pipeline` and `finished` add
 * an 'error' listener before they read.
 */
export function failWhenHeard(out: Readable, err: Error): void {
  if (out.listenerCount('error') > 0) {
    out.destroy(err);
    return;
  }
  const onListener = (event: string | symbol) => {
    if (event !== 'error') return;
    out.off('newListener', onListener);
    process.nextTick(() => out.destroy(err)); // 'newListener' fires before the listener is added
  };
  out.on('newListener', onListener);
}
