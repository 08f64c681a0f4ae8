/**
 * What S3 and OSS share about archived objects: the restore header (`x-amz-restore` and `x-oss-restore` have one
 * format) and naming the storage class in the error of a refused read.
 */
import type { ObjectInfo, RestoreState } from './provider';
import { ArchivedObjectError } from '../common/errors';

/**
 * `ongoing-request="true"` or `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` as a
 * RestoreState; undefined for an absent or unreadable header (no restore requested).
 */
export function parseRestoreHeader(value: string | undefined): RestoreState | undefined {
  const ongoing = value && /ongoing-request\s*=\s*"?(true|false)"?/i.exec(value)?.[1];
  if (!ongoing) return undefined;
  if (ongoing.toLowerCase() === 'true') return { ongoing: true };
  const expiry = Date.parse(/expiry-date\s*=\s*"([^"]*)"/i.exec(value)?.[1] ?? '');
  return Number.isNaN(expiry) ? { ongoing: false } : { ongoing: false, expiresAt: expiry };
}

/**
 * Rethrows `err`; an ArchivedObjectError whose answer did not name the storage class (OSS never does) is rethrown
 * naming the class a HEAD reports (`stat`), so the reported failure says what the object is.
 */
export async function rethrowNamingClass(err: unknown, stat: () => Promise<Pick<ObjectInfo, 'storageClass'>>): Promise<never> {
  if (!(err instanceof ArchivedObjectError) || err.storageClass) throw err;
  const storageClass = (await stat().catch(() => undefined))?.storageClass;
  if (!storageClass) throw err;
  throw new ArchivedObjectError(err.message.replace(' is archived ', ` is archived (storage class ${storageClass}) `), { code: err.code, status: err.status, cause: err.cause, storageClass });
}
