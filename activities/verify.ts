/** Verification: a verify-only job's per-object comparison, and the size check of copied objects after each window. */
import { pipeline } from 'node:stream/promises';
import type { ObjectInfo, ObjectProvider } from '../storage/provider';
import { ThrottledTap } from './throttle';
import { comparePositions, destinationIndex, isMd5Etag } from './range';
import { Crc64 } from '../storage/checksum/crc64';
import { recordFailure, type Batch } from './batch';
import { compareKeys, mapKey } from '../common/keys';
import { addCounters, type Counters } from '../common/progress';
import { ChecksumMismatchError, NotFoundError, SizeMismatchError } from '../common/errors';

/** Verify-only jobs: compares one object with its destination copy by the job's verify mode. */
export async function verifyObject(batch: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined): Promise<void> {
  if (!existing) throw new NotFoundError(`missing at the destination (${dstKey})`, { code: 'MissingAtDestination' });
  if (existing.size !== o.size) throw new SizeMismatchError(`destination has ${existing.size} bytes, source ${o.size}`);
  const mode = batch.input.job.verify;
  if (mode === 'none' || mode === 'size') return;
  if (mode === 'checksum' && batch.src.capabilities.etagIsMd5 && batch.dst.capabilities.etagIsMd5 && isMd5Etag(o.etag) && isMd5Etag(existing.etag)) {
    if (o.etag.toLowerCase() !== existing.etag.toLowerCase()) throw new ChecksumMismatchError(`ETag ${existing.etag} at the destination, ${o.etag} at the source`);
    return;
  }
  const digest = async (p: ObjectProvider, key: string) => {
    const got = await p.get(key, { signal: batch.signal });
    const h = new Crc64();
    const tap = new ThrottledTap(batch.bandwidth, batch.signal, undefined, [h]);
    await pipeline(got.body, tap, async function* (s: AsyncIterable<Buffer>) {
      for await (const _ of s) void _;
      yield* [];
    });
    return h.toString();
  };
  const [a, c] = await Promise.all([digest(batch.src, o.key), digest(batch.dst, dstKey)]);
  if (a !== c) throw new ChecksumMismatchError(`content differs: CRC-64 ${c} at the destination, ${a} at the source`);
}

/**
 * After a window: one destination LIST per 1,000 keys proves every object copied so far (by any attempt) up to
 * position `upTo` (all without it) is there with its size. Those objects move to `batch.verifying` at once, so copies
 * made meanwhile, and those of the next window, wait for a later check.
 */
export async function verifySizes(batch: Batch, signal: AbortSignal, upTo?: string): Promise<void> {
  const seen = new Set<string>();
  const copied = batch.priorCopied.filter((o) => !seen.has(o.key) && !!seen.add(o.key));
  for (const [dstKey, o] of batch.copiedSizes) {
    if (upTo !== undefined && comparePositions(batch.src, o.position, upTo) > 0) continue;
    batch.copiedSizes.delete(dstKey);
    if (!seen.has(o.key) && !!seen.add(o.key)) copied.push(o);
  }
  batch.priorCopied = [];
  if (!copied.length) return;
  batch.verifying = copied;
  if (batch.src.capabilities.order === 'key') copied.sort((x, y) => compareKeys(x.key, y.key));
  const index = await destinationIndex(batch.src, batch.dst, batch.input.job, copied, signal);
  for (const o of copied) {
    const dstKey = mapKey(o.key, batch.input.job.source.prefix, batch.input.job.destination.prefix);
    const d = index.get(dstKey);
    const err = !d ? new NotFoundError(`copied object is missing at the destination (${dstKey})`, { code: 'MissingAfterCopy' }) : d.size !== o.size ? new SizeMismatchError(`destination has ${d.size} bytes after the copy, source ${o.size}`) : undefined;
    const c: Partial<Counters> = err ? { copied: -1, failed: 1 } : { verified: 1 };
    addCounters(batch.checkpoint.objects, c);
    addCounters(batch.checkpoint.bytes, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v! * o.size])));
    if (err) recordFailure(batch, o, err);
  }
  // Synchronously with the counters above: no heartbeat may carry both the verified counts and the list.
  batch.verifying = [];
}
