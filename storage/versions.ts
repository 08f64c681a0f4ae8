/**
 * Versions of a bucket as the engine sees them (`versions: all` jobs). {@link versionListing} wraps a provider so
 * that `list()` returns one entry per key holding every version of it: planning, batches and `ferry plan` cut and
 * walk key ranges exactly as for plain objects. (The providers' own version paging is in version-pages.ts.)
 */
import type { ListOptions, ListPage, ObjectInfo, ObjectProvider, VersionPage } from './provider';
import { InvalidConfigError } from '../common/errors';

/**
 * A view of `p` with some members replaced; every other member is `p`'s own (methods bound to `p`). Used for the
 * version listing here and for the per-version source and destination views of the copy engine.
 */
export function providerView(p: ObjectProvider, overrides: Partial<ObjectProvider>): ObjectProvider {
  return new Proxy(p, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return (overrides as Record<string | symbol, unknown>)[prop];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** One key's versions (newest first, as listed) as one entry: sizes summed, versions oldest → newest. */
export function keyEntry(newestFirst: ObjectInfo[]): ObjectInfo {
  const versions = [...newestFirst].reverse();
  const newest = newestFirst[0]!;
  return {
    key: newest.key,
    size: versions.reduce((n, v) => n + (v.deleteMarker ? 0 : v.size), 0),
    lastModified: Math.max(...versions.map((v) => v.lastModified)),
    versions,
    position: newest.key,
  };
}

/** Groups a page of whole keys (key order, newest first within a key) into one entry per key. */
export function keyEntries(page: VersionPage): ObjectInfo[] {
  const out: ObjectInfo[] = [];
  let run: ObjectInfo[] = [];
  for (const v of page.versions) {
    if (run.length && run[0]!.key !== v.key) {
      out.push(keyEntry(run));
      run = [];
    }
    run.push(v);
  }
  if (run.length) out.push(keyEntry(run));
  return out;
}

const listings = new WeakMap<ObjectProvider, ObjectProvider>();

/**
 * `p` listing one entry per key with all its versions ({@link ObjectInfo.versions}, oldest first, delete markers
 * included; `size` the sum of the versions' sizes; `position` the key). The same view for the same provider, so
 * what planning keeps of its listing (activities/range.ts PlannedPages) is found by the batches on this worker.
 * Throws InvalidConfigError when `p` has no version listing.
 */
export function versionListing(p: ObjectProvider): ObjectProvider {
  const known = listings.get(p);
  if (known) return known;
  if (!p.capabilities.versions || !p.listVersions) throw new InvalidConfigError([`versions: all needs a source that lists versions; ${p.type} does not`]);
  const listVersions = p.listVersions.bind(p);
  const view = providerView(p, {
    async list(opts: ListOptions = {}): Promise<ListPage> {
      const page = await listVersions({ prefix: opts.prefix, startAfter: opts.startAfter, limit: opts.limit, signal: opts.signal });
      const objects = keyEntries(page);
      return page.next ? { objects, next: page.next } : { objects };
    },
  });
  listings.set(p, view);
  return view;
}

/** Every version and delete marker of exactly `key`, oldest first (one listing: the key is the first under its own prefix). */
export async function versionsOfKey(p: ObjectProvider, key: string, signal?: AbortSignal): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await p.listVersions!({ prefix: key, startAfter, limit: 1000, signal });
    const mine = page.versions.filter((v) => v.key === key);
    out.push(...mine);
    // Whole keys per page: once another key follows (or the listing ends), `key` is complete.
    if (!page.next || mine.length < page.versions.length) return out.reverse();
    startAfter = page.next;
  }
}
