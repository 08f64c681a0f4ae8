/**
 * What travels with each copied object (activities/write-options.ts) and how a checksum verify compares it
 * (activities/metadata-verify.ts), as pure functions; `metadata.sidecar` in the job file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SOURCE_LAST_MODIFIED, copyFields, writeFields } from '../../activities/write-options';
import { metadataDifferences } from '../../activities/metadata-verify';
import { parseJob } from '../../common/job';
import type { Capabilities, ObjectInfo } from '../../storage/provider';

const store = (extra: Partial<Capabilities> = {}): Capabilities => ({
  checksums: [],
  etagIsMd5: true,
  maxSinglePut: 1,
  multipart: null,
  serverSideCopy: true,
  maxServerSideCopy: 1,
  uploadPartCopy: false,
  writable: true,
  trailingSlashKeys: true,
  emptyPathSegments: true,
  metadata: true,
  order: 'key',
  tags: true,
  writeClasses: true,
  ...extra,
});
const SRC: ObjectInfo = {
  key: 'k',
  size: 1,
  lastModified: Date.parse('2026-03-04T05:06:07.089Z'),
  position: 'k',
  contentType: 'text/html',
  headers: { cacheControl: 'no-cache', expires: 'Wed, 21 Oct 2037 07:28:00 GMT' },
  metadata: { owner: 'a', title: '你好' },
  storageClass: 'GLACIER_IR',
};

test('writeFields: headers, metadata (non-ASCII encoded), tags, class by map, encryption and ACL from the job', () => {
  const job = { writes: { storageClass: { GLACIER_IR: 'Archive', '*': 'Standard' }, encryption: { algorithm: 'kms' as const, keyId: 'k1' }, acl: 'private' as const } };
  assert.deepEqual(writeFields(job, SRC, { t: '1' }, store()), {
    contentType: 'text/html',
    headers: { cacheControl: 'no-cache', expires: 'Wed, 21 Oct 2037 07:28:00 GMT' },
    metadata: { owner: 'a', title: '=?UTF-8?B?5L2g5aW9?=' },
    tags: { t: '1' },
    storageClass: 'Archive',
    encryption: { algorithm: 'kms', keyId: 'k1' },
    acl: 'private',
  });
  assert.equal(writeFields(job, { ...SRC, storageClass: undefined }, undefined, store()).storageClass, 'Standard', 'no class: STANDARD, else "*"');
});

test('writeFields: the source time as metadata on request, an earlier stamp kept; nothing a destination cannot hold', () => {
  const stamped = writeFields({ metadata: { sourceLastModified: true } }, SRC, undefined, store());
  assert.equal(stamped.metadata?.[SOURCE_LAST_MODIFIED], '2026-03-04T05:06:07.089Z');
  const again = writeFields({ metadata: { sourceLastModified: true } }, { ...SRC, lastModified: 1, metadata: { [SOURCE_LAST_MODIFIED]: 'original' } }, undefined, store());
  assert.equal(again.metadata?.[SOURCE_LAST_MODIFIED], 'original');
  assert.equal(writeFields({}, SRC, undefined, store()).metadata?.[SOURCE_LAST_MODIFIED], undefined, 'not without the option');
  const plain = writeFields({ writes: { storageClass: 'IA', acl: 'private' } }, SRC, { t: '1' }, store({ metadata: false, tags: undefined, writeClasses: undefined }));
  assert.deepEqual(plain, { contentType: 'text/html', metadata: SRC.metadata });
  assert.throws(() => writeFields({}, { ...SRC, metadata: { bad: 'a\nb' } }, undefined, store()), { name: 'InvalidMetadataError' });
});

test('copyFields: only class, encryption and ACL (the store copies the rest)', () => {
  assert.deepEqual(copyFields({ writes: { storageClass: 'STANDARD_IA', encryption: { algorithm: 'AES256' } } }, SRC, store()), { storageClass: 'STANDARD_IA', encryption: { algorithm: 'AES256' } });
  assert.deepEqual(copyFields({}, SRC, store()), {});
});

test('metadataDifferences: names each differing field; Expires by time, ARN key ids and default classes match', () => {
  const want = writeFields({ writes: { storageClass: 'STANDARD', encryption: { algorithm: 'kms', keyId: 'k1' } } }, SRC, { t: '1' }, store());
  const same: ObjectInfo = { ...SRC, headers: { cacheControl: 'no-cache', expires: 'Wed, 21 Oct 2037 07:28:00 +0000' }, metadata: { ...want.metadata!, 'ferry-crc64ecma': '1' }, storageClass: undefined, encryption: { algorithm: 'kms', keyId: 'arn:aws:kms:us-east-1:1:key/k1' } };
  assert.deepEqual(metadataDifferences(true, want, same, { t: '1' }), []);
  const other: ObjectInfo = { ...same, contentType: 'text/plain', headers: { cacheControl: 'max-age=1' }, metadata: { owner: 'b' }, storageClass: 'GLACIER', encryption: { algorithm: 'AES256' } };
  assert.deepEqual(metadataDifferences(true, want, other, { t: '2', u: '' }), [
    'content-type: destination "text/plain", source "text/html"',
    'cache-control: destination "max-age=1", source "no-cache"',
    'expires: destination none, source "Wed, 21 Oct 2037 07:28:00 GMT"',
    'metadata owner: destination "b", source "a"',
    'metadata title: destination none, source "=?UTF-8?B?5L2g5aW9?="',
    'tag t: destination "2", source "1"',
    'tag u: destination "", source none',
    'storage class: destination "GLACIER", source "STANDARD"',
    'encryption: destination "AES256", source "kms k1"',
  ]);
  assert.deepEqual(metadataDifferences(false, want, { ...same, storageClass: 'GLACIER', encryption: undefined }, undefined), [], 'class and SSE only when the job set them; tags only when read');
});

test('metadata.sidecar: the fs side(s) open with sidecars; refused when neither side is fs', () => {
  const job = parseJob({ name: 'j', source: { type: 's3', bucket: 'b' }, destination: { type: 'fs', path: '/d' }, metadata: { sidecar: true } });
  assert.equal(job.destination.sidecar, true);
  assert.equal(job.source.sidecar, undefined);
  const back = parseJob({ name: 'j', source: { type: 'fs', path: '/d' }, destination: { type: 's3', bucket: 'b' }, metadata: { sidecar: true } });
  assert.equal(back.source.sidecar, true);
  assert.throws(() => parseJob({ name: 'j', source: { type: 's3', bucket: 'a' }, destination: { type: 's3', bucket: 'b' }, metadata: { sidecar: true } }), /metadata.sidecar: only with an fs source or destination, not s3 → s3/);
});
