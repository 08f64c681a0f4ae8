/**
 * The engine's side of inventory-listed jobs (storage/inventory/): stale rows found by a batch go to the run's
 * report as `stale-rows.jsonl` (one JSON object per row: key, data file and line, the row's and the object's size,
 * ETag and time, round and task), and the destination index is answered from a destination inventory.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchInput } from '../common/contracts';
import type { ObjectInfo, ObjectProvider } from '../storage/provider';
import { InventoryListing } from '../storage/inventory/inventory-listing';
import { runReportDir } from './failures';

/** File name of the stale rows in a run's report folder. */
export const STALE_ROWS_FILE = 'stale-rows.jsonl';

/** Appends the stale rows `src` found in reads that passed `signal` (this batch's) to the run's report. */
export function recordStaleRows(reportDir: string, input: BatchInput, src: ObjectProvider, signal: AbortSignal): void {
  if (!(src instanceof InventoryListing)) return;
  const rows = src.takeStaleRows(signal);
  if (!rows.length) return;
  const dir = runReportDir(reportDir, input.job.name, input.runTag);
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, STALE_ROWS_FILE), rows.map((r) => `${JSON.stringify({ ...r, round: input.round, n: input.n })}\n`).join(''));
}

/** The destination inventory's rows for `keys` (see InventoryListing.inventoryRows); undefined without one. */
export async function destinationInventoryRows(dst: ObjectProvider, keys: readonly string[]): Promise<Map<string, ObjectInfo> | undefined> {
  return dst instanceof InventoryListing ? dst.inventoryRows(keys) : undefined;
}
