/**
 * The job file's schema (zod). Only `parseJob` (common/job.ts) loads this module, on first use: the workflow
 * bundle evaluates its modules once per workflow, and zod with this schema cost every task workflow ~10 MiB of
 * heap in the worker's workflow thread although only the job workflow validates a job.
 */
import { z } from 'zod';
import { parseRate, parseSize, parseTime } from './units';
import { parseTimeOfDay } from './throttle-schedule';
import { ChecksumAlgorithm } from '../storage/provider';
import { PRESET_NAMES, resolveQuirks } from '../storage/quirks';

const MiB = 1024 ** 2;

const size = (what: string, min = 0) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a ${what} (use e.g. 64MiB, 1GB or a number of bytes)` });
      return z.NEVER;
    }
    if (n < min) {
      ctx.addIssue({ code: 'custom', message: `${what} must be at least ${min} bytes, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

const rate = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseRate(v);
  if (n === undefined || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a positive rate (use e.g. 100MiB/s)` });
    return z.NEVER;
  }
  return n;
});

const time = z.union([z.number(), z.string(), z.date()]).transform((v, ctx) => {
  const t = parseTime(v);
  if (t === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a time (use ISO-8601 like 2026-01-01T00:00:00Z, or Unix seconds)` });
    return z.NEVER;
  }
  return t;
});

const positiveInt = (max: number) => z.number().int('must be a whole number').positive('must be greater than 0').max(max, `must be at most ${max}`);

const checksumNames = Object.values(ChecksumAlgorithm) as [ChecksumAlgorithm, ...ChecksumAlgorithm[]];

/** `quirks:` of an s3/oss endpoint: any preset field (storage/quirks.ts), multipart limits one by one. */
const quirksSchema = z
  .strictObject({
    listVersion: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 (ListObjects, marker) or 2 (ListObjectsV2, start-after)' }),
    listUrlEncoding: z.boolean(),
    etagIsMd5: z.boolean(),
    multipart: z.strictObject({ minPartSize: size('size', 1), maxPartSize: size('size', 1), maxParts: positiveInt(100_000) }).partial(),
    serverSideCopy: z.boolean(),
    maxServerSideCopy: size('size'),
    checksums: z.array(z.enum(checksumNames, { error: (i) => `unknown checksum ${JSON.stringify(i.input)} (expected ${checksumNames.join(', ')})` })),
    pathStyle: z.boolean(),
    rangeRequests: z.boolean(),
  })
  .partial();

type EndpointInput = { type: 's3' | 'oss' | 'fs' | 'http'; provider?: (typeof PRESET_NAMES)[number]; quirks?: z.output<typeof quirksSchema>; forcePathStyle?: boolean };

/** Rules for `provider:` and `quirks:`: s3/oss only; oss speaks only OSS; the merged multipart limits make sense. */
function checkQuirks(e: EndpointInput, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (e.type !== 's3' && e.type !== 'oss') {
    if (e.provider) issue(['provider'], `only for type s3 or oss, not ${e.type}`);
    if (e.quirks) issue(['quirks'], `only for type s3 or oss, not ${e.type}`);
    return;
  }
  if (e.type === 'oss' && e.provider && e.provider !== 'alibaba') issue(['provider'], `type oss speaks the OSS protocol: only "alibaba" (use type s3 for ${e.provider})`);
  if (e.type === 'oss' && e.quirks?.pathStyle !== undefined) issue(['quirks', 'pathStyle'], 'not used by type oss (always virtual-hosted)');
  if (e.forcePathStyle !== undefined && e.quirks?.pathStyle !== undefined && e.forcePathStyle !== e.quirks.pathStyle) issue(['quirks', 'pathStyle'], 'contradicts forcePathStyle: give one of them');
  const { minPartSize, maxPartSize } = resolveQuirks(e.type, e.provider, e.quirks).multipart;
  if (minPartSize > maxPartSize) issue(['quirks', 'multipart', 'minPartSize'], `must not exceed maxPartSize (${minPartSize} > ${maxPartSize})`);
}

/** `encryption:` names: S3 SSE-S3 / SSE-KMS, OSS AES256 / KMS (each maps to the other store's equivalent). */
const encryptionType = z.enum(['SSE-S3', 'SSE-KMS', 'AES256', 'KMS'], { error: (i) => `unknown encryption ${JSON.stringify(i.input)} (expected SSE-S3, SSE-KMS, AES256 or KMS)` });

/**
 * Where an inventory report's manifest or a manifest of keys lives: a bucket of any provider (`key`), or an fs root
 * (`path` + `key`) or a local file (`path` alone). Read with its own credential profile. See storage/inventory/.
 */
const inventoryLocationFields = {
  type: z.enum(['s3', 'oss', 'fs'], { error: (i) => `unknown type ${JSON.stringify(i.input)} (expected s3, oss or fs)` }),
  endpoint: z.url({ error: 'must be a URL like http://127.0.0.1:9000 or https://oss-cn-hangzhou.aliyuncs.com' }).optional(),
  region: z.string().min(1).optional(),
  bucket: z.string().min(1, 'must not be empty').optional(),
  credentials: z.string().min(1).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a credential profile name (letters, digits, . _ -), never the secret itself').optional(),
  forcePathStyle: z.boolean().optional(),
  path: z.string().min(1).optional(),
  key: z.string().min(1, 'must not be empty').optional(),
};

/** Rules shared by `inventory:` and `manifest:` locations. */
function checkLocation(l: { type: 's3' | 'oss' | 'fs'; endpoint?: string; bucket?: string; region?: string; credentials?: string; forcePathStyle?: boolean; path?: string; key?: string }, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (l.type === 'fs') {
    if (!l.path) issue('path', 'required for type fs: the root directory (with key) or the file itself');
    for (const f of ['endpoint', 'bucket', 'region', 'credentials', 'forcePathStyle'] as const) if (l[f] !== undefined) issue(f, 'not used by type fs');
    return;
  }
  if (!l.bucket) issue('bucket', `required for type ${l.type}: the bucket holding the file`);
  if (!l.key) issue('key', `required for type ${l.type}: the object key of the file`);
  if (l.path) issue('path', `only for type fs (use key for type ${l.type})`);
  if (l.type === 'oss' && !l.endpoint) issue('endpoint', 'required for type oss, e.g. https://oss-cn-hangzhou.aliyuncs.com');
}

/** `inventory:` an S3 Inventory or OSS inventory report, given by its manifest.json. */
const inventorySchema = z
  .strictObject({
    ...inventoryLocationFields,
    /** The report's format; detected from the manifest when absent. */
    format: z.enum(['s3', 'oss'], { error: (i) => `unknown inventory format ${JSON.stringify(i.input)} (expected s3 or oss)` }).optional(),
  })
  .superRefine(checkLocation);

/** `manifest:` a CSV/TSV file of keys, optionally with size, etag and last-modified columns. */
const manifestSchema = z
  .strictObject({
    ...inventoryLocationFields,
    /** csv (default) or tsv. */
    format: z.enum(['csv', 'tsv'], { error: (i) => `unknown manifest format ${JSON.stringify(i.input)} (expected csv or tsv)` }).optional(),
    /** The columns in order (key, size, etag, lastModified, or "-" to ignore one); absent: the file's first line names them. */
    columns: z.array(z.string().min(1)).min(1, 'name at least the key column').optional(),
  })
  .superRefine(checkLocation);

const endpointSchema = z
  .strictObject({
    type: z.enum(['s3', 'oss', 'fs', 'http'], { error: (i) => `unknown provider type ${JSON.stringify(i.input)} (expected s3, oss, fs or http)` }),
    endpoint: z.url({ error: 'must be a URL like http://127.0.0.1:9000 or https://oss-cn-hangzhou.aliyuncs.com' }).optional(),
    region: z.string().min(1).optional(),
    bucket: z.string().min(1, 'must not be empty').optional(),
    prefix: z.string().optional(),
    credentials: z.string().min(1).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a credential profile name (letters, digits, . _ -), never the secret itself').optional(),
    path: z.string().min(1).optional(),
    list: z.string().min(1).optional(),
    /** s3: path-style addressing (default true for custom endpoints). */
    forcePathStyle: z.boolean().optional(),
    /** s3/oss: the store's preset of quirks (storage/quirks.ts; default aws for s3, alibaba for oss). */
    provider: z.enum(PRESET_NAMES, { error: (i) => `unknown provider preset ${JSON.stringify(i.input)} (expected one of ${PRESET_NAMES.join(', ')})` }).optional(),
    /** s3/oss: fields of the preset overridden for this endpoint. */
    quirks: quirksSchema.optional(),
    /** oss: request signature version (default v4). */
    signatureVersion: z.enum(['v1', 'v4']).optional(),
    /** fs: follow symbolic links whose real path stays under the root (default: report each link, follow none). */
    followSymlinks: z.boolean().optional(),
    /** http: follow redirects to loopback/private/link-local addresses and https→http (default: refuse them). */
    allowPrivateRedirects: z.boolean().optional(),
    /** s3/oss destination: one storage class for every object, or a map from source class to destination class (`'*'`: any other). */
    storageClass: z.union([z.string().min(1), z.record(z.string().min(1), z.string().min(1))]).optional(),
    /** s3/oss destination: server-side encryption of written objects. */
    encryption: z.union([encryptionType, z.strictObject({ type: encryptionType, keyId: z.string().min(1).optional() })]).optional(),
    /** s3/oss destination: `private` ACL on every object, or the bucket's default (`inherit-bucket`, the default). */
    acl: z.enum(['private', 'inherit-bucket'], { error: (i) => `unknown acl ${JSON.stringify(i.input)} (expected private or inherit-bucket)` }).optional(),
    /** source/destination: an inventory report listing this side (the job never LISTs it; see storage/inventory/). */
    inventory: inventorySchema.optional(),
    /** source: a CSV/TSV file of the keys to copy instead of a listing. */
    manifest: manifestSchema.optional(),
  })
  .superRefine((e, ctx) => {
    checkQuirks(e, ctx);
    const need = (field: 'bucket' | 'path' | 'list', why: string) => {
      if (!e[field]) ctx.addIssue({ code: 'custom', path: [field], message: `required for type ${e.type}: ${why}` });
    };
    if (e.type === 's3' || e.type === 'oss') need('bucket', 'the bucket name');
    if (e.type === 'oss' && !e.endpoint) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'required for type oss, e.g. https://oss-cn-hangzhou.aliyuncs.com' });
    if (e.type === 'fs') need('path', 'the root directory');
    if (e.type === 'http') need('list', 'a file of URLs, one per line');
    for (const f of ['path', 'list'] as const) if (e[f] && e.type !== (f === 'path' ? 'fs' : 'http')) ctx.addIssue({ code: 'custom', path: [f], message: `only for type ${f === 'path' ? 'fs' : 'http'}` });
    if (e.followSymlinks !== undefined && e.type !== 'fs') ctx.addIssue({ code: 'custom', path: ['followSymlinks'], message: 'only for type fs' });
    if (e.allowPrivateRedirects !== undefined && e.type !== 'http') ctx.addIssue({ code: 'custom', path: ['allowPrivateRedirects'], message: 'only for type http' });
    for (const f of ['bucket', 'endpoint', 'region', 'credentials'] as const) if (e[f] && (e.type === 'fs' || e.type === 'http') && !(e.type === 'http' && f === 'credentials')) ctx.addIssue({ code: 'custom', path: [f], message: `not used by type ${e.type}` });
  });

const timeOfDay = z.string().transform((v, ctx) => {
  const t = parseTimeOfDay(v);
  if (t === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a time of day (use HH:MM or HH:MM:SS, 24-hour, UTC)` });
    return z.NEVER;
  }
  return { text: v.trim(), sec: t };
});

/** A time-of-day window (UTC) with the limits in force inside it; see common/throttle-schedule.ts. */
const throttleWindowSchema = z
  .strictObject({ from: timeOfDay, to: timeOfDay, bandwidth: rate.optional(), objectsPerSecond: z.number().positive('must be greater than 0').optional() })
  .superRefine((w, ctx) => {
    if (w.from.sec === w.to.sec) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must differ from "from" (a window of no time, or of the whole day: use throttle.bandwidth instead)' });
    if (w.bandwidth === undefined && w.objectsPerSecond === undefined) ctx.addIssue({ code: 'custom', message: 'give bandwidth and/or objectsPerSecond for this window' });
  });

export const jobFileSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, . _ - (max 63), starting with a letter or digit: it becomes the workflow id ferry-<name>'),
  mode: z.enum(['copy', 'verify', 'mirror'], { error: (i) => `unknown mode ${JSON.stringify(i.input)} (expected copy, verify or mirror)` }).optional(),
  /** Archived source objects (S3 GLACIER/DEEP_ARCHIVE, OSS Archive/ColdArchive/DeepColdArchive): fail (default), skip, restore. */
  archived: z.enum(['fail', 'skip', 'restore'], { error: (i) => `unknown archived policy ${JSON.stringify(i.input)} (expected fail, skip or restore)` }).optional(),
  /** With `archived: restore`: how long the restored copy stays readable, and the retrieval tier. */
  restore: z
    .strictObject({
      days: z.number().int('must be a whole number').min(1, 'must be at least 1').max(365, 'must be at most 365').optional(),
      tier: z.enum(['Bulk', 'Standard', 'Expedited'], { error: (i) => `unknown restore tier ${JSON.stringify(i.input)} (expected Bulk, Standard or Expedited)` }).optional(),
    })
    .optional(),
  /** `all`: every version of each key, oldest first, into a versioning-enabled destination. */
  versions: z.enum(['latest', 'all'], { error: (i) => `unknown versions ${JSON.stringify(i.input)} (expected latest or all)` }).optional(),
  /** What travels with an object besides its standard headers, user metadata and tags. */
  metadata: z
    .strictObject({
      /** Store the source's last-modified time as user metadata `ferry-source-last-modified` (ISO-8601). */
      sourceLastModified: z.boolean().optional(),
      /** fs destination: keep headers, metadata and tags in a sidecar file per object; fs source: read them from there. */
      sidecar: z.boolean().optional(),
    })
    .optional(),
  /** `mode: mirror`: the most it deletes without approval: a count, or a percentage of the destination ("1%", the default). */
  mirror: z.strictObject({ maxDelete: z.union([z.number().int('must be a whole number').min(0, 'must be 0 or more'), z.string().regex(/^\d+(\.\d+)?%$/, 'a count or a percentage like "1%"')]).optional() }).optional(),
  source: endpointSchema,
  destination: endpointSchema,
  filter: z
    .strictObject({
      modifiedSince: time.optional(),
      include: z.array(z.string().min(1)).optional(),
      exclude: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  overwrite: z.enum(['never', 'if-different', 'if-newer', 'always']).optional(),
  verify: z.enum(['none', 'size', 'checksum', 'checksum-strict', 'content']).optional(),
  tasks: z.strictObject({ maxObjects: positiveInt(1_000_000).optional(), maxBytes: size('size', 1).optional() }).optional(),
  concurrency: z.strictObject({ tasks: positiveInt(500).optional(), objects: positiveInt(1024).optional() }).optional(),
  multipart: z.strictObject({ threshold: size('size', 5 * MiB).optional(), partSize: size('size', 100 * 1024).optional() }).optional(),
  throttle: z
    .strictObject({
      bandwidth: rate.optional(),
      objectsPerSecond: z.number().positive('must be greater than 0').optional(),
      schedule: z.array(throttleWindowSchema).max(24, 'at most 24 windows').optional(),
    })
    .optional(),
  retries: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(100, 'must be at most 100').optional(),
  report: z.strictObject({ path: z.string().min(1).optional() }).optional(),
});

export type JobFile = z.input<typeof jobFileSchema>;
/** A validated `source`/`destination` block. */
export type EndpointFields = z.output<typeof endpointSchema>;
