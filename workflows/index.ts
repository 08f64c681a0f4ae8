/** The workflow bundle's entry: every workflow type the `ferry` task queue serves. */
export { migrationJob } from './migration-job';
export { migrationTask } from './migration-task';
export { scheduledRound } from './scheduled-round';
export { cutover } from './cutover';
export { restoreWait } from './restore-wait';
