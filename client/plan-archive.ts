/**
 * `ferry plan`'s part on archived source objects: what the listing shows of them by storage class (objects and
 * bytes, among those the job would copy), and what the job's `archived:` policy would do — fail them, skip them,
 * or send the restore requests counted here (days and tier of the job). GLACIER_IR is counted apart: read at once.
 */
import { ARCHIVE_CLASSES, type ObjectInfo } from '../storage/provider';
import { archivedPolicy, type JobSpec } from '../common/job';
import { formatBytes } from '../common/units';
import { formatCount } from './render';

interface Amount {
  objects: number;
  bytes: number;
}

export interface ArchivePlan {
  /** The job's `archived:` policy. */
  policy: 'fail' | 'skip' | 'restore';
  /** Archived objects the job would copy, by storage class (as the store names it). */
  byClass: Record<string, Amount>;
  /** Instant-retrieval archive classes (S3 GLACIER_IR): read at once, no restore. */
  readableAtOnce: Amount;
  /** `archived: restore`: the restore requests the run would send (one per archived object). */
  restoreRequests?: { count: number; bytes: number; days: number; tier: string };
}

/** Counts archived objects among those a plan would copy. */
export class ArchiveTally {
  private readonly byClass: Record<string, Amount> = {};
  private readonly atOnce: Amount = { objects: 0, bytes: 0 };

  /** Counts `o`; true when it is archived (it cannot be read until restored, e.g. for a read sample). */
  add(o: ObjectInfo): boolean {
    if (o.storageClass === 'GLACIER_IR') {
      this.atOnce.objects++;
      this.atOnce.bytes += o.size;
    }
    if (!o.storageClass || !ARCHIVE_CLASSES.has(o.storageClass)) return false;
    const a = (this.byClass[o.storageClass] ??= { objects: 0, bytes: 0 });
    a.objects++;
    a.bytes += o.size;
    return true;
  }

  /** The plan's archive section; undefined when the listing showed no archived object. */
  result(spec: JobSpec): ArchivePlan | undefined {
    const classes = Object.values(this.byClass);
    if (!classes.length && !this.atOnce.objects) return undefined;
    const policy = archivedPolicy(spec);
    const total = classes.reduce((t, a) => ({ objects: t.objects + a.objects, bytes: t.bytes + a.bytes }), { objects: 0, bytes: 0 });
    return {
      policy,
      byClass: this.byClass,
      readableAtOnce: this.atOnce,
      ...(policy === 'restore' && total.objects ? { restoreRequests: { count: total.objects, bytes: total.bytes, days: spec.archived!.days, tier: spec.archived!.tier } } : {}),
    };
  }
}

/** The plan's lines on archived objects. */
export function archivePlanLines(p: ArchivePlan): string[] {
  const amount = (a: Amount) => `${formatCount(a.objects).padStart(12)} objects  ${formatBytes(a.bytes).padStart(10)}`;
  const lines = Object.entries(p.byClass).map(([cls, a]) => `  archived   ${amount(a)}   (${cls})`);
  if (p.readableAtOnce.objects) lines.push(`  instant    ${amount(p.readableAtOnce)}   (GLACIER_IR: read at once, no restore)`);
  const n = Object.values(p.byClass).reduce((t, a) => t + a.objects, 0);
  if (!n) return lines;
  if (p.restoreRequests) {
    const r = p.restoreRequests;
    lines.push(`  restores   ${formatCount(r.count)} restore request(s) for ${formatBytes(r.bytes)}, ${r.days} day(s), tier ${r.tier}; each copy waits for its restore (archived: restore)`);
  } else if (p.policy === 'skip') lines.push(`  archived   ${formatCount(n)} would be skipped and listed in skipped.jsonl (archived: skip)`);
  else lines.push(`  archived   ${formatCount(n)} would fail as ArchivedObject (archived: fail, the default; \`archived: restore\` restores and copies them)`);
  return lines;
}
