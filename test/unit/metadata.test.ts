/**
 * headerMetadata: printable ASCII travels as it is, other text as one RFC 2047 encoded-word that decodes back
 * exactly, and names or values no header can carry are refused with an InvalidMetadataError naming key and field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerMetadata } from '../../common/metadata';
import { InvalidMetadataError, isRetryable } from '../../common/errors';

/** The reading side, as a reference independent of the code under test (one B-encoded UTF-8 word). */
function decodeWord(value: string): string {
  const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/.exec(value);
  assert.ok(m, `${value} is one encoded-word`);
  return Buffer.from(m[1]!, 'base64').toString('utf8');
}

test('printable ASCII, tab and an existing encoded-word pass unchanged', () => {
  const metadata = { owner: 'team-a', 'x-trace': 'abc 123 !"#$%&()*+,-./:;<=>?@[\\]^_`{|}~', tabbed: 'a\tb', empty: '', word: '=?UTF-8?B?5L2g5aW9?=' };
  assert.deepEqual(headerMetadata('k', metadata), metadata);
});

test('non-ASCII values become one encoded-word that decodes back exactly', () => {
  for (const text of ['你好，世界', 'party 🎉🦀', 'café', 'é', 'ÿ\u0100', 'mixed ASCII and 中文 and \u{1F600}']) {
    const out = headerMetadata('k', { note: text })!;
    assert.match(out.note!, /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    assert.equal(decodeWord(out.note!), text);
  }
  assert.equal(headerMetadata('k', { note: '你好' })!.note, '=?UTF-8?B?5L2g5aW9?=', 'the form the S3 console writes');
});

test('a destination that keeps no metadata refuses nothing', () => {
  const metadata = { 'bad name': 'x\r\ny' };
  assert.equal(headerMetadata('k', metadata, false), metadata);
  assert.equal(headerMetadata('k', undefined), undefined);
});

test('control characters in values and non-token names are refused, naming key and field', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ note: 'line1\r\nInjected: yes' }, /"note".*"photos\/a b\.jpg".*"line1\\r\\nInjected: yes".*U\+000D/],
    [{ note: 'lf\nonly' }, /"note".*U\+000A/],
    [{ nul: 'a\0b' }, /"nul".*U\+0000/],
    [{ del: 'a\x7fb' }, /"del".*U\+007F/],
    [{ c1: 'a\u0085b' }, /"c1".*U\+0085/],
    [{ 'has space': 'v' }, /"has space".*not an HTTP token/],
    [{ 'ключ': 'v' }, /"ключ".*not an HTTP token/],
    [{ 'a:b': 'v' }, /"a:b".*not an HTTP token/],
    [{ '': 'v' }, /"".*not an HTTP token/],
  ];
  for (const [metadata, message] of cases) {
    assert.throws(
      () => headerMetadata('photos/a b.jpg', { fine: 'ok', ...metadata }),
      (e: unknown) => {
        assert.ok(e instanceof InvalidMetadataError, String(e));
        assert.equal(e.name, 'InvalidMetadataError');
        assert.equal(isRetryable(e), false);
        assert.match(e.message, /"photos\/a b\.jpg"/);
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

test('long values: encoded whole; a refused one is cut in the message', () => {
  const long = 'ü'.repeat(4000);
  assert.equal(decodeWord(headerMetadata('k', { long })!.long!), long);
  const ascii = 'a'.repeat(8000);
  assert.equal(headerMetadata('k', { ascii })!.ascii, ascii);
  const bad = `${'x'.repeat(100_000)}\n`;
  assert.throws(() => headerMetadata('k', { bad }), (e: unknown) => {
    assert.ok(e instanceof InvalidMetadataError);
    assert.ok(e.message.length < 300, e.message);
    assert.match(e.message, /"bad".*"x{40}"… \(100001 characters\).*U\+000A/);
    return true;
  });
  const longName = 'n'.repeat(5000);
  assert.throws(() => headerMetadata('k', { [`${longName} `]: 'v' }), (e: unknown) => e instanceof InvalidMetadataError && e.message.length < 300);
});

test('a __proto__ name stays an own entry', () => {
  const metadata = JSON.parse('{"__proto__":"é"}') as Record<string, string>;
  const out = headerMetadata('k', metadata)!;
  assert.deepEqual(Object.keys(out), ['__proto__']);
  assert.equal(decodeWord(Object.getOwnPropertyDescriptor(out, '__proto__')!.value as string), 'é');
});
