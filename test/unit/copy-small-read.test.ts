/** The copy path's whole-body read of small objects (activities/copy.ts readWhole): exact, short, long and failing bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { _internal } from '../../activities/copy';

const { readWhole } = _internal;

test('a body of the listed size is read whole, from one chunk or many', async () => {
  assert.deepEqual(await readWhole(Readable.from([Buffer.from('abcdef')]), 6), Buffer.from('abcdef'));
  assert.deepEqual(await readWhole(Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]), 6), Buffer.from('abcdef'));
  assert.equal((await readWhole(Readable.from([]), 0)).length, 0);
});

test('a body longer than listed stops being read once it passes the size (the caller fails it)', async () => {
  let pulled = 0;
  const body = new Readable({
    read() {
      pulled++;
      this.push(pulled > 1000 ? null : Buffer.alloc(1024));
    },
  });
  const got = await readWhole(body, 4096);
  assert.ok(got.length > 4096 && got.length <= 5 * 1024, `${got.length} bytes`);
  assert.ok(pulled < 50, `stopped reading after ${pulled} chunks`);
});

test('a body that breaks off rejects: with its error, or when it closes without ending', async () => {
  const failing = new PassThrough();
  const p1 = readWhole(failing, 10);
  failing.write(Buffer.from('abc'));
  failing.destroy(new Error('connection reset'));
  await assert.rejects(p1, /connection reset/);

  const cut = new PassThrough();
  const p2 = readWhole(cut, 10);
  cut.write(Buffer.from('abc'));
  setImmediate(() => cut.destroy());
  await assert.rejects(p2, /source body ended after 3 of 10 bytes/);
});
