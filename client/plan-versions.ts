/**
 * `ferry plan` for `versions: all` jobs: both sides listed one entry per key with all its versions
 * (storage/versions.ts), every version counted as an object, and the versions to copy estimated per key as those
 * beyond the number the destination already holds (the run itself matches them by `ferry-source-version-id`).
 */
import type { JobSpec } from '../common/job';
import type { ObjectInfo, ObjectProvider } from '../storage/provider';
import { versionListing } from '../storage/versions';
import { formatCount } from './render';

export interface VersionPlan {
  /** Keys selected (after filters). */
  keys: number;
  /** Their versions and delete markers. */
  versions: number;
  deleteMarkers: number;
}

interface Amounts {
  copy: { objects: number; bytes: number };
  skip: { objects: number; bytes: number };
  versions?: VersionPlan;
}

/** The two sides a plan lists: for `versions: all`, both through the version listing (InvalidConfigError when a side has none). */
export function versionSides(spec: Pick<JobSpec, 'versions'>, src: ObjectProvider, dst: ObjectProvider): { src: ObjectProvider; dst: ObjectProvider } {
  return spec.versions === 'all' ? { src: versionListing(src), dst: versionListing(dst) } : { src, dst };
}

/** Counts one key's versions: the newest ones beyond what the destination holds are to copy, the rest to skip. */
export function countKeyVersions(res: Amounts, o: ObjectInfo, existing: ObjectInfo | undefined): void {
  const versions = o.versions ?? [];
  const held = Math.min(existing?.versions?.length ?? 0, versions.length);
  const v = (res.versions ??= { keys: 0, versions: 0, deleteMarkers: 0 });
  v.keys++;
  v.versions += versions.length;
  versions.forEach((x, i) => {
    if (x.deleteMarker) v.deleteMarkers++;
    const to = i < held ? res.skip : res.copy;
    to.objects++;
    to.bytes += x.size;
  });
}

export function versionPlanLines(v: VersionPlan): string[] {
  return [`  versions   ${formatCount(v.versions)} of ${formatCount(v.keys)} keys (${formatCount(v.deleteMarkers)} delete markers), copied oldest first; each counts as an object`];
}
