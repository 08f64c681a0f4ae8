/**
 * Archived objects on the OSS protocol test server: an object of class Archive, ColdArchive or DeepColdArchive (the
 * class comes with the object's fields, oss-fields.ts) refuses GetObject and CopyObject as its source with 403
 * InvalidObjectState until restored. `POST ?restore` (RestoreRequest Days, and JobParameters Tier for the cold
 * classes) starts a restore that takes {@link OssArchive.restoreDelayMs}; HEAD/GET carry `x-oss-restore:
 * ongoing-request="true"` meanwhile, then `ongoing-request="false", expiry-date="…"`; the restored copy stays readable
 * for the request's days (or {@link OssArchive.restoredForMs}), after which the object is archived again and a new
 * restore is needed. Answers as OSS does: 202 for a new restore, 200 when a restored copy is there (its expiry
 * extended), 409 RestoreAlreadyInProgress while one runs, 400 OperationNotSupported for an object that is not archived.
 * Wired into `oss-server.ts` by small hooks; proved with the real ali-oss client in `test/providers/oss-archive.test.ts`.
 */

/** OSS's archived classes: read only after a restore. */
export const OSS_ARCHIVED_CLASSES: ReadonlySet<string> = new Set(['Archive', 'ColdArchive', 'DeepColdArchive']);

/** The server's error type, handed in so this module stays apart from its internals. */
export type ArchiveError = (status: number, code: string, message: string) => Error;

/** What the archive rules read of a stored object: its class. State is kept per stored object (a rewrite starts afresh). */
export interface ArchivableObject {
  fields: { storageClass: string };
}

interface RestoreProgress {
  /** When the restored copy is readable (epoch ms). */
  readyAt: number;
  /** When the restored copy expires (epoch ms). */
  expiresAt: number;
}

const DAY_MS = 86_400_000;

export class OssArchive {
  /** How long a restore takes (default 0: ready at the next request, as moto does). */
  restoreDelayMs = 0;
  /** How long a restored copy stays readable; undefined: the request's Days. */
  restoredForMs: number | undefined;
  /** Restore requests answered 202 (new restores), for assertions. */
  restoresStarted = 0;
  private readonly restores = new WeakMap<ArchivableObject, RestoreProgress>();

  constructor(
    private readonly fail: ArchiveError,
    /** The stored object of a key (undefined when absent), for the test hooks. */
    private readonly lookup: (bucket: string, key: string) => ArchivableObject | undefined,
  ) {}

  /** The live restore of `o` (undefined: none requested, or its restored copy expired). */
  private progress(o: ArchivableObject, now: number): RestoreProgress | undefined {
    const p = this.restores.get(o);
    if (p && now >= p.expiresAt) {
      this.restores.delete(o);
      return undefined;
    }
    return p;
  }

  /** `x-oss-restore` of a HEAD/GET answer (none for an object without a live restore). */
  headers(o: ArchivableObject, now = Date.now()): Record<string, string> {
    const p = OSS_ARCHIVED_CLASSES.has(o.fields.storageClass) ? this.progress(o, now) : undefined;
    if (!p) return {};
    if (now < p.readyAt) return { 'x-oss-restore': 'ongoing-request="true"' };
    return { 'x-oss-restore': `ongoing-request="false", expiry-date="${new Date(p.expiresAt).toUTCString()}"` };
  }

  /** Throws 403 InvalidObjectState when `o` is archived and has no ready restored copy (GetObject, a copy's source). */
  checkReadable(o: ArchivableObject, now = Date.now()): void {
    if (!OSS_ARCHIVED_CLASSES.has(o.fields.storageClass)) return;
    const p = this.progress(o, now);
    if (!p || now < p.readyAt) throw this.fail(403, 'InvalidObjectState', "The operation is not valid for the object's state");
  }

  /** RestoreObject with the request's XML body: the status to answer with (202 or 200); throws the OSS error otherwise. */
  restore(o: ArchivableObject, body: string, now = Date.now()): 200 | 202 {
    const cls = o.fields.storageClass;
    if (!OSS_ARCHIVED_CLASSES.has(cls)) throw this.fail(400, 'OperationNotSupported', `The operation is not supported for this resource (storage class ${cls}).`);
    const days = Number(/<Days>\s*(\d+)\s*<\/Days>/.exec(body)?.[1] ?? 1);
    if (!Number.isInteger(days) || days < 1 || days > 365) throw this.fail(400, 'InvalidArgument', `Days must be 1 to 365, got ${days}.`);
    const tier = /<Tier>\s*([^<]*?)\s*<\/Tier>/.exec(body)?.[1];
    if (cls !== 'Archive' && tier !== undefined && !['Expedited', 'Standard', 'Bulk'].includes(tier)) throw this.fail(400, 'InvalidArgument', `Unknown Tier ${tier}.`);
    const keptFor = this.restoredForMs ?? days * DAY_MS;
    const p = this.progress(o, now);
    if (p && now < p.readyAt) throw this.fail(409, 'RestoreAlreadyInProgress', 'The restore operation is in progress.');
    if (p) {
      p.expiresAt = now + keptFor;
      return 200;
    }
    this.restores.set(o, { readyAt: now + this.restoreDelayMs, expiresAt: now + this.restoreDelayMs + keptFor });
    this.restoresStarted++;
    return 202;
  }

  /** Test hook: the restored copy of `bucket`/`key` (if any) expires now, so reading it needs a new restore. */
  expire(bucket: string, key: string): void {
    const o = this.lookup(bucket, key);
    if (o) this.restores.delete(o);
  }
}
