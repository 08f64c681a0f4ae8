/**
 * The fixed cost of a job, by structure rather than wall time: a one-object job takes four activities
 * (preflight, planTasks, copyRange, writeReport), five workflow tasks, and no timer or child workflow — each
 * would be another round trip through the server before the job ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTemporal } from '../support/temporal';
import { startJob, startWorker } from '../support/ferry';
import { tempDir } from '../support/process';
import type { JobResult } from '../../common/progress';

test('a one-object job: 4 activities, 5 workflow tasks, no timers or children', async () => {
  const temporal = await startTemporal();
  const worker = await startWorker(temporal);
  try {
    const root = tempDir('one-object');
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'one.bin'), Buffer.alloc(16 * 1024, 1));
    const client = await temporal.client();
    const h = await startJob(client, { name: 'one-object', source: { type: 'fs', path: join(root, 'src') }, destination: { type: 'fs', path: join(root, 'dst') } });
    const r = (await h.result()) as JobResult;
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(r.objects.copied, 1);
    const events = (await h.fetchHistory()).events ?? [];
    const activities = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.deepEqual(activities, ['preflight', 'planTasks', 'copyRange', 'writeReport']);
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 5);
    assert.equal(events.filter((e) => e.timerStartedEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length, 0);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
});
