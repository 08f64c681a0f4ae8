import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { childSignal } from '../../common/signals';

test('childSignal follows its parent with the reason, and release unhooks it', () => {
  const parent = new AbortController();
  const a = childSignal(parent.signal);
  const b = childSignal(parent.signal);
  assert.equal(getEventListeners(parent.signal, 'abort').length, 2);
  b.release();
  assert.equal(getEventListeners(parent.signal, 'abort').length, 1, 'a released child leaves nothing on the parent');
  parent.abort(new Error('stop'));
  assert.equal(a.signal.aborted, true);
  assert.equal((a.signal.reason as Error).message, 'stop');
  assert.equal(b.signal.aborted, false, 'a released child no longer follows');
});

test('childSignal of an aborted parent starts aborted; abort() ends only the child', () => {
  const done = AbortSignal.abort('gone');
  assert.equal(childSignal(done).signal.reason, 'gone');
  const parent = new AbortController();
  const c = childSignal(parent.signal, 50);
  c.abort('lease');
  assert.equal(c.signal.reason, 'lease');
  assert.equal(parent.signal.aborted, false);
  const orphan = childSignal(undefined);
  orphan.abort();
  assert.equal(orphan.signal.aborted, true);
  orphan.release();
});
