/**
 * The job file (YAML or JSON) and its normalised form, the `JobSpec` that is the workflow input. Parsing
 * reports every problem at once as `path: message`. A JobSpec holds credential profile *names* only.
 */
import { z } from 'zod';
import { parseRate, parseSize, parseTime } from './units';
import { InvalidConfigError } from './errors';
import { parseTimeOfDay, type ThrottleWindow } from './throttle-schedule';

export const Overwrite = { never: 'never', ifDifferent: 'if-different', ifNewer: 'if-newer', always: 'always' } as const;
export type Overwrite = (typeof Overwrite)[keyof typeof Overwrite];
export const VerifyMode = { none: 'none', size: 'size', checksum: 'checksum', content: 'content' } as const;
export type VerifyMode = (typeof VerifyMode)[keyof typeof VerifyMode];
export const JobMode = { copy: 'copy', verify: 'verify' } as const;
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
    forcePathStyle: z.boolean().optional(),
    signatureVersion: z.enum(['v1', 'v4']).optional(),
  })
  .superRefine((e, ctx) => {
    const need = (field: 'bucket' | 'path' | 'list', why: string) => {
      if (!e[field]) ctx.addIssue({ code: 'custom', path: [field], message: `required for type ${e.type}: ${why}` });
    };
    if (e.type === 's3' || e.type === 'oss') need('bucket', 'the bucket name');
    if (e.type === 'oss' && !e.endpoint) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'required for type oss, e.g. https://oss-cn-hangzhou.aliyuncs.com' });
    if (e.type === 'fs') need('path', 'the root directory');
    if (e.type === 'http') need('list', 'a file of URLs, one per line');
    for (const f of ['path', 'list'] as const) if (e[f] && e.type !== (f === 'path' ? 'fs' : 'http')) ctx.addIssue({ code: 'custom', path: [f], message: `only for type ${f === 'path' ? 'fs' : 'http'}` });
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
  mode: z.enum(['copy', 'verify']).optional(),
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
  verify: z.enum(['none', 'size', 'checksum', 'content']).optional(),
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

export interface EndpointConfig {
  type: 's3' | 'oss' | 'fs' | 'http';
  endpoint?: string;
  region?: string;
  bucket?: string;
  prefix?: string;
  credentials?: string;
  path?: string;
  list?: string;
  forcePathStyle?: boolean;
  signatureVersion?: 'v1' | 'v4';
}

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

/** Validates a parsed job document (from YAML/JSON) and normalises it. Throws InvalidConfigError listing every problem. */
export function parseJob(doc: unknown): JobSpec {
  const res = jobFileSchema.safeParse(doc);
  if (!res.success) throw new InvalidConfigError(formatIssues(res.error));
  const j = res.data;
  const issues: string[] = [];
  const multipart = { ...JOB_DEFAULTS.multipart, ...j.multipart };
  if (multipart.partSize > multipart.threshold) issues.push(`multipart.partSize: must not exceed multipart.threshold (${multipart.partSize} > ${multipart.threshold})`);
  const s = j.source;
  const d = j.destination;
  if (d.type === 'http') issues.push('destination.type: http is a read-only source; it cannot be a destination');
  const sameStore = s.type === d.type && (s.endpoint ?? '') === (d.endpoint ?? '') && (s.bucket ?? s.path) === (d.bucket ?? d.path) && (s.type !== 'http');
  if (sameStore && prefixesOverlap(s.prefix ?? '', d.prefix ?? '') && (j.mode ?? 'copy') === 'copy') {
    issues.push(`destination.prefix: source and destination are the same ${s.type === 'fs' ? 'directory' : 'bucket'} with overlapping prefixes ("${s.prefix ?? ''}" and "${d.prefix ?? ''}"): the copy would read its own output`);
  }
  if (issues.length) throw new InvalidConfigError(issues);
  return {
    name: j.name,
    mode: j.mode ?? JobMode.copy,
    source: j.source,
    destination: j.destination,
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
