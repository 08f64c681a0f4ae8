/** The listing guard (storage/listing-guard.ts): pages that do not advance, out-of-order pages, the V1 fallback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPage, listAdvancing, orderedPage, type ListVersion, type ListingMode, type RawListPage } from '../../storage/listing-guard';
import { ListingNotAdvancingError, ListingOutOfOrderError, NON_RETRYABLE_ERROR_NAMES } from '../../common/errors';

const place = { endpoint: 'http://store.example:9000', bucket: 'bkt' };
const page = (keys: string[], truncated = true): RawListPage<{ key: string }> => ({ objects: keys.map((key) => ({ key })), truncated });

test('checkPage: in-order pages after the start pass; the first page of a listing has no start', () => {
  assert.deepEqual(checkPage(['a', 'b', 'c'], undefined, true), { kind: 'ok', resorted: false });
  assert.deepEqual(checkPage(['d', 'e'], 'c', false), { kind: 'ok', resorted: false });
  assert.deepEqual(checkPage([], 'c', false), { kind: 'ok', resorted: false });
});

test('checkPage: keys compare in UTF-8 byte order, not UTF-16 (U+FFFD sorts before U+1F600)', () => {
  assert.deepEqual(checkPage(['\uFFFD', '\u{1F600}'], 'a', true), { kind: 'ok', resorted: false });
  assert.deepEqual(checkPage(['\u{1F600}', '\uFFFD'], 'a', true), { kind: 'ok', resorted: true });
});

test('checkPage: a page starting at or before the start ignored it (whole or partly repeated, in order or not)', () => {
  assert.deepEqual(checkPage(['a', 'b', 'c'], 'c', true), { kind: 'startIgnored', first: 'a' });
  assert.deepEqual(checkPage(['a', 'b', 'c', 'd'], 'b', true), { kind: 'startIgnored', first: 'a' });
  assert.deepEqual(checkPage(['c', 'd'], 'c', true), { kind: 'startIgnored', first: 'c' });
  assert.deepEqual(checkPage(['b', 'a'], 'c', true), { kind: 'startIgnored', first: 'b' });
});

test('checkPage: unordered pages are sorted when every key is after the start, refused when they mix in earlier keys or repeat one', () => {
  assert.deepEqual(checkPage(['f', 'd', 'e'], 'c', true), { kind: 'ok', resorted: true });
  assert.deepEqual(checkPage(['f', 'a', 'e'], 'c', true), { kind: 'outOfOrder', key: 'a' });
  assert.deepEqual(checkPage(['e', 'd', 'e'], 'c', true), { kind: 'duplicate', key: 'e' });
  assert.deepEqual(checkPage(['d', 'd'], 'c', true), { kind: 'duplicate', key: 'd' });
});

test('checkPage: a truncated page without keys cannot be continued', () => {
  assert.deepEqual(checkPage([], 'c', true), { kind: 'empty' });
  assert.deepEqual(checkPage([], undefined, true), { kind: 'empty' });
});

test('orderedPage sorts a shuffled page and names endpoint, bucket and key in its errors', () => {
  assert.deepEqual(orderedPage(page(['f', 'd', 'e']), 'c', place, [2]).map((o) => o.key), ['d', 'e', 'f']);
  assert.throws(
    () => orderedPage(page(['a', 'b']), 'b', place, [2, 1]),
    (e: unknown) =>
      e instanceof ListingNotAdvancingError &&
      e.code === 'ListingNotAdvancing' &&
      /http:\/\/store\.example:9000 bucket bkt/.test(e.message) &&
      /after "b"/.test(e.message) &&
      /ListObjectsV2 start-after and the ListObjects V1 marker/.test(e.message),
  );
  assert.throws(() => orderedPage(page([]), 'q', place, [2]), (e: unknown) => e instanceof ListingNotAdvancingError && /after "q"/.test(e.message));
  assert.throws(() => orderedPage(page(['f', 'a']), 'c', { ...place, prefix: 'p/' }, [2]), (e: unknown) => e instanceof ListingOutOfOrderError && e.code === 'ListingOutOfOrder' && /prefix "p\/"/.test(e.message) && /"a"/.test(e.message));
});

test('both listing errors are non-retryable for Temporal', () => {
  assert.ok(NON_RETRYABLE_ERROR_NAMES.includes('ListingNotAdvancingError'));
  assert.ok(NON_RETRYABLE_ERROR_NAMES.includes('ListingOutOfOrderError'));
  assert.equal(new ListingNotAdvancingError('x').retryable, false);
});

/** A fake store of keys k000…k(n-1) answering pages of 3; `honours` says which start parameters it applies. */
function fakeStore(n: number, honours: Set<ListVersion>) {
  const keys = Array.from({ length: n }, (_, i) => `k${String(i).padStart(3, '0')}`);
  const calls: ListVersion[] = [];
  const fetch = (startAfter: string | undefined) => async (version: ListVersion) => {
    calls.push(version);
    const from = startAfter !== undefined && honours.has(version) ? keys.findIndex((k) => k > startAfter) : 0;
    const objects = keys.slice(from < 0 ? keys.length : from, (from < 0 ? keys.length : from) + 3).map((key) => ({ key }));
    return { objects, truncated: from >= 0 && from + 3 < keys.length };
  };
  return { keys, calls, fetch };
}

async function listAll(store: ReturnType<typeof fakeStore>, mode: ListingMode, warnings: string[]): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const p = await listAdvancing(store.fetch(after), after, mode, place, (m) => warnings.push(m));
    out.push(...p.objects.map((o) => o.key));
    if (!p.next) return out;
    after = p.next;
  }
  throw new Error('listing did not end');
}

test('listAdvancing: a store that honours start-after lists with V2 only', async () => {
  const store = fakeStore(10, new Set([1, 2]));
  const warnings: string[] = [];
  const mode: ListingMode = { version: 2 };
  assert.deepEqual(await listAll(store, mode, warnings), store.keys);
  assert.ok(store.calls.every((v) => v === 2));
  assert.deepEqual(warnings, []);
});

test('listAdvancing: a store that ignores start-after is asked again with marker, then with V1 only, warning once', async () => {
  const store = fakeStore(10, new Set([1]));
  const warnings: string[] = [];
  const mode: ListingMode = { version: 2 };
  assert.deepEqual(await listAll(store, mode, warnings), store.keys);
  assert.equal(mode.version, 1);
  assert.deepEqual(store.calls, [2, 2, 1, 1, 1]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /http:\/\/store\.example:9000: the server ignores ListObjectsV2 start-after/);
});

test('listAdvancing: a store that ignores both fails on the second page, naming the key it was stuck at', async () => {
  const store = fakeStore(10, new Set());
  const mode: ListingMode = { version: 2 };
  await assert.rejects(listAll(store, mode, []), (e: unknown) => e instanceof ListingNotAdvancingError && /after "k002"/.test(e.message) && /starts at "k000"/.test(e.message));
  assert.equal(mode.version, 2, 'V1 did not help: nothing learnt');
});

test('listAdvancing: listVersion 1 from the start never sends V2; a V1 page that ignores the marker fails at once', async () => {
  const store = fakeStore(10, new Set([1]));
  assert.deepEqual(await listAll(store, { version: 1 }, []), store.keys);
  assert.ok(store.calls.every((v) => v === 1));
  const deaf = fakeStore(10, new Set());
  await assert.rejects(listAll(deaf, { version: 1 }, []), (e: unknown) => e instanceof ListingNotAdvancingError && /ignored the ListObjects V1 marker:/.test(e.message));
  assert.deepEqual(deaf.calls, [1, 1]);
});
