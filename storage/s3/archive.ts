/**
 * Archived objects on S3 (GLACIER, DEEP_ARCHIVE; GLACIER_IR reads at once): the storage class and restore state of a
 * HEAD answer, RestoreObject on both request paths, and the error of a read refused because the object is archived.
 */
import type { S3Http } from './s3-http';
import type { Sdk } from './sdk-client';
import type { ObjectInfo, RestoreTier } from '../provider';
import { ArchivedObjectError } from '../../common/errors';
import { parseRestoreHeader } from '../archive-fields';

/** Storage class and restore state of a HEAD/GET answer (in the SDK's output shape); absent fields stay absent. */
export function archiveFields(h: { StorageClass?: string; Restore?: string }): Pick<ObjectInfo, 'storageClass' | 'restore'> {
  const restore = parseRestoreHeader(h.Restore);
  return { ...(h.StorageClass ? { storageClass: h.StorageClass } : {}), ...(restore ? { restore } : {}) };
}

/** The `<RestoreRequest>` body of a RestoreObject request. */
export function restoreRequestXml(days: number, tier: RestoreTier): string {
  return `<RestoreRequest xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Days>${days}</Days><GlacierJobParameters><Tier>${tier}</Tier></GlacierJobParameters></RestoreRequest>`;
}

type Send = <T>(what: string, lean: (data: S3Http) => Promise<T>, viaSdk: (s: Sdk, run: <O>(command: object) => Promise<O>) => Promise<T>) => Promise<T>;

/**
 * RestoreObject: `requested` when the store accepted a new restore (202), `already` when a restored copy is there
 * (200, its expiry extended) or a restore is running (409 RestoreAlreadyInProgress).
 */
export async function restoreS3Object(send: Send, bucket: string, key: string, opts: { days: number; tier: RestoreTier; versionId?: string; signal?: AbortSignal }): Promise<'requested' | 'already'> {
  try {
    const status = await send(
      `restore s3://${bucket}/${key}`,
      async (d) => {
        const query: Record<string, string> = opts.versionId ? { restore: '', versionId: opts.versionId } : { restore: '' };
        return (await d.call('POST', key, { 'content-type': 'application/xml' }, { query, body: restoreRequestXml(opts.days, opts.tier), signal: opts.signal })).status;
      },
      async (s, run) => {
        const out = await run<{ $metadata: { httpStatusCode?: number } }>(
          new s.RestoreObjectCommand({ Bucket: bucket, Key: key, VersionId: opts.versionId, RestoreRequest: { Days: opts.days, GlacierJobParameters: { Tier: opts.tier } } }),
        );
        return out.$metadata.httpStatusCode ?? 202;
      },
    );
    return status === 202 ? 'requested' : 'already';
  } catch (e) {
    if ((e as { code?: string }).code === 'RestoreAlreadyInProgress') return 'already';
    throw e;
  }
}

/** The error of a read refused with `InvalidObjectState`, naming the storage class the store gave (the SDK's and the lean path's `StorageClass`). */
export function archivedReadError(msg: string, err: unknown, opts: { code: string; status?: number }): ArchivedObjectError {
  const storageClass = (err as { StorageClass?: unknown }).StorageClass;
  const cls = typeof storageClass === 'string' && storageClass ? storageClass : undefined;
  return new ArchivedObjectError(`${msg} — the object is archived${cls ? ` (storage class ${cls})` : ''} and has no restored copy; see \`archived:\` in the job file`, { ...opts, cause: err, storageClass: cls });
}
