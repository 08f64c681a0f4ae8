/**
 * Archived objects on OSS (Archive, ColdArchive, DeepColdArchive): RestoreObject through ali-oss, and the error of a
 * read refused because the object is archived. The storage class and `x-oss-restore` of a HEAD are read in
 * object-fields.ts with the other headers.
 */
import type { ObjectInfo, RestoreTier } from '../provider';
import type { AliOss, RequestCtx } from './client';
import { ArchivedObjectError } from '../../common/errors';

/** ali-oss's `restore`, which the typed subset in client.ts leaves out. */
interface AliRestore {
  restore(name: string, opts: { ctx: RequestCtx; type: string; Days: number; JobParameters?: RestoreTier; versionId?: string }): Promise<{ res: { status: number } }>;
}

/** What the provider hands {@link restoreOssObject}: its HEAD, and one ali-oss call with its signal and error mapping. */
export interface OssRestoreCalls {
  stat(): Promise<ObjectInfo>;
  call<T>(what: string, fn: (client: AliOss, callCtx: { ctx: RequestCtx }) => Promise<T>): Promise<T>;
}

/**
 * RestoreObject (`POST ?restore`): Days, and for ColdArchive/DeepColdArchive the retrieval tier (Archive has one).
 * `requested` when OSS accepted a new restore (202); `already` when a restored copy is there (200, which ali-oss
 * reports as an error), a restore is running (409 RestoreAlreadyInProgress), or the object is not archived at all.
 */
export async function restoreOssObject(bucket: string, key: string, opts: { days: number; tier: RestoreTier; versionId?: string }, calls: OssRestoreCalls): Promise<'requested' | 'already'> {
  const { storageClass } = await calls.stat();
  if (storageClass !== 'Archive' && storageClass !== 'ColdArchive' && storageClass !== 'DeepColdArchive') return 'already';
  const cold = storageClass !== 'Archive';
  try {
    await calls.call(`restore oss://${bucket}/${key}`, (client, callCtx) =>
      (client as unknown as AliRestore).restore(key, { ...callCtx, type: storageClass, Days: opts.days, ...(cold ? { JobParameters: opts.tier } : {}), ...(opts.versionId ? { versionId: opts.versionId } : {}) }),
    );
    return 'requested';
  } catch (e) {
    const { code, status } = e as { code?: string; status?: number };
    if (code === 'RestoreAlreadyInProgress' || status === 200) return 'already';
    throw e;
  }
}

/** The error of a read OSS refused with `InvalidObjectState` (OSS names no class: the provider adds it, see archive-fields.ts). */
export function archivedReadError(msg: string, opts: { code: string; status?: number; cause: unknown }): ArchivedObjectError {
  return new ArchivedObjectError(`${msg} — the object is archived and has no restored copy; see \`archived:\` in the job file`, opts);
}
