/**
 * Two worker processes at once, one of them SIGKILLed repeatedly (and replaced each time) while a job of small
 * and multipart objects runs: the job completes, every object byte-identical, no orphaned multipart upload,
 * duplicates counted by the fault proxy (see chaos-kill.test.ts and test/chaos/kill-scenario.ts).
 *
 * Strength: `npm test` 1,000 small + 1 multipart object and 3 kills; `FERRY_CHAOS=1` 5,000 + 3 and 10 kills.
 */
import { test } from 'node:test';
import { killScenario } from '../chaos/kill-scenario';
import { FULL } from '../chaos/harness';

test('two workers, one of them SIGKILLed repeatedly: the job completes intact', async () => {
  await killScenario({ name: 'kill-one-of-two', kills: FULL ? 10 : 3, small: FULL ? 5_000 : 1_000, large: FULL ? 3 : 1, twoWorkers: true });
});
