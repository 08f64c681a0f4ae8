/** The s3 provider's one error-mapping function: SDK-shaped service errors and network errors of either path. */
import { archivedReadError } from './archive';
import { AccessDeniedError, BucketNotFoundError, FerryError, InvalidKeyError, NotFoundError, ObjectTooLargeError, SourceChangedError, ThrottledError, TransientError, isAbortError, stringField, withoutObjectText } from '../../common/errors';

const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'TooManyRequestsException', 'RequestThrottled', 'ServiceUnavailable']);
const DENIED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'AllAccessDisabled', 'InvalidToken', 'ExpiredToken', 'AccountProblem', 'InvalidSecurity']);
/** Keys a store refuses: AWS, MinIO (`//`, `.` segments), versitygw posix (`dir/` with data). */
const INVALID_KEY_CODES = new Set(['KeyTooLongError', 'InvalidObjectName', 'XMinioInvalidObjectName', 'DirectoryObjectContainsData', 'ObjectParentIsFile', 'ExistingObjectIsDirectory', 'XMinioParentIsObject']);
const TRANSIENT_NET = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE',
  // undici's: broken connection, timeouts, a body of another length than announced, a malformed answer.
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The fields of an SDK or network error that the mapping reads: text only (a field may be anything). */
interface S3ErrorFields {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

function readFields(err: unknown): S3ErrorFields {
  const f = (typeof err === 'object' && err !== null ? err : {}) as S3ErrorFields & Record<string, unknown>;
  const message = stringField(f.message);
  return {
    name: stringField(f.name),
    Code: stringField(f.Code),
    code: stringField(f.code),
    message: message !== undefined ? withoutObjectText(message) : undefined,
    $metadata: typeof f.$metadata?.httpStatusCode === 'number' ? f.$metadata : undefined,
    $response: f.$response,
  };
}

/** Maps SDK and network errors to Ferry's classes. The one mapping function of this provider. */
export function mapS3Error(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const e = readFields(err);
  const status = e.$metadata?.httpStatusCode;
  // A node network error is named plain 'Error'; its code (ENOTFOUND, ECONNREFUSED …) says what happened, and its
  // message names the code already ("getaddrinfo ENOTFOUND host").
  const netCode = !e.Code && (!e.name || e.name === 'Error') ? e.code : undefined;
  const code = e.Code ?? netCode ?? e.name ?? e.code ?? 'Error';
  const detail = netCode && e.message?.includes(netCode) ? e.message : `${code}${e.message && e.message !== code && e.message !== 'UnknownError' ? ` — ${e.message}` : ''}`;
  const msg = `${what}: ${detail}${status ? ` (HTTP ${status})` : ''}`;
  const opts = { code, status, cause: err };
  if (code === 'NoSuchBucket') return new BucketNotFoundError(msg, opts);
  if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' || (status === 404 && code !== 'NoSuchBucket')) return new NotFoundError(msg, opts);
  if (code === 'RequestTimeTooSkewed') {
    // The lean path corrects its clock and sends again; a streamed body it could not send again is retried later.
    const skewed = `${msg} — the worker's clock differs from the server's by more than 15 minutes; fix the clock (NTP)`;
    return (err as { clockCorrected?: boolean }).clockCorrected ? new TransientError(skewed, opts) : new AccessDeniedError(skewed, opts);
  }
  if (code === 'InvalidObjectState') return archivedReadError(msg, err, { code, status });
  if (DENIED_CODES.has(code) || status === 403 || status === 401) return new AccessDeniedError(msg, opts);
  if (THROTTLE_CODES.has(code) || status === 429 || status === 503) {
    const ra = Number(e.$response?.headers?.['retry-after']);
    return new ThrottledError(msg, { ...opts, retryAfterMs: Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined });
  }
  if (INVALID_KEY_CODES.has(code)) return new InvalidKeyError(msg, opts);
  if (code === 'EntityTooLarge') return new ObjectTooLargeError(msg, opts);
  if (code === 'PreconditionFailed' || status === 412) return new SourceChangedError(`${msg} — the source changed`, opts);
  if ((status !== undefined && status >= 500) || TRANSIENT_NET.has(String(e.code)) || /^HPE_/.test(String(e.code)) || code === 'TimeoutError' || code === 'RequestTimeout' || code === 'InternalError' || code === 'IncompleteBody') {
    return new TransientError(msg, opts);
  }
  // Any other 4xx is a rejected request (e.g. MinIO answers a HEAD of a key it cannot store with a bodiless
  // 400, which the SDK calls "UnknownError"): retrying it can never help.
  if (status !== undefined && status >= 400 && status < 500) return new FerryError(msg, opts);
  return err;
}

