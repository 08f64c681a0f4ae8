/** Planning's listing reused by the batches of the tasks it cut (PlannedPages), so the source is listed once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { PlannedPages, listRange } from '../../activities/range';
import type { ListOptions, ListPage, ObjectProvider } from '../../storage/provider';
import { parseJob } from '../../common/job';
import type { PlanTasksResult } from '../../common/contracts';
import { syntheticSource } from '../support/synthetic';

/** A synthetic source that records the `startAfter` of every LIST it answers. */
function countingSource(count: number): ObjectProvider & { lists: (string | undefined)[] } {
  const src = syntheticSource(count, 1);
  const lists: (string | undefined)[] = [];
  return Object.assign(Object.create(src) as ObjectProvider, {
    lists,
    list: (opts: ListOptions = {}) => {
      lists.push(opts.startAfter);
      return src.list(opts);
    },
  });
}

const page = (n: number, next?: string): ListPage => ({ objects: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, size: 1, lastModified: 0, position: `k${i}` })), next });

test('PlannedPages: a page is found by job, provider instance, prefix and start, and taken once', () => {
  const pages = new PlannedPages();
  const a = countingSource(1);
  const b = countingSource(1);
  const p = page(3, 'k2');
  pages.keep('job', a, 'pre/', undefined, p);
  assert.equal(pages.take('other-job', a, 'pre/', undefined), undefined);
  assert.equal(pages.take('job', b, 'pre/', undefined), undefined, 'another provider instance (endpoint spec or credentials)');
  assert.equal(pages.take('job', a, 'other/', undefined), undefined);
  assert.equal(pages.take('job', a, 'pre/', 'k0'), undefined);
  assert.equal(pages.size, 3);
  assert.equal(pages.take('job', a, 'pre/', undefined), p);
  assert.equal(pages.take('job', a, 'pre/', undefined), undefined, 'used once');
  assert.equal(pages.size, 0);
});

test('PlannedPages: pages expire after the TTL, and pages beyond the entry cap are not kept', () => {
  let now = 1_000;
  const pages = new PlannedPages(30_000, 5, () => now);
  const src = countingSource(1);
  pages.keep('job', src, '', undefined, page(3, 'k2'));
  pages.keep('job', src, '', 'k2', page(3, 'k5'));
  assert.equal(pages.size, 3, 'the second page would pass the cap of 5 entries');
  assert.equal(pages.take('job', src, '', 'k2'), undefined);
  // Keeping the same page again replaces it (and its count).
  pages.keep('job', src, '', undefined, page(2, 'k1'));
  assert.equal(pages.size, 2);
  now += 29_999;
  assert.equal(pages.take('job', src, '', undefined)?.objects.length, 2);
  pages.keep('job', src, '', undefined, page(2, 'k1'));
  now += 30_000;
  assert.equal(pages.take('job', src, '', undefined), undefined, 'expired');
  assert.equal(pages.size, 0);
});

test('planTasks keeps the pages it lists and the batches of its task list only what planning did not', async () => {
  const src = countingSource(2_500);
  const planned = new PlannedPages();
  const activities = createActivities({ reportDir: '/nonexistent', plannedPages: planned, openProvider: (s) => ((s as { path: string }).path === '/src' ? src : syntheticSource(0, 0)) });
  const job = parseJob({ name: 'planned-pages', source: { type: 'fs', path: '/src' }, destination: { type: 'fs', path: '/dst' } });
  const plan = (await new MockActivityEnvironment().run(activities.planTasks, { job, firstTask: 0, maxTasks: 2 })) as PlanTasksResult;
  assert.equal(plan.tasks.length, 1);
  assert.deepEqual(src.lists, [undefined, 'k/0000000999', 'k/0000001999'], 'planning lists the source once');
  const range = plan.tasks[0]!.range;

  // A batch of another job on the same source lists for itself (1,000 keys, then 1 to see whether the range goes on).
  await listRange(src, undefined, range, undefined, 1_000, Infinity, undefined, { pages: planned, job: 'some-other-job' });
  assert.deepEqual(src.lists.slice(3), [undefined, 'k/0000000999']);

  // The job's own windows of 1,000 come from planning's pages: no LIST.
  const windows: string[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const w = await listRange(src, undefined, range, cursor, 1_000, Infinity, undefined, { pages: planned, job: job.name });
    windows.push([w.entries[0]!.key, w.entries[w.entries.length - 1]!.key]);
    if (w.done) break;
    cursor = w.entries[w.entries.length - 1]!.position;
  }
  assert.deepEqual(windows, [
    ['k/0000000000', 'k/0000000999'],
    ['k/0000001000', 'k/0000001999'],
    ['k/0000002000', 'k/0000002499'],
  ]);
  assert.equal(src.lists.length, 5, 'no LIST for the planned windows (a full window looks at the next page without using it up)');

  // A window cut by bytes at a page's end looks at the next page without using it up either.
  await new MockActivityEnvironment().run(activities.planTasks, { job, firstTask: 0, maxTasks: 2 });
  const byBytes = await listRange(src, undefined, range, undefined, 5_000, 1_000, undefined, { pages: planned, job: job.name });
  assert.deepEqual([byBytes.entries.length, byBytes.done], [1_000, false]);
  const next = await listRange(src, undefined, range, byBytes.entries[999]!.position, 5_000, 1_000, undefined, { pages: planned, job: job.name });
  assert.deepEqual([next.entries[0]!.key, next.entries.length], ['k/0000001000', 1_000]);
  assert.equal(src.lists.length, 8, 'the re-plan listed 3 pages, the windows none');
  await listRange(src, undefined, range, next.entries[999]!.position, 5_000, 1_000, undefined, { pages: planned, job: job.name });

  // Each page is used once: a retried batch lists again. A smaller window uses the page and stops at its limit.
  await new MockActivityEnvironment().run(activities.planTasks, { job, firstTask: 0, maxTasks: 2 });
  const small = await listRange(src, undefined, range, undefined, 10, Infinity, undefined, { pages: planned, job: job.name });
  assert.deepEqual([small.entries.length, small.done], [10, false]);
  assert.equal(src.lists.length, 11, 'the re-plan listed 3 pages, the small window none');
  await listRange(src, undefined, range, undefined, 1_000, Infinity, undefined, { pages: planned, job: job.name });
  assert.deepEqual(src.lists.slice(11), [undefined], 'the first page was used by the small window; the second is still there');
});

test('planTasks leaves no pages when it lists more than the cap (a large job: its tasks start later, or elsewhere)', async () => {
  const src = countingSource(10_500);
  const planned = new PlannedPages();
  const activities = createActivities({ reportDir: '/nonexistent', plannedPages: planned, openProvider: (s) => ((s as { path: string }).path === '/src' ? src : syntheticSource(0, 0)) });
  const job = parseJob({ name: 'planned-pages-large', source: { type: 'fs', path: '/src' }, destination: { type: 'fs', path: '/dst' } });
  const plan = (await new MockActivityEnvironment().run(activities.planTasks, { job, firstTask: 0, maxTasks: 4 })) as PlanTasksResult;
  assert.deepEqual([plan.tasks.length, plan.done, src.lists.length], [2, true, 11]);
  await listRange(src, undefined, plan.tasks[0]!.range, undefined, 1_000, Infinity, undefined, { pages: planned, job: job.name });
  assert.equal(src.lists[11], undefined, 'the first task lists for itself');
  assert.equal(src.lists.length, 13);
});
