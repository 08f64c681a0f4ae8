/** Completing a multipart upload whose parts the server answered without ETags: what a refusal then means. */
import type { UploadedPart } from './provider';
import { FerryError } from '../common/errors';

/**
 * The error to throw for a failed CompleteMultipartUpload (`err`, already mapped). Parts the server answered without
 * an ETag are listed with an empty one, as given; a server that then refuses the list (`InvalidPart`, or any 400)
 * needs ETags it never sent, and that is a FerryError (`PartEtagMissing`) naming the parts, not retried. Any other
 * failure is `err` itself.
 */
export function partEtagsMissing(what: string, parts: readonly UploadedPart[], err: unknown): unknown {
  const missing = parts.filter((p) => !p.etag).map((p) => p.partNumber);
  if (!missing.length || !(err instanceof FerryError) || (err.code !== 'InvalidPart' && err.status !== 400)) return err;
  const shown = missing.length > 10 ? `${missing.slice(0, 10).join(', ')} … (${missing.length} in all)` : missing.join(', ');
  return new FerryError(`${what}: the server answered part(s) ${shown} without an ETag and refuses to complete the upload without them (${err.code ?? err.status})`, { code: 'PartEtagMissing', status: err.status, cause: err });
}
