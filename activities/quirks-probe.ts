/**
 * What preflight and `ferry plan` say about the quirks of each s3/oss side (storage/quirks.ts): the preset and
 * overrides in use, checked against the store with at most two one-key listings. Does the store honour
 * `start-after` (its first key after the first listed key must be the second one)? Does a listed ETag look like an
 * MD5? A store that ignores `start-after` is listed with ListObjects V1 (`marker`) for the job. No Temporal here:
 * the CLI's plan uses it too.
 */
import type { QuirksReport } from '../common/contracts';
import type { EndpointConfig } from '../common/job';
import { compareKeys } from '../common/keys';
import type { ObjectProvider } from '../storage/provider';
import { DEFAULT_PRESET, endpointQuirks, type Quirks } from '../storage/quirks';
import { isMd5Etag } from './range';

/** The job's `quirks:` (and `forcePathStyle`) as `field=value`, nested multipart fields as `multipart.field`. */
export function quirkOverrides(e: EndpointConfig): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(e.quirks ?? {})) {
    if (k === 'multipart') for (const [m, n] of Object.entries(v as object)) out.push(`multipart.${m}=${String(n)}`);
    else out.push(`${k}=${Array.isArray(v) ? v.join(',') || '[]' : String(v)}`);
  }
  if (e.forcePathStyle !== undefined) out.push(`pathStyle=${e.forcePathStyle} (forcePathStyle)`);
  return out;
}

/** The report before probing: preset and overrides, nothing tested. Undefined for fs/http. */
export function describeQuirks(e: EndpointConfig): QuirksReport | undefined {
  const quirks = endpointQuirks(e);
  if (!quirks || (e.type !== 's3' && e.type !== 'oss')) return undefined;
  const preset = e.provider ?? DEFAULT_PRESET[e.type];
  return { preset, presetFrom: e.provider ? 'job' : 'default', overrides: quirkOverrides(e), listVersion: quirks.listVersion, startAfter: 'untested', etag: 'untested', notes: [] };
}

/** What the ETag of the first listed object says against `quirks.etagIsMd5`. */
function etagNote(report: QuirksReport, quirks: Quirks, key: string): string | undefined {
  if (quirks.etagIsMd5 && report.etag === 'other') return `the ETag of ${JSON.stringify(key)} is not an MD5 (a multipart or encrypted object, or the store's ETags are no MD5s): MD5 checks apply only to 32-hex ETags`;
  if (!quirks.etagIsMd5 && report.etag === 'md5-like') return `ETags look like MD5s, but preset ${report.preset} does not trust them (quirks.etagIsMd5: true to use them)`;
  return undefined;
}

/**
 * Describes and probes one side (two LIST requests at most, one when fewer than two keys are listed). Throws what
 * the listing throws (a missing bucket, denied access): preflight reports those as it always did.
 */
export async function probeQuirks(provider: ObjectProvider, e: EndpointConfig, signal?: AbortSignal): Promise<QuirksReport | undefined> {
  const report = describeQuirks(e);
  const quirks = endpointQuirks(e);
  if (!report || !quirks) return report;
  const first = (await provider.list({ prefix: e.prefix, limit: 2, signal })).objects;
  if (first[0]) {
    report.etag = isMd5Etag(first[0].etag) ? 'md5-like' : 'other';
    const note = etagNote(report, quirks, first[0].key);
    if (note) report.notes.push(note);
  }
  if (first.length < 2) return report;
  const next = (await provider.list({ prefix: e.prefix, startAfter: first[0]!.position, limit: 1, signal })).objects[0];
  report.startAfter = next && compareKeys(next.key, first[0]!.key) > 0 ? 'honoured' : 'ignored';
  if (report.startAfter === 'ignored' && report.listVersion === 2) {
    report.listVersion = 1;
    report.notes.push(`the store ignored start-after (preset ${report.preset} says ListObjectsV2 works): this job lists with ListObjects V1 (marker)`);
  }
  return report;
}
