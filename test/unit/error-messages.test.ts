/**
 * Error messages across the catalogue: every Ferry error class, and each provider's one mapping function fed with
 * the raw errors seen in the field (ali-oss / urllib errors whose message was built from a request options object,
 * objects as fields, SDK, undici and node system errors, a URIError, a thrown string, a thrown plain object). What a
 * report or the CLI shows never reads `[object Object]` or `undefined`, and names the operation and key it was given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseLegacyUrl } from 'node:url';
import {
  FERRY_ERROR_CLASSES,
  FerryError,
  InvalidConfigError,
  InvalidListingError,
  UNEXPECTED_ATTEMPTS,
  errorMessage,
  isUnknownError,
  unexpectedError,
  type OperationContext,
} from '../../common/errors';
import { mapOssError } from '../../storage/oss/errors';
import { decodeListValue } from '../../storage/oss/object-fields';
import { openOssProvider } from '../../storage/oss/oss';
import { mapS3Error } from '../../storage/s3/errors';
import { mapFsError } from '../../storage/fs/errors';
import { toFerryError } from '../../storage/http/requests';
import { formatError } from '../../client/errors';
import { taskErrorText } from '../../workflows/task-state';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';

const KEY = 'photos/2024/a b+é.jpg';
const CTX: OperationContext = { operation: 'copy', bucket: 'src-bucket', key: KEY };

function assertReadable(message: string, label: string): void {
  assert.doesNotMatch(message, /\[object Object\]/, `${label}: ${message}`);
  assert.doesNotMatch(message, /\bundefined\b/, `${label}: ${message}`);
  assert.ok(message.trim().length > 0, `${label}: empty message`);
}

/** urllib's own concatenation (`err.message += ', ' + method + ' ' + url + …`) with a request options object as url. */
function urllibError(first: string, name: string, extra: Record<string, unknown>): Error {
  const url: unknown = parseLegacyUrl(`http://src-bucket.oss.example/${encodeURI(KEY)}?uploadId=SECRET`);
  const suffix = `, PUT ${String(url)} -1 (connected: false, keepalive socket: false, socketHandledRequests: 1, socketHandledResponses: 0)\nheaders: {}`;
  return Object.assign(new Error(first + suffix), { name, status: -1, headers: {}, ...extra });
}

const systemError = (() => {
  try {
    readFileSync('/nonexistent/ferry/error-messages');
  } catch (e) {
    return e;
  }
  throw new Error('unreachable');
})();

const uriError = (() => {
  try {
    decodeURIComponent('%E0%A4%A');
  } catch (e) {
    return e;
  }
  throw new Error('unreachable');
})();

/** Raw errors as the SDKs, node and libraries throw them. */
const RAW: [string, unknown][] = [
  ['urllib connect refused (url an options object)', urllibError('connect ECONNREFUSED 127.0.0.1:1', 'RequestError', { code: 'ECONNREFUSED' })],
  ['urllib connect timeout (url an options object)', urllibError('Connect timeout for 60000ms', 'ConnectionTimeoutError', { code: 'ConnectionTimeoutError' })],
  ['ali-oss error whose fields are objects', Object.assign(new Error('Request error'), { name: { toString: 1 }, code: { value: 'X' }, status: { code: 500 }, requestId: { id: 'r' }, params: { securityToken: 'SECRET' } })],
  ['ali-oss style plain object with object fields', { name: { a: 1 }, code: { b: 2 }, message: { text: 'm' }, status: { s: 1 }, url: { host: 'h', path: '/p' } }],
  ['ali-oss service error', Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKeyError', code: 'NoSuchKey', status: 404, requestId: 'REQ1' })],
  ['SDK service error', Object.assign(new Error('UnknownError'), { name: 'S3ServiceException', $fault: 'client', $metadata: { httpStatusCode: 400 } })],
  ['SDK error with object fields', Object.assign(new Error('Access Denied'), { name: 'AccessDenied', Code: { v: 'AccessDenied' }, $metadata: { httpStatusCode: { v: 403 } } })],
  ['undici socket error', Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET', socket: { localAddress: '127.0.0.1' } })],
  ['node system error', systemError],
  ['node network error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' })],
  ['URIError', uriError],
  ['TypeError', new TypeError('x.etag is not a function')],
  ['thrown string', 'boom'],
  ['thrown plain object', { status: 500, method: 'GET', url: { host: 'h.example', path: '/k?sig=SECRET' } }],
  ['thrown empty object', {}],
  ['thrown object with nested fields', { request: { headers: {} }, response: { body: {} } }],
];

const MAPPERS: [string, (err: unknown, what: string) => unknown][] = [
  ['oss', mapOssError],
  ['s3', mapS3Error],
  ['fs', mapFsError],
  ['http', (err, what) => toFerryError({ kind: 'network', what, cause: err, signal: undefined })],
];

/** What a report shows for `out`: its message, or (an error of no known class) the UnexpectedError's after retries. */
function reported(out: unknown): string {
  return isUnknownError(out) ? unexpectedError(out, CTX, UNEXPECTED_ATTEMPTS).message : errorMessage(out);
}

test('every Ferry error class makes a readable message that keeps the operation and key', () => {
  for (const kind of FERRY_ERROR_CLASSES) {
    const Class = kind as unknown as new (message: string, opts?: { cause?: unknown }) => FerryError;
    const err = kind === InvalidConfigError ? new InvalidConfigError([`source.prefix: ${KEY} is not allowed`]) : new Class(`copy ${KEY}: detail`, { cause: { nested: { x: 1 } } });
    assert.equal(err.name, kind.errorName);
    assertReadable(errorMessage(err), kind.errorName);
    assert.ok(errorMessage(err).includes(KEY), `${kind.errorName}: ${err.message}`);
    assertReadable(formatError(err), `formatError ${kind.errorName}`);
  }
});

test('each provider mapping, fed every raw error, gives a readable message naming the operation and key', () => {
  for (const [provider, map] of MAPPERS) {
    for (const [label, raw] of RAW) {
      const what = `put ${provider}://src-bucket/${KEY}`;
      const out = map(raw, what);
      const message = reported(out);
      assertReadable(message, `${provider} ← ${label}`);
      assert.ok(message.includes(KEY), `${provider} ← ${label}: the key: ${message}`);
      assert.ok(isUnknownError(out) ? message.startsWith('copy in bucket src-bucket') : message.startsWith(what), `${provider} ← ${label}: the operation: ${message}`);
      assert.doesNotMatch(message, /SECRET/, `${provider} ← ${label}: no query strings or tokens`);
    }
  }
});

test('the CLI never prints [object Object] for a raw error either', () => {
  for (const [label, raw] of RAW) assertReadable(formatError(raw), `formatError ← ${label}`);
});

test('urllib\'s request suffix is dropped from oss messages: what the request was is in `what`', () => {
  const out = mapOssError(urllibError('Connect timeout for 60000ms', 'ConnectionTimeoutError', {}), `put oss://src-bucket/${KEY}`) as Error;
  assert.equal(out.message, `put oss://src-bucket/${KEY}: ConnectionTimeout — Connect timeout for 60000ms`);
});

test('a refused oss request (real ali-oss and urllib, url as request options) maps to a readable message', async () => {
  const env = { FERRY_CREDENTIALS_T_ACCESS_KEY_ID: 'AK', FERRY_CREDENTIALS_T_SECRET_ACCESS_KEY: 'SK' };
  const p = openOssProvider({ type: 'oss', endpoint: 'http://127.0.0.1:1', region: 'cn-hangzhou', bucket: 'src-bucket', credentials: 't' }, { env });
  await assert.rejects(p.put(KEY, Buffer.from('x'), { size: 1 }), (e: unknown) => {
    assert.ok(e instanceof FerryError, String(e));
    assertReadable(e.message, 'refused put');
    assert.match(e.message, /^put oss:\/\/src-bucket\/photos\/2024\/a b\+é\.jpg: .*ECONNREFUSED/);
    return true;
  });
});

test('an undecodable listed value is an InvalidListingError naming the value and bucket, not a URIError', () => {
  assert.equal(decodeListValue('a%2Bb+c', 'b'), 'a+b c');
  assert.throws(
    () => decodeListValue('photos/%E0%A4%A', 'src-bucket'),
    (e: unknown) => e instanceof InvalidListingError && e.code === 'InvalidListEncoding' && e.message.includes('"photos/%E0%A4%A"') && e.message.includes('oss://src-bucket') && !e.retryable,
  );
});

test('thrown values of every kind have a one-line message', () => {
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage(undefined), 'an empty error value');
  assert.equal(errorMessage({ method: 'PUT', url: { host: 'h', path: '/k?token=x' }, status: -1 }), 'PUT h/k?… — status -1');
  assert.equal(errorMessage({ code: 'E1', message: 'bad', securityToken: 'SECRET' }), 'E1 — bad');
  assert.equal(errorMessage({ accessKeySecret: 'SECRET', n: 3, o: {} }), 'a thrown Object {accessKeySecret, n=3, o}');
  assert.equal(errorMessage(new Error('', { cause: 1 })), 'Error');
  assert.equal(unexpectedError('boom', { operation: 'list source', bucket: 'b', after: 'k09' }, 3).message, 'list source in bucket b after "k09": unexpected thrown string: boom (3 attempts)');
});

test('a task that ended with an activity failure records the activity error\'s type and message', () => {
  const inner = ApplicationFailure.create({ type: 'URIError', message: 'URI malformed' });
  const activity = ApplicationFailure.create({ type: 'UnexpectedError', message: 'list source in bucket b after "k09": unexpected URIError: URI malformed (3 attempts)', cause: inner });
  const failure = new ActivityFailure('Activity task failed', 'copyRange', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', activity);
  assert.equal(taskErrorText(failure), 'UnexpectedError: list source in bucket b after "k09": unexpected URIError: URI malformed (3 attempts)');
  assert.equal(taskErrorText(new Error('plain')), 'plain');
});
