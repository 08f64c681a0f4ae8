/** The oss provider's one error-mapping function: ali-oss service errors and network errors. */
import {
  AccessDeniedError,
  BucketNotFoundError,
  ChecksumMismatchError,
  FerryError,
  InvalidKeyError,
  NotFoundError,
  ObjectTooLargeError,
  SourceChangedError,
  ThrottledError,
  TransientError,
  isAbortError,
  stringField,
  withoutObjectText,
} from '../../common/errors';
import { archivedReadError } from './archive';

const THROTTLE_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'TooManyRequests', 'RequestLimitExceeded', 'QpsLimitExceeded', 'Throttling']);
const DENIED_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidSecurityToken', 'SecurityTokenExpired', 'AccessForbidden', 'UserDisable']);
const NETWORK_NAMES = new Set(['RequestError', 'ResponseError', 'ConnectionTimeoutError', 'ResponseTimeoutError', 'SocketAssignTimeoutError', 'ConnectionResetError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * urllib's addition to a request error's message: `, PUT <url> -1 (connected: …)`. The url is a request options
 * object when the provider's wrapper parsed it (client.ts), and then reads `[object Object]`; `what` names the request.
 */
const URLLIB_SUFFIX = /, (?:GET|PUT|POST|HEAD|DELETE|OPTIONS|PATCH) (?:https?:\/\/|\[object Object\]).*$/;

/** The fields of an ali-oss (or Node network) error that the mapping reads: text only (a field may be anything). */
interface AliOssErrorFields {
  name?: string;
  code?: string;
  status?: number;
  /** The first line of the message, without urllib's request suffix. */
  message?: string;
  requestId?: string;
}

function readFields(err: unknown): AliOssErrorFields {
  const f = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const message = stringField(f.message)?.split('\n')[0]!.replace(URLLIB_SUFFIX, '');
  return {
    name: stringField(f.name),
    code: stringField(f.code),
    status: typeof f.status === 'number' ? f.status : undefined,
    message: message !== undefined ? withoutObjectText(message) : undefined,
    requestId: stringField(f.requestId),
  };
}

/**
 * Maps ali-oss (and network) errors to Ferry's classes: the one mapping function of this provider. Ferry
 * errors and abort errors pass through; non-HTTP errors it does not recognise (bugs) pass through unchanged.
 * The cause is a sanitised copy: ali-oss attaches request params (with the STS token) to its errors.
 */
export function mapOssError(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const fields = readFields(err);
  const status = fields.status !== undefined && fields.status > 0 ? fields.status : undefined;
  const code = fields.code ?? (fields.name && fields.name !== 'Error' ? fields.name.replace(/Error$/, '') : undefined) ?? 'Error';
  const firstLine = fields.message ?? '';
  const msg = `${what}: ${code}${firstLine && firstLine !== code ? ` — ${firstLine}` : ''}${status ? ` (HTTP ${status})` : ''}${fields.requestId ? ` [request ${fields.requestId}]` : ''}`;
  const cause = Object.assign(new Error(firstLine || code), { name: fields.name ?? 'Error', code: fields.code, status: fields.status, requestId: fields.requestId });
  const opts = { code, status, cause };
  if (code === 'NoSuchBucket') return new BucketNotFoundError(msg, opts);
  if (code === 'NoSuchKey' || code === 'NoSuchUpload' || status === 404) return new NotFoundError(msg, opts);
  if (code === 'RequestTimeTooSkewed') return new AccessDeniedError(`${msg} — the worker's clock differs from the server's by more than 15 minutes; fix the clock (NTP)`, opts);
  if (code === 'InvalidObjectState') return archivedReadError(msg, opts);
  if (DENIED_CODES.has(code) || status === 401 || status === 403) return new AccessDeniedError(msg, opts);
  if (THROTTLE_CODES.has(code) || status === 429 || status === 503) return new ThrottledError(msg, opts);
  if (code === 'InvalidObjectName') return new InvalidKeyError(msg, opts);
  if (code === 'InvalidDigest') return new ChecksumMismatchError(msg, opts);
  if (code === 'EntityTooLarge' || code === 'FileTooLarge') return new ObjectTooLargeError(msg, opts);
  if (code === 'PreconditionFailed' || status === 412) return new SourceChangedError(`${msg} — the source changed`, opts);
  const network = fields.status === -1 || fields.status === -2 || NETWORK_NAMES.has(fields.name ?? '') || NETWORK_CODES.has(String(fields.code));
  if (network || (status !== undefined && status >= 500)) return new TransientError(msg, opts);
  if (status !== undefined) return new FerryError(msg, opts);
  return err;
}
