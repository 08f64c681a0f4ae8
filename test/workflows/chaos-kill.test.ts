/**
 * Worker crashes: a job of many small objects plus multipart ones while a driver SIGKILLs the worker process
 * at random moments and starts a new one; (two workers at once: chaos-kill-two-workers.test.ts). It
 * ends with every destination object compared with its source, no orphaned multipart upload, and the number
 * of objects written more than once (counted by the fault proxy in front of MinIO: successful PutObject and
 * CompleteMultipartUpload requests per key — an object re-copied after a kill is written twice).
 *
 * Strength: `npm test` 2,000 small + 2 multipart objects and 4 kills; `FERRY_CHAOS=1` 10,000 + 6 and 20 kills.
 * Every kill strands the batches that were in flight until `heartbeatTimeout` (30 s) passes, so the kills come
 * in one burst and their timeouts overlap.
 */
import { test } from 'node:test';
import { killScenario } from '../chaos/kill-scenario';
import { FULL } from '../chaos/harness';

const SMALL = FULL ? 10_000 : 2_000;
const LARGE = FULL ? 6 : 2;
const KILLS = FULL ? 20 : 4;

test(`SIGKILL the only worker ${KILLS} times at random moments: nothing lost, nothing corrupt`, async () => {
  await killScenario({ name: 'kill-single', kills: KILLS, small: SMALL, large: LARGE, twoWorkers: false });
});
