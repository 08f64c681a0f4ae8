/**
 * Ferry's custom search attributes: registered on the dev server by `ferry server`/`ferry run` and by the test
 * helper, and on clusters with `temporal operator search-attribute create`. Used to find jobs in the Web UI.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

/** The job name (`name:` in the job file). */
export const FerryJob = defineSearchAttributeKey('FerryJob', 'KEYWORD');
/** The job's current phase: planning, copying, verifying, retrying, reporting, done, failed. */
export const FerryPhase = defineSearchAttributeKey('FerryPhase', 'KEYWORD');

export const FERRY_SEARCH_ATTRIBUTES = [FerryJob, FerryPhase] as const;

/** `--search-attribute NAME=Keyword` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return FERRY_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=Keyword`]);
}
