/**
 * Mirror mode's comparison: one merged walk over the destination's and the source's listings, both in key order,
 * that classifies every destination object as kept (its source is there), protected (absent from the source but
 * excluded by the job's filters) or to delete. Shared by the `mirrorDiff`/`mirrorDelete` activities and
 * `ferry plan`; no Temporal imports.
 */
import { createHash } from 'node:crypto';
import type { ObjectProvider } from '../storage/provider';
import type { JobSpec } from '../common/job';
import { compileFilter } from '../common/glob';
import { compareKeys } from '../common/keys';
import { InvalidConfigError, ListingOutOfOrderError, UnsupportedError } from '../common/errors';
import { listPage } from './range';

/** Why a destination object is in the deletion set (the `reason` of its deletions.jsonl line). */
export const ABSENT_FROM_SOURCE = 'absent from the source';

/** A destination object and what mirror mode does with it. */
export interface MirrorEntry {
  key: string;
  size: number;
  kind: 'kept' | 'protected' | 'delete';
}

/** Listing page size of the walk. */
const PAGE = 1000;

/**
 * Refuses a pair mirror mode cannot compare or delete on: both sides must list in key order (an http list does
 * not), and the destination must delete.
 */
export function requireMirrorable(src: ObjectProvider, dst: ObjectProvider): void {
  if (src.capabilities.order !== 'key') throw new InvalidConfigError([`mode: mirror needs a source listed in key order; ${src.type} lists in list order`]);
  if (dst.capabilities.order !== 'key') throw new InvalidConfigError([`mode: mirror needs a destination listed in key order; ${dst.type} lists in list order`]);
  if (!dst.delete || !dst.capabilities.writable) throw new UnsupportedError(`mode: mirror: the ${dst.type} destination cannot delete objects`);
}

/** The running digest of a deletion set after one more entry: sha256 over the previous digest and the entry. */
export function chainDigest(previous: string, key: string, size: number): string {
  return createHash('sha256').update(previous).update('\n').update(JSON.stringify([key, size])).digest('hex');
}

/** One side's listing, page by page, as a sequence of (key relative to the prefix, size) in key order. */
class SideCursor {
  private page: { key: string; size: number }[] = [];
  private i = 0;
  private next: string | undefined;
  private started = false;
  private last: string | undefined;

  constructor(
    private readonly p: ObjectProvider,
    private readonly side: 'source' | 'destination',
    private readonly prefix: string,
    startAfter: string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.next = startAfter;
  }

  /** The current entry (undefined at the end of the listing). */
  async peek(): Promise<{ rel: string; key: string; size: number } | undefined> {
    while (this.i >= this.page.length) {
      if (this.started && this.next === undefined) return undefined;
      const page = await listPage(this.p, this.side, { prefix: this.prefix || undefined, startAfter: this.next, limit: PAGE, signal: this.signal });
      this.started = true;
      this.page = page.objects;
      this.i = 0;
      this.next = page.next;
    }
    const o = this.page[this.i]!;
    // The walk is only right over sorted listings: a store that lists out of order must stop it, not delete.
    if (this.last !== undefined && compareKeys(o.key, this.last) <= 0) {
      throw new ListingOutOfOrderError(`${this.side} ${this.p.bucket}: ${JSON.stringify(o.key)} listed after ${JSON.stringify(this.last)}; mirror mode needs key order`);
    }
    return { rel: o.key.slice(this.prefix.length), key: o.key, size: o.size };
  }

  advance(): void {
    this.last = this.page[this.i]!.key;
    this.i++;
  }
}

/** Where a walk starts and what it counted before (a resumed walk continues the counts). */
export interface WalkPosition {
  /** The last destination key already walked (exclusive start). */
  after?: string;
  /** Source objects the filters select, seen so far. */
  sourceSelected: number;
}

/**
 * Walks the destination after `position.after` and yields each object with its kind. `position.sourceSelected`
 * counts the source objects the filters select as the walk passes them; once the destination ends, the source is
 * listed only until one selected object is found (the empty-source guard needs no more).
 */
export async function* walkMirror(src: ObjectProvider, dst: ObjectProvider, job: JobSpec, position: WalkPosition, signal?: AbortSignal): AsyncGenerator<MirrorEntry> {
  const srcPrefix = job.source.prefix ?? '';
  const dstPrefix = job.destination.prefix ?? '';
  const selected = compileFilter(job.filter.include, job.filter.exclude);
  const afterRel = position.after === undefined ? undefined : position.after.slice(dstPrefix.length);
  const source = new SideCursor(src, 'source', srcPrefix, afterRel === undefined ? undefined : srcPrefix + afterRel, signal);
  const destination = new SideCursor(dst, 'destination', dstPrefix, position.after, signal);
  const passSource = async () => {
    const s = (await source.peek())!;
    if (selected(s.rel)) position.sourceSelected++;
    source.advance();
  };
  for (let d = await destination.peek(); d; d = await destination.peek()) {
    let s = await source.peek();
    while (s && compareKeys(s.rel, d.rel) < 0) {
      await passSource();
      s = await source.peek();
    }
    let kind: MirrorEntry['kind'];
    if (s && s.rel === d.rel) {
      await passSource();
      kind = 'kept';
    } else kind = selected(d.rel) ? 'delete' : 'protected';
    destination.advance();
    position.after = d.key;
    yield { key: d.key, size: d.size, kind };
  }
  while (position.sourceSelected === 0 && (await source.peek())) await passSource();
}

/** What a mirror run would delete now (`ferry plan`). */
export interface MirrorPlan {
  deletions: { objects: number; bytes: number };
  protected: { objects: number; bytes: number };
  destinationObjects: number;
  /** Deletions allowed without approval for this destination. */
  limit: number;
  /** The run would stop before deleting and wait for `ferry approve`. */
  overLimit: boolean;
  /** The source lists nothing the job selects: the run would delete nothing. */
  sourceEmpty: boolean;
}

/** Walks both sides as `mirrorDiff` does and counts, deleting nothing. */
export async function planMirror(src: ObjectProvider, dst: ObjectProvider, job: JobSpec, limitOf: (destinationObjects: number) => number, signal?: AbortSignal): Promise<MirrorPlan> {
  requireMirrorable(src, dst);
  const position: WalkPosition = { sourceSelected: 0 };
  const plan = { deletions: { objects: 0, bytes: 0 }, protected: { objects: 0, bytes: 0 }, destinationObjects: 0 };
  for await (const e of walkMirror(src, dst, job, position, signal)) {
    plan.destinationObjects++;
    const into = e.kind === 'delete' ? plan.deletions : e.kind === 'protected' ? plan.protected : undefined;
    if (into) {
      into.objects++;
      into.bytes += e.size;
    }
  }
  const limit = limitOf(plan.destinationObjects);
  const sourceEmpty = position.sourceSelected === 0;
  return { ...plan, limit, sourceEmpty, overLimit: !sourceEmpty && plan.deletions.objects > limit };
}
