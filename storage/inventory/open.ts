/**
 * Opens a job side whose spec has `inventory:` or `manifest:` as an {@link InventoryListing} over the bucket
 * (the spec without those fields), reading the report through a provider of its own location. Other specs open
 * as they always did. Used by the worker's provider pool and by `ferry plan`.
 */
import type { EndpointConfig } from '../../common/job';
import type { ObjectProvider } from '../provider';
import type { InventoryCounts } from '../../common/cost';
import { InvalidConfigError } from '../../common/errors';
import { DataFileCache } from './data-files';
import { InventoryListing } from './inventory-listing';
import { ReportReader, locationEndpoint } from './report-reader';

/** Data files fetched by this process, shared by every job side that reads a report. */
const sharedCache = new DataFileCache();

/** Whether a side lists from an inventory report or a manifest. */
export function listsFromReport(spec: EndpointConfig): boolean {
  return !!(spec.inventory || spec.manifest);
}

/** The provider for `spec`: `open(spec)`, or an InventoryListing when the spec names a report. */
export function openListedProvider(spec: EndpointConfig, open: (spec: EndpointConfig) => ObjectProvider, cache: DataFileCache = sharedCache): ObjectProvider {
  const location = spec.inventory ?? spec.manifest;
  if (!location) return open(spec);
  const { inventory: _inventory, manifest: _manifest, ...bucket } = spec;
  const inner = open(bucket as EndpointConfig);
  let store: ObjectProvider;
  try {
    store = open(locationEndpoint(location).spec);
  } catch (e) {
    const field = spec.inventory ? 'inventory' : 'manifest';
    if (e instanceof InvalidConfigError) throw new InvalidConfigError(e.issues.map((i) => `${field}.${i}`));
    throw e;
  }
  const reader = new ReportReader(spec.inventory ? 'inventory' : 'manifest', location, store, cache);
  return new InventoryListing(inner, reader, async () => store.close?.());
}

/**
 * For `ferry plan`: what reading the source's report costs (files, bytes, the `objects` it listed) and a line that
 * says so; undefined when the source does not list from a report.
 */
export async function reportSummary(src: ObjectProvider, objects: number): Promise<{ counts: InventoryCounts; line: string } | undefined> {
  if (!(src instanceof InventoryListing)) return undefined;
  const f = await src.reportFiles();
  const what = f.manifests ? `inventory report ${f.where} (${f.dataFiles} data file${f.dataFiles === 1 ? '' : 's'})` : `manifest ${f.where}`;
  return { counts: { manifests: f.manifests, dataFiles: f.dataFiles, bytes: f.bytes, objects }, line: `from the ${what}: no LIST of the source` };
}
