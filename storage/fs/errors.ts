/** Error mapping of the `fs` provider: Node fs errors become Ferry's error classes here and nowhere else. */
import { FerryError, InvalidKeyError, NotFoundError, AccessDeniedError, TransientError, errorMessage, isAbortError } from '../../common/errors';

/** What a file name that is not valid UTF-8 turns into when read as a string key. */
export const UNDECODABLE = '\uFFFD';

/** A missing file whose key holds U+FFFD: almost surely a name that is not valid UTF-8 (Ferry keys are UTF-8). */
export function undecodable(key: string, err: unknown): InvalidKeyError | undefined {
  if ((err as NodeJS.ErrnoException)?.code !== 'ENOENT' || !key.includes(UNDECODABLE)) return undefined;
  return new InvalidKeyError(`file name ${JSON.stringify(key)} is not valid UTF-8 (shown with U+FFFD): Ferry keys are UTF-8; rename the file`, { code: 'NonUtf8Name', cause: err });
}

/** Maps Node fs errors to Ferry's classes. The one mapping function of this provider; `what` prefixes the message. */
export function mapFsError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = `${what}: ${errorMessage(err)}`;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new NotFoundError(msg, { code, cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new AccessDeniedError(msg, { code, cause: err });
    case 'EISDIR':
    case 'ENAMETOOLONG':
    case 'EILSEQ':
      return new InvalidKeyError(msg, { code, cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EIO':
    case 'ENOSPC':
    case 'ESTALE':
    case 'ETIMEDOUT':
      return new TransientError(msg, { code, cause: err });
    default:
      return err;
  }
}
