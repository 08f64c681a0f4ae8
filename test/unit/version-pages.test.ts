/**
 * Version listings as providers hand them out (storage/version-pages.ts) over a store simulated in memory: whole keys
 * per page, the true order within a key whatever the page layout (interleaved, versions before delete markers, equal
 * times), inclusive markers; and the merge of per-batch version maps (activities/version-map.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wholeKeyPage, type FetchVersions } from '../../storage/version-pages';
import { keyEntries } from '../../storage/versions';
import { writeVersionMap, type VersionMapLine } from '../../activities/version-map';
import type { ObjectInfo } from '../../storage/provider';
import { tempDir } from '../support/process';

/** One entry of the simulated store; `t` its time (equal times model one-second resolution). */
const v = (key: string, id: string, t: number, marker = false): ObjectInfo => ({ key, versionId: id, lastModified: t, size: marker ? 0 : 1, position: key, ...(marker ? { deleteMarker: true } : {}) });

/** The store's true listing: keys ascending, newest first. `layout` says how it writes a page. */
function store(truth: ObjectInfo[], layout: { grouped?: boolean; inclusive?: boolean } = {}): { fetch: FetchVersions; requests: number } {
  const latest = new Set<ObjectInfo>();
  for (const e of truth) if (![...latest].some((l) => l.key === e.key)) latest.add(e);
  const s = {
    requests: 0,
    fetch: (async (q) => {
      s.requests++;
      const all = truth.filter((e) => !q.prefix || e.key.startsWith(q.prefix)).map((e) => ({ ...e, isLatest: latest.has(e) }));
      let start = 0;
      if (q.keyMarker !== undefined) {
        const at = q.versionIdMarker !== undefined ? all.findIndex((e) => e.key === q.keyMarker && e.versionId === q.versionIdMarker) : -1;
        start = at >= 0 ? (layout.inclusive ? at : at + 1) : all.findIndex((e) => e.key > q.keyMarker!);
        if (start < 0) start = all.length;
      }
      let page = all.slice(start, start + q.maxKeys);
      const truncated = start + q.maxKeys < all.length;
      const last = page[page.length - 1];
      if (layout.grouped) page = [...page.filter((e) => !e.deleteMarker), ...page.filter((e) => e.deleteMarker)];
      return { entries: page, truncated, ...(truncated && last ? { nextKeyMarker: last.key, nextVersionIdMarker: last.versionId } : {}) };
    }) as FetchVersions,
  };
  return s;
}

async function listAll(fetch: FetchVersions, limit: number): Promise<ObjectInfo[][]> {
  const pages: ObjectInfo[][] = [];
  let startAfter: string | undefined;
  for (;;) {
    const p = await wholeKeyPage(fetch, { startAfter, limit }, 'test');
    pages.push(p.versions);
    if (!p.next) return pages;
    startAfter = p.next;
  }
}

const ids = (pages: ObjectInfo[][]) => pages.flat().map((e) => e.versionId);

describe('version pages', () => {
  const truth = [v('a', 'a5', 5), v('a', 'dm', 5, true), v('a', 'a3', 5), v('a', 'a2', 4), v('b', 'b2', 7, true), v('b', 'b1', 7), v('c', 'c1', 1)];

  for (const layout of [{}, { grouped: true }, { inclusive: true }, { grouped: true, inclusive: true }]) {
    it(`keeps the true order and whole keys (${JSON.stringify(layout)})`, async () => {
      for (const limit of [1, 2, 3, 1000]) {
        const pages = await listAll(store(truth, layout).fetch, limit);
        assert.deepEqual(ids(pages), truth.map((e) => e.versionId), `limit ${limit}`);
        const keysSeen = pages.map((p) => new Set(p.map((e) => e.key)));
        for (let i = 1; i < keysSeen.length; i++) for (const k of keysSeen[i]!) assert.ok(!keysSeen[i - 1]!.has(k), `limit ${limit}: key ${k} split`);
      }
    });
  }

  it('lists one entry per page only for a key whose order the page did not prove', async () => {
    const interleaved = store(truth);
    await listAll(interleaved.fetch, 1000);
    assert.equal(interleaved.requests, 1, 'an interleaved page proves its order');
    const grouped = store(truth, { grouped: true });
    await listAll(grouped.fetch, 1000);
    assert.ok(grouped.requests > 1 && grouped.requests <= 1 + 5 + 3, `${grouped.requests} requests: a and b listed one by one`);
  });

  it('groups a page into one entry per key: sizes summed, versions oldest first', () => {
    const entries = keyEntries({ versions: truth });
    assert.deepEqual(entries.map((e) => [e.key, e.size, e.versions!.map((x) => x.versionId)]), [
      ['a', 3, ['a2', 'a3', 'dm', 'a5']],
      ['b', 1, ['b1', 'b2']],
      ['c', 1, ['c1']],
    ]);
  });
});

describe('version map', () => {
  it('merges batch files into one line per source version, in key and history order, past a torn line', async () => {
    const run = tempDir('version-map');
    mkdirSync(join(run, 'versions'));
    const line = (key: string, n: number, dst: string): VersionMapLine => ({ key, sourceVersionId: `${key}${n}`, destinationKey: key, destinationVersionId: dst, n });
    writeFileSync(join(run, 'versions', 'r0-t0-b0.jsonl'), [line('b', 1, 'x'), line('a', 0, 'old')].map((l) => JSON.stringify(l)).join('\n') + '\n{"key":"a","sou');
    writeFileSync(join(run, 'versions', 'r0-t0-b1.jsonl'), [line('a', 0, 'new'), line('a', 1, 'y'), line('b', 0, 'z')].map((l) => `${JSON.stringify(l)}\n`).join(''));
    assert.equal(await writeVersionMap(run), 4);
    const merged = readFileSync(join(run, 'versions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VersionMapLine);
    assert.deepEqual(merged.map((l) => [l.key, l.n, l.destinationVersionId]), [['a', 0, 'new'], ['a', 1, 'y'], ['b', 0, 'z'], ['b', 1, 'x']]);
  });
});
