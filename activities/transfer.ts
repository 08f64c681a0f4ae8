/**
 * One source object: the filter and overwrite decision, then a server-side copy, a single put (small objects read
 * whole, larger ones streamed through the bandwidth tap) or a multipart copy (multipart.ts), with inline checksum
 * checks. Per-object errors are retried in place (OBJECT_ATTEMPTS, back-off honouring Retry-After), then recorded;
 * an error of no known class at most UNEXPECTED_ATTEMPTS times, then recorded as an UnexpectedError naming the key.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ObjectInfo, PutResult, WriteOptions } from '../storage/provider';
import { ThrottledTap } from './throttle';
import { isMd5Etag, overwriteDecision } from './range';
import { copyMultipart } from './multipart';
import { verifyObject } from './verify';
import { CopyChecks, compareCopied, compareSourceEtag, compareWritten, inPlaceChecks, settleChecks } from './checks';
import { checkUnchanged, readWhole, sourceRead, tapped } from './source-read';
import { OBJECT_ATTEMPTS, PausedError, copied, recordFailure, serverSide, wantChecksums, type Batch, type Outcome } from './batch';
import { ferryMetrics, FerryMetric } from './metrics';
import { mapKey } from '../common/keys';
import type { Check } from '../common/progress';
import { ChecksumUnavailableError, ObjectTooLargeError, SizeMismatchError, ThrottledError } from '../common/errors';
import { retryBounded } from '../common/retry';
import { copyKeyVersions } from './versions-copy';
import { archivedAfterRead, archivedHold, listedAsArchived } from './archive';
import { copyOptionsFor, sourceTags, writeOptionsOf } from './write-options';
import { compareMetadata } from './metadata-verify';

/** Objects up to this size are read whole, then written in one request write (a streamed copy's tap buffers as much). */
const BUFFERED_PUT_BYTES = 256 * 1024;

/** What happened to one object; `checks`: what an object found in place (or verified) was compared by besides its size. */
export interface ObjectResult {
  outcome: Outcome;
  checks?: readonly Check[];
}

/** Decides and performs the work for one source object; returns what happened. Per-object failures are recorded, not thrown. */
export async function processObject(batch: Batch, o: ObjectInfo, index: Map<string, ObjectInfo>, include: (k: string) => boolean, verifyOnly: boolean): Promise<ObjectResult> {
  const job = batch.input.job;
  const rel = job.source.prefix && o.key.startsWith(job.source.prefix) ? o.key.slice(job.source.prefix.length) : o.key;
  if (!include(rel)) return { outcome: 'excluded' };
  // `versions: all`: every version of the key, each counted as an object (versions-copy.ts).
  if (o.versions) return copyKeyVersions(batch, o, mapKey(o.key, job.source.prefix, job.destination.prefix), verifyOnly, copyObject);
  // lastModified 0 = unknown (an http source without Last-Modified): never excluded by time.
  if (job.filter.modifiedSince !== undefined && o.lastModified > 0 && o.lastModified < job.filter.modifiedSince) return { outcome: 'excluded' };
  const dstKey = mapKey(o.key, job.source.prefix, job.destination.prefix);
  const existing = index.get(dstKey);
  try {
    // An error of no known class (a bug) gets UNEXPECTED_ATTEMPTS attempts, then is recorded as an UnexpectedError.
    const what = { operation: verifyOnly ? 'verify' : 'copy', bucket: batch.src.bucket, key: o.key };
    return await retryBounded(what, () => attemptObject(batch, o, dstKey, existing, verifyOnly), {
      attempts: OBJECT_ATTEMPTS,
      baseMs: 1000,
      signal: batch.signal,
      onRetry: (e) => noteThrottled(batch, e),
    });
  } catch (e) {
    if (batch.signal.aborted) throw batch.signal.reason instanceof PausedError ? batch.signal.reason : e;
    noteThrottled(batch, e);
    recordFailure(batch, o, e);
    return { outcome: 'failed' };
  }
}

/** One attempt at an object: verify it (verify-only jobs), or decide by the overwrite policy and copy it. */
async function attemptObject(batch: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined, verifyOnly: boolean): Promise<ObjectResult> {
  if (batch.objectRate.limit) await batch.objectRate.take(1, batch.signal);
  if (verifyOnly) return { outcome: 'skipped', checks: await verifyObject(batch, o, dstKey, existing) };
  const decision = overwriteDecision(batch.input.job.overwrite, o, existing, batch.src.capabilities.etagIsMd5, batch.dst.capabilities.etagIsMd5);
  if (decision === 'skipped') return { outcome: 'skipped', checks: await foundInPlace(batch, o, dstKey, existing) };
  if (decision !== 'copy') return { outcome: decision };
  // Only an archived object waits here: any other goes on to its transfer in this turn, so a large object's parts are
  // open to the lanes that look next (lanes.ts takeNow).
  const held = listedAsArchived(batch, o) ? await archivedHold(batch, o) : undefined;
  if (held) return held;
  ferryMetrics.add(FerryMetric.transfersInFlight, 1);
  try {
    await copyObject(batch, o, dstKey);
  } catch (e) {
    return await archivedAfterRead(batch, o, e);
  } finally {
    ferryMetrics.add(FerryMetric.transfersInFlight, -1);
  }
  return { outcome: 'copied' };
}

/**
 * The checks of an object found in place. `checksum-strict` takes no object on size and time alone: one with no MD5
 * ETag on both sides fails (so a retry round cannot pass an object whose copy failed the strict check).
 */
async function foundInPlace(batch: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined): Promise<Check[]> {
  const checks = inPlaceChecks(batch, o, existing);
  if (batch.input.job.verify === 'checksum-strict' && !checks.length) {
    throw new ChecksumUnavailableError(`${dstKey} is at the destination with the same size, but no checksum of both sides compares them`);
  }
  if (wantChecksums(batch)) await compareMetadata(batch, o, dstKey);
  return checks;
}

function noteThrottled(batch: Batch, e: unknown): void {
  if (!(e instanceof ThrottledError)) return;
  batch.checkpoint.throttleEvents++;
  ferryMetrics.add(FerryMetric.throttleEvents, 1);
}

/** Copies one object by the cheapest way the two stores allow (server-side, single put, multipart). */
export async function copyObject(batch: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst, input } = batch;
  dst.validateKey(dstKey);
  const mp = dst.capabilities.multipart;
  const maxSize = mp && dst.createMultipart ? mp.maxPartSize * mp.maxParts : dst.capabilities.maxSinglePut;
  if (o.size > maxSize) throw new ObjectTooLargeError(`${o.size} bytes is more than the destination can store (${maxSize})`);
  const useMultipart = !!mp && !!dst.createMultipart && (o.size >= input.job.multipart.threshold || o.size > dst.capabilities.maxSinglePut);
  if (serverSide(batch) && o.size <= dst.capabilities.maxServerSideCopy && !useMultipart) {
    // Server-side copies count against the bandwidth limit too: operators throttle to spare the source.
    await batch.bandwidth.take(o.size, batch.signal);
    const res = await dst.copyObject!({ bucket: src.bucket, key: o.key, etag: o.etag }, dstKey, await copyOptionsFor(batch, o));
    copied(batch, dstKey, o, await copiedChecks(batch, o, dstKey, res));
    return;
  }
  if (useMultipart) return copyMultipart(batch, o, dstKey);
  return putObject(batch, o, dstKey);
}

/** Copies one object with a single GET and PUT: read whole when small, else streamed. */
async function putObject(batch: Batch, o: ObjectInfo, dstKey: string): Promise<void> {
  const { src, dst } = batch;
  const small = o.size <= BUFFERED_PUT_BYTES;
  // A small object's bandwidth is taken before its GET: an open response must never wait on an abortable sleep
  // (a pause would abort it with its body unread).
  if (small) await batch.bandwidth.take(o.size, batch.signal);
  const tags = await sourceTags(src, dst.capabilities, o.key, batch.signal);
  const got = await sourceRead(() => src.get(o.key, { expectedSize: o.size, signal: batch.signal }));
  let opts: WriteOptions;
  try {
    checkUnchanged(o, got.info);
    opts = writeOptionsOf(batch, o, got.info, tags);
  } catch (e) {
    got.body.destroy();
    throw e;
  }
  const md5 = wantChecksums(batch) ? createHash('md5') : undefined;
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
  const res = await dst.put(dstKey, body, { ...opts, size: o.size });
  if (tap && tap.bytes !== o.size) throw new SizeMismatchError(`read ${tap.bytes} bytes of ${o.size} from the source`);
  if (!md5) return copied(batch, dstKey, o);
  const sent = { md5: md5.digest('hex') };
  const checks = new CopyChecks();
  compareSourceEtag(batch, o, sent.md5, checks);
  compareWritten(batch, res, sent, checks);
  const made = await settleChecks(batch, o, dstKey, checks, sent);
  await compareMetadata(batch, o, dstKey, opts);
  copied(batch, dstKey, o, made);
}

/** The checks of a server-side copy (none unless the job verifies checksums or content). */
async function copiedChecks(batch: Batch, o: ObjectInfo, dstKey: string, res: PutResult): Promise<Check[]> {
  if (!wantChecksums(batch)) return [];
  const checks = new CopyChecks();
  compareCopied(batch, o, res, checks);
  // Read back, the destination compares with the source's MD5 ETag when it has one, else with the source read again.
  const sourceMd5 = batch.src.capabilities.etagIsMd5 && isMd5Etag(o.etag) ? o.etag.toLowerCase() : undefined;
  const made = await settleChecks(batch, o, dstKey, checks, sourceMd5 ? { md5: sourceMd5 } : undefined);
  await compareMetadata(batch, o, dstKey);
  return made;
}
