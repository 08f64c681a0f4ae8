/**
 * What a copy proved about one object. The MD5 (and CRC-64) of the bytes Ferry sent is compared with each checksum a
 * side reported; a copy that the destination reported no comparable checksum for is read back (`verify: checksum`,
 * always with `content`) or fails with ChecksumUnavailableError (`checksum-strict`). The checks made are what the
 * object counts under once its size is confirmed (verify.ts), so a size-only copy never counts as checksum-verified.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Hash } from 'node:crypto';
import type { ObjectInfo, ObjectProvider, PutResult } from '../storage/provider';
import type { Check } from '../common/progress';
import { ThrottledTap } from './throttle';
import { isMd5Etag } from './range';
import { Crc64 } from '../storage/checksum/crc64';
import type { Batch } from './batch';
import { ChecksumMismatchError, ChecksumUnavailableError } from '../common/errors';

/** The checks made for one object so far, and whether any of them compared the destination's own checksum. */
export class CopyChecks {
  private readonly made = new Set<Check>();
  private destinationChecked = false;

  /** A source checksum matched the bytes read: the source was read right. */
  source(check: Check): void {
    this.made.add(check);
  }

  /** A destination checksum matched the bytes sent (or the destination was read back): the copy arrived intact. */
  destination(check: Check): void {
    this.made.add(check);
    this.destinationChecked = true;
  }

  get destinationVerified(): boolean {
    return this.destinationChecked;
  }

  list(): Check[] {
    return [...this.made];
  }
}

/** What the bytes Ferry read from the source hash to: MD5 (single puts) or CRC-64 (multipart, combined from parts). */
export interface SentDigest {
  md5?: string;
  crc64?: string;
}

/** Compares the source's MD5 ETag with the MD5 of the bytes read (ChecksumMismatchError when they differ). */
export function compareSourceEtag(batch: Batch, o: ObjectInfo, md5: string, checks: CopyChecks): void {
  if (!batch.src.capabilities.etagIsMd5 || !isMd5Etag(o.etag)) return;
  if (o.etag.toLowerCase() !== md5) throw new ChecksumMismatchError(`source MD5 ${md5} differs from the source ETag ${o.etag}`);
  checks.source('md5');
}

/**
 * Compares what the destination reported for a write with the bytes sent: an MD5 ETag with their MD5, a CRC-64 the
 * server reported (providers return only reported checksums, already compared with the bytes they sent).
 */
export function compareWritten(batch: Batch, res: PutResult, sent: SentDigest, checks: CopyChecks): void {
  if (sent.md5 && batch.dst.capabilities.etagIsMd5 && isMd5Etag(res.etag)) {
    if (res.etag.toLowerCase() !== sent.md5) throw new ChecksumMismatchError(`destination ETag ${res.etag} differs from the MD5 of the bytes sent (${sent.md5})`);
    checks.destination('md5');
  }
  const crc = res.checksums?.crc64ecma;
  if (crc === undefined) return;
  if (sent.crc64 !== undefined && crc !== sent.crc64) throw new ChecksumMismatchError(`destination CRC-64 ${crc} differs from the CRC-64 of the bytes sent (${sent.crc64})`);
  checks.destination('crc64');
}

/** A server-side copy: the destination's MD5 ETag against the source's (the bytes never passed through Ferry). */
export function compareCopied(batch: Batch, o: ObjectInfo, res: PutResult, checks: CopyChecks): void {
  const { src, dst } = batch;
  if (!src.capabilities.etagIsMd5 || !dst.capabilities.etagIsMd5 || !isMd5Etag(o.etag) || !isMd5Etag(res.etag)) return;
  if (o.etag.toLowerCase() !== res.etag.toLowerCase()) throw new ChecksumMismatchError(`destination ETag ${res.etag} differs from the source ETag ${o.etag} after a server-side copy`);
  checks.destination('md5');
}

/**
 * The last step of a copy's checks by the job's verify mode: `content` always reads the destination back;
 * `checksum` reads it back when no destination checksum was compared; `checksum-strict` fails instead.
 * `sent`: the digest of the bytes read from the source (none for server-side copies: the source is read again).
 */
export async function settleChecks(batch: Batch, o: ObjectInfo, dstKey: string, checks: CopyChecks, sent: SentDigest | undefined): Promise<Check[]> {
  const mode = batch.input.job.verify;
  if (mode === 'checksum-strict' && !checks.destinationVerified) {
    throw new ChecksumUnavailableError(`the destination reported no checksum of ${dstKey} to compare with the source's (no MD5 ETag, no CRC-64); \`verify: checksum\` would read it back`);
  }
  if (mode === 'content' || (mode === 'checksum' && !checks.destinationVerified)) {
    await readBack(batch, o, dstKey, sent);
    checks.destination('content');
  }
  return checks.list();
}

/** Reads the destination copy and compares its digest with the bytes sent (or, with none, with the source read again). */
async function readBack(batch: Batch, o: ObjectInfo, dstKey: string, sent: SentDigest | undefined): Promise<void> {
  if (sent?.md5) {
    const md5 = await readDigest(batch, batch.dst, dstKey, 'md5');
    if (md5 !== sent.md5) throw new ChecksumMismatchError(`destination content MD5 ${md5} differs from the MD5 of the bytes sent (${sent.md5})`);
    return;
  }
  const expected = sent?.crc64 ?? (await readDigest(batch, batch.src, o.key, 'crc64'));
  const crc = await readDigest(batch, batch.dst, dstKey, 'crc64');
  if (crc !== expected) throw new ChecksumMismatchError(`destination content CRC-64 ${crc} differs from the source's ${expected}`);
}

/** Reads a whole object through the bandwidth limit and returns its MD5 (hex) or CRC-64 (decimal). */
export async function readDigest(batch: Batch, p: ObjectProvider, key: string, algorithm: 'md5' | 'crc64'): Promise<string> {
  const got = await p.get(key, { signal: batch.signal });
  const h: Hash | Crc64 = algorithm === 'md5' ? createHash('md5') : new Crc64();
  const tap = new ThrottledTap(batch.bandwidth, batch.signal, undefined, [h]);
  await pipeline(got.body, tap, async function* (s: AsyncIterable<Buffer>) {
    for await (const _ of s) void _;
    yield* [];
  });
  return h instanceof Crc64 ? h.toString() : h.digest('hex');
}

/** What an object found in place was compared by, besides its size: its MD5 ETag on both sides (see sameObject). */
export function inPlaceChecks(batch: Batch, o: ObjectInfo, existing: ObjectInfo | undefined): Check[] {
  const { src, dst } = batch;
  return src.capabilities.etagIsMd5 && dst.capabilities.etagIsMd5 && isMd5Etag(o.etag) && isMd5Etag(existing?.etag) ? ['md5'] : [];
}
