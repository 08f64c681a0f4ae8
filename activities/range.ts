/** Listing a task's key range and matching it against the destination — shared by plan, copy and verify. */
import type { ListOptions, ListPage, ObjectInfo, ObjectProvider } from '../storage/provider';
import type { JobSpec } from '../common/job';
import type { KeyRange } from '../common/contracts';
import { compareKeys, mapKey } from '../common/keys';
import { FerryError, InvalidKeyError, NotFoundError } from '../common/errors';
import { boundUnexpected } from '../common/retry';
import { destinationInventoryRows } from './inventory';

/** Compares two listing positions in the provider's order (keys by UTF-8 bytes, list lines numerically). */
export function comparePositions(p: ObjectProvider, a: string, b: string): number {
  return p.capabilities.order === 'list' ? Number(a) - Number(b) : compareKeys(a, b);
}

/**
 * Source pages that planning just listed, kept briefly so the batches of the tasks it cut start from them instead
 * of listing the same keys again: one LIST per 1,000 keys less on the source, and a batch's first window is ready at
 * once. planTasks leaves them only when it listed the rest of the source in one call of at most `maxEntries` keys.
 * A page is found by the job's name, the pooled provider instance (one per endpoint spec, credentials included),
 * the prefix and the position it starts after; it is used once and dropped after `ttlMs`, and pages beyond
 * `maxEntries` objects in all (several jobs planning on one worker) are not kept. A batch that runs on another
 * worker, or later, lists as before. So a batch may work from a listing up to `ttlMs` old, as it always works from
 * one taken before its copies.
 */
export class PlannedPages {
  private readonly pages = new Map<string, { page: ListPage; at: number }>();
  private readonly ids = new WeakMap<ObjectProvider, number>();
  private nextId = 0;
  private entries = 0;

  constructor(
    private readonly ttlMs = 30_000,
    readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(job: string, src: ObjectProvider, prefix: string | undefined, after: string | undefined): string {
    let id = this.ids.get(src);
    if (id === undefined) this.ids.set(src, (id = this.nextId++));
    return `${job}\n${id}\n${prefix ?? ''}\n${after ?? ''}`;
  }

  /** Drops expired pages (the oldest come first in the map). */
  private prune(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [k, e] of this.pages) {
      if (e.at > cutoff) break;
      this.drop(k);
    }
  }

  private drop(k: string): ListPage | undefined {
    const e = this.pages.get(k);
    if (!e) return undefined;
    this.pages.delete(k);
    this.entries -= e.page.objects.length;
    return e.page;
  }

  keep(job: string, src: ObjectProvider, prefix: string | undefined, after: string | undefined, page: ListPage): void {
    this.prune();
    const k = this.key(job, src, prefix, after);
    this.drop(k);
    if (this.entries + page.objects.length > this.maxEntries) return;
    this.pages.set(k, { page, at: this.now() });
    this.entries += page.objects.length;
  }

  /** The page, removed (`use`) or left for the window that will start there (a look at whether a range goes on). */
  take(job: string, src: ObjectProvider, prefix: string | undefined, after: string | undefined, use = true): ListPage | undefined {
    this.prune();
    if (!this.pages.size) return undefined;
    const k = this.key(job, src, prefix, after);
    return use ? this.drop(k) : this.pages.get(k)?.page;
  }

  /** Objects held now. */
  get size(): number {
    return this.entries;
  }
}


/**
 * One LIST page of `side`. An error of no known class (e.g. a URIError from decoding a listed key) is retried a few
 * times here, then thrown as an UnexpectedError naming the listing: Temporal does not retry it (see boundUnexpected).
 */
export function listPage(p: ObjectProvider, side: 'source' | 'destination', opts: ListOptions): Promise<ListPage> {
  return boundUnexpected({ operation: `list ${side}`, bucket: p.bucket, after: opts.startAfter }, () => p.list(opts), opts.signal);
}

/**
 * Lists source entries after `cursor` up to and including `range.last`: at most `limit` objects, stopping
 * early (after at least one) once `maxBytes` is reached. `done` = the range is exhausted. Pages that planning of
 * job `planned.job` kept in `planned.pages` are used instead of listing them again.
 */
export async function listRange(
  src: ObjectProvider,
  prefix: string | undefined,
  range: KeyRange,
  cursor: string | undefined,
  limit: number,
  maxBytes: number,
  signal?: AbortSignal,
  planned?: { pages: PlannedPages; job: string },
): Promise<{ entries: ObjectInfo[]; done: boolean }> {
  const entries: ObjectInfo[] = [];
  let bytes = 0;
  let after = cursor ?? range.startAfter;
  const full = () => entries.length >= limit || (entries.length > 0 && bytes >= maxBytes);
  for (;;) {
    // A planned page may hold more entries than asked for: the extra ones end the window (done: false). With the
    // window full, the next page only tells whether the range goes on: the window that starts there uses it.
    const kept = planned?.pages.take(planned.job, src, prefix, after, !full());
    const page = kept ?? (await listPage(src, 'source', { prefix, startAfter: after, limit: Math.min(1000, limit - entries.length + 1), signal }));
    for (const o of page.objects) {
      if (comparePositions(src, o.position, range.last) > 0) return { entries, done: true };
      if (full()) return { entries, done: false };
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
      const page = await listPage(dst, 'destination', { prefix: job.destination.prefix, startAfter, limit: 1000, signal });
      for (const o of page.objects) {
        const c = compareKeys(o.key, last);
        if (c > 0) return index;
        index.set(o.key, o);
        if (c === 0) return index; // no LIST of the next page only to see it starts past `last`
      }
      if (!page.next) return index;
      startAfter = page.next;
    }
  }
  // A destination inventory answers for the keys it lists (activities/inventory.ts); the others are stat'ed.
  const listed = await destinationInventoryRows(dst, entries.map((e) => toDst(e.key)));
  let i = 0;
  const worker = async () => {
    while (i < entries.length) {
      const k = toDst(entries[i++]!.key);
      const row = listed?.get(k);
      if (row) {
        index.set(k, row);
        continue;
      }
      try {
        index.set(k, await boundUnexpected({ operation: 'stat destination', bucket: dst.bucket, key: k }, () => dst.stat(k, { signal }), signal));
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
