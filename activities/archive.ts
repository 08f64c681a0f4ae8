/**
 * Archived source objects in the copy engine: each object is decided before it is read. An object of an archived
 * class (listing's storage class; its restore state by a HEAD) with no restored copy ready — or one whose read the
 * store refused as archived — goes by the job's `archived:` policy:
 * - `fail` (default): a reported failure of class ArchivedObject naming its storage class;
 * - `skip`: counted as skipped and listed with the reason in the run's `archived/` folder (the report's skipped.jsonl);
 * - `restore`: a restore is requested (idempotent) and the object is handed to a restore wait (workflows/restore-wait.ts)
 *   with the batch's result; the batch moves on. A batch hands over at most RESTORE_HANDOFF_MAX objects, then ends.
 * GLACIER_IR and the other readable classes are copied at once.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ObjectInfo } from '../storage/provider';
import { ARCHIVE_CLASSES, needsRestore } from '../storage/provider';
import type { RestoringObject } from '../common/contracts';
import { emptyArchiveCounts } from '../common/progress';
import { archivedPolicy } from '../common/job';
import { ArchivedObjectError } from '../common/errors';
import type { Batch } from './batch';
import type { ObjectResult } from './transfer';

/** Objects one batch hands to a restore wait at most (bounds the batch result and the wait's state). */
export const RESTORE_HANDOFF_MAX = 250;

/** The batch has handed over as many objects as one result carries: it takes no further object. */
/** Whether the listing puts `o` in an archive class (the only objects archivedHold looks at again). */
export const listedAsArchived = (batch: Batch, o: ObjectInfo): o is ObjectInfo & { storageClass: string } => !!batch.src.capabilities.archive && !!o.storageClass && ARCHIVE_CLASSES.has(o.storageClass);

export const handoffFull = (batch: Batch): boolean => (batch.checkpoint.restoring?.length ?? 0) >= RESTORE_HANDOFF_MAX;

/**
 * Before an object is read: undefined when it can be read (not archived, GLACIER_IR, or a restored copy is ready),
 * else the outcome its policy gives. Throws ArchivedObjectError for `fail`.
 */
export async function archivedHold(batch: Batch, o: ObjectInfo): Promise<ObjectResult | undefined> {
  if (!listedAsArchived(batch, o)) return undefined;
  const info = await batch.src.stat(o.key, { signal: batch.signal });
  if (!needsRestore(info)) return undefined;
  return applyPolicy(batch, o, info.storageClass ?? o.storageClass, info);
}

/** After a read the store refused as archived (the listing named no class): the policy's outcome; other errors are rethrown. */
export async function archivedAfterRead(batch: Batch, o: ObjectInfo, err: unknown): Promise<ObjectResult> {
  if (!(err instanceof ArchivedObjectError) || !batch.src.capabilities.archive) throw err;
  const info = await batch.src.stat(o.key, { signal: batch.signal }).catch(() => undefined);
  return applyPolicy(batch, o, err.storageClass ?? info?.storageClass ?? 'unknown', info);
}

async function applyPolicy(batch: Batch, o: ObjectInfo, storageClass: string, info: ObjectInfo | undefined): Promise<ObjectResult> {
  const job = batch.input.job;
  const counts = (batch.checkpoint.archive ??= emptyArchiveCounts());
  switch (archivedPolicy(job)) {
    case 'skip':
      logSkipped(batch, o, storageClass);
      counts.skipped++;
      counts.skippedBytes += o.size;
      return { outcome: 'kept' };
    case 'restore': {
      const { days, tier } = job.archived!;
      // A retry round meets an object a restore wait of an earlier round holds: its restore is running or ready.
      const heldEarlier = batch.input.round > 0 && !!info?.restore;
      if (!heldEarlier && (await batch.src.restore!(o.key, { days, tier, signal: batch.signal })) === 'requested') counts.requests++;
      if (heldEarlier) return { outcome: 'restoring' };
      const handed: RestoringObject = { key: o.key, size: o.size, position: o.position, lastModified: o.lastModified, storageClass, ...(o.etag ? { etag: o.etag } : {}) };
      (batch.checkpoint.restoring ??= []).push(handed);
      counts.restoring++;
      counts.restoringBytes += o.size;
      return { outcome: 'restoring' };
    }
    default:
      throw new ArchivedObjectError(`${JSON.stringify(o.key)} is archived (storage class ${storageClass}) and has no restored copy; \`archived: restore\` restores and copies it, \`archived: skip\` skips it`, { storageClass });
  }
}

/** One line per skipped object in `<run>/archived/<batch file>.jsonl`, next to the batch's failure file. */
function logSkipped(batch: Batch, o: ObjectInfo, storageClass: string): void {
  const file = join(dirname(dirname(batch.failures.file)), 'archived', basename(batch.failures.file));
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ key: o.key, size: o.size, storageClass, reason: `archived (storage class ${storageClass}), skipped by archived: skip`, task: batch.input.taskId })}\n`);
}
