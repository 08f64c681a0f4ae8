/**
 * Captures replay fixtures: runs small real jobs (fs → fs with a pause and a throttle update, and one that
 * continues-as-new; a one-task job that runs its task itself, paused once) and saves their job and task
 * histories to test/replay/histories/*.json.
 *
 *   npx tsx test/replay/capture.ts
 *
 * Re-capture only for intentional, `patched()`-guarded workflow changes; the replay test must keep passing
 * against the old histories (that is the point of keeping them).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTemporal } from '../support/temporal';
import { startWorker, startJob } from '../support/ferry';
import { tempDir, toolPath } from '../support/process';

async function main() {
  const temporal = await startTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } });
  const worker = await startWorker(temporal);
  const out = join(__dirname, 'histories');
  mkdirSync(out, { recursive: true });
  try {
    const client = await temporal.client();
    const src = tempDir('cap-src');
    for (let i = 0; i < 60; i++) writeFileSync(join(src, `f${String(i).padStart(3, '0')}.txt`), `content ${i}`);
    const h = await startJob(client, { name: 'replay', source: { type: 'fs', path: src }, destination: { type: 'fs', path: tempDir('cap-dst') }, tasks: { maxObjects: 5 }, concurrency: { tasks: 2, objects: 2 }, throttle: { objectsPerSecond: 30 } });
    await new Promise((r) => setTimeout(r, 800));
    await h.signal('pause');
    await new Promise((r) => setTimeout(r, 1500));
    await h.executeUpdate('throttle', { args: [{ objectsPerSecond: 200 }] });
    await h.signal('resume');
    await h.result();
    // A one-task job: the job runs the task's batches itself (patched 'job-runs-last-task'), paused once.
    const one = await startJob(client, { name: 'replay-one', source: { type: 'fs', path: src }, destination: { type: 'fs', path: tempDir('cap-dst-one') }, concurrency: { tasks: 2, objects: 2 }, throttle: { objectsPerSecond: 30 } });
    await new Promise((r) => setTimeout(r, 800));
    await one.signal('pause');
    await new Promise((r) => setTimeout(r, 1500));
    await one.signal('resume');
    await one.result();
    let n = 0;
    for await (const wf of client.workflow.list({ query: `WorkflowId = 'ferry-replay' OR WorkflowId = 'ferry-replay/0/0' OR WorkflowId = 'ferry-replay/0/1' OR WorkflowId = 'ferry-replay-one'` })) {
      // The same JSON operators get from `temporal workflow show -o json`.
      const json = execFileSync(toolPath('temporal'), ['workflow', 'show', '--address', temporal.address, '--workflow-id', wf.workflowId, '--run-id', wf.runId, '-o', 'json']);
      const name = `${wf.workflowId.replace(/[/]/g, '_')}-${wf.runId.slice(0, 8)}.json`;
      writeFileSync(join(out, name), json);
      n++;
    }
    console.log(`captured ${n} histories into ${out}`);
  } finally {
    await worker.stop();
    await temporal.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
