/**
 * Verification: a verify-only job's per-object comparison, and the size check of copied objects after each window,
 * which counts each under the checks made during its copy (checks.ts).
 */
import type { ObjectInfo } from '../storage/provider';
import { comparePositions, destinationIndex } from './range';
import { countVerified, recordFailure, type Batch } from './batch';
import { inPlaceChecks, readDigest } from './checks';
import { compareMetadata } from './metadata-verify';
import { compareKeys, mapKey } from '../common/keys';
import { addCounters, type Check, type Counters } from '../common/progress';
import { ChecksumMismatchError, ChecksumUnavailableError, NotFoundError, SizeMismatchError } from '../common/errors';

/**
 * Verify-only jobs: compares one object with its destination copy by the job's verify mode; returns the checks
 * besides size. `checksum` compares MD5 ETags when both sides have one, else both sides' content (CRC-64);
 * `checksum-strict` fails with ChecksumUnavailableError instead of reading them. What travels with the object is
 * compared too (metadata-verify.ts: MetadataMismatchError).
 */
export async function verifyObject(batch: Batch, o: ObjectInfo, dstKey: string, existing: ObjectInfo | undefined): Promise<Check[]> {
  if (!existing) throw new NotFoundError(`missing at the destination (${dstKey})`, { code: 'MissingAtDestination' });
  if (existing.size !== o.size) throw new SizeMismatchError(`destination has ${existing.size} bytes, source ${o.size}`);
  const mode = batch.input.job.verify;
  if (mode === 'none' || mode === 'size') return [];
  const etags = mode === 'content' ? [] : inPlaceChecks(batch, o, existing);
  if (etags.length) {
    if (o.etag!.toLowerCase() !== existing.etag!.toLowerCase()) throw new ChecksumMismatchError(`ETag ${existing.etag} at the destination, ${o.etag} at the source`);
    await compareMetadata(batch, o, dstKey);
    return etags;
  }
  if (mode === 'checksum-strict') throw new ChecksumUnavailableError(`no checksum of both sides compares ${dstKey} with its source (no MD5 ETags)`);
  const [a, c] = await Promise.all([readDigest(batch, batch.src, o.key, 'crc64'), readDigest(batch, batch.dst, dstKey, 'crc64')]);
  if (a !== c) throw new ChecksumMismatchError(`content differs: CRC-64 ${c} at the destination, ${a} at the source`);
  await compareMetadata(batch, o, dstKey);
  return ['content'];
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
    const checks = batch.checksOf.get(o.key) ?? [];
    batch.checksOf.delete(o.key);
    if (!err) {
      countVerified(batch, o.size, checks);
      continue;
    }
    const c: Partial<Counters> = { copied: -1, failed: 1 };
    addCounters(batch.checkpoint.objects, c);
    addCounters(batch.checkpoint.bytes, { copied: -o.size, failed: o.size });
    recordFailure(batch, o, err);
  }
  // Synchronously with the counters above: no heartbeat may carry both the verified counts and the list.
  batch.verifying = [];
}
