/**
 * `ferry incremental` after a run that listed its source from an inventory report or manifest: the next run lists
 * the source normally (a LIST with `modifiedSince`), because a report is a snapshot and knows nothing written
 * after it. Its start time defaults to the earlier of the previous run's start and the report's creation time, less
 * the usual margin: objects written between the snapshot and the first run were in neither. A key manifest has no
 * creation time: `--since` is then required.
 */
import { INCREMENTAL_SINCE_MARGIN_MS, type JobSpec } from '../../common/job';
import type { EndpointConfig } from '../../common/job';
import type { ObjectProvider } from '../provider';
import { DataFileCache } from './data-files';
import { ReportReader, describeLocation, locationEndpoint } from './report-reader';

/** The incremental run's job and start time, with a sentence for the user; `error` when no start time can be given. */
export async function incrementalAfterReport(
  spec: JobSpec,
  since: { given?: number; previousStart?: number },
  open: (e: EndpointConfig) => ObjectProvider,
): Promise<{ spec: JobSpec; since?: number; note?: string; error?: string }> {
  const s = spec.source;
  if (!s.inventory && !s.manifest) return { spec, since: since.given ?? since.previousStart };
  const { inventory: _inventory, manifest: _manifest, ...listed } = s;
  const next = { ...spec, source: listed as EndpointConfig };
  const where = describeLocation((s.inventory ?? s.manifest)!);
  if (since.given !== undefined) return { spec: next, since: since.given, note: `The source is listed (the ${s.inventory ? 'inventory' : 'manifest'} ${where} is a snapshot).` };
  if (!s.inventory) return { spec: next, error: `the last run listed its source from the manifest ${where}, which has no creation time: pass --since TIME (when that manifest's keys were collected)` };
  const store = open(locationEndpoint(s.inventory).spec);
  const cache = new DataFileCache();
  try {
    const createdAt = (await new ReportReader('inventory', s.inventory, store, cache).report()).createdAt;
    if (createdAt === undefined) return { spec: next, error: `the inventory ${where} has no creationTimestamp: pass --since TIME` };
    const start = Math.min(createdAt - INCREMENTAL_SINCE_MARGIN_MS, since.previousStart ?? Infinity);
    return { spec: next, since: start, note: `The source is listed from ${new Date(start).toISOString()}: the inventory ${where} was taken at ${new Date(createdAt).toISOString()}.` };
  } finally {
    await cache.clear();
    await store.close?.();
  }
}
