/**
 * One key of a `versions: all` job: every version of it, oldest → newest, into the destination, so the destination's
 * history of the key has the source's order; a delete marker is reproduced as a delete at its place.
 *
 * Resumable without duplicates: each written version carries the user metadata `ferry-source-version-id`, and before
 * writing, the destination's history of the key is read (its versions, their metadata) and only the versions after the
 * last one already there are written, in order. A delete marker carries no metadata: the destination's markers that
 * follow a version Ferry wrote stand for the source's markers that follow it.
 *
 * A version is copied by the object engine (transfer.ts `copyObject`: single put, streamed, or multipart, with the
 * job's checks) through two views: the source pinned to the version, the destination recording the version ids its
 * writes answer. Each version counts as one object (copied, skipped, failed, excluded, verified); the key's lines of
 * the version map (version-map.ts) are written as versions are written or found.
 */
import type { ObjectInfo, ObjectProvider, PutResult } from '../storage/provider';
import type { JobSpec } from '../common/job';
import type { Check } from '../common/progress';
import { providerView, versionListing, versionsOfKey } from '../storage/versions';
import { OBJECT_ATTEMPTS, PausedError, count, countVerified, recordFailure, type Batch, type Outcome } from './batch';
import { VersionMapLog } from './version-map';
import { FerryError, InvalidConfigError, NotFoundError, SizeMismatchError, VersionOrderError } from '../common/errors';
import { retryBounded } from '../common/retry';

/** User metadata naming the source version a destination version was copied from. */
export const SOURCE_VERSION_METADATA = 'ferry-source-version-id';

/** The object engine's copy of one object (transfer.ts), handed in to keep the modules acyclic. */
export type CopyOne = (batch: Batch, o: ObjectInfo, dstKey: string) => Promise<void>;

/** A destination version of the key: its id, and for a version Ferry wrote, the source version it holds. */
interface DestinationVersion {
  versionId: string;
  deleteMarker: boolean;
  size: number;
  sourceVersionId?: string;
}

/** What was done with each version of the key, counted once the key is finished (a pause redoes the key uncounted). */
type Tally = { outcome: Outcome; size: number; checks?: readonly Check[] }[];

/** The job's source for `versions: all` (one entry per key with all its versions), else the provider itself. */
export function jobSource(p: ObjectProvider, job: Pick<JobSpec, 'versions'>): ObjectProvider {
  return job.versions === 'all' ? versionListing(p) : p;
}

/**
 * Why a `versions: all` job cannot run between these stores (undefined: it can): a source without version listings,
 * a destination without versions, or one whose versioning is not enabled.
 */
export async function versionsRefusal(src: ObjectProvider, dst: ObjectProvider, writes: boolean, signal?: AbortSignal): Promise<{ side: 'source' | 'destination'; error: InvalidConfigError } | undefined> {
  const refuse = (side: 'source' | 'destination', why: string) => ({ side, error: new InvalidConfigError([`versions: all ${why}`]) });
  if (!src.capabilities.versions || !src.listVersions) return refuse('source', `needs a source that keeps versions; ${src.type} does not`);
  if (!dst.capabilities.versions || !dst.listVersions || !dst.versioning) return refuse('destination', `needs a destination that keeps versions; ${dst.type} does not`);
  if (!writes) return undefined;
  const status = await dst.versioning({ signal });
  if (status !== 'Enabled') return refuse('destination', `needs versioning enabled on the destination bucket (it is ${status === 'Off' ? 'not enabled' : 'suspended'}): enable it, or copy the latest versions only (versions: latest)`);
  return undefined;
}

/** The destination's history of `key`, oldest first, with the source version each version Ferry wrote holds. */
async function destinationVersions(batch: Batch, key: string): Promise<DestinationVersion[]> {
  const listed = await versionsOfKey(batch.dst, key, batch.signal);
  const out: DestinationVersion[] = [];
  for (const v of listed) {
    const d: DestinationVersion = { versionId: v.versionId ?? 'null', deleteMarker: !!v.deleteMarker, size: v.size };
    if (!v.deleteMarker) d.sourceVersionId = (await batch.dst.stat(key, { versionId: v.versionId, signal: batch.signal })).metadata?.[SOURCE_VERSION_METADATA];
    out.push(d);
  }
  return out;
}

/**
 * Which source versions the destination holds (source version id → destination version), walking both histories in
 * order: a version by its `ferry-source-version-id`, a delete marker by the destination's next marker after the last
 * version matched. `last`: the index of the last source version found (-1: none).
 */
function matchHistories(source: readonly ObjectInfo[], dest: readonly DestinationVersion[]): { found: Map<string, DestinationVersion>; last: number } {
  const found = new Map<string, DestinationVersion>();
  let last = -1;
  let j = 0;
  source.forEach((v, i) => {
    if (v.deleteMarker) {
      if (j < dest.length && dest[j]!.deleteMarker && last === i - 1) {
        found.set(v.versionId!, dest[j++]!);
        last = i;
      }
      return;
    }
    const k = dest.findIndex((d, idx) => idx >= j && d.sourceVersionId === v.versionId);
    if (k < 0) return;
    found.set(v.versionId!, dest[k]!);
    j = k + 1;
    last = i;
  });
  return { found, last };
}

/** Copies (or, verify-only, compares) every version of one listed key; failures are recorded per version, never thrown. */
export async function copyKeyVersions(batch: Batch, entry: ObjectInfo, dstKey: string, verifyOnly: boolean, copyOne: CopyOne): Promise<{ outcome: 'counted' }> {
  const tally: Tally = [];
  try {
    await versionsOfOneKey(batch, entry, dstKey, verifyOnly, copyOne, tally);
  } catch (e) {
    if (batch.signal.aborted) throw batch.signal.reason instanceof PausedError ? batch.signal.reason : e;
    throw e;
  }
  for (const t of tally) count(batch, t.outcome, t.size, t.checks);
  return { outcome: 'counted' };
}

async function versionsOfOneKey(batch: Batch, entry: ObjectInfo, dstKey: string, verifyOnly: boolean, copyOne: CopyOne, tally: Tally): Promise<void> {
  const job = batch.input.job;
  const source = entry.versions ?? [];
  const map = new VersionMapLog(batch.failures.file);
  const at = (v: ObjectInfo) => ({ ...v, key: entry.key, position: entry.position });
  // The first version fails with the error (its message naming the version); those after it wait, out of order otherwise.
  const fail = (versions: readonly ObjectInfo[], e: unknown) => {
    for (const [i, v] of versions.entries()) {
      if (i === 0 && e instanceof Error && !e.message.includes(v.versionId!)) e.message = `version ${v.versionId}: ${e.message}`;
      recordFailure(batch, at(v), i === 0 ? e : new VersionOrderError(`version ${v.versionId} not written: version ${versions[0]!.versionId} before it failed`));
      tally.push({ outcome: 'failed', size: v.size });
    }
  };
  let dest: DestinationVersion[];
  try {
    dest = await retryBounded({ operation: 'list destination versions', bucket: batch.dst.bucket, key: dstKey }, () => destinationVersions(batch, dstKey), { attempts: OBJECT_ATTEMPTS, baseMs: 1000, signal: batch.signal });
  } catch (e) {
    if (batch.signal.aborted) throw e;
    return fail(source, e);
  }
  const { found, last } = matchHistories(source, dest);
  const since = job.filter.modifiedSince;
  for (const [i, v] of source.entries()) {
    const there = found.get(v.versionId!);
    if (there) {
      map.add({ key: entry.key, sourceVersionId: v.versionId!, destinationKey: dstKey, destinationVersionId: there.versionId, ...(v.deleteMarker ? { deleteMarker: true as const } : {}), n: i });
      if (!v.deleteMarker && there.size !== v.size) fail([v], new SizeMismatchError(`version ${v.versionId}: destination version ${there.versionId} has ${there.size} bytes, source ${v.size}`));
      else tally.push({ outcome: 'skipped', size: v.size });
    } else if (since !== undefined && v.lastModified > 0 && v.lastModified < since) {
      tally.push({ outcome: 'excluded', size: v.size });
    } else if (verifyOnly) {
      fail([v], new NotFoundError(`version ${v.versionId} is missing at the destination (${dstKey})`, { code: 'MissingAtDestination' }));
    } else if (i < last) {
      fail([v], new VersionOrderError(`version ${v.versionId} is missing at the destination before versions already there: it cannot be inserted into ${dstKey}'s history`));
    }
  }
  if (verifyOnly) return;
  const todo = source.slice(last + 1).filter((v) => since === undefined || v.lastModified <= 0 || v.lastModified >= since);
  for (const [k, v] of todo.entries()) {
    let written: { versionId: string; checks: readonly Check[] };
    try {
      if (batch.objectRate.limit) await batch.objectRate.take(1, batch.signal);
      written = await retryBounded({ operation: 'copy version', bucket: batch.src.bucket, key: entry.key }, async (attempt) => (attempt > 1 && (await alreadyWritten(batch, source, v, dstKey))) || writeVersion(batch, at(v), dstKey, copyOne), { attempts: OBJECT_ATTEMPTS, baseMs: 1000, signal: batch.signal });
    } catch (e) {
      if (batch.signal.aborted) throw e;
      // Later versions would land out of order: they wait for the next run (or retry round).
      return fail(todo.slice(k), e);
    }
    map.add({ key: entry.key, sourceVersionId: v.versionId!, destinationKey: dstKey, destinationVersionId: written.versionId, ...(v.deleteMarker ? { deleteMarker: true as const } : {}), n: source.indexOf(v) });
    try {
      if (job.verify !== 'none' && !v.deleteMarker) await verifyVersion(batch, v, dstKey, written.versionId);
      tally.push({ outcome: 'copied', size: v.size });
      if (job.verify !== 'none') countVerified(batch, v.size, written.checks);
    } catch (e) {
      if (batch.signal.aborted) throw e;
      fail([v], e);
    }
  }
}

/**
 * Before a version's write is tried again: the version the failed attempt may have written after all (its answer lost),
 * so it is not written twice. Undefined when the destination does not hold it.
 */
async function alreadyWritten(batch: Batch, source: readonly ObjectInfo[], v: ObjectInfo, dstKey: string): Promise<{ versionId: string; checks: readonly Check[] } | undefined> {
  const there = matchHistories(source, await destinationVersions(batch, dstKey)).found.get(v.versionId!);
  return there && { versionId: there.versionId, checks: [] };
}

/**
 * Writes one version at the end of the destination's history of `dstKey`: a delete for a delete marker, else a copy
 * through the object engine. Returns the destination version id and the checks the copy made.
 */
async function writeVersion(batch: Batch, v: ObjectInfo, dstKey: string, copyOne: CopyOne): Promise<{ versionId: string; checks: readonly Check[] }> {
  const noId = () => new VersionOrderError(`the destination answered the write of version ${v.versionId} without a version id: is versioning enabled on ${batch.dst.bucket}?`);
  if (v.deleteMarker) {
    const r = await batch.dst.delete!(dstKey, { signal: batch.signal });
    if (!r?.versionId) throw noId();
    return { versionId: r.versionId, checks: [] };
  }
  const written: string[] = [];
  const recorded = async (res: Promise<PutResult>) => {
    const r = await res;
    if (r.versionId) written.push(r.versionId);
    return r;
  };
  const dst = batch.dst;
  const dstView = providerView(dst, {
    put: (key, body, opts) => recorded(dst.put(key, body, opts)),
    ...(dst.completeMultipart ? { completeMultipart: (key, id, parts, opts) => recorded(dst.completeMultipart!(key, id, parts, opts)) } : {}),
    ...(dst.copyObject ? { copyObject: (source, key, opts) => recorded(dst.copyObject!(source, key, opts)) } : {}),
  });
  const copies = { ...batch, src: pinnedSource(batch.src, v), dst: dstView, copiedSizes: new Map<string, ObjectInfo>(), checksOf: new Map<string, readonly Check[]>() };
  await copyOne(copies, v, dstKey);
  const versionId = written[written.length - 1];
  if (!versionId) throw noId();
  // A copy that rewrote its object in place (metadata the store dropped, a recorded CRC-64) left an intermediate version.
  for (const id of written.slice(0, -1)) await dst.delete!(dstKey, { versionId: id, signal: batch.signal });
  return { versionId, checks: copies.checksOf.get(v.key) ?? [] };
}

/** The written version is there with the source version's size and its `ferry-source-version-id`. */
async function verifyVersion(batch: Batch, v: ObjectInfo, dstKey: string, versionId: string): Promise<void> {
  const d = await batch.dst.stat(dstKey, { versionId, signal: batch.signal });
  if (d.size !== v.size) throw new SizeMismatchError(`version ${v.versionId}: destination version ${versionId} has ${d.size} bytes after the copy, source ${v.size}`);
  if (d.metadata?.[SOURCE_VERSION_METADATA] !== v.versionId) throw new FerryError(`version ${v.versionId}: destination version ${versionId} does not name it in ${SOURCE_VERSION_METADATA}`, { code: 'VersionMetadataLost' });
}

/**
 * The source as the object engine sees it while copying version `v`: stat and get read that version, and report the
 * `ferry-source-version-id` metadata the copy writes. Its own endpoint id: a server-side copy would take the current
 * version, so the bytes stream through the worker.
 */
function pinnedSource(src: ObjectProvider, v: ObjectInfo): ObjectProvider {
  const tagged = (info: ObjectInfo): ObjectInfo => ({ ...info, metadata: { ...info.metadata, [SOURCE_VERSION_METADATA]: v.versionId! } });
  return providerView(src, {
    endpointId: `${src.endpointId}#version`,
    stat: async (key, opts) => tagged(await src.stat(key, { ...opts, versionId: v.versionId })),
    get: async (key, opts) => {
      const got = await src.get(key, { ...opts, versionId: v.versionId });
      return { ...got, info: tagged(got.info) };
    },
    ...(src.getTags ? { getTags: (key: string, opts?: { signal?: AbortSignal }) => src.getTags!(key, { ...opts, versionId: v.versionId }) } : {}),
  });
}
