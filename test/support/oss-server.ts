/**
 * An Alibaba Cloud OSS protocol test server (node:http, in-process). No OSS emulator exists, and S3 servers
 * reject OSS signatures, so Ferry keeps its own; `test/providers/oss-server.test.ts` proves it against the
 * real `ali-oss` client. Protocol reference: `shared/reference/oss-protocol.md`.
 *
 * Covers: bucket from the `Host` header (virtual-host, as ali-oss sends for IP and hostname endpoints) or from
 * the path (path-style / `sldEnable`); V1 and V4 signature verification (403 SignatureDoesNotMatch with
 * StringToSign, InvalidAccessKeyId, RequestTimeTooSkewed, optional STS token); PutObject (Content-MD5,
 * `x-oss-forbid-overwrite`, chunked bodies), GetObject/HeadObject (Range, If-*), GetObjectMeta, DeleteObject,
 * DeleteMultipleObjects, CopyObject (copy source, metadata directive, copy-source conditions, size limit),
 * ListObjects v1 (Owner) and v2 (continuation-token, start-after, delimiter, fetch-owner, encoding-type=url),
 * multipart (Initiate, UploadPart, UploadPartCopy with range, Complete with combined ETag and CRC-64, Abort,
 * ListParts, ListMultipartUploads), bucket website configuration with mirroring-based back-to-origin on GET/HEAD of a
 * missing key (`oss-website.ts`), `x-oss-hash-crc64ecma` on every response that carries one, OSS-shaped XML
 * errors (plus `x-oss-err` for bodiless responses), programmable faults (see {@link FaultRule}) and quirks of
 * OSS-compatible stores (see {@link OssQuirks}).
 *
 * Bodies live on disk under a temp data dir and are streamed both ways; the index is in memory.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, rm, open } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Crc64, combineCrc64Parts } from '../../storage/checksum/crc64';
import { compareKeys, keyByteLength } from '../../common/keys';
import { closeFramed, partEtagAccepted, quirkHeaders, type BodyQuirks } from './body-quirks';
import { OssWebsites, fetchFromOrigin } from './oss-website';
import { OssArchive } from './oss-archive';
import { OssVersions } from './oss-versions';
import { FIELD_SUBRESOURCES, copiedFields, emptyFields, fieldHeaders, fieldOperation, fieldsOfRequest, runFieldOperation, type FieldOperation, type ObjectFields } from './oss-fields';

/** The operations the server routes to; fault rules and the request log name them. */
export type OssOperation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'GetObjectMeta'
  | 'DeleteObject'
  | 'DeleteMultipleObjects'
  | 'CopyObject'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'
  | 'PutBucketWebsite'
  | 'GetBucketWebsite'
  | 'DeleteBucketWebsite'
  | 'RestoreObject'
  | FieldOperation
  | 'PutBucketVersioning'
  | 'GetBucketVersioning'
  | 'ListObjectVersions';

/** What a fault does to a matching request. */
export type FaultAction =
  /** Answer with this status and OSS error code (e.g. 503 SlowDown, 500 InternalError, 404 NoSuchKey). */
  | { kind: 'error'; status: number; code: string; message?: string }
  /** Delay handling (the first byte) by `ms`. Combines with the other actions. */
  | { kind: 'latency'; ms: number }
  /** GetObject: send the headers and `afterBytes` bytes of the body, then close the connection. */
  | { kind: 'truncate'; afterBytes: number }
  /** Send an `x-oss-hash-crc64ecma` one off from the true value (Get/Head/Put/UploadPart/Complete/Copy). */
  | { kind: 'wrongCrc' }
  /** GetObject/HeadObject: change the object before serving (new body, ETag, CRC, mtime): "changed since list". */
  | { kind: 'mutate'; body?: Buffer }
  /** Destroy the connection without answering. */
  | { kind: 'reset' };

/** A programmable fault: which requests it hits and how many times. */
export interface FaultRule {
  op?: OssOperation | OssOperation[];
  method?: string;
  bucket?: string;
  key?: string | RegExp | ((key: string) => boolean);
  /** How many matching requests it hits (default 1; `Infinity` for all). */
  times?: number;
  action: FaultAction;
}

export interface FaultHandle {
  /** Requests this rule has hit so far. */
  readonly hits: number;
  remove(): void;
}

export interface OssServerOptions {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests must carry this `x-oss-security-token` (STS credentials). */
  sessionToken?: string;
  /** Parent directory for object bodies (a fresh subdirectory is made and removed on stop). Default: OS temp. */
  dataDir?: string;
  /** V4 signing region (default `cn-hangzhou`; ali-oss strips the `oss-` of its region option). */
  region?: string;
  /** CopyObject size limit (default 1 GiB, as OSS). Tests use a small value to force UploadPartCopy. */
  maxCopySize?: number;
  /** Minimum size of every part but the last, checked at Complete (default 100 KiB). */
  minPartSize?: number;
  /** Accept requests without an Authorization header. */
  allowAnonymous?: boolean;
  /** Allowed clock skew (default 15 minutes). */
  maxSkewMs?: number;
  port?: number;
  /** How this server departs from OSS, like some OSS-compatible stores (none by default; see {@link OssQuirks}). */
  quirks?: OssQuirks;
}

/**
 * Ways OSS-compatible stores seen in the field depart from OSS, for tests of Ferry's defences. All off by default;
 * the object is read at every request, so a test may change it on a running server (`server.quirks`).
 */
export interface OssQuirks extends BodyQuirks {
  /** ListObjectsV2 ignores `start-after` (every page without a continuation token starts at the beginning). */
  ignoreStartAfter?: boolean;
  /** Knows only ListObjects V1: a `list-type=2` request is answered as V1 (start-after and continuation-token ignored, no NextContinuationToken). */
  v1Only?: boolean;
  /** ListObjects V1 ignores `marker`. */
  ignoreMarker?: boolean;
  /** Each list page holds the right keys, shuffled. */
  unorderedPages?: boolean;
  /** Listings asked for `encoding-type=url` say so but send keys as they are (a `%` in a key is not valid encoding). */
  listNotEncoded?: boolean;
}

export interface RecordedRequest {
  op: OssOperation | 'Unsupported';
  method: string;
  bucket: string;
  key: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  auth: 'v1' | 'v4' | 'anonymous' | 'none';
  status: number;
}

export interface StoredObjectInfo {
  size: number;
  etag: string;
  crc64: string;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: Date;
  type: 'Normal' | 'Multipart';
  /** Standard headers, storage class, encryption, ACL and tags (oss-fields.ts). */
  fields: ObjectFields;
}

export interface OssServer {
  /** `http://127.0.0.1:PORT` — pass as ali-oss `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every request seen (most recent last, capped at 5000). */
  readonly requests: RecordedRequest[];
  /** The quirks in force (the object given in the options, or an empty one): change it to change them. */
  readonly quirks: OssQuirks;
  readonly faults: { add(rule: FaultRule): FaultHandle; clear(): void };
  /** Archived objects and their restores (oss-archive.ts): set `restoreDelayMs` / `restoredForMs` here. */
  readonly archive: OssArchive;
  createBucket(name: string): void;
  /** What the server holds for a key (undefined when absent), for assertions. */
  inspect(bucket: string, key: string): StoredObjectInfo | undefined;
  /** Keys of a bucket in listing order. */
  keys(bucket: string): string[];
  /** Pending multipart upload ids of a bucket. */
  uploadIds(bucket: string): string[];
  stop(): Promise<void>;
}

const GiB = 1024 * 1024 * 1024;
const MAX_SINGLE_PUT = 5 * GiB;
const OWNER_ID = '1234567890123456';

/** Sub-resources: signed in V1's CanonicalizedResource; rendered bare when empty in V4's canonical query. */
const SUBRESOURCES = new Set([
  'acl', 'uploads', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'delete', 'append',
  'tagging', 'objectMeta', 'uploadId', 'partNumber', 'security-token', 'position', 'img', 'style', 'styleName',
  'replication', 'replicationProgress', 'replicationLocation', 'cname', 'bucketInfo', 'comp', 'qos', 'live',
  'status', 'vod', 'startTime', 'endTime', 'symlink', 'x-oss-process', 'response-content-type',
  'response-content-language', 'response-expires', 'response-cache-control', 'response-content-disposition',
  'response-content-encoding', 'udf', 'udfName', 'udfImage', 'udfId', 'udfImageDesc', 'udfApplication',
  'udfApplicationLog', 'restore', 'callback', 'callback-var', 'policy', 'stat', 'encryption', 'versions',
  'versioning', 'versionId', 'worm', 'wormId', 'wormExtend', 'continuation-token', 'inventory', 'inventoryId',
  'requestPayment', 'sequential',
]);

/** Sub-resources each operation understands; any other sub-resource on a request means "not implemented". */
const HANDLED_SUBRESOURCES = new Set(['uploads', 'uploadId', 'partNumber', 'objectMeta', 'delete', 'continuation-token', 'security-token', 'website', 'restore', ...FIELD_SUBRESOURCES, 'versioning', 'versions', 'versionId']);

class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface StoredObject {
  key: string;
  file: string;
  size: number;
  /** Upper-case hex, unquoted. */
  etag: string;
  crc64: string;
  contentType: string;
  meta: Record<string, string>;
  lastModified: Date;
  type: 'Normal' | 'Multipart';
  /** Standard headers, storage class, encryption, ACL and tags (oss-fields.ts). */
  fields: ObjectFields;
  /** Version id in a bucket with versioning set (oss-versions.ts). */
  versionId?: string;
}

interface Part {
  number: number;
  file: string;
  size: number;
  etag: string;
  md5: Buffer;
  crc64: string;
  lastModified: Date;
}

interface Upload {
  uploadId: string;
  key: string;
  initiated: Date;
  contentType: string;
  meta: Record<string, string>;
  fields: ObjectFields;
  parts: Map<number, Part>;
}

interface Bucket {
  name: string;
  objects: Map<string, StoredObject>;
  /** Keys in UTF-8 byte order. */
  sorted: string[];
  uploads: Map<string, Upload>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  method: string;
  host: string;
  bucket: string;
  key: string;
  query: Map<string, string>;
  op: OssOperation | 'Unsupported';
  auth: RecordedRequest['auth'];
  faults: FaultAction[];
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
  hits: number;
}

// ---------------------------------------------------------------- helpers: encoding, XML, time

/** RFC 3986 encoding as ali-oss's V4 signer uses it (encodeURIComponent plus `!'()*`). */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `encoding-type=url` form of listing values (Go's QueryEscape: space as `+`). */
function encodeListValue(s: string): string {
  return encodeRfc3986(s).replace(/%20/g, '+');
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case "'": return '&apos;';
      default: return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** `<name>children</name>`; string children are raw XML (use {@link t} for text). */
function el(name: string, ...children: (string | undefined | false)[]): string {
  return `<${name}>${children.filter((c): c is string => typeof c === 'string').join('')}</${name}>`;
}

/** A text element with escaped content. */
function t(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function xmlDoc(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function httpDate(d: Date): string {
  return d.toUTCString();
}

function nowSeconds(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

function unquote(s: string): string {
  return s.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((h) => {
    const v = unquote(h);
    return v === '*' || v.toUpperCase() === etag.toUpperCase();
  });
}

function parseHttpDate(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const n = Date.parse(s);
  return Number.isNaN(n) ? undefined : n;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function userMeta(req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-oss-meta-') && v !== undefined) meta[k.slice('x-oss-meta-'.length)] = Array.isArray(v) ? v.join(', ') : v;
  }
  return meta;
}

/** A shuffled copy (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function parseQuery(raw: string): Map<string, string> {
  const q = new Map<string, string>();
  if (!raw) return q;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    q.set(dec(name), dec(value));
  }
  return q;
}

function isIpOrLocal(host: string): boolean {
  return host === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}

/** Drains a request body so an early answer does not break the client's upload. */
function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.once('error', () => resolve());
    req.resume();
  });
}

async function readSmallBody(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new OssError(400, 'InvalidArgument', `request body larger than ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function checkContentMd5(req: IncomingMessage, md5: Buffer): void {
  const want = header(req, 'content-md5');
  if (want === undefined) return;
  if (Buffer.from(want, 'base64').length !== 16) throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
  if (want !== md5.toString('base64')) throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
}

function validateObjectKey(key: string): void {
  if (key.length === 0) throw new OssError(400, 'InvalidObjectName', 'The object name must not be empty.');
  if (keyByteLength(key) > 1023) throw new OssError(400, 'InvalidObjectName', 'The length of the object name must be less than 1024 bytes.');
  if (key.startsWith('/') || key.startsWith('\\')) throw new OssError(400, 'InvalidObjectName', 'The object name must not start with "/" or "\\".');
}

function validateBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) throw new OssError(400, 'InvalidBucketName', `The specified bucket "${name}" is not valid.`);
}

/** Streams `src` into `dest` computing MD5 and CRC-64; removes `dest` when the stream fails (client gone). */
async function streamToFile(src: NodeJS.ReadableStream | Readable, dest: string): Promise<{ size: number; md5: Buffer; crc64: string }> {
  const md5 = createHash('md5');
  const crc = new Crc64();
  const hasher = new Transform({
    transform(chunk: Buffer, _e, cb) {
      md5.update(chunk);
      crc.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(src, hasher, createWriteStream(dest));
  } catch (e) {
    await rm(dest, { force: true });
    throw e;
  }
  return { size: crc.bytes, md5: md5.digest(), crc64: crc.toString() };
}

// ---------------------------------------------------------------- the server

/** Starts the server on 127.0.0.1 (a free port unless `port` is given). */
export async function startOssServer(opts: OssServerOptions): Promise<OssServer> {
  const root = mkdtempSync(join(opts.dataDir ?? tmpdir(), 'ferry-oss-server-'));
  const dirs = { objects: join(root, 'objects'), parts: join(root, 'parts'), tmp: join(root, 'tmp') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const region = opts.region ?? 'cn-hangzhou';
  const maxCopySize = opts.maxCopySize ?? GiB;
  const minPartSize = opts.minPartSize ?? 100 * 1024;
  const maxSkewMs = opts.maxSkewMs ?? 15 * 60_000;
  const buckets = new Map<string, Bucket>();
  const rules: ActiveRule[] = [];
  const requests: RecordedRequest[] = [];
  const quirks: OssQuirks = opts.quirks ?? {};
  const websites = new OssWebsites((status, code, message) => new OssError(status, code, message));
  const archive = new OssArchive((status, code, message) => new OssError(status, code, message), (bucket, key) => buckets.get(bucket)?.objects.get(key));
  const versions = new OssVersions<StoredObject>({
    objects: (bucket) => [...getBucket(bucket).objects.values()],
    setCurrent: (bucket, key, obj) => (obj ? commitCurrent(getBucket(bucket), obj) : dropCurrent(getBucket(bucket), key)),
    removeFile: (file) => void rm(file, { force: true }),
    error: (status, code, message) => new OssError(status, code, message),
  });
  const versionHeader = (o: StoredObject): Record<string, string> => (o.versionId ? { 'x-oss-version-id': o.versionId } : {});

  const newFile = (dir: string) => join(dir, randomBytes(12).toString('hex'));
  const fieldError = (status: number, code: string, message: string) => new OssError(status, code, message);

  function getBucket(name: string): Bucket {
    const b = buckets.get(name);
    if (!b) throw new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: name });
    return b;
  }

  function getObject(b: Bucket, key: string): StoredObject {
    const o = b.objects.get(key);
    if (!o) throw new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    return o;
  }

  function getUpload(b: Bucket, key: string, uploadId: string): Upload {
    const u = b.uploads.get(uploadId);
    if (!u || u.key !== key) throw new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
    return u;
  }

  function checkForbidOverwrite(ctx: Ctx, b: Bucket, key: string): void {
    if (header(ctx.req, 'x-oss-forbid-overwrite')?.toLowerCase() === 'true' && b.objects.has(key)) {
      throw new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.');
    }
  }

  /** Makes `obj` the current object of its key (a version, when versioning is set, keeps the body it replaces). */
  function commit(b: Bucket, obj: StoredObject): void {
    const old = b.objects.get(obj.key);
    const kept = versions.added(b.name, obj, old);
    commitCurrent(b, obj);
    if (old && !kept) void rm(old.file, { force: true });
  }

  function commitCurrent(b: Bucket, obj: StoredObject): void {
    if (!b.objects.has(obj.key)) b.sorted.splice(lowerBound(b.sorted, obj.key), 0, obj.key);
    b.objects.set(obj.key, obj);
  }

  function dropCurrent(b: Bucket, key: string): StoredObject | undefined {
    const old = b.objects.get(key);
    if (!old) return undefined;
    b.objects.delete(key);
    b.sorted.splice(lowerBound(b.sorted, key), 1);
    return old;
  }

  /** DeleteObject: with versioning set (or a `versionId`) a delete marker or one version goes (oss-versions.ts). Returns the answer's headers. */
  function removeObject(b: Bucket, key: string, versionId?: string): Record<string, string> {
    if (versionId !== undefined || versions.status(b.name)) return versions.delete(b.name, key, versionId);
    const old = dropCurrent(b, key);
    if (old) void rm(old.file, { force: true });
    return {};
  }

  function dropUpload(b: Bucket, u: Upload): void {
    b.uploads.delete(u.uploadId);
    for (const p of u.parts.values()) void rm(p.file, { force: true });
  }

  // ------------------------------------------------------------ faults

  function matches(rule: FaultRule, ctx: Ctx): boolean {
    if (rule.op !== undefined && ctx.op !== 'Unsupported' && !(Array.isArray(rule.op) ? rule.op.includes(ctx.op) : rule.op === ctx.op)) return false;
    if (rule.op !== undefined && ctx.op === 'Unsupported') return false;
    if (rule.method !== undefined && rule.method.toUpperCase() !== ctx.method) return false;
    if (rule.bucket !== undefined && rule.bucket !== ctx.bucket) return false;
    if (rule.key !== undefined) {
      if (typeof rule.key === 'string' && rule.key !== ctx.key) return false;
      if (rule.key instanceof RegExp && !rule.key.test(ctx.key)) return false;
      if (typeof rule.key === 'function' && !rule.key(ctx.key)) return false;
    }
    return true;
  }

  /**
   * The faults a request gets. A request that an `error` or `reset` fault ends takes only that fault (and any
   * latency): the other matching rules stay armed for a request that reaches them (a `mutate` consumed by a 503
   * would never mutate).
   */
  function takeFaults(ctx: Ctx): FaultAction[] {
    const matching = rules.filter((r) => r.remaining > 0 && matches(r.rule, ctx));
    const ending = matching.find((r) => r.rule.action.kind === 'error' || r.rule.action.kind === 'reset');
    const taken = ending ? matching.filter((r) => r === ending || r.rule.action.kind === 'latency') : matching;
    for (const r of taken) {
      r.remaining--;
      r.hits++;
    }
    return taken.map((r) => r.rule.action);
  }

  const faultOf = <K extends FaultAction['kind']>(ctx: Ctx, kind: K) =>
    ctx.faults.find((f): f is Extract<FaultAction, { kind: K }> => f.kind === kind);

  const crcHeader = (ctx: Ctx, crc: string) => (faultOf(ctx, 'wrongCrc') ? ((BigInt(crc) + 1n) & ((1n << 64n) - 1n)).toString() : crc);

  // ------------------------------------------------------------ responses

  function baseHeaders(ctx: Ctx): Record<string, string> {
    return { 'x-oss-request-id': ctx.requestId, server: 'AliyunOSS', date: httpDate(new Date()) };
  }

  /** Makes the answer depart from OSS as the quirks in force say (body-quirks.ts): headers, and close-framed GET bodies. */
  function withBodyQuirks(ctx: Ctx): void {
    const writeHead = ctx.res.writeHead.bind(ctx.res);
    ctx.res.writeHead = ((status: number, headers: OutgoingHttpHeaders = {}) => {
      const getBody = ctx.op === 'GetObject' && status < 300;
      if (getBody && quirks.noContentLength) closeFramed(ctx.res);
      return writeHead(status, quirkHeaders(headers, quirks, getBody));
    }) as typeof ctx.res.writeHead;
  }

  function sendXml(ctx: Ctx, status: number, body: string, headers: Record<string, string> = {}): void {
    const buf = Buffer.from(xmlDoc(body));
    ctx.res.writeHead(status, { ...baseHeaders(ctx), 'content-type': 'application/xml', 'content-length': String(buf.length), ...headers });
    ctx.res.end(buf);
  }

  function sendEmpty(ctx: Ctx, status: number, headers: Record<string, string> = {}): void {
    ctx.res.writeHead(status, { ...baseHeaders(ctx), 'content-length': '0', ...headers });
    ctx.res.end();
  }

  function sendError(ctx: Ctx, err: OssError): void {
    const { res } = ctx;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const xml = xmlDoc(
      el('Error',
        t('Code', err.code),
        t('Message', err.message),
        t('RequestId', ctx.requestId),
        t('HostId', ctx.host),
        ...Object.entries(err.extra).map(([k, v]) => t(k, v)),
      ),
    );
    const headers = { ...baseHeaders(ctx), 'x-oss-err': Buffer.from(xml).toString('base64'), 'content-type': 'application/xml' };
    if (ctx.method === 'HEAD' || err.status === 304) {
      res.writeHead(err.status, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    const buf = Buffer.from(xml);
    res.writeHead(err.status, { ...headers, 'content-length': String(buf.length) });
    res.end(buf);
  }

  function objectHeaders(ctx: Ctx, o: StoredObject): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': o.contentType,
      etag: quoteEtag(o.etag),
      'last-modified': httpDate(o.lastModified),
      'x-oss-object-type': o.type,
      'x-oss-hash-crc64ecma': crcHeader(ctx, o.crc64),
      'accept-ranges': 'bytes',
      ...versionHeader(o),
      ...fieldHeaders(o.fields),
      ...archive.headers(o),
    };
    for (const [k, v] of Object.entries(o.meta)) h[`x-oss-meta-${k}`] = v;
    return h;
  }

  // ------------------------------------------------------------ authentication

  function authenticate(ctx: Ctx): void {
    const { req } = ctx;
    const authz = header(req, 'authorization');
    if (!authz) {
      if (opts.allowAnonymous) {
        ctx.auth = 'anonymous';
        return;
      }
      throw new OssError(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.');
    }
    const token = header(req, 'x-oss-security-token');
    if (authz.startsWith('OSS4-HMAC-SHA256 ')) verifyV4(ctx, authz.slice('OSS4-HMAC-SHA256 '.length));
    else if (authz.startsWith('OSS ')) verifyV1(ctx, authz.slice(4));
    else throw new OssError(400, 'InvalidArgument', 'Authorization header is invalid.', { Authorization: authz });
    if (opts.sessionToken !== undefined && token !== opts.sessionToken) {
      throw new OssError(403, 'InvalidSecurityToken', 'The security token you provided is invalid.');
    }
  }

  function checkAccessKey(id: string): void {
    if (id !== opts.accessKeyId) {
      throw new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', { OSSAccessKeyId: id });
    }
  }

  function checkSkew(when: number | undefined, raw: string | undefined): void {
    if (when === undefined) throw new OssError(403, 'AccessDenied', `Invalid date: ${raw ?? '(none)'}`);
    if (Math.abs(Date.now() - when) > maxSkewMs) {
      throw new OssError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: raw ?? '',
        ServerTime: new Date().toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      });
    }
  }

  function sameSignature(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  function verifyV1(ctx: Ctx, cred: string): void {
    const { req } = ctx;
    const colon = cred.lastIndexOf(':');
    const id = colon < 0 ? cred : cred.slice(0, colon);
    const sig = colon < 0 ? '' : cred.slice(colon + 1);
    checkAccessKey(id);
    const date = header(req, 'x-oss-date') ?? header(req, 'date');
    checkSkew(parseHttpDate(date), date);
    const ossHeaders = Object.keys(req.headers)
      .filter((k) => k.startsWith('x-oss-'))
      .sort()
      .map((k) => `${k}:${header(req, k)!.trim()}`);
    let resource = ctx.bucket ? `/${ctx.bucket}/${ctx.key}` : '/';
    const subs = [...ctx.query.entries()].filter(([k]) => SUBRESOURCES.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (subs.length) resource += `?${subs.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&')}`;
    const stringToSign = [ctx.method, header(req, 'content-md5') ?? '', header(req, 'content-type') ?? '', date ?? '', ...ossHeaders, resource].join('\n');
    const expected = createHmac('sha1', opts.secretAccessKey).update(Buffer.from(stringToSign, 'utf8')).digest('base64');
    ctx.auth = 'v1';
    if (!sameSignature(expected, sig)) {
      throw new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        OSSAccessKeyId: id,
        SignatureProvided: sig,
        StringToSign: stringToSign,
        StringToSignBytes: Buffer.from(stringToSign).toString('hex').replace(/(..)/g, '$1 ').trim(),
      });
    }
  }

  function verifyV4(ctx: Ctx, params: string): void {
    const { req } = ctx;
    const fields = new Map<string, string>();
    for (const part of params.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential') ?? '';
    const signature = fields.get('Signature') ?? '';
    const [id = '', scopeDate = '', scopeRegion = '', product = '', terminator = ''] = credential.split('/');
    checkAccessKey(id);
    const date = header(req, 'x-oss-date') ?? '';
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    checkSkew(m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined, date);
    if (scopeDate !== date.slice(0, 8) || product !== 'oss' || terminator !== 'aliyun_v4_request') {
      throw new OssError(400, 'InvalidArgument', `Invalid credential scope in Authorization header: ${credential}`);
    }
    if (scopeRegion !== region) {
      throw new OssError(400, 'InvalidArgument', `Invalid signing region in Authorization header: ${scopeRegion} (this endpoint is ${region}).`);
    }
    const additional = (fields.get('AdditionalHeaders') ?? '').split(';').map((h) => h.trim().toLowerCase()).filter(Boolean).sort();
    const uri = encodeRfc3986(ctx.bucket ? `/${ctx.bucket}/${ctx.key}` : '/').replace(/%2F/g, '/');
    const query = [...ctx.query.entries()]
      .map(([k, v]) => [encodeRfc3986(k), k, v] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([ek, k, v]) => (v === '' && SUBRESOURCES.has(k) ? ek : `${ek}=${encodeRfc3986(v)}`))
      .join('&');
    const signedHeaders = new Set(additional);
    for (const k of Object.keys(req.headers)) if (k === 'content-type' || k === 'content-md5' || k.startsWith('x-oss-')) signedHeaders.add(k);
    const canonicalHeaders = [...signedHeaders].sort().map((k) => `${k}:${(header(req, k) ?? '').trim()}\n`).join('');
    const payload = header(req, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD';
    const canonicalRequest = [ctx.method, uri, query, canonicalHeaders, additional.join(';'), payload].join('\n');
    const scope = `${scopeDate}/${scopeRegion}/oss/aliyun_v4_request`;
    const stringToSign = ['OSS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
    let key = createHmac('sha256', `aliyun_v4${opts.secretAccessKey}`).update(scopeDate).digest();
    for (const part of [scopeRegion, 'oss', 'aliyun_v4_request']) key = createHmac('sha256', key).update(part).digest();
    const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
    ctx.auth = 'v4';
    if (!sameSignature(expected, signature)) {
      throw new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        OSSAccessKeyId: id,
        SignatureProvided: signature,
        StringToSign: stringToSign,
        CanonicalRequest: canonicalRequest,
      });
    }
  }

  // ------------------------------------------------------------ routing

  function route(ctx: Ctx): OssOperation | 'Unsupported' {
    const q = ctx.query;
    for (const k of q.keys()) if (SUBRESOURCES.has(k) && !HANDLED_SUBRESOURCES.has(k)) return 'Unsupported';
    const m = ctx.method;
    if (!ctx.bucket) return 'Unsupported';
    if (q.has('versioning')) return ctx.key ? 'Unsupported' : m === 'PUT' ? 'PutBucketVersioning' : m === 'GET' ? 'GetBucketVersioning' : 'Unsupported';
    if (q.has('versions')) return !ctx.key && m === 'GET' ? 'ListObjectVersions' : 'Unsupported';
    if (q.has('website')) {
      const websiteOps: Record<string, OssOperation> = { PUT: 'PutBucketWebsite', GET: 'GetBucketWebsite', DELETE: 'DeleteBucketWebsite' };
      return (!ctx.key && websiteOps[m]) || 'Unsupported';
    }
    const fieldOp = fieldOperation(m, ctx.key, q);
    if (fieldOp) return fieldOp;
    if (!ctx.key) {
      if (m === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
      if (m === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
      if (m === 'GET') return 'ListObjects';
      if (m === 'POST' && q.has('delete')) return 'DeleteMultipleObjects';
      return 'Unsupported';
    }
    const copy = header(ctx.req, 'x-oss-copy-source') !== undefined;
    if (m === 'PUT' && q.has('uploadId') && q.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
    if (m === 'PUT') return copy ? 'CopyObject' : 'PutObject';
    if (m === 'GET') return q.has('uploadId') ? 'ListParts' : 'GetObject';
    if (m === 'HEAD') return q.has('objectMeta') ? 'GetObjectMeta' : 'HeadObject';
    if (m === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    if (m === 'POST' && q.has('uploads')) return 'InitiateMultipartUpload';
    if (m === 'POST' && q.has('restore')) return 'RestoreObject';
    if (m === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
    return 'Unsupported';
  }

  function parseTarget(req: IncomingMessage): { host: string; bucket: string; key: string; query: Map<string, string> } {
    const hostHeader = header(req, 'host') ?? '';
    const host = hostHeader.replace(/:\d+$/, '');
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    let path: string;
    let query: Map<string, string>;
    try {
      path = decodeURIComponent(rawPath);
      query = parseQuery(qi < 0 ? '' : url.slice(qi + 1));
    } catch {
      throw new OssError(400, 'InvalidURI', `Could not parse the request URI: ${url}`);
    }
    // Virtual-host style: `<bucket>.<endpoint host>` (ali-oss with IP endpoints: `<bucket>.<region>.aliyuncs.com`).
    if (!isIpOrLocal(host) && host.includes('.') && !host.startsWith('oss-')) {
      return { host: hostHeader, bucket: host.slice(0, host.indexOf('.')), key: path.slice(1), query };
    }
    // Path style: `/<bucket>/<key>`.
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    if (slash < 0) return { host: hostHeader, bucket: rest, key: '', query };
    return { host: hostHeader, bucket: rest.slice(0, slash), key: rest.slice(slash + 1), query };
  }

  // ------------------------------------------------------------ operations

  async function putObject(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    validateObjectKey(ctx.key);
    checkForbidOverwrite(ctx, b, ctx.key);
    const declared = Number(header(ctx.req, 'content-length') ?? NaN);
    if (declared > MAX_SINGLE_PUT) throw new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.');
    const file = newFile(dirs.objects);
    const got = await streamToFile(ctx.req, file);
    try {
      checkContentMd5(ctx.req, got.md5);
      checkForbidOverwrite(ctx, b, ctx.key);
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    }
    const obj: StoredObject = {
      key: ctx.key,
      file,
      size: got.size,
      etag: got.md5.toString('hex').toUpperCase(),
      crc64: got.crc64,
      contentType: header(ctx.req, 'content-type') ?? 'application/octet-stream',
      meta: userMeta(ctx.req),
      lastModified: nowSeconds(),
      type: 'Normal',
      fields: fieldsOfRequest(ctx.req, fieldError),
    };
    commit(b, obj);
    sendEmpty(ctx, 200, { etag: quoteEtag(obj.etag), 'content-md5': got.md5.toString('base64'), 'x-oss-hash-crc64ecma': crcHeader(ctx, obj.crc64), ...versionHeader(obj) });
  }

  /** GET/HEAD preconditions: 412 PreconditionFailed or 304 Not Modified. */
  function checkConditions(ctx: Ctx, o: StoredObject, prefix = ''): void {
    const h = (n: string) => header(ctx.req, `${prefix}${n}`);
    const ifMatch = h('if-match');
    const ifNoneMatch = h('if-none-match');
    const ifModifiedSince = parseHttpDate(h('if-modified-since'));
    const ifUnmodifiedSince = parseHttpDate(h('if-unmodified-since'));
    const mtime = o.lastModified.getTime();
    if (ifMatch !== undefined && !etagMatches(ifMatch, o.etag)) throw new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', { Condition: `${prefix}If-Match` });
    if (ifMatch === undefined && ifUnmodifiedSince !== undefined && mtime > ifUnmodifiedSince) throw new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', { Condition: `${prefix}If-Unmodified-Since` });
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, o.etag)) throw new OssError(304, 'NotModified', 'Not Modified');
    if (ifNoneMatch === undefined && ifModifiedSince !== undefined && mtime <= ifModifiedSince) throw new OssError(304, 'NotModified', 'Not Modified');
  }

  /** Replaces an object's content in place (the "mutate" fault): same key, new body, ETag, CRC and mtime. */
  async function mutateObject(b: Bucket, o: StoredObject, body: Buffer | undefined): Promise<StoredObject> {
    const file = newFile(dirs.objects);
    if (body) {
      await streamToFile(Readable.from([body]), file);
    } else {
      await copyFile(o.file, file);
      const fh = await open(file, 'r+');
      try {
        const first = Buffer.alloc(1);
        const { bytesRead } = await fh.read(first, 0, 1, 0);
        await fh.write(Buffer.from([bytesRead ? first[0]! ^ 0xff : 0x21]), 0, 1, 0);
      } finally {
        await fh.close();
      }
    }
    const got = await streamToFile(createReadStream(file), `${file}.rehash`);
    await rm(`${file}.rehash`, { force: true });
    const changed: StoredObject = { ...o, file, size: got.size, etag: got.md5.toString('hex').toUpperCase(), crc64: got.crc64, lastModified: new Date(o.lastModified.getTime() + 1000), type: 'Normal' };
    commit(b, changed);
    return changed;
  }

  async function getOrHeadObject(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    const versionId = ctx.query.get('versionId');
    let o = versionId !== undefined ? versions.find(b.name, ctx.key, versionId) : (b.objects.get(ctx.key) ?? (await mirrored(ctx, b)) ?? getObject(b, ctx.key));
    const mutate = faultOf(ctx, 'mutate');
    if (mutate) o = await mutateObject(b, o, mutate.body);
    checkConditions(ctx, o);
    if (ctx.method === 'GET') archive.checkReadable(o);
    let start = 0;
    let end = o.size - 1;
    let status = 200;
    const range = quirks.ignoreRange ? undefined : header(ctx.req, 'range');
    const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
    if (m && (m[1] !== '' || m[2] !== '')) {
      let s: number;
      let e: number;
      if (m[1] === '') {
        s = Math.max(0, o.size - Number(m[2]));
        e = o.size - 1;
      } else {
        s = Number(m[1]);
        e = m[2] === '' ? o.size - 1 : Math.min(Number(m[2]), o.size - 1);
      }
      const valid = s <= e && s < o.size && !(m[1] === '' && Number(m[2]) === 0);
      if (valid) {
        start = s;
        end = e;
        status = 206;
      } else if (header(ctx.req, 'x-oss-range-behavior')?.toLowerCase() === 'standard') {
        throw new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { RangeRequested: range ?? '' });
      } // else: OSS answers an invalid range with the whole object (200).
    }
    const length = o.size === 0 ? 0 : end - start + 1;
    const headers: Record<string, string> = { ...baseHeaders(ctx), ...objectHeaders(ctx, o), 'content-length': String(length) };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
    ctx.res.writeHead(status, headers);
    if (ctx.method === 'HEAD' || length === 0) {
      ctx.res.end();
      return;
    }
    const truncate = faultOf(ctx, 'truncate');
    if (truncate) {
      const limit = Math.min(truncate.afterBytes, length);
      if (limit > 0) {
        for await (const chunk of createReadStream(o.file, { start, end: start + limit - 1 }) as AsyncIterable<Buffer>) {
          if (!ctx.res.write(chunk)) await once(ctx.res, 'drain');
        }
      } else {
        ctx.res.flushHeaders();
      }
      ctx.res.socket?.end();
      return;
    }
    await pipeline(createReadStream(o.file, { start, end }), ctx.res);
  }

  function getObjectMeta(ctx: Ctx): void {
    const o = getObject(getBucket(ctx.bucket), ctx.key);
    sendEmpty(ctx, 200, {
      etag: quoteEtag(o.etag),
      'content-length': String(o.size),
      'last-modified': httpDate(o.lastModified),
      'x-oss-hash-crc64ecma': crcHeader(ctx, o.crc64),
    });
  }

  function deleteObject(ctx: Ctx): void {
    const b = getBucket(ctx.bucket);
    sendEmpty(ctx, 204, removeObject(b, ctx.key, ctx.query.get('versionId')));
  }

  async function deleteMultiple(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    const body = await readSmallBody(ctx.req);
    checkContentMd5(ctx.req, createHash('md5').update(body).digest());
    const xml = body.toString('utf8');
    if (!/<Delete>/.test(xml)) throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
    const keys = [...xml.matchAll(/<Object>\s*<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Object>/g)].map((mm) => unescapeXml(mm[1]!));
    for (const k of keys) removeObject(b, k);
    const url = ctx.query.get('encoding-type') === 'url';
    sendXml(ctx, 200, el('DeleteResult', url && t('EncodingType', 'url'), ...(quiet ? [] : keys.map((k) => el('Deleted', t('Key', url ? encodeListValue(k) : k))))));
  }

  function parseCopySource(ctx: Ctx): { bucket: Bucket; object: StoredObject } {
    const raw = header(ctx.req, 'x-oss-copy-source') ?? '';
    const noVersion = raw.split('?')[0]!;
    let decoded: string;
    try {
      decoded = decodeURIComponent(noVersion);
    } catch {
      throw new OssError(400, 'InvalidArgument', `Invalid x-oss-copy-source: ${raw}`);
    }
    const m = /^\/?([^/]+)\/(.+)$/s.exec(decoded);
    if (!m) throw new OssError(400, 'InvalidArgument', `Invalid x-oss-copy-source: ${raw}`);
    const bucket = getBucket(m[1]!);
    const versionId = /[?&]versionId=([^&]*)/.exec(raw)?.[1];
    const object = versionId !== undefined ? versions.find(bucket.name, m[2]!, decodeURIComponent(versionId)) : getObject(bucket, m[2]!);
    return { bucket, object };
  }

  async function copyObject(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    validateObjectKey(ctx.key);
    await drain(ctx.req);
    const src = parseCopySource(ctx);
    checkConditions(ctx, src.object, 'x-oss-copy-source-');
    archive.checkReadable(src.object);
    if (src.object.size > maxCopySize) {
      throw new OssError(400, 'EntityTooLarge', `The source object is larger than ${maxCopySize} bytes; use UploadPartCopy.`);
    }
    const directive = (header(ctx.req, 'x-oss-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw new OssError(400, 'InvalidArgument', `Invalid x-oss-metadata-directive: ${directive}`);
    checkForbidOverwrite(ctx, b, ctx.key);
    const file = newFile(dirs.objects);
    await copyFile(src.object.file, file);
    const replace = directive === 'REPLACE';
    const obj: StoredObject = {
      ...src.object,
      key: ctx.key,
      file,
      contentType: replace ? header(ctx.req, 'content-type') ?? 'application/octet-stream' : src.object.contentType,
      meta: replace ? userMeta(ctx.req) : { ...src.object.meta },
      lastModified: nowSeconds(),
      fields: copiedFields(ctx.req, src.object.fields, replace, fieldError),
    };
    commit(b, obj);
    sendXml(ctx, 200, el('CopyObjectResult', t('ETag', quoteEtag(obj.etag)), t('LastModified', obj.lastModified.toISOString())), {
      etag: quoteEtag(obj.etag),
      'x-oss-hash-crc64ecma': crcHeader(ctx, obj.crc64),
      ...versionHeader(obj),
    });
  }

  function maxKeysOf(q: Map<string, string>, name: string, def: number): number {
    const raw = q.get(name);
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new OssError(400, 'InvalidArgument', `${name} must be an integer between 1 and 1000, got ${raw}`);
    return n;
  }

  interface ListEntry { key?: StoredObject; prefix?: string }

  function listEntries(b: Bucket, prefix: string, after: string, delimiter: string, max: number): { entries: ListEntry[]; truncated: boolean } {
    const entries: ListEntry[] = [];
    let i = Math.max(after ? upperBound(b.sorted, after) : 0, lowerBound(b.sorted, prefix));
    let lastPrefix: string | undefined;
    let truncated = false;
    for (; i < b.sorted.length; i++) {
      const key = b.sorted[i]!;
      if (!key.startsWith(prefix)) break;
      let cp: string | undefined;
      if (delimiter) {
        const d = key.indexOf(delimiter, prefix.length);
        if (d >= 0) cp = key.slice(0, d + delimiter.length);
      }
      if (cp !== undefined && (cp === lastPrefix || (after && compareKeys(cp, after) <= 0))) continue;
      if (entries.length >= max) {
        truncated = true;
        break;
      }
      if (cp !== undefined) {
        entries.push({ prefix: cp });
        lastPrefix = cp;
      } else {
        entries.push({ key: b.objects.get(key)! });
      }
    }
    return { entries, truncated };
  }

  function contentsXml(o: StoredObject, enc: (s: string) => string, owner: boolean): string {
    return el('Contents',
      t('Key', enc(o.key)),
      t('LastModified', o.lastModified.toISOString()),
      t('ETag', quoteEtag(o.etag)),
      t('Type', o.type),
      t('Size', o.size),
      t('StorageClass', o.fields.storageClass),
      owner && el('Owner', t('ID', OWNER_ID), t('DisplayName', OWNER_ID)),
    );
  }

  function encodingOf(q: Map<string, string>): ((s: string) => string) | undefined {
    const e = q.get('encoding-type');
    if (e === undefined || e === '') return undefined;
    if (e !== 'url') throw new OssError(400, 'InvalidArgument', `Invalid encoding-type: ${e}`);
    return quirks.listNotEncoded ? (v) => v : encodeListValue;
  }

  function listObjects(ctx: Ctx, v2Asked: boolean): void {
    const v2 = v2Asked && !quirks.v1Only;
    const b = getBucket(ctx.bucket);
    const q = ctx.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const max = maxKeysOf(q, 'max-keys', 100);
    const urlEnc = encodingOf(q);
    const enc = urlEnc ?? ((s: string) => s);
    let after: string;
    let token: string | undefined;
    if (v2) {
      token = q.get('continuation-token');
      const startAfter = quirks.ignoreStartAfter ? '' : (q.get('start-after') ?? '');
      let fromToken = '';
      if (token) {
        fromToken = Buffer.from(token, 'base64url').toString('utf8');
        if (Buffer.from(fromToken, 'utf8').toString('base64url') !== token) throw new OssError(400, 'InvalidArgument', 'The continuation token provided is incorrect.');
      }
      after = compareKeys(fromToken, startAfter) > 0 ? fromToken : startAfter;
    } else {
      after = quirks.ignoreMarker ? '' : (q.get('marker') ?? '');
    }
    const { entries, truncated } = listEntries(b, prefix, after, delimiter, max);
    const shown = quirks.unorderedPages ? shuffled(entries) : entries;
    const last = entries[entries.length - 1];
    const lastName = last ? last.key?.key ?? last.prefix! : '';
    const owner = !v2 || q.get('fetch-owner') === 'true';
    const body = [
      t('Name', b.name),
      t('Prefix', enc(prefix)),
      v2 ? (q.has('start-after') ? t('StartAfter', enc(q.get('start-after')!)) : '') : t('Marker', enc(after)),
      v2 && token ? t('ContinuationToken', token) : '',
      t('MaxKeys', max),
      t('Delimiter', enc(delimiter)),
      urlEnc ? t('EncodingType', 'url') : '',
      t('IsTruncated', truncated),
      truncated && !v2 ? t('NextMarker', enc(lastName)) : '',
      truncated && v2 ? t('NextContinuationToken', Buffer.from(lastName, 'utf8').toString('base64url')) : '',
      v2 ? t('KeyCount', entries.length) : '',
      ...shown.map((e) => (e.key ? contentsXml(e.key, enc, owner) : el('CommonPrefixes', t('Prefix', enc(e.prefix!))))),
    ];
    sendXml(ctx, 200, el('ListBucketResult', ...body));
  }

  async function initiateMultipart(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    validateObjectKey(ctx.key);
    await drain(ctx.req);
    checkForbidOverwrite(ctx, b, ctx.key);
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    b.uploads.set(uploadId, {
      uploadId,
      key: ctx.key,
      initiated: new Date(),
      contentType: header(ctx.req, 'content-type') ?? 'application/octet-stream',
      meta: quirks.metadataOnlyOnComplete ? {} : userMeta(ctx.req),
      fields: fieldsOfRequest(ctx.req, fieldError),
      parts: new Map(),
    });
    sendXml(ctx, 200, el('InitiateMultipartUploadResult', t('Bucket', b.name), t('Key', ctx.key), t('UploadId', uploadId)));
  }

  function partNumberOf(ctx: Ctx): number {
    const raw = ctx.query.get('partNumber') ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 10_000) throw new OssError(400, 'InvalidArgument', `Part number must be an integer between 1 and 10000, got ${raw}`);
    return n;
  }

  function storePart(u: Upload, part: Part): void {
    const old = u.parts.get(part.number);
    u.parts.set(part.number, part);
    if (old) void rm(old.file, { force: true });
  }

  async function uploadPart(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    const u = getUpload(b, ctx.key, ctx.query.get('uploadId')!);
    const number = partNumberOf(ctx);
    const file = newFile(dirs.parts);
    const got = await streamToFile(ctx.req, file);
    try {
      checkContentMd5(ctx.req, got.md5);
      getUpload(b, ctx.key, u.uploadId); // aborted while uploading?
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    }
    const etag = got.md5.toString('hex').toUpperCase();
    storePart(u, { number, file, size: got.size, etag, md5: got.md5, crc64: got.crc64, lastModified: nowSeconds() });
    sendEmpty(ctx, 200, { etag: quoteEtag(etag), 'content-md5': got.md5.toString('base64'), 'x-oss-hash-crc64ecma': crcHeader(ctx, got.crc64) });
  }

  async function uploadPartCopy(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    await drain(ctx.req);
    const u = getUpload(b, ctx.key, ctx.query.get('uploadId')!);
    const number = partNumberOf(ctx);
    const src = parseCopySource(ctx);
    checkConditions(ctx, src.object, 'x-oss-copy-source-');
    let start = 0;
    let end = src.object.size - 1;
    const range = header(ctx.req, 'x-oss-copy-source-range');
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
      if (!m) throw new OssError(400, 'InvalidArgument', `Invalid x-oss-copy-source-range: ${range}`);
      start = Number(m[1]);
      end = m[2] === '' ? src.object.size - 1 : Number(m[2]);
      if (start > end || end >= src.object.size) throw new OssError(400, 'InvalidArgument', `x-oss-copy-source-range ${range} is outside the source object (${src.object.size} bytes)`);
    }
    const file = newFile(dirs.parts);
    const got = await streamToFile(src.object.size === 0 ? Readable.from([]) : createReadStream(src.object.file, { start, end }), file);
    const etag = got.md5.toString('hex').toUpperCase();
    const lastModified = nowSeconds();
    storePart(u, { number, file, size: got.size, etag, md5: got.md5, crc64: got.crc64, lastModified });
    sendXml(ctx, 200, el('CopyPartResult', t('LastModified', lastModified.toISOString()), t('ETag', quoteEtag(etag))), {
      etag: quoteEtag(etag),
      'x-oss-hash-crc64ecma': crcHeader(ctx, got.crc64),
    });
  }

  async function completeMultipart(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    const body = await readSmallBody(ctx.req);
    checkContentMd5(ctx.req, createHash('md5').update(body).digest());
    const u = getUpload(b, ctx.key, ctx.query.get('uploadId')!);
    const xml = body.toString('utf8');
    if (!/<CompleteMultipartUpload>/.test(xml)) throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((pm) => {
      const num = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(pm[1]!);
      const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(pm[1]!);
      if (!num || !etag) throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
      return { number: Number(num[1]), etag: unquote(unescapeXml(etag[1]!)) };
    });
    if (listed.length === 0) throw new OssError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    const parts: Part[] = [];
    for (const [i, p] of listed.entries()) {
      if (i > 0 && p.number <= listed[i - 1]!.number) throw new OssError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
      const stored = u.parts.get(p.number);
      if (!stored || !partEtagAccepted(quirks, stored.etag, p.etag)) throw new OssError(400, 'InvalidPart', 'One or more of the specified parts could not be found or the specified entity tag might not have matched the part\'s entity tag.', { PartNumber: String(p.number), ETag: p.etag });
      parts.push(stored);
    }
    for (const p of parts.slice(0, -1)) {
      if (p.size < minPartSize) throw new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', { PartNumber: String(p.number), MinSizeAllowed: String(minPartSize) });
    }
    checkForbidOverwrite(ctx, b, ctx.key);
    const file = newFile(dirs.objects);
    const out = createWriteStream(file);
    try {
      for (const p of parts) await pipeline(createReadStream(p.file), out, { end: false });
      out.end();
      await once(out, 'finish');
    } catch (e) {
      out.destroy();
      await rm(file, { force: true });
      throw e;
    }
    const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => p.md5))).digest('hex').toUpperCase()}-${parts.length}`;
    const crc64 = combineCrc64Parts(parts.map((p) => ({ crc: p.crc64, size: p.size })))!;
    const obj: StoredObject = {
      key: ctx.key,
      file,
      size: parts.reduce((n, p) => n + p.size, 0),
      etag,
      crc64,
      contentType: u.contentType,
      meta: quirks.metadataOnlyOnComplete ? userMeta(ctx.req) : u.meta,
      lastModified: nowSeconds(),
      type: 'Multipart',
      fields: u.fields,
    };
    if (!b.uploads.has(u.uploadId)) {
      await rm(file, { force: true });
      getUpload(b, ctx.key, u.uploadId);
    }
    dropUpload(b, u);
    commit(b, obj);
    const url = ctx.query.get('encoding-type') === 'url';
    const enc = url ? encodeListValue : (s: string) => s;
    sendXml(ctx, 200, el('CompleteMultipartUploadResult',
      url && t('EncodingType', 'url'),
      t('Location', `http://${ctx.host}/${enc(ctx.key)}`),
      t('Bucket', b.name),
      t('Key', enc(ctx.key)),
      t('ETag', quoteEtag(etag)),
    ), { etag: quoteEtag(etag), 'x-oss-hash-crc64ecma': crcHeader(ctx, crc64), ...versionHeader(obj) });
  }

  function abortMultipart(ctx: Ctx): void {
    const b = getBucket(ctx.bucket);
    dropUpload(b, getUpload(b, ctx.key, ctx.query.get('uploadId')!));
    sendEmpty(ctx, 204);
  }

  function listParts(ctx: Ctx): void {
    const b = getBucket(ctx.bucket);
    const u = getUpload(b, ctx.key, ctx.query.get('uploadId')!);
    const max = maxKeysOf(ctx.query, 'max-parts', 1000);
    const marker = Number(ctx.query.get('part-number-marker') ?? 0);
    const all = [...u.parts.values()].filter((p) => p.number > marker).sort((x, y) => x.number - y.number);
    const page = all.slice(0, max);
    const truncated = all.length > page.length;
    sendXml(ctx, 200, el('ListPartsResult',
      t('Bucket', b.name),
      t('Key', u.key),
      t('UploadId', u.uploadId),
      t('PartNumberMarker', marker),
      t('NextPartNumberMarker', page.length ? page[page.length - 1]!.number : marker),
      t('MaxParts', max),
      t('IsTruncated', truncated),
      ...page.map((p) => el('Part', t('PartNumber', p.number), t('LastModified', p.lastModified.toISOString()), t('ETag', quoteEtag(p.etag)), t('HashCrc64ecma', p.crc64), t('Size', p.size))),
    ));
  }

  function listMultipartUploads(ctx: Ctx): void {
    const b = getBucket(ctx.bucket);
    const q = ctx.query;
    const prefix = q.get('prefix') ?? '';
    const keyMarker = q.get('key-marker') ?? '';
    const idMarker = q.get('upload-id-marker') ?? '';
    const max = maxKeysOf(q, 'max-uploads', 1000);
    const enc = encodingOf(q) ?? ((s: string) => s);
    const all = [...b.uploads.values()]
      .filter((u) => u.key.startsWith(prefix))
      .sort((x, y) => compareKeys(x.key, y.key) || (x.uploadId < y.uploadId ? -1 : x.uploadId > y.uploadId ? 1 : 0))
      .filter((u) => !keyMarker || compareKeys(u.key, keyMarker) > 0 || (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker));
    const page = all.slice(0, max);
    const truncated = all.length > page.length;
    const last = page[page.length - 1];
    sendXml(ctx, 200, el('ListMultipartUploadsResult',
      t('Bucket', b.name),
      t('KeyMarker', enc(keyMarker)),
      t('UploadIdMarker', idMarker),
      t('NextKeyMarker', truncated && last ? enc(last.key) : ''),
      t('NextUploadIdMarker', truncated && last ? last.uploadId : ''),
      t('Delimiter', ''),
      t('Prefix', enc(prefix)),
      t('MaxUploads', max),
      t('IsTruncated', truncated),
      ...page.map((u) => el('Upload', t('Key', enc(u.key)), t('UploadId', u.uploadId), t('Initiated', u.initiated.toISOString()))),
    ));
  }

  // ------------------------------------------------------------ website configuration and back-to-origin (oss-website.ts)

  async function putBucketWebsite(ctx: Ctx): Promise<void> {
    const b = getBucket(ctx.bucket);
    const body = await readSmallBody(ctx.req);
    checkContentMd5(ctx.req, createHash('md5').update(body).digest());
    await websites.put(b.name, body.toString('utf8'));
    sendEmpty(ctx, 200);
  }

  function deleteBucketWebsite(ctx: Ctx): void {
    websites.delete(getBucket(ctx.bucket).name);
    sendEmpty(ctx, 204);
  }

  /** A missing key fetched from the origin of the bucket's Mirror rule and stored; undefined when no rule or origin has it. */
  async function mirrored(ctx: Ctx, b: Bucket): Promise<StoredObject | undefined> {
    const rule = websites.mirrorRule(b.name, ctx.key, ctx.req.headers);
    const url = ctx.req.url ?? '';
    const got = rule && (await fetchFromOrigin(rule, url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''));
    if (!got) return undefined;
    const file = newFile(dirs.objects);
    const stored = await streamToFile(got.body, file);
    if (got.md5 !== undefined && got.md5 !== stored.md5.toString('base64')) {
      await rm(file, { force: true });
      return undefined;
    }
    const obj: StoredObject = { key: ctx.key, file, size: stored.size, etag: stored.md5.toString('hex').toUpperCase(), crc64: stored.crc64, contentType: got.contentType ?? 'application/octet-stream', meta: got.meta, lastModified: nowSeconds(), type: 'Normal', fields: emptyFields() };
    commit(b, obj);
    return obj;
  }

  const handlers: Record<OssOperation, (ctx: Ctx) => void | Promise<void>> = {
    PutObject: putObject,
    GetObject: getOrHeadObject,
    HeadObject: getOrHeadObject,
    GetObjectMeta: getObjectMeta,
    DeleteObject: deleteObject,
    DeleteMultipleObjects: deleteMultiple,
    CopyObject: copyObject,
    ListObjects: (ctx) => listObjects(ctx, false),
    ListObjectsV2: (ctx) => listObjects(ctx, true),
    InitiateMultipartUpload: initiateMultipart,
    UploadPart: uploadPart,
    UploadPartCopy: uploadPartCopy,
    CompleteMultipartUpload: completeMultipart,
    AbortMultipartUpload: abortMultipart,
    ListParts: listParts,
    ListMultipartUploads: listMultipartUploads,
    PutBucketWebsite: putBucketWebsite,
    GetBucketWebsite: (ctx) => sendXml(ctx, 200, websites.get(getBucket(ctx.bucket).name)),
    DeleteBucketWebsite: deleteBucketWebsite,
    PutBucketVersioning: async (ctx) => {
      versions.putVersioning(getBucket(ctx.bucket).name, (await readSmallBody(ctx.req)).toString('utf8'));
      sendEmpty(ctx, 200);
    },
    GetBucketVersioning: (ctx) => sendXml(ctx, 200, versions.versioningXml(getBucket(ctx.bucket).name)),
    ListObjectVersions: (ctx) => {
      const b = getBucket(ctx.bucket);
      sendXml(ctx, 200, versions.listXml(b.name, ctx.query, (key) => b.objects.get(key), versions.status(b.name) ? [] : b.sorted));
    },
    RestoreObject: async (ctx) => sendEmpty(ctx, archive.restore(getObject(getBucket(ctx.bucket), ctx.key), (await readSmallBody(ctx.req)).toString('utf8'))),
    ...fieldHandlers(),
  };

  /** Tagging and ACL of an object (oss-fields.ts). */
  function fieldHandlers(): Record<FieldOperation, (ctx: Ctx) => Promise<void>> {
    const run = (op: FieldOperation) => (ctx: Ctx) =>
      runFieldOperation(op, {
        header: (name) => header(ctx.req, name),
        fields: getObject(getBucket(ctx.bucket), ctx.key).fields,
        body: () => readSmallBody(ctx.req),
        xml: (status, body) => sendXml(ctx, status, body),
        empty: (status) => sendEmpty(ctx, status),
        ownerId: OWNER_ID,
        fail: fieldError,
      });
    return { PutObjectTagging: run('PutObjectTagging'), GetObjectTagging: run('GetObjectTagging'), DeleteObjectTagging: run('DeleteObjectTagging'), GetObjectACL: run('GetObjectACL'), PutObjectACL: run('PutObjectACL') };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx: Ctx = {
      req,
      res,
      requestId: randomBytes(12).toString('hex').toUpperCase(),
      method: (req.method ?? 'GET').toUpperCase(),
      host: header(req, 'host') ?? '',
      bucket: '',
      key: '',
      query: new Map(),
      op: 'Unsupported',
      auth: 'none',
      faults: [],
    };
    try {
      Object.assign(ctx, parseTarget(req));
      ctx.op = route(ctx);
      authenticate(ctx);
      if (ctx.bucket) validateBucketName(ctx.bucket);
      ctx.faults = takeFaults(ctx);
      withBodyQuirks(ctx);
      for (const f of ctx.faults) if (f.kind === 'latency') await new Promise((r) => setTimeout(r, f.ms));
      if (faultOf(ctx, 'reset')) {
        req.socket.destroy();
        return;
      }
      const injected = faultOf(ctx, 'error');
      if (injected) {
        await drain(req);
        throw new OssError(injected.status, injected.code, injected.message ?? `Injected fault: ${injected.code}`);
      }
      if (ctx.op === 'Unsupported') {
        await drain(req);
        throw new OssError(501, 'NotImplemented', `The test server does not implement ${ctx.method} ${req.url ?? ''}`);
      }
      await handlers[ctx.op](ctx);
    } catch (e) {
      if (res.headersSent || res.destroyed || req.socket.destroyed) {
        res.destroy();
      } else {
        await drain(req);
        sendError(ctx, e instanceof OssError ? e : new OssError(500, 'InternalError', `We encountered an internal error: ${(e as Error).message}`));
      }
    } finally {
      requests.push({
        op: ctx.op,
        method: ctx.method,
        bucket: ctx.bucket,
        key: ctx.key,
        query: Object.fromEntries(ctx.query),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v ?? ''])),
        auth: ctx.auth,
        status: res.statusCode,
      });
      if (requests.length > 5000) requests.splice(0, requests.length - 5000);
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.listen(opts.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let stopped = false;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    quirks,
    archive,
    faults: {
      add(rule: FaultRule): FaultHandle {
        const active: ActiveRule = { rule, remaining: rule.times ?? 1, hits: 0 };
        rules.push(active);
        return {
          get hits() {
            return active.hits;
          },
          remove() {
            const i = rules.indexOf(active);
            if (i >= 0) rules.splice(i, 1);
          },
        };
      },
      clear() {
        rules.length = 0;
      },
    },
    createBucket(name: string) {
      validateBucketName(name);
      if (!buckets.has(name)) buckets.set(name, { name, objects: new Map(), sorted: [], uploads: new Map() });
    },
    inspect(bucket: string, key: string) {
      const o = buckets.get(bucket)?.objects.get(key);
      if (!o) return undefined;
      return { size: o.size, etag: o.etag, crc64: o.crc64, contentType: o.contentType, metadata: { ...o.meta }, lastModified: o.lastModified, type: o.type, fields: structuredClone(o.fields) };
    },
    keys(bucket: string) {
      return [...(buckets.get(bucket)?.sorted ?? [])];
    },
    uploadIds(bucket: string) {
      return [...(buckets.get(bucket)?.uploads.keys() ?? [])];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
