/**
 * The guard every key-ordered listing page passes (s3 and oss), so no listing can loop, skip or repeat keys.
 *
 * A page must start strictly after the position it was asked for and hold strictly increasing keys (UTF-8 byte
 * order, {@link compareKeys}). The next page starts after the page's largest key, so a page that passes the
 * check also moves the listing forward: the resume position never repeats. A server that ignores `start-after`
 * (seen: an OSS-compatible store that knows only ListObjects V1 `marker`) answers every page with the first keys of
 * the bucket; {@link listAdvancing} then asks again with V1 `marker` and keeps to V1 for that provider instance.
 * When that does not move either, the listing fails with ListingNotAdvancingError instead of looping.
 */
import { compareKeys } from '../common/keys';
import { ListingNotAdvancingError, ListingOutOfOrderError } from '../common/errors';

/** ListObjects version: 2 (`start-after`, the default) or 1 (`marker`). */
export type ListVersion = 1 | 2;

/** What {@link checkPage} says about a page's keys. */
export type PageCheck =
  /** In order after the start (`resorted`: every key after the start, but the page had to be sorted). */
  | { kind: 'ok'; resorted: boolean }
  /** Increasing keys, or none past the start, but the first is at or before it: the start position was ignored. */
  | { kind: 'startIgnored'; first: string }
  /** Said to be truncated, yet holds no key: nothing to continue from. */
  | { kind: 'empty' }
  /** Unordered, mixing keys at or before the start (`key`) with later ones. */
  | { kind: 'outOfOrder'; key: string }
  /** The same key twice. */
  | { kind: 'duplicate'; key: string };

/**
 * Judges one page's keys against the position it was asked to start after. Pure. An unordered page whose keys
 * all lie after the start is `ok` with `resorted` (sorting it loses nothing); one without a key past the start
 * is `startIgnored` whatever its order.
 */
export function checkPage(keys: readonly string[], startAfter: string | undefined, truncated: boolean): PageCheck {
  if (keys.length === 0) return truncated ? { kind: 'empty' } : { kind: 'ok', resorted: false };
  let increasing = true;
  for (let i = 1; i < keys.length && increasing; i++) increasing = compareKeys(keys[i - 1]!, keys[i]!) < 0;
  const early = startAfter === undefined ? [] : keys.filter((k) => compareKeys(k, startAfter) <= 0);
  if (early.length === keys.length || (increasing && early.length > 0)) return { kind: 'startIgnored', first: keys[0]! };
  if (increasing) return { kind: 'ok', resorted: false };
  if (early.length > 0) return { kind: 'outOfOrder', key: early[0]! };
  const sorted = [...keys].sort(compareKeys);
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1] === sorted[i]) return { kind: 'duplicate', key: sorted[i]! };
  return { kind: 'ok', resorted: true };
}

/** One page as a server answered it. */
export interface RawListPage<T extends { key: string }> {
  objects: T[];
  truncated: boolean;
}

/** Where a listing runs, for messages: the endpoint URL (or name), the bucket and the prefix listed. */
export interface ListingPlace {
  endpoint: string;
  bucket: string;
  prefix?: string;
}

/** What a provider instance remembers between pages: the list version its server needs (V1 once it ignored V2's start). */
export interface ListingMode {
  version: ListVersion;
}

const quote = (k: string | undefined) => (k === undefined ? 'the beginning' : JSON.stringify(k));
const describe = (p: ListingPlace) => `list ${p.endpoint} bucket ${p.bucket}${p.prefix ? ` prefix ${JSON.stringify(p.prefix)}` : ''}`;
const ignored = (tried: readonly ListVersion[]) => tried.map((v) => (v === 1 ? 'ListObjects V1 marker' : 'ListObjectsV2 start-after')).join(' and the ');

/**
 * A checked page: its objects in key order, all after `startAfter`. Throws ListingNotAdvancingError for a page that
 * does not move past `startAfter` and ListingOutOfOrderError for one that cannot be put in order without skipping or
 * repeating keys. `tried` are the requests that led to it, the last one produced it (named in messages).
 */
export function orderedPage<T extends { key: string }>(page: RawListPage<T>, startAfter: string | undefined, place: ListingPlace, tried: readonly ListVersion[]): T[] {
  const check = checkPage(page.objects.map((o) => o.key), startAfter, page.truncated);
  switch (check.kind) {
    case 'ok':
      return check.resorted ? [...page.objects].sort((a, b) => compareKeys(a.key, b.key)) : page.objects;
    case 'startIgnored':
      throw new ListingNotAdvancingError(
        `${describe(place)}: the server ignored the ${ignored(tried)}: asked for keys after ${quote(startAfter)}, the page starts at ${quote(check.first)}; listing on would repeat the same keys forever`,
        { code: 'ListingNotAdvancing' },
      );
    case 'empty':
      throw new ListingNotAdvancingError(`${describe(place)}: the server says the listing goes on after ${quote(startAfter)} but sent no key to continue from`, { code: 'ListingNotAdvancing' });
    case 'outOfOrder':
      throw new ListingOutOfOrderError(
        `${describe(place)}: a page asked for keys after ${quote(startAfter)} is out of order and holds ${quote(check.key)}, which is not after it; continuing would skip or repeat keys`,
        { code: 'ListingOutOfOrder' },
      );
    case 'duplicate':
      throw new ListingOutOfOrderError(`${describe(place)}: a page asked for keys after ${quote(startAfter)} lists ${quote(check.key)} twice`, { code: 'ListingOutOfOrder' });
  }
}

/**
 * Lists one page with `fetch` in the version `mode` names and checks it ({@link orderedPage}). A V2 page that
 * ignored `start-after` is asked again with V1 `marker`; when that one advances, `mode` switches to V1 for good
 * (the provider instance's later pages go straight to V1) and `warn` is told once. Returns the ordered objects and
 * the position the next page starts after (the largest key; absent on the last page).
 */
export async function listAdvancing<T extends { key: string }>(
  fetch: (version: ListVersion) => Promise<RawListPage<T>>,
  startAfter: string | undefined,
  mode: ListingMode,
  place: ListingPlace,
  warn: (message: string) => void,
): Promise<{ objects: T[]; next?: string }> {
  const version = mode.version;
  const page = await fetch(version);
  if (version === 1 || checkPage(page.objects.map((o) => o.key), startAfter, page.truncated).kind !== 'startIgnored') return nextOf(page, orderedPage(page, startAfter, place, [version]));
  const again = await fetch(1);
  const objects = orderedPage(again, startAfter, place, [2, 1]);
  if (mode.version === 2) {
    mode.version = 1; // concurrent pages may all have found out: tell once
    warn(`${place.endpoint}: the server ignores ListObjectsV2 start-after; listing bucket ${place.bucket} (and every later page of this provider) with ListObjects V1 marker`);
  }
  return nextOf(again, objects);
}

function nextOf<T extends { key: string }>(page: RawListPage<T>, objects: T[]): { objects: T[]; next?: string } {
  return page.truncated && objects.length ? { objects, next: objects[objects.length - 1]!.key } : { objects };
}
