/** Reading a listed source object: deleted or changed since the listing, whole or through the bandwidth tap. */
import type { Readable } from 'node:stream';
import type { ObjectInfo } from '../storage/provider';
import type { ThrottledTap } from './throttle';
import { BucketNotFoundError, NotFoundError, SourceChangedError } from '../common/errors';

/** Source reads of a listed object: not found now means it was deleted after listing. */
export async function sourceRead<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof NotFoundError && !(e instanceof BucketNotFoundError)) throw new NotFoundError(`source object was deleted after listing: ${e.message}`, { code: 'DeletedAfterListing', cause: e });
    throw e;
  }
}

/** Rejects a GET whose object differs from the listed version (changed between listing and copy). */
export function checkUnchanged(listed: ObjectInfo, got: ObjectInfo): void {
  const changed =
    got.size !== listed.size ||
    (listed.etag && got.etag && listed.etag !== got.etag) ||
    (listed.lastModified && got.lastModified && Math.abs(got.lastModified - listed.lastModified) >= 1000);
  if (changed) {
    throw new SourceChangedError(
      `source object changed after listing (listed size ${listed.size}, etag ${listed.etag ?? '-'}, modified ${new Date(listed.lastModified).toISOString()}; now size ${got.size}, etag ${got.etag ?? '-'})`,
    );
  }
}

/**
 * A source body read through `tap`, with source errors passed on to it. An error that arrives after the writer
 * gave up on the stream (a short body whose connection then resets) is dropped, not thrown in the worker.
 */
export function tapped(source: Readable, tap: ThrottledTap): ThrottledTap {
  source.on('error', (e) => {
    if (!tap.destroyed) tap.destroy(e);
  });
  tap.on('error', () => undefined);
  return source.pipe(tap);
}

/**
 * A source body of at most `size` + 1 bytes, whole (more than `size` stops reading: the size check then fails).
 * A body that breaks off rejects with its error.
 */
export function readWhole(body: Readable, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let settled = false;
    const settle = (e?: unknown) => {
      if (settled) return;
      settled = true;
      if (e) reject(e);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n));
    };
    body.on('data', (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n > size) {
        settle();
        body.destroy();
      }
    });
    body.once('end', () => settle());
    body.once('error', settle);
    body.once('close', () => settle(settled ? undefined : new Error(`source body ended after ${n} of ${size} bytes`)));
  });
}
