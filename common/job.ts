/**
 * The job file (YAML or JSON) and its normalised form, the `JobSpec` that is the workflow input. Parsing
 * reports every problem at once as `path: message`. A JobSpec holds credential profile *names* only.
 */
import type { z } from 'zod';
import { InvalidConfigError } from './errors';
import type { ThrottleWindow } from './throttle-schedule';
import type { EndpointFields } from './job-schema';
import type { PreflightResult, QuirksReport } from './contracts';
import type { Encryption, RestoreTier } from '../storage/provider';

export type { JobFile } from './job-schema';
/** The schema module, loaded on first use (see common/job-schema.ts). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schema = (): typeof import('./job-schema') => require('./job-schema') as typeof import('./job-schema');

export const Overwrite = { never: 'never', ifDifferent: 'if-different', ifNewer: 'if-newer', always: 'always' } as const;
export type Overwrite = (typeof Overwrite)[keyof typeof Overwrite];
export const VerifyMode = { none: 'none', size: 'size', checksum: 'checksum', checksumStrict: 'checksum-strict', content: 'content' } as const;
export type VerifyMode = (typeof VerifyMode)[keyof typeof VerifyMode];
export const JobMode = { copy: 'copy', verify: 'verify', mirror: 'mirror' } as const;
export type JobMode = (typeof JobMode)[keyof typeof JobMode];

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Defaults for every optional field (documented in the README's job file reference). */
export const JOB_DEFAULTS = {
  overwrite: Overwrite.ifDifferent,
  verify: VerifyMode.size,
  tasks: { maxObjects: 10_000, maxBytes: 10 * GiB },
  concurrency: { tasks: 8, objects: 32 },
  multipart: { threshold: 64 * MiB, partSize: 16 * MiB },
  retries: 3,
} as const;


/** A job's `source` or `destination`: which bucket, root or list, and which credential profile (never a secret). */
/**
 * An endpoint as providers open it: the job file's fields, plus `sidecar` (fs only), set by parseJob from the job's
 * `metadata.sidecar`: the fs provider keeps (destination) and reads (source) each object's headers, metadata and tags
 * in a sidecar file.
 */
export type EndpointConfig = EndpointFields & { sidecar?: boolean };

/** Limits that `ferry throttle` can change on a running job. */
export interface Limits {
  /** Bytes per second for the whole job; undefined = unlimited. */
  bandwidth?: number;
  objectsPerSecond?: number;
  /** Object transfers in flight per task. */
  objects: number;
  /** Tasks in flight. */
  tasks: number;
}

/** The normalised job: the input of the `migrationJob` workflow. Plain JSON, no secrets. */
export interface JobSpec {
  name: string;
  mode: JobMode;
  source: EndpointConfig;
  destination: EndpointConfig;
  filter: { modifiedSince?: number; include?: string[]; exclude?: string[] };
  overwrite: Overwrite;
  verify: VerifyMode;
  tasks: { maxObjects: number; maxBytes: number };
  multipart: { threshold: number; partSize: number };
  limits: Limits;
  /** Time-of-day windows (UTC) whose limits replace `limits.bandwidth`/`objectsPerSecond` while active. Absent = none. */
  throttleSchedule?: ThrottleWindow[];
  retries: number;
  report: { path?: string };
  /** Archived source objects (absent: `fail`, in jobs from before this field too). */
  archived?: {
    policy: 'fail' | 'skip' | 'restore';
    days: number;
    tier: RestoreTier;
    /** Not in the job file (tests): the restore checks' intervals in ms, the last repeated (default RESTORE_CHECK_INTERVALS_MS). */
    checkIntervalsMs?: number[];
    /** Not in the job file (tests): how long a restore wait waits before it gives up (default RESTORE_GIVE_UP_MS, 7 days). */
    giveUpMs?: number;
  };
  /** `all`: every version of each key (absent: `latest`). */
  versions?: 'latest' | 'all';
  /** What travels with an object besides headers, metadata and tags (absent: nothing more). */
  metadata?: { sourceLastModified?: boolean; sidecar?: boolean };
  /** `mode: mirror`: deletions allowed without approval (absent: 1 % of the destination). */
  mirror?: { maxDelete: { count: number } | { percent: number } };
  /** Destination write options, normalised (absent: the store's defaults). */
  writes?: DestinationWrites;
}

/** How written objects are stored: class (one, or by source class with `'*'` for the rest), encryption, ACL. */
export interface DestinationWrites {
  storageClass?: string | Record<string, string>;
  encryption?: Encryption;
  acl?: 'private';
}

/** The archived-object policy of a job (default `fail`). */
export const archivedPolicy = (spec: Pick<JobSpec, 'archived'>) => spec.archived?.policy ?? 'fail';

/** The destination storage class for an object of `sourceClass` (undefined: the store's default). */
export function destinationClass(writes: DestinationWrites | undefined, sourceClass: string | undefined): string | undefined {
  const c = writes?.storageClass;
  if (c === undefined || typeof c === 'string') return c;
  return c[sourceClass ?? 'STANDARD'] ?? c['*'];
}

function encryptionOf(e: EndpointFields['encryption']): Encryption | undefined {
  if (!e) return undefined;
  const { type, keyId } = typeof e === 'string' ? { type: e, keyId: undefined } : e;
  return { algorithm: type === 'SSE-S3' || type === 'AES256' ? 'AES256' : 'kms', ...(keyId ? { keyId } : {}) };
}

function destinationWrites(d: EndpointFields): DestinationWrites | undefined {
  const w: DestinationWrites = {
    ...(d.storageClass !== undefined ? { storageClass: d.storageClass } : {}),
    ...(d.encryption ? { encryption: encryptionOf(d.encryption) } : {}),
    ...(d.acl === 'private' ? { acl: 'private' as const } : {}),
  };
  return Object.keys(w).length ? w : undefined;
}

/**
 * The job with the listing preflight settled on: a side whose store ignored `start-after` lists with ListObjects V1
 * (`marker`) from then on. Results without `quirks` (older workers) change nothing.
 */
export function withProbedListing(spec: JobSpec, result: PreflightResult | undefined): JobSpec {
  const side = (e: EndpointConfig, r: QuirksReport | undefined): EndpointConfig =>
    r?.startAfter === 'ignored' && e.quirks?.listVersion !== r.listVersion ? { ...e, quirks: { ...e.quirks, listVersion: r.listVersion } } : e;
  return { ...spec, source: side(spec.source, result?.quirks?.source), destination: side(spec.destination, result?.quirks?.destination) };
}

/** Every zod issue as `path: message`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.') || '(job)';
    if (i.code === 'unrecognized_keys') return `${path === '(job)' ? '' : `${path}.`}${i.keys.join(', ')}: unknown field${i.keys.length > 1 ? 's' : ''}`;
    return `${path}: ${i.message}`;
  });
}

function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/** `mirror.maxDelete` as a count or a percentage (default 1 %). */
function maxDeleteOf(v: number | string | undefined): { count: number } | { percent: number } {
  if (typeof v === 'number') return { count: v };
  return { percent: v === undefined ? 1 : Number(v.slice(0, -1)) };
}

/** Column names a `manifest.columns` list (or a manifest's header line) may use; `-` skips a column. */
export const MANIFEST_COLUMNS = ['key', 'size', 'etag', 'lastModified', '-'] as const;

/** Bad combinations of `inventory:`/`manifest:` with the rest of the job (storage/inventory/ reads them). */
function listingSourceIssues(s: EndpointFields, d: EndpointFields, mode: JobMode, versions: string | undefined): string[] {
  const issues: string[] = [];
  if (s.inventory && s.manifest) issues.push('source.manifest: give source.inventory or source.manifest, not both');
  if (d.manifest) issues.push('destination.manifest: only for the source (the destination side takes an inventory)');
  for (const [side, e] of [['source', s], ['destination', d]] as const) {
    if ((e.inventory || e.manifest) && e.type === 'http') issues.push(`${side}.${e.inventory ? 'inventory' : 'manifest'}: not for type http (its list file is already a manifest)`);
  }
  if (d.inventory && mode !== 'copy') issues.push(`destination.inventory: only with mode: copy (${mode} reads the destination as it is now)`);
  const listed = s.inventory ? 'source.inventory' : s.manifest ? 'source.manifest' : undefined;
  if (listed && mode === 'mirror') issues.push(`${listed}: not with mode: mirror (an inventory is a snapshot: deleting by it could remove objects written since)`);
  if (listed && versions === 'all') issues.push(`${listed}: not with versions: all (every version comes from the version listing)`);
  const cols = s.manifest?.columns;
  if (cols) {
    for (const [i, c] of cols.entries()) if (!(MANIFEST_COLUMNS as readonly string[]).includes(c)) issues.push(`source.manifest.columns.${i}: unknown column ${JSON.stringify(c)} (expected ${MANIFEST_COLUMNS.join(', ')})`);
    if (!cols.includes('key')) issues.push('source.manifest.columns: name the key column');
  }
  return issues;
}

/**
 * Deletions a mirror job makes without approval, for a destination of `destinationObjects` objects: the count, or
 * the percentage rounded down (default 1 %).
 */
export function mirrorDeleteLimit(mirror: JobSpec['mirror'], destinationObjects: number): number {
  const max = mirror?.maxDelete ?? { percent: 1 };
  return 'count' in max ? max.count : Math.floor((destinationObjects * max.percent) / 100);
}

/** An fs endpoint opened with sidecar files when the job asks for them (`metadata.sidecar`). */
const withSidecar = (e: EndpointFields, sidecar: boolean | undefined): EndpointConfig => (sidecar && e.type === 'fs' ? { ...e, sidecar: true } : e);

/** Validates a parsed job document (from YAML/JSON) and normalises it. Throws InvalidConfigError listing every problem. */
export function parseJob(doc: unknown): JobSpec {
  const res = schema().jobFileSchema.safeParse(doc);
  if (!res.success) throw new InvalidConfigError(formatIssues(res.error));
  const j = res.data;
  const issues: string[] = [];
  const multipart = { ...JOB_DEFAULTS.multipart, ...j.multipart };
  if (multipart.partSize > multipart.threshold) issues.push(`multipart.partSize: must not exceed multipart.threshold (${multipart.partSize} > ${multipart.threshold})`);
  const s = j.source;
  const d = j.destination;
  if (d.type === 'http') issues.push('destination.type: http is a read-only source; it cannot be a destination');
  for (const f of ['storageClass', 'encryption', 'acl'] as const) {
    if (s[f] !== undefined) issues.push(`source.${f}: only for the destination`);
    if (d[f] !== undefined && d.type !== 's3' && d.type !== 'oss') issues.push(`destination.${f}: only for type s3 or oss, not ${d.type}`);
  }
  if (typeof d.encryption === 'object' && d.encryption.keyId && (d.encryption.type === 'SSE-S3' || d.encryption.type === 'AES256')) issues.push(`destination.encryption.keyId: only with SSE-KMS or KMS, not ${d.encryption.type}`);
  issues.push(...listingSourceIssues(j.source, j.destination, j.mode ?? 'copy', j.versions));
  if (j.restore && j.archived !== 'restore') issues.push('restore: only with archived: restore');
  if (j.mirror && j.mode !== 'mirror') issues.push('mirror: only with mode: mirror');
  if (j.mode === 'mirror' && s.type === 'http') issues.push('mode: mirror needs a source listed in key order (s3, oss or fs); an http list is read in list order, so what the destination holds beyond it cannot be found');
  if (j.metadata?.sidecar && d.type !== 'fs' && s.type !== 'fs') issues.push(`metadata.sidecar: only with an fs source or destination, not ${s.type} → ${d.type}`);
  const sameStore = s.type === d.type && (s.endpoint ?? '') === (d.endpoint ?? '') && (s.bucket ?? s.path) === (d.bucket ?? d.path) && (s.type !== 'http');
  if (sameStore && prefixesOverlap(s.prefix ?? '', d.prefix ?? '') && (j.mode ?? 'copy') !== 'verify') {
    issues.push(`destination.prefix: source and destination are the same ${s.type === 'fs' ? 'directory' : 'bucket'} with overlapping prefixes ("${s.prefix ?? ''}" and "${d.prefix ?? ''}"): the copy would read its own output`);
  }
  if (issues.length) throw new InvalidConfigError(issues);
  return {
    name: j.name,
    mode: j.mode ?? JobMode.copy,
    source: withSidecar(j.source, j.metadata?.sidecar),
    destination: withSidecar(j.destination, j.metadata?.sidecar),
    filter: { ...j.filter },
    overwrite: j.overwrite ?? JOB_DEFAULTS.overwrite,
    verify: j.verify ?? JOB_DEFAULTS.verify,
    tasks: { ...JOB_DEFAULTS.tasks, ...j.tasks },
    multipart,
    limits: {
      bandwidth: j.throttle?.bandwidth,
      objectsPerSecond: j.throttle?.objectsPerSecond,
      tasks: j.concurrency?.tasks ?? JOB_DEFAULTS.concurrency.tasks,
      objects: j.concurrency?.objects ?? JOB_DEFAULTS.concurrency.objects,
    },
    ...(j.throttle?.schedule?.length
      ? {
          throttleSchedule: j.throttle.schedule.map((w) => ({
            from: w.from.text,
            to: w.to.text,
            fromSec: w.from.sec,
            toSec: w.to.sec,
            ...(w.bandwidth !== undefined ? { bandwidth: w.bandwidth } : {}),
            ...(w.objectsPerSecond !== undefined ? { objectsPerSecond: w.objectsPerSecond } : {}),
          })),
        }
      : {}),
    retries: j.retries ?? JOB_DEFAULTS.retries,
    report: { ...j.report },
    ...(j.archived ? { archived: { policy: j.archived, days: j.restore?.days ?? 3, tier: j.restore?.tier ?? 'Bulk' } } : {}),
    ...(j.versions ? { versions: j.versions } : {}),
    ...(j.metadata && (j.metadata.sourceLastModified || j.metadata.sidecar) ? { metadata: { ...j.metadata } } : {}),
    ...(j.mode === 'mirror' ? { mirror: { maxDelete: maxDeleteOf(j.mirror?.maxDelete) } } : {}),
    ...(destinationWrites(d) ? { writes: destinationWrites(d) } : {}),
  };
}

/**
 * Overlap of consecutive incremental rounds (scheduled rounds, cutover): a round copies what changed since the
 * previous round started *minus this margin*. It covers clock skew between the storage service (whose
 * LastModified stamps the objects) and Temporal (whose clock starts the rounds), and listings a worker served
 * from its short-lived cache. Unchanged objects inside the margin are compared and skipped, not copied again.
 */
export const INCREMENTAL_SINCE_MARGIN_MS = 60_000;

/** Workflow id of a job. */
export function jobWorkflowId(name: string): string {
  return `ferry-${name}`;
}

/** Workflow id of a task child: `ferry-<name>/<round>/<n>`. */
export function taskWorkflowId(name: string, round: number, n: number): string {
  return `${jobWorkflowId(name)}/${round}/${n}`;
}
