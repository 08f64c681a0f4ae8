/**
 * Version listings as the object-store providers (s3, oss) hand them out: pages of whole keys, each key's versions
 * and delete markers newest first in their true order.
 *
 * Stores page a version listing by (key-marker, version-id-marker), and a page may end inside a key: pages are joined
 * until the keys they hold are whole ({@link wholeKeyPage}). The order of versions and delete markers within a key is
 * the listing's (S3 and OSS list them interleaved, newest first), but the AWS SDK parses them into two lists and some
 * stores write all versions of a page before its delete markers (moto), with times of one second's resolution: a
 * version and a delete marker of equal time whose order the page did not prove are ordered by listing the key one
 * entry per page, where page boundaries are exact ({@link exactKeyOrder}).
 */
import type { ObjectInfo, VersionListOptions, VersionPage } from './provider';
import { FerryError } from '../common/errors';
import { compareKeys } from '../common/keys';
import { xmlTag } from './s3/s3-http';

/** One page of a store's version listing, in document order. */
export interface VersionFetch {
  entries: ObjectInfo[];
  truncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

/** Fetches one page; `maxKeys` counts versions and delete markers. */
export type FetchVersions = (q: { prefix?: string; keyMarker?: string; versionIdMarker?: string; maxKeys: number }) => Promise<VersionFetch>;

/** One version or delete marker as S3 and OSS list it (the AWS SDK's field names). */
export interface ListedVersion {
  Key?: string;
  VersionId?: string;
  IsLatest?: boolean;
  LastModified?: Date;
  ETag?: string;
  Size?: number;
  StorageClass?: string;
}

/** A listed version (or delete marker) as ObjectInfo; a version id the store left out is `'null'` (S3's unversioned-era id). */
export function versionInfo(v: ListedVersion, deleteMarker: boolean): ObjectInfo {
  const key = v.Key ?? '';
  const etag = v.ETag?.trim().replace(/^(W\/)?"|"$/g, '');
  return {
    key,
    size: deleteMarker ? 0 : (v.Size ?? 0),
    lastModified: v.LastModified?.getTime() ?? 0,
    ...(etag ? { etag } : {}),
    ...(v.StorageClass && !deleteMarker ? { storageClass: v.StorageClass } : {}),
    versionId: v.VersionId ?? 'null',
    isLatest: !!v.IsLatest,
    ...(deleteMarker ? { deleteMarker: true } : {}),
    position: key,
  };
}

/**
 * A ListVersionsResult document (S3 and OSS write the same one): versions and delete markers in document order.
 * `decode` undoes `encoding-type=url` on keys and the key marker.
 */
export function parseVersionListing(text: string, decode: (s: string) => string = (s) => s): VersionFetch {
  const entries = Array.from(text.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g), (m) => {
    const x = m[2]!;
    const modified = xmlTag(x, 'LastModified');
    const size = xmlTag(x, 'Size');
    const key = xmlTag(x, 'Key');
    return versionInfo(
      { Key: key === undefined ? undefined : decode(key), VersionId: xmlTag(x, 'VersionId'), IsLatest: xmlTag(x, 'IsLatest') === 'true', LastModified: modified ? new Date(modified) : undefined, ETag: xmlTag(x, 'ETag'), Size: size === undefined ? undefined : Number(size), StorageClass: xmlTag(x, 'StorageClass') },
      m[1] === 'DeleteMarker',
    );
  });
  const nextKey = xmlTag(text, 'NextKeyMarker');
  return { entries, truncated: xmlTag(text, 'IsTruncated') === 'true', nextKeyMarker: nextKey ? decode(nextKey) : undefined, nextVersionIdMarker: xmlTag(text, 'NextVersionIdMarker') || undefined };
}

/** Whether a page (in document order) shows the store interleaving: a delete marker before a version of its key. */
function interleaves(entries: readonly ObjectInfo[]): boolean {
  const marked = new Set<string>();
  for (const e of entries) {
    if (e.deleteMarker) marked.add(e.key);
    else if (marked.has(e.key)) return true;
  }
  return false;
}

/**
 * The page's entries after the markers and after `startAfter` (a key), in key order. Some stores treat the markers
 * as inclusive: they repeat the marker version (seen: versitygw 1.7.0), or list versions of the key-marker itself when
 * no version-id-marker is given (versitygw 1.7.0, moto 5.2.6).
 * A store that writes a page's delete markers after its versions lists them after later keys' versions.
 */
function afterMarker(entries: ObjectInfo[], keyMarker: string | undefined, versionIdMarker: string | undefined, startAfter?: string): ObjectInfo[] {
  let fresh = versionIdMarker === undefined ? entries : entries.filter((e) => !(e.key === keyMarker && e.versionId === versionIdMarker));
  if (startAfter !== undefined) fresh = fresh.filter((e) => compareKeys(e.key, startAfter) > 0);
  return fresh.map((e, i) => ({ e, i })).sort((a, b) => compareKeys(a.e.key, b.e.key) || a.i - b.i).map((x) => x.e);
}

/**
 * Every entry of `key`, listed one per page: the true order within the key whatever the page's own layout. Throws
 * FerryError (`VersionListingStalled`) when a truncated page does not advance.
 */
export async function exactKeyOrder(fetch: FetchVersions, key: string, where: string, signal?: AbortSignal): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await fetchPage(fetch, { prefix: key, keyMarker, versionIdMarker, maxKeys: 1 });
    const fresh = afterMarker(page.entries, keyMarker, versionIdMarker);
    const mine = fresh.filter((e) => e.key === key);
    out.push(...mine);
    if (!page.truncated || mine.length < fresh.length) return out;
    if (!advances(page, keyMarker, versionIdMarker)) throw stalled(where);
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
  }
}

const advances = (page: VersionFetch, keyMarker: string | undefined, versionIdMarker: string | undefined) =>
  !!page.nextKeyMarker && !(page.nextKeyMarker === keyMarker && page.nextVersionIdMarker === versionIdMarker);

/** One page; a store whose inclusive marker filled a page of one entry (its markers did not move) is asked for one more. */
async function fetchPage(fetch: FetchVersions, q: Parameters<FetchVersions>[0]): Promise<VersionFetch> {
  const page = await fetch(q);
  return page.truncated && !advances(page, q.keyMarker, q.versionIdMarker) && q.maxKeys < 1000 ? fetch({ ...q, maxKeys: q.maxKeys + 1 }) : page;
}
const stalled = (where: string) => new FerryError(`list versions ${where}: the store answered a truncated page without a new key/version marker`, { code: 'VersionListingStalled' });

/** Newest first by time, the current entry first, the page's order kept among equals. */
function byTime(run: ObjectInfo[]): ObjectInfo[] {
  return run.map((e, i) => ({ e, i })).sort((a, b) => Number(!!b.e.isLatest) - Number(!!a.e.isLatest) || b.e.lastModified - a.e.lastModified || a.i - b.i).map((x) => x.e);
}

/** A version and a delete marker next to each other with equal times: an order the page alone does not settle. */
function ambiguous(run: readonly ObjectInfo[]): boolean {
  for (let i = 1; i < run.length; i++) {
    const [a, b] = [run[i - 1]!, run[i]!];
    if (!a.isLatest && !!a.deleteMarker !== !!b.deleteMarker && a.lastModified === b.lastModified) return true;
  }
  return false;
}

/** Each key's entries in their true order (see the file comment). */
async function inKeyOrder(entries: ObjectInfo[], interleaved: boolean, fetch: FetchVersions, where: string, signal?: AbortSignal): Promise<ObjectInfo[]> {
  if (interleaved) return entries;
  const out: ObjectInfo[] = [];
  for (let i = 0; i < entries.length; ) {
    let j = i;
    while (j < entries.length && entries[j]!.key === entries[i]!.key) j++;
    const run = byTime(entries.slice(i, j));
    out.push(...(ambiguous(run) ? await exactKeyOrder(fetch, run[0]!.key, where, signal) : run));
    i = j;
  }
  return out;
}

/**
 * A page of whole keys: pages of the store are fetched until at least `opts.limit` entries (default 1000) are held,
 * and always until the first key is complete (a key with 5,000 versions is one page). The last key of a truncated
 * listing may be incomplete, so it is left to the next page, which starts after the key before it. Throws FerryError
 * (`VersionListingStalled`) when the store answers a truncated page without advancing.
 */
export async function wholeKeyPage(fetch: FetchVersions, opts: VersionListOptions, where: string): Promise<VersionPage> {
  const limit = Math.max(1, Math.min(opts.limit ?? 1000, 1000));
  const held: ObjectInfo[] = [];
  let interleaved = false;
  let keyMarker = opts.startAfter || undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = await fetchPage(fetch, { prefix: opts.prefix, keyMarker, versionIdMarker, maxKeys: limit });
    const fresh = afterMarker(page.entries, keyMarker, versionIdMarker, opts.startAfter || undefined);
    held.push(...fresh);
    interleaved ||= interleaves(page.entries);
    if (!page.truncated) return { versions: await inKeyOrder(held, interleaved, fetch, where, opts.signal) };
    if (!advances(page, keyMarker, versionIdMarker)) throw stalled(where);
    const last = held[held.length - 1]?.key;
    if (held.length >= limit && last !== undefined && held[0]!.key !== last) {
      const versions = await inKeyOrder(held.slice(0, held.findIndex((v) => v.key === last)), interleaved, fetch, where, opts.signal);
      return { versions, next: versions[versions.length - 1]!.key };
    }
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
  }
}
