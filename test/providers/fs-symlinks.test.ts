/**
 * Symbolic links in an fs source: by default every link is listed (size 0) and stat/get refuse it with
 * SymlinkSkippedError naming its target; with `followSymlinks: true` links whose real path stays under the root are
 * followed (file links copied, directory links descended, cycles cut) and the rest refused with the reason.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { openFsProvider } from '../../storage/fs/fs';
import { openProvider } from '../../storage/registry';
import type { ObjectProvider } from '../../storage/provider';
import { createActivities } from '../../activities';
import { SymlinkSkippedError } from '../../common/errors';
import { compareKeys } from '../../common/keys';
import { parseJob } from '../../common/job';
import type { BatchInput, BatchResult } from '../../common/contracts';
import { tempDir } from '../support/process';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * root/ a/file.txt  a/b.txt → ../x.txt  a/loop → ../a (a cycle)  a/loop.txt  d → a  d.txt  x.txt
 *       out.txt → <outside>/secret.txt   gone.txt → nowhere.txt (dangling)
 */
function tree(): { root: string; outside: string } {
  const base = tempDir('fs-symlinks');
  dirs.push(base);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  writeFileSync(join(root, 'x.txt'), 'x-content');
  writeFileSync(join(root, 'd.txt'), 'dd');
  writeFileSync(join(root, 'a', 'file.txt'), 'file');
  writeFileSync(join(root, 'a', 'loop.txt'), 'l');
  symlinkSync('../x.txt', join(root, 'a', 'b.txt'));
  symlinkSync('../a', join(root, 'a', 'loop'));
  symlinkSync('a', join(root, 'd'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'out.txt'));
  symlinkSync('nowhere.txt', join(root, 'gone.txt'));
  return { root, outside };
}

async function listAll(p: ObjectProvider, limit = 1000): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for (let startAfter: string | undefined; ; ) {
    const page = await p.list({ limit, startAfter });
    out.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
    if (!page.next) return out;
    startAfter = page.next;
  }
}

async function body(p: ObjectProvider, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of (await p.get(key)).body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Asserts that `op` throws SymlinkSkippedError whose message names `key`, `target` and matches `reason`. */
async function refused(op: Promise<unknown>, key: string, target: string, reason: RegExp): Promise<void> {
  await assert.rejects(op, (e: Error) => {
    assert.ok(e instanceof SymlinkSkippedError, `${e.name}: ${e.message}`);
    assert.ok(e.message.includes(JSON.stringify(key)) && e.message.includes(JSON.stringify(target)), e.message);
    assert.match(e.message, reason);
    return true;
  });
}

test('by default every link is listed with size 0 and stat/get refuse it, naming the target', async () => {
  const { root, outside } = tree();
  const p = openFsProvider({ type: 'fs', path: root });
  const want = [
    { key: 'a/b.txt', size: 0 },
    { key: 'a/file.txt', size: 4 },
    { key: 'a/loop', size: 0 },
    { key: 'a/loop.txt', size: 1 },
    { key: 'd', size: 0 },
    { key: 'd.txt', size: 2 },
    { key: 'gone.txt', size: 0 },
    { key: 'out.txt', size: 0 },
    { key: 'x.txt', size: 9 },
  ];
  assert.deepEqual(await listAll(p), want);
  assert.deepEqual(await listAll(p, 2), want, 'pages of 2');
  const notFollowed = /not followed.*followSymlinks: true/;
  await refused(p.stat('a/b.txt'), 'a/b.txt', '../x.txt', notFollowed);
  await refused(p.get('a/b.txt'), 'a/b.txt', '../x.txt', notFollowed);
  await refused(p.stat('d'), 'd', 'a', notFollowed);
  await refused(p.get('d'), 'd', 'a', notFollowed);
  await refused(p.get('out.txt'), 'out.txt', join(outside, 'secret.txt'), notFollowed);
  // A key through a directory link names that link.
  await refused(p.get('d/file.txt'), 'd', 'a', notFollowed);
  assert.deepEqual((await p.list({ prefix: 'd/' })).objects, [], 'no walk through a link by prefix either');
  assert.equal(await body(p, 'a/file.txt'), 'file');
});

test('followSymlinks: true follows links under the root, descends directory links once and refuses the rest', async () => {
  const { root, outside } = tree();
  const p = openFsProvider({ type: 'fs', path: root, followSymlinks: true });
  const want = [
    { key: 'a/b.txt', size: 9 },
    { key: 'a/file.txt', size: 4 },
    { key: 'a/loop', size: 0 },
    { key: 'a/loop.txt', size: 1 },
    { key: 'd.txt', size: 2 },
    { key: 'd/b.txt', size: 9 },
    { key: 'd/file.txt', size: 4 },
    { key: 'd/loop', size: 0 },
    { key: 'd/loop.txt', size: 1 },
    { key: 'gone.txt', size: 0 },
    { key: 'out.txt', size: 0 },
    { key: 'x.txt', size: 9 },
  ];
  assert.deepEqual([...want].sort((x, y) => compareKeys(x.key, y.key)), want, 'the expectation is in byte order');
  assert.deepEqual(await listAll(p), want);
  for (const limit of [1, 2, 3, 5]) assert.deepEqual(await listAll(p, limit), want, `pages of ${limit}`);
  assert.deepEqual((await p.list({ prefix: 'd/' })).objects.map((o) => o.key), ['d/b.txt', 'd/file.txt', 'd/loop', 'd/loop.txt']);
  assert.deepEqual((await p.list({ prefix: 'a/loop/' })).objects, [], 'a cycle is not walked by prefix either');

  assert.equal(await body(p, 'a/b.txt'), 'x-content');
  assert.equal((await p.stat('a/b.txt')).size, 9);
  assert.equal(await body(p, 'd/file.txt'), 'file');
  assert.equal((await p.stat('d/b.txt')).size, 9);
  await refused(p.stat('out.txt'), 'out.txt', join(outside, 'secret.txt'), /outside the root/);
  await refused(p.get('out.txt'), 'out.txt', join(outside, 'secret.txt'), /outside the root/);
  await refused(p.stat('gone.txt'), 'gone.txt', 'nowhere.txt', /dangling/);
  await refused(p.get('gone.txt'), 'gone.txt', 'nowhere.txt', /dangling/);
  await refused(p.get('a/loop'), 'a/loop', '../a', /cycle/);
});

test('a directory link out of the root is refused by name, and its files are not listed', async () => {
  const { root, outside } = tree();
  symlinkSync(outside, join(root, 'ext'));
  const p = openFsProvider({ type: 'fs', path: root, followSymlinks: true });
  const keys = (await listAll(p)).map((o) => o.key);
  assert.ok(keys.includes('ext') && !keys.some((k) => k.startsWith('ext/')), keys.join(' '));
  await refused(p.stat('ext'), 'ext', outside, /outside the root/);
  await refused(p.get('ext/secret.txt'), 'ext', outside, /outside the root/);
});

test('the copy activity reports a source link as a SymlinkSkippedError failure and copies the other files', async () => {
  for (const serverSide of [true, false]) {
    const base = tempDir('fs-symlinks-copy');
    dirs.push(base);
    const src = join(base, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    mkdirSync(join(base, 'dst'));
    writeFileSync(join(src, 'ok.txt'), 'ok');
    writeFileSync(join(src, 'sub', 'ok2.txt'), 'ok2');
    symlinkSync('ok.txt', join(src, 'link.txt'));
    const reportDir = join(base, 'reports');
    const activities = createActivities({
      reportDir,
      openProvider: (spec, ctx) => {
        const p = openProvider(spec, ctx);
        // Another endpoint than the source's: objects are read and written instead of copied by the fs itself.
        return serverSide || spec.path === src ? p : Object.assign(Object.create(p) as ObjectProvider, { endpointId: 'fs-destination-under-test' });
      },
    });
    const job = parseJob({ name: 'symlinks', source: { type: 'fs', path: src }, destination: { type: 'fs', path: join(base, 'dst') }, concurrency: { tasks: 1, objects: 1 } });
    const input: BatchInput = { job, runTag: 'r', taskId: 't', parentId: 'p', round: 0, n: 0, batch: 0, range: { last: 'sub/ok2.txt' }, limits: job.limits };
    const result = (await new MockActivityEnvironment().run(activities.copyRange, input)) as BatchResult;
    const what = `serverSide ${serverSide}: ${JSON.stringify(result)}`;
    assert.equal(result.objects.copied, 2, what);
    assert.equal(result.objects.failed, 1, what);
    assert.deepEqual(result.failures.map((f) => [f.key, f.errorClass]), [['link.txt', 'SymlinkSkippedError']], what);
    assert.match(result.failures[0]!.message, /"ok\.txt"/, what);
    assert.equal(readFileSync(join(base, 'dst', 'ok.txt'), 'utf8'), 'ok');
    assert.equal(readFileSync(join(base, 'dst', 'sub', 'ok2.txt'), 'utf8'), 'ok2');
    assert.equal(existsSync(join(base, 'dst', 'link.txt')), false, what);
    const logDir = join(reportDir, 'symlinks', 'r', 'failures');
    const logged = readdirSync(logDir).flatMap((f) => readFileSync(join(logDir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; errorClass: string }));
    assert.deepEqual(logged.map((f) => [f.key, f.errorClass]), [['link.txt', 'SymlinkSkippedError']], what);
  }
});

test('followSymlinks: true — a stat or get of a top-level link as the first call on a fresh provider follows it', async () => {
  const { root, outside } = tree();
  symlinkSync('x.txt', join(root, 'top.txt'));
  const open = () => openFsProvider({ type: 'fs', path: root, followSymlinks: true });
  assert.equal((await open().stat('top.txt')).size, 9);
  assert.equal(await body(open(), 'top.txt'), 'x-content');
  await refused(open().stat('out.txt'), 'out.txt', join(outside, 'secret.txt'), /outside the root/);
});
