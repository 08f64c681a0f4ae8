/**
 * Writes dist/workflow-bundle.js (part of `npm run build`), so workers and `ferry run` start without bundling
 * the workflow code at start-up (workers/worker.ts loads it when running from dist/).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkflowBundle } from '../workers/worker';

async function main() {
  const { code } = await buildWorkflowBundle();
  mkdirSync(join(__dirname, '..', 'dist'), { recursive: true });
  const out = join(__dirname, '..', 'dist', 'workflow-bundle.js');
  writeFileSync(out, code);
  console.log(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
