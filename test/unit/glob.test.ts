/** Filter globs (common/glob.ts): picomatch plus our anchoring, literal regex characters, and hostile keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, compileGlob } from '../../common/glob';
import { InvalidConfigError } from '../../common/errors';

/** Each row: pattern, key, whether the key matches. */
type Case = readonly [pattern: string, key: string, matches: boolean];

function check(cases: readonly Case[]): void {
  for (const [pattern, key, matches] of cases) {
    assert.equal(compileGlob(pattern)(key), matches, `${JSON.stringify(pattern)} vs key ${JSON.stringify(key)}`);
  }
}

test('escapes: \\ makes the next character literal, and never becomes a RegExp escape', () => {
  check([
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a\\?b', 'a?b', true],
    ['a\\?b', 'axb', false],
    ['\\[ab]', '[ab]', true],
    ['\\[ab]', 'a', false],
    ['\\{a,b}', '{a,b}', true],
    ['\\{a,b}', 'a', false],
    ['a\\\\b', 'a\\b', true], // `\\` is one literal backslash
    ['\\d.txt', 'd.txt', true], // not the RegExp digit class
    ['\\d.txt', '1.txt', false],
    ['a\\bc', 'abc', true], // not a word boundary
    ['end\\', 'end\\', true], // a trailing backslash is literal
  ]);
});

test('braces: alternatives nest, and a {,x} alternative may be empty', () => {
  check([
    ['{a,{b,c}}/*.txt', 'a/x.txt', true],
    ['{a,{b,c}}/*.txt', 'c/x.txt', true],
    ['{a,{b,c}}/*.txt', 'd/x.txt', false],
    ['{a,{b,c}}/*.txt', '{b,c}/x.txt', false],
    ['{a,{b,c}}/*.txt', 'c/sub/x.txt', false],
    ['report{,.bak}', 'r/report', true],
    ['report{,.bak}', 'report.bak', true],
    ['report{,.bak}', 'report.old', false],
  ]);
});

test('character classes: ranges, [!…] and [^…] negation, POSIX classes, never across /', () => {
  check([
    ['[0-9]?.log', 'b/12.log', true],
    ['[0-9]?.log', 'b/x2.log', false],
    ['[!a-z].txt', 'A.txt', true],
    ['[!a-z].txt', 'a.txt', false],
    ['[^a-z].txt', 'a.txt', false],
    ['[^a-z].txt', '_.txt', true],
    ['x[!a]y', 'x/y', false],
    ['[[:digit:]].txt', '7.txt', true],
    ['[[:digit:]].txt', 'x.txt', false],
    ['[[]x', '[x', true],
    ['[abc.txt', '[abc.txt', true], // unclosed `[` is literal
    ['[abc.txt', 'a.txt', false],
  ]);
});

test('** at the start, middle and end; * and ? stay within a segment', () => {
  check([
    ['**/*.jpg', 'c.jpg', true],
    ['**/*.jpg', 'a/b/c.jpg', true],
    ['**/*.jpg', 'a/b/c.png', false],
    ['a/**/z.txt', 'a/z.txt', true],
    ['a/**/z.txt', 'a/b/c/z.txt', true],
    ['a/**/z.txt', 'b/a/z.txt', false],
    ['tmp/**', 'tmp/', true],
    ['tmp/**', 'tmp/a/b', true],
    ['tmp/**', 'tmp', false], // the object named `tmp` is not inside tmp/
    ['tmp/**', 'tmpx/a', false],
    ['docs/*.txt', 'docs/x.txt', true],
    ['docs/*.txt', 'docs/sub/x.txt', false],
    ['docs/?.txt', 'docs/a.txt', true],
    ['docs/?.txt', 'docs/ab.txt', false],
    ['a**b', 'axxb', true], // `**` inside a segment is a plain `*`
    ['a**b', 'a/x/b', false],
    ['/top/*', 'top/a', true], // a leading / is dropped
    ['*.jpg', 'a/x.jpg/', false], // a trailing / is part of the key
    ['a/*/b', 'a//b', true], // an empty segment is still a segment
  ]);
});

test('a pattern without / matches the last segment anywhere; with / it is anchored', () => {
  check([
    ['*.bak', 'x.bak', true],
    ['*.bak', 'deep/down/x.bak', true],
    ['*.bak', 'x.bak/y', false],
    ['b/*.bak', 'b/x.bak', true],
    ['b/*.bak', 'a/b/x.bak', false],
  ]);
});

test('dotfiles and dot folders match like any other name', () => {
  check([
    ['*', '.env', true],
    ['**/*.json', '.config/app/.settings.json', true],
    ['**', '.git/HEAD', true],
    ['.cache/**', '.cache/x', true],
    ['.cache/**', 'cache/x', false],
  ]);
});

test('. and .. segments are matched only when spelled out (picomatch rule, pinned)', () => {
  check([
    ['**/*.jpg', 'a/../c.jpg', false],
    ['a/../*.jpg', 'a/../c.jpg', true],
    ['**/*.jpg', 'a/./c.jpg', false],
  ]);
});

test('unicode keys and patterns; case-sensitive', () => {
  check([
    ['Ünïcødé/*.txt', 'Ünïcødé/x.txt', true],
    ['Ünïcødé/*.txt', 'Unicode/x.txt', false],
    ['照片/**/*.jpg', '照片/2024/海.jpg', true],
    ['*.txt', '😀.txt', true],
    ['?.txt', 'é.txt', true],
    ['?.txt', 'ab.txt', false],
    ['*.JPG', 'a.jpg', false],
    ['*.jpg', 'A.JPG', false],
    ['*.jpg', 'a\nb.jpg', true], // newlines in keys are ordinary characters
    ['a/**', 'a/x\n/y', true],
  ]);
});

test('keys containing glob or RegExp metacharacters are only ever matched, never interpreted', () => {
  check([
    // A key equal to the pattern text is not a match by itself (picomatch.isMatch would say so).
    ['[abc].jpg', '[abc].jpg', false],
    ['[abc].jpg', 'a.jpg', true],
    ['{a,b}.txt', '{a,b}.txt', false],
    ['*.txt', '[x]{y}*?\\ (1) $^+|.txt', true],
    ['*.txt', 'a\\b/c.txt', true], // `\` in a key is not a separator
    ['a\\b/*.txt', 'a\\b/c.txt', false], // …and in a pattern it escapes: `a\b` is `ab`
    ['a\\\\b/*.txt', 'a\\b/c.txt', true],
    // Characters picomatch would hand to the RegExp engine are literal in a pattern.
    ['photo (1).jpg', 'x/photo (1).jpg', true],
    ['photo (1).jpg', 'photo 1.jpg', false],
    ['a|b.jpg', 'a|b.jpg', true],
    ['a|b.jpg', 'b.jpg', false],
    ['+(a).txt', '+(a).txt', true],
    ['+(a).txt', 'aa.txt', false],
    ['$x^.+', '$x^.+', true],
    ['$x^.+', '$x^a+', false],
    ['"*".txt', '"x".txt', true], // quotes do not quote
    ['"*".txt', '*.txt', false],
    ['!tmp/**', '!tmp/x', true], // a leading ! is not negation
    ['!tmp/**', 'other', false],
    ['a}.txt', 'a}.txt', true],
    ['a,b', 'a,b', true],
  ]);
});

test('a pattern that cannot compile is a config error naming it, not a silent no-match', () => {
  assert.throws(() => compileGlob('{a.txt'), (e: unknown) => e instanceof InvalidConfigError && e.message.includes('"{a.txt"'));
  assert.throws(() => compileFilter([], ['ok/**', 'x{y']), InvalidConfigError);
  assert.equal(compileGlob('\\{a.txt')('{a.txt'), true);
});

test('include and exclude: no include list means everything, exclude wins over include', () => {
  const all = compileFilter(undefined, undefined);
  assert.equal(all('any/key'), true);
  assert.equal(compileFilter([], [])('any/key'), true);

  const onlyExclude = compileFilter(undefined, ['tmp/**', '*.bak']);
  assert.equal(onlyExclude('a/b.jpg'), true);
  assert.equal(onlyExclude('tmp/b.jpg'), false);
  assert.equal(onlyExclude('deep/x.bak'), false);

  const f = compileFilter(['**/*.jpg', 'docs/*.txt'], ['tmp/**', '*.bak.jpg', '.*/**']);
  assert.equal(f('a/b/c.jpg'), true);
  assert.equal(f('docs/x.txt'), true);
  assert.equal(f('docs/sub/x.txt'), false); // not included
  assert.equal(f('a/c.png'), false); // not included
  assert.equal(f('tmp/a.jpg'), false); // included, then excluded
  assert.equal(f('a/old.bak.jpg'), false);
  assert.equal(f('.trash/a.jpg'), false);
  assert.equal(f('a/.trash/a.jpg'), true); // `.*/**` is anchored at the top
  // Any one include is enough; any one exclude is enough.
  const g = compileFilter(['a/*', 'b/*'], ['*/x', '*/y']);
  assert.deepEqual(['a/1', 'b/2', 'c/3', 'a/x', 'b/y'].map(g), [true, true, false, false, false]);
});
