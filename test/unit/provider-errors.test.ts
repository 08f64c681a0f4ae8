/** The one mapping function per provider, table-driven: SDK/OS error → Ferry class (and so retry behaviour). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapS3Error, copySourceHeader } from '../../storage/s3/s3';
import { validateFsKey } from '../../storage/fs/fs';
import { AccessDeniedError, BucketNotFoundError, InvalidKeyError, NotFoundError, ThrottledError, TransientError, isRetryable } from '../../common/errors';

const sdkError = (name: string, status?: number, headers: Record<string, string> = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, $response: { headers } });

test('s3 error mapping', () => {
  const rows: [unknown, new (...a: never[]) => Error, boolean][] = [
    [sdkError('NoSuchKey', 404), NotFoundError, false],
    [sdkError('NotFound', 404), NotFoundError, false],
    [sdkError('NoSuchBucket', 404), BucketNotFoundError, false],
    [sdkError('AccessDenied', 403), AccessDeniedError, false],
    [sdkError('InvalidAccessKeyId', 403), AccessDeniedError, false],
    [sdkError('SignatureDoesNotMatch', 403), AccessDeniedError, false],
    [sdkError('RequestTimeTooSkewed', 403), AccessDeniedError, false],
    [sdkError('Unknown', 403), AccessDeniedError, false],
    [sdkError('SlowDown', 503), ThrottledError, true],
    [sdkError('TooManyRequests', 429), ThrottledError, true],
    [sdkError('InternalError', 500), TransientError, true],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), TransientError, true],
    [sdkError('XMinioInvalidObjectName', 400), InvalidKeyError, false],
  ];
  for (const [input, cls, retry] of rows) {
    const out = mapS3Error(input, 'op');
    assert.ok(out instanceof cls, `${(input as Error).name} → ${cls.name}, got ${(out as Error).name}`);
    assert.equal(isRetryable(out), retry, `${(input as Error).name} retryable=${retry}`);
  }
  const t = mapS3Error(sdkError('SlowDown', 503, { 'retry-after': '7' }), 'op') as ThrottledError;
  assert.equal(t.retryAfterMs, 7000);
  assert.match((mapS3Error(sdkError('RequestTimeTooSkewed', 403), 'op') as Error).message, /clock/);
  // A network error names its code, not node's generic 'Error'.
  const dns = mapS3Error(Object.assign(new Error('getaddrinfo ENOTFOUND b.localhost'), { code: 'ENOTFOUND' }), 'put s3://b/k') as TransientError;
  assert.equal(dns.message, 'put s3://b/k: getaddrinfo ENOTFOUND b.localhost');
  assert.equal(dns.code, 'ENOTFOUND');
});

test('copy source header encodes each key segment', () => {
  assert.equal(copySourceHeader({ bucket: 'b', key: 'a b/c+d?#%/é' }), 'b/a%20b/c%2Bd%3F%23%25/%C3%A9');
});

test('fs key rules refuse escapes and name the rule', () => {
  const refused: [string, RegExp][] = [
    ['../x', /"\.\." segment/],
    ['a/../../x', /"\.\." segment/],
    ['/etc/passwd', /absolute/],
    ['a\0b', /NUL/],
    ['a//b', /empty path segment/],
    ['dir/', /trailing/],
    ['', /empty key/],
    ['./a', /"\." segment/],
    [`${'x'.repeat(256)}`, /longer than 255 bytes/],
    ['.ferry-uploads/tmp/x', /reserved/],
  ];
  for (const [key, rule] of refused) assert.throws(() => validateFsKey(key), (e: unknown) => e instanceof InvalidKeyError && rule.test(e.message), key);
  for (const key of ['..x', 'a/..b', 'a b/c', 'é/😀', '.hidden']) validateFsKey(key);
});
