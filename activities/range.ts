/** Listing a task's key range and matching it against the destination — shared by plan, copy and verify. */
import type { ObjectInfo, ObjectProvider } from './providers/provider';
import type { JobSpec } from '../common/job';
import type { KeyRange } from '../workflows/types';
import { compareKeys, mapKey } from '../common/keys';
import { FerryError, InvalidKeyError, NotFoundError } from '../common/errors';

/** Compares two listing positions in the provider's order (keys by UTF-8 bytes, list lines numerically). */
export function comparePositions(p: ObjectProvider, a: string, b: string): number {
  return p.capabilities.order === 'list' ? Number(a) - Number(b) : compareKeys(a, b);
}

/**
 * Lists source entries after `cursor` up to and including `range.last`: at most `limit` objects, stopping
 * early (after at least one) once `maxBytes` is reached. `done` = the range is exhausted.
 */
export async function listRange(
  src: ObjectProvider,
  prefix: string | undefined,
  range: KeyRange,
  cursor: string | undefined,
  limit: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ entries: ObjectInfo[]; done: boolean }> {
  const entries: ObjectInfo[] = [];
  let bytes = 0;
  let after = cursor ?? range.startAfter;
  for (;;) {
    const page = await src.list({ prefix, startAfter: after, limit: Math.min(1000, limit - entries.length + 1), signal });
    for (const o of page.objects) {
      if (comparePositions(src, o.position, range.last) > 0) return { entries, done: true };
      if (entries.length >= limit || (entries.length > 0 && bytes >= maxBytes)) return { entries, done: false };
      entries.push(o);
      bytes += o.size;
      if (o.position === range.last) return { entries, done: true };
    }
    if (!page.next) return { entries, done: true };
    after = page.next;
  }
}

/**
 * Destination objects for the given source entries, keyed by destination key. Key-ordered stores on both
 * sides: one LIST per 1000 keys over the mapped range. Otherwise (list-ordered sources): a stat per key.
 */
export async function destinationIndex(
  src: ObjectProvider,
  dst: ObjectProvider,
  job: JobSpec,
  entries: readonly ObjectInfo[],
  signal?: AbortSignal,
  statConcurrency = 16,
): Promise<Map<string, ObjectInfo>> {
  const index = new Map<string, ObjectInfo>();
  if (!entries.length) return index;
  const toDst = (k: string) => mapKey(k, job.source.prefix, job.destination.prefix);
  if (src.capabilities.order === 'key' && dst.capabilities.order === 'key') {
    const first = toDst(entries[0]!.key);
    const last = toDst(entries[entries.length - 1]!.key);
    // Start just before the first key: `first` minus its last character sorts before it (a few extra keys
    // may be listed; they are ignored).
    let startAfter: string | undefined = first.length > 0 ? first.slice(0, -1) : undefined;
    if (startAfter !== undefined && job.destination.prefix && !startAfter.startsWith(job.destination.prefix)) startAfter = undefined;
    for (;;) {
      const page = await dst.list({ prefix: job.destination.prefix, startAfter, limit: 1000, signal });
      for (const o of page.objects) {
        if (compareKeys(o.key, last) > 0) return index;
        index.set(o.key, o);
      }
      if (!page.next) return index;
      startAfter = page.next;
    }
  }
  let i = 0;
  const worker = async () => {
    while (i < entries.length) {
      const k = toDst(entries[i++]!.key);
      try {
        index.set(k, await dst.stat(k, { signal }));
      } catch (e) {
        // A key the destination cannot store is not there: copying it records a per-object failure with the
        // reason. Throwing here would fail the whole batch and leave every object of it unreported.
        // Likewise a stat the destination rejects for this key alone (a base FerryError: an unexpected 4xx).
        if (e instanceof InvalidKeyError || (e instanceof FerryError && e.name === 'FerryError')) continue;
        if (!(e instanceof NotFoundError) || e.name === 'BucketNotFoundError') throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(statConcurrency, entries.length) }, worker));
  return index;
}

/** True when an ETag is a plain MD5 (single-part upload on an S3/OSS store). */
export function isMd5Etag(etag: string | undefined): etag is string {
  return !!etag && /^[0-9a-f]{32}$/i.test(etag);
}

/** Whether destination `d` already holds source `s` unchanged, judged from listings only. */
export function sameObject(s: ObjectInfo, d: ObjectInfo, srcEtagIsMd5: boolean, dstEtagIsMd5: boolean): boolean {
  if (s.size !== d.size) return false;
  if (srcEtagIsMd5 && dstEtagIsMd5 && isMd5Etag(s.etag) && isMd5Etag(d.etag)) return s.etag.toLowerCase() === d.etag.toLowerCase();
  // No comparable checksum: the destination copy is at least as new as the source version.
  return d.lastModified >= s.lastModified;
}

/**
 * The overwrite policy for one listed source object against what the destination holds: `copy`, `skipped`
 * (already there unchanged) or `kept` (the destination differs but the policy keeps it). Used by the copy
 * activity and by `ferry plan`.
 */
export function overwriteDecision(
  policy: 'never' | 'if-different' | 'if-newer' | 'always',
  o: ObjectInfo,
  existing: ObjectInfo | undefined,
  srcEtagIsMd5: boolean,
  dstEtagIsMd5: boolean,
): 'copy' | 'skipped' | 'kept' {
  if (!existing || policy === 'always') return 'copy';
  const same = sameObject(o, existing, srcEtagIsMd5, dstEtagIsMd5);
  if (policy === 'never') return same ? 'skipped' : 'kept';
  if (policy === 'if-different') return same ? 'skipped' : 'copy';
  if (o.lastModified <= existing.lastModified) return same ? 'skipped' : 'kept';
  return 'copy';
}
