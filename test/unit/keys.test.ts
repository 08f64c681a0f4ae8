import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys, keyByteLength, mapKey } from '../../common/keys';

test('compareKeys orders by UTF-8 bytes, not UTF-16 code units', () => {
  // U+FF5E (EF BD 9E) < U+1F600 (F0 9F 98 80) in UTF-8, but '\uFF5E' > '\uD83D' in UTF-16.
  assert.ok(compareKeys('\uFF5E', '😀') < 0);
  assert.ok('\uFF5E' > '😀', 'JS string order differs, which is why compareKeys exists');
  assert.ok(compareKeys('a-b', 'a/b') < 0);
  assert.ok(compareKeys('a/b', 'a0') < 0);
  assert.equal(compareKeys('x', 'x'), 0);
  assert.ok(compareKeys('ab', 'abc') < 0);
  const keys = ['b', 'a/😀', 'a/\uFF5E', 'a/z', 'A', 'a'];
  assert.deepEqual([...keys].sort(compareKeys), ['A', 'a', 'a/z', 'a/\uFF5E', 'a/😀', 'b']);
});

test('keyByteLength counts UTF-8 bytes', () => {
  assert.equal(keyByteLength('abc'), 3);
  assert.equal(keyByteLength('é'), 2);
  assert.equal(keyByteLength('😀'), 4);
});

test('mapKey replaces the source prefix with the destination prefix', () => {
  assert.equal(mapKey('2024/a.jpg', '2024/', 'from-s3/'), 'from-s3/a.jpg');
  assert.equal(mapKey('a.jpg', undefined, undefined), 'a.jpg');
  assert.equal(mapKey('2024/a.jpg', '', 'x/'), 'x/2024/a.jpg');
});
