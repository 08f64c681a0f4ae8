/**
 * One source object: the filter and overwrite decision, then a server-side copy, a single put (small objects read
 * whole, larger ones streamed through the bandwidth tap) or a multipart copy (multipart.ts), with inline checksum
 * checks. Per-object errors are retried in place (OBJECT_ATTEMPTS, back-off honouring Retry-After), then recorded.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ObjectInfo } from '../storage/provider';
import { ThrottledTap } from './throttle';
import { isMd5Etag, overwriteDecision } from './range';
import { copyMultipart } from './multipart';
import { verifyObject } from './verify';
import { checkUnchanged, readWhole, sourceRead, tapped } from './source-read';
import { OBJECT_ATTEMPTS, PausedError, copied, recordFailure, serverSide, wantChecksums, type Batch, type Outcome } from './batch';
import { ferryMetrics, FerryMetric } from './metrics';
import { mapKey } from '../common/keys';
import { headerMetadata } from '../common/metadata';
import { ChecksumMismatchError, ObjectTooLargeError, SizeMismatchError, ThrottledError } from '../common/errors';
import { retry } from '../common/retry';

/** Objects up to this size are read whole, then written in one request write (a streamed copy's tap buffers as much). */
const BUFFERED_PUT_BYTES = 256 * 1024;

/** Decides and performs the work for one source object; returns what happened. Per-object failures are recorded, not thrown. */
export async function processObject(batch: Batch, o: ObjectInfo, index: Map<string, ObjectInfo>, include: (k: string) => boolean, verifyOnly: boolean): Promise<Outcome> {
  const job = batch.input.job;
  const rel = job.source.prefix && o.key.startsWith(job.source.prefix) ? o.key.slice(job.source.prefix.length) : o.key;
  if (!include(rel)) return 'excluded';
  // lastModified 0 = unknown (an http source without Last-Modified): never excluded by time.
  if (job.filter.modifiedSince !== undefined && o.lastModified > 0 && o.lastModified < job.filter.modifiedSince) return 'excluded';
  const dstKey = mapKey(o.key, job.source.prefix, job.destination.prefix);
  const existing = index.get(dstKey);
  try {
    return await retry(() => attemptObject(batch, o, dstKey, existing, verifyOnly), {
      attempts: OBJECT_ATTEMPTS,
      baseMs: 1000,
      signal: batch.signal,
      onRetry: (e) => noteThrottled(batch, e),
    });
  } catch (e) {
    if (batch.signal.aborted) throw batch.signal.reason instanceof PausedError ? batch.signal.reason : e;
    noteThrottled(batch, e);
    recordFailure(batch, o, e);
    return 'failed';
  }
}

/** One attempt at an object: verify it (verify-only jobs), or decide by the overwrite policy and copy it. */
async function attemptObject(batch: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined, verifyOnly: boolean): Promise<Outcome> {
  if (batch.objectRate.limit) await batch.objectRate.take(1, batch.signal);
  if (verifyOnly) {
    await verifyObject(batch, o, dstKey, existing);
    return 'skipped';
  }
  const decision = overwriteDecision(batch.input.job.overwrite, o, existing, batch.src.capabilities.etagIsMd5, batch.dst.capabilities.etagIsMd5);
  if (decision !== 'copy') return decision;
  ferryMetrics.add(FerryMetric.transfersInFlight, 1);
  try {
    await copyObject(batch, o, dstKey);
  } finally {
    ferryMetrics.add(FerryMetric.transfersInFlight, -1);
  }
  return 'copied';
}

function noteThrottled(batch: Batch, e: unknown): void {
  if (!(e instanceof ThrottledError)) return;
  batch.checkpoint.throttleEvents++;
  ferryMetrics.add(FerryMetric.throttleEvents, 1);
}

async function copyObject(batch: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, input } = batch;
  dst.validateKey(dstKey);
  const mp = dst.capabilities.multipart;
  const maxSize = mp && dst.createMultipart ? mp.maxPartSize * mp.maxParts : dst.capabilities.maxSinglePut;
  if (o.size > maxSize) throw new ObjectTooLargeError(`${o.size} bytes is more than the destination can store (${maxSize})`);
  const useMultipart = !!mp && !!dst.createMultipart && (o.size >= input.job.multipart.threshold || o.size > dst.capabilities.maxSinglePut);
  if (serverSide(batch) && o.size <= dst.capabilities.maxServerSideCopy && !useMultipart) {
    // Server-side copies count against the bandwidth limit too: operators throttle to spare the source.
    await batch.bandwidth.take(o.size, batch.signal);
    await dst.copyObject!({ bucket: src.bucket, key: o.key, etag: o.etag }, dstKey, { signal: batch.signal });
    copied(batch, dstKey, o);
    return;
  }
  if (useMultipart) return copyMultipart(batch, o, dstKey);
  return putObject(batch, o, dstKey);
}

/** Copies one object with a single GET and PUT: read whole when small, else streamed. */
async function putObject(batch: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, input } = batch;
  const small = o.size <= BUFFERED_PUT_BYTES;
  // A small object's bandwidth is taken before its GET: an open response must never wait on an abortable sleep
  // (a pause would abort it with its body unread).
  if (small) await batch.bandwidth.take(o.size, batch.signal);
  const got = await sourceRead(() => src.get(o.key, { signal: batch.signal }));
  try {
    checkUnchanged(o, got.info);
    got.info.metadata = headerMetadata(o.key, got.info.metadata, dst.capabilities.metadata);
  } catch (e) {
    got.body.destroy();
    throw e;
  }
  const md5 = wantChecksums(batch) && (dst.capabilities.etagIsMd5 || (src.capabilities.etagIsMd5 && isMd5Etag(o.etag))) ? createHash('md5') : undefined;
  let body: Readable | Buffer;
  let tap: ThrottledTap | undefined;
  if (small) {
    // Small objects are read whole and written in one request write: no stream stages between the two sockets.
    body = await readWhole(got.body, o.size);
    if (body.length !== o.size) throw new SizeMismatchError(`read ${body.length > o.size ? 'more than ' : ''}${body.length} bytes of ${o.size} from the source`);
    md5?.update(body);
  } else {
    tap = new ThrottledTap(batch.bandwidth, batch.signal, undefined, md5 ? [md5] : []);
    body = tapped(got.body, tap);
  }
  const res = await dst.put(dstKey, body, { size: o.size, contentType: got.info.contentType, metadata: got.info.metadata, signal: batch.signal });
  if (tap && tap.bytes !== o.size) throw new SizeMismatchError(`read ${tap.bytes} bytes of ${o.size} from the source`);
  if (md5) {
    const sum = md5.digest('hex');
    if (src.capabilities.etagIsMd5 && isMd5Etag(o.etag) && o.etag.toLowerCase() !== sum) throw new ChecksumMismatchError(`source MD5 ${sum} differs from the source ETag ${o.etag}`);
    if (dst.capabilities.etagIsMd5 && isMd5Etag(res.etag) && res.etag.toLowerCase() !== sum) throw new ChecksumMismatchError(`destination ETag ${res.etag} differs from the MD5 of the bytes sent (${sum})`);
    if (input.job.verify === 'content') await compareContent(batch, dstKey, sum);
  }
  copied(batch, dstKey, o);
}

/** Re-reads the destination and compares its MD5 with the source's (verify: content). */
async function compareContent(batch: Batch, dstKey: string, expectedMd5: string): Promise<void> {
  const got = await batch.dst.get(dstKey, { signal: batch.signal });
  const h = createHash('md5');
  await pipeline(got.body, async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) h.update(c);
    yield* [];
  });
  const sum = h.digest('hex');
  if (sum !== expectedMd5) throw new ChecksumMismatchError(`destination content MD5 ${sum} differs from the source's ${expectedMd5}`);
}
