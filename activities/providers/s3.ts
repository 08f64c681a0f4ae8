/**
 * `s3` provider on `@aws-sdk/client-s3`: AWS and every S3-compatible store (MinIO, versitygw, R2, COS, US3 …).
 * Custom endpoints default to path-style addressing and to `WHEN_REQUIRED` checksum calculation (many
 * S3-compatible stores reject the default CRC trailers). One keep-alive agent per provider with enough sockets
 * for `concurrency.objects` transfers. Credentials are resolved on the worker from a profile name. On path-style
 * custom endpoints GetObject/PutObject go through `s3-http.ts` (no SDK middleware); the rest uses the SDK.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  S3Client,
  S3ServiceException,
  ListObjectsV2Command,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { S3Http, type S3GetResponse } from './s3-http';
import type { ByteRange, Capabilities, Checksums, CopySource, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, UploadedPart, WriteOptions } from './provider';
import { credentialSources, type ProviderContext } from './registry';
import { resolveCredentials } from '../credentials';
import { AccessDeniedError, BucketNotFoundError, FerryError, InvalidConfigError, InvalidKeyError, NotFoundError, ObjectTooLargeError, SourceChangedError, ThrottledError, TransientError, isAbortError } from '../../common/errors';
import { keyByteLength } from '../../common/keys';

const MiB = 1024 * 1024;
const CONNECTION_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 120_000;
const GiB = 1024 * MiB;

const capabilities: Capabilities = {
  checksums: [],
  etagIsMd5: true,
  maxSinglePut: 5 * GiB,
  multipart: { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: 5 * GiB,
  uploadPartCopy: true,
  writable: true,
  trailingSlashKeys: true,
  emptyPathSegments: true,
  metadata: true,
  order: 'key',
};

/** Part size used when `put` receives a stream of unknown size. */
const UNKNOWN_SIZE_PART = 8 * MiB;

const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'TooManyRequestsException', 'RequestThrottled', 'ServiceUnavailable']);
const DENIED_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'AllAccessDisabled', 'InvalidToken', 'ExpiredToken', 'AccountProblem', 'InvalidSecurity']);
/** Keys a store refuses: AWS, MinIO (`//`, `.` segments), versitygw posix (`dir/` with data). */
const INVALID_KEY_CODES = new Set(['KeyTooLongError', 'InvalidObjectName', 'XMinioInvalidObjectName', 'DirectoryObjectContainsData', 'ObjectParentIsFile', 'ExistingObjectIsDirectory', 'XMinioParentIsObject']);
const TRANSIENT_NET = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Maps SDK and network errors to Ferry's classes. The one mapping function of this provider. */
export function mapS3Error(err: unknown, what: string): unknown {
  if (err instanceof FerryError || isAbortError(err)) return err;
  const e = err as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
  const status = e.$metadata?.httpStatusCode ?? (err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined);
  const code = e.Code ?? e.name ?? e.code ?? 'Error';
  const msg = `${what}: ${code}${e.message && e.message !== code && e.message !== 'UnknownError' ? ` — ${e.message}` : ''}${status ? ` (HTTP ${status})` : ''}`;
  const opts = { code, status, cause: err };
  if (code === 'NoSuchBucket') return new BucketNotFoundError(msg, opts);
  if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' || (status === 404 && code !== 'NoSuchBucket')) return new NotFoundError(msg, opts);
  if (code === 'RequestTimeTooSkewed') return new AccessDeniedError(`${msg} — the worker's clock differs from the server's by more than 15 minutes; fix the clock (NTP)`, opts);
  if (DENIED_CODES.has(code) || status === 403 || status === 401) return new AccessDeniedError(msg, opts);
  if (THROTTLE_CODES.has(code) || status === 429 || status === 503) {
    const ra = Number(e.$response?.headers?.['retry-after']);
    return new ThrottledError(msg, { ...opts, retryAfterMs: Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined });
  }
  if (INVALID_KEY_CODES.has(code)) return new InvalidKeyError(msg, opts);
  if (code === 'EntityTooLarge') return new ObjectTooLargeError(msg, opts);
  if (code === 'PreconditionFailed' || status === 412) return new SourceChangedError(`${msg} — the source changed`, opts);
  if ((status !== undefined && status >= 500) || TRANSIENT_NET.has(String(e.code)) || code === 'TimeoutError' || code === 'RequestTimeout' || code === 'InternalError' || code === 'IncompleteBody') {
    return new TransientError(msg, opts);
  }
  // Any other 4xx is a rejected request (e.g. MinIO answers a HEAD of a key it cannot store with a bodiless
  // 400, which the SDK calls "UnknownError"): retrying it can never help.
  if (status !== undefined && status >= 400 && status < 500) return new FerryError(msg, opts);
  return err;
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '');
}

function checksumsOf(out: { ChecksumCRC32?: string; ChecksumCRC32C?: string; ChecksumCRC64NVME?: string; ChecksumSHA256?: string; ChecksumType?: string }): Checksums | undefined {
  // Composite (multipart) checksums are checksums of part checksums, not of the object: ignore them.
  if (out.ChecksumType === 'COMPOSITE') return undefined;
  const c: Checksums = {};
  if (out.ChecksumCRC32) c.crc32 = out.ChecksumCRC32;
  if (out.ChecksumCRC32C) c.crc32c = out.ChecksumCRC32C;
  if (out.ChecksumCRC64NVME) c.crc64nvme = out.ChecksumCRC64NVME;
  if (out.ChecksumSHA256) c.sha256 = out.ChecksumSHA256;
  return Object.keys(c).length ? c : undefined;
}

function rangeHeader(r: ByteRange): string {
  return `bytes=${r.start}-${r.end ?? ''}`;
}

/** `x-amz-copy-source` value: bucket and key, each path segment URL-encoded. */
export function copySourceHeader(src: CopySource): string {
  return `${src.bucket}/${src.key.split('/').map(encodeURIComponent).join('/')}`;
}

function hasAwsDefaultChain(env: NodeJS.ProcessEnv): boolean {
  return !!(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || existsSync(join(homedir(), '.aws', 'credentials')));
}

/** Options beyond the job spec (tests, benchmarks). */
export interface S3ProviderOptions {
  /** Sockets per provider (default 256). */
  maxSockets?: number;
  /** Called once per HTTP request the SDK sends (request counting in benchmarks). */
  onRequest?: (method: string, path: string) => void;
}

class S3Provider implements ObjectProvider {
  readonly type = 's3';
  readonly capabilities = capabilities;
  readonly endpointId: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** GET/PUT without the SDK (see s3-http.ts); undefined for AWS endpoints. */
  private readonly data: S3Http | undefined;

  constructor(spec: EndpointSpec, ctx: ProviderContext, opts: S3ProviderOptions = {}) {
    if (!spec.bucket) throw new InvalidConfigError(['bucket: an s3 endpoint needs "bucket"']);
    this.bucket = spec.bucket;
    const creds = resolveCredentials(spec.credentials, {
      ...credentialSources(ctx),
      defaultChain: (env) => (hasAwsDefaultChain(env) ? 'sdk' : undefined),
      defaultChainHint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE for the AWS default chain',
    });
    const region = spec.region ?? 'us-east-1';
    this.endpointId = `s3|${spec.endpoint ?? `aws:${region}`}|${spec.credentials ?? 'default'}`;
    const maxSockets = opts.maxSockets ?? 256;
    const agentOpts = { keepAlive: true, maxSockets, keepAliveMsecs: 10_000 };
    const httpAgent = new HttpAgent(agentOpts);
    const httpsAgent = new HttpsAgent(agentOpts);
    const forcePathStyle = spec.forcePathStyle ?? !!spec.endpoint;
    this.client = new S3Client({
      region,
      endpoint: spec.endpoint,
      forcePathStyle,
      credentials: creds === 'sdk' ? undefined : creds,
      requestChecksumCalculation: spec.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
    });
    // Path-style custom endpoints (every S3-compatible store) get the lean GET/PUT path; AWS itself (virtual-hosted
    // buckets, region redirects) keeps the SDK for them too.
    if (spec.endpoint && forcePathStyle) {
      const client = this.client;
      this.data = new S3Http({
        endpoint: spec.endpoint,
        region,
        bucket: this.bucket,
        credentials: () => client.config.credentials(),
        httpAgent,
        httpsAgent,
        connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        onRequest: opts.onRequest,
      });
    }
    if (opts.onRequest) {
      const onRequest = opts.onRequest;
      this.client.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { method?: string; path?: string };
          onRequest(req.method ?? '?', req.path ?? '');
          return next(args);
        },
        { step: 'finalizeRequest', name: 'ferryRequestCounter', priority: 'low' },
      );
    }
  }

  validateKey(key: string): void {
    if (key.length === 0) throw new InvalidKeyError('key "" cannot be stored on s3: empty key');
    if (keyByteLength(key) > 1024) throw new InvalidKeyError(`key ${JSON.stringify(key.slice(0, 40))}… cannot be stored on s3: longer than 1024 bytes`);
  }

  /** Sends one command with the caller's AbortSignal; maps failures. (`cmd as never`: the SDK's overloads don't unify.) */
  private async send<T>(what: string, cmd: object, signal?: AbortSignal): Promise<T> {
    try {
      return (await this.client.send(cmd as never, { abortSignal: signal })) as T;
    } catch (e) {
      throw mapS3Error(e, what);
    }
  }

  async list(opts: ListOptions = {}): Promise<ListPage> {
    const out = await this.send<{ Contents?: { Key?: string; Size?: number; LastModified?: Date; ETag?: string }[]; IsTruncated?: boolean }>(
      `list s3://${this.bucket}/${opts.prefix ?? ''}`,
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: opts.prefix || undefined, StartAfter: opts.startAfter || undefined, MaxKeys: Math.min(opts.limit ?? 1000, 1000) }),
      opts.signal,
    );
    const objects: ObjectInfo[] = (out.Contents ?? []).map((o) => ({
      key: o.Key!,
      size: o.Size ?? 0,
      lastModified: o.LastModified?.getTime() ?? 0,
      etag: unquote(o.ETag),
      position: o.Key!,
    }));
    return out.IsTruncated && objects.length ? { objects, next: objects[objects.length - 1]!.position } : { objects };
  }

  private infoFromHead(key: string, h: Omit<HeadObjectCommandOutput, '$metadata'>): ObjectInfo {
    return {
      key,
      size: h.ContentLength ?? 0,
      lastModified: h.LastModified?.getTime() ?? 0,
      etag: unquote(h.ETag),
      checksums: checksumsOf(h),
      contentType: h.ContentType,
      metadata: h.Metadata ?? {},
      position: key,
    };
  }

  async stat(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const h = await this.send<HeadObjectCommandOutput>(`stat s3://${this.bucket}/${key}`, new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' }), opts.signal);
    return this.infoFromHead(key, h);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    if (this.data) {
      let r: S3GetResponse;
      try {
        r = await this.data.get(key, opts.range ? rangeHeader(opts.range) : undefined, opts.signal);
      } catch (e) {
        throw mapS3Error(e, `get s3://${this.bucket}/${key}`);
      }
      const h = r.headers;
      const metadata: Record<string, string> = {};
      for (const [name, v] of Object.entries(h)) if (name.startsWith('x-amz-meta-') && typeof v === 'string') metadata[name.slice(11)] = v;
      const contentLength = Number(h['content-length'] ?? 0);
      const total = h['content-range'] ? Number(h['content-range'].split('/')[1]) : NaN;
      const info: ObjectInfo = {
        key,
        size: Number.isFinite(total) ? total : contentLength,
        lastModified: h['last-modified'] ? Date.parse(h['last-modified']) || 0 : 0,
        etag: unquote(h.etag),
        contentType: h['content-type'],
        metadata,
        position: key,
      };
      return { body: r.body, contentLength, info };
    }
    const out = await this.send<Omit<HeadObjectCommandOutput, '$metadata'> & { Body?: Readable; ContentRange?: string }>(
      `get s3://${this.bucket}/${key}`,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: opts.range ? rangeHeader(opts.range) : undefined }),
      opts.signal,
    );
    const contentLength = out.ContentLength ?? 0;
    const info = this.infoFromHead(key, out);
    const total = out.ContentRange ? Number(out.ContentRange.split('/')[1]) : NaN;
    if (Number.isFinite(total)) info.size = total;
    const body = out.Body ?? Readable.from([]);
    return { body: body as Readable, contentLength, info };
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    if (size === undefined) return this.putUnknownSize(key, body as Readable, opts);
    if (size > capabilities.maxSinglePut) throw new ObjectTooLargeError(`put ${key}: ${size} bytes exceeds the single-put limit ${capabilities.maxSinglePut}; use multipart`);
    const started = Date.now();
    const what = `put s3://${this.bucket}/${key}`;
    try {
      if (this.data) {
        try {
          return { etag: unquote(await this.data.put(key, body, size, opts.contentType, opts.metadata, opts.signal)) };
        } catch (e) {
          throw mapS3Error(e, what);
        }
      }
      const out = await this.send<{ ETag?: string }>(
        what,
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: size, ContentType: opts.contentType, Metadata: opts.metadata }),
        opts.signal,
      );
      return { etag: unquote(out.ETag) };
    } catch (e) {
      // A put the server answered with an error stored nothing; one cut off (abort, reset, source failure) may have.
      if ((e as FerryError).status === undefined) await this.removeTruncated(key, size, started);
      throw e;
    }
  }

  /**
   * Some servers (seen: versitygw 1.7.0) commit the bytes received so far when a client aborts a PUT. After a
   * failed put, an object of the wrong size written since the put began is such a leftover: remove it so an
   * aborted put leaves no visible object. The server commits it when it notices the closed connection, which
   * may be a moment after the client gave up: look three times over ~1.5 s.
   */
  private async removeTruncated(key: string, size: number, since: number): Promise<void> {
    for (const wait of [0, 300, 1200]) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      try {
        const h = await this.send<HeadObjectCommandOutput>(`stat s3://${this.bucket}/${key}`, new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        if ((h.ContentLength ?? 0) !== size && (h.LastModified?.getTime() ?? 0) >= since - 2000) await this.delete(key);
        return; // an object is there: a leftover (now removed) or an older, complete version (kept)
      } catch (e) {
        if (!(e instanceof NotFoundError)) return; // unreachable: nothing to clean that we could clean
      }
    }
  }

  /** Buffers up to one part; small streams become one PutObject, larger ones a multipart upload. */
  private async putUnknownSize(key: string, body: Readable, opts: PutOptions): Promise<PutResult> {
    let uploadId: string | undefined;
    const parts: UploadedPart[] = [];
    let chunks: Buffer[] = [];
    let buffered = 0;
    const flush = async () => {
      uploadId ??= await this.createMultipart(key, opts);
      const buf = Buffer.concat(chunks, buffered);
      chunks = [];
      buffered = 0;
      parts.push(await this.uploadPart(key, uploadId, parts.length + 1, buf, buf.length, opts));
    };
    try {
      for await (const c of body) {
        opts.signal?.throwIfAborted();
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        chunks.push(b);
        buffered += b.length;
        if (buffered >= UNKNOWN_SIZE_PART) await flush();
      }
      opts.signal?.throwIfAborted();
      if (!uploadId) return await this.put(key, Buffer.concat(chunks, buffered), { ...opts, size: buffered });
      if (buffered > 0) await flush();
      return await this.completeMultipart(key, uploadId, parts, opts);
    } catch (e) {
      if (uploadId) await this.abortMultipart(key, uploadId).catch(() => undefined);
      throw e;
    }
  }

  async createMultipart(key: string, opts: WriteOptions = {}): Promise<string> {
    this.validateKey(key);
    const out = await this.send<{ UploadId?: string }>(
      `create multipart s3://${this.bucket}/${key}`,
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType, Metadata: opts.metadata }),
      opts.signal,
    );
    return out.UploadId!;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    const what = `upload part ${partNumber} s3://${this.bucket}/${key}`;
    if (this.data) {
      try {
        return { partNumber, etag: unquote(await this.data.put(key, body, size, undefined, undefined, opts.signal, { partNumber: String(partNumber), uploadId }))!, size };
      } catch (e) {
        throw mapS3Error(e, what);
      }
    }
    const out = await this.send<{ ETag?: string }>(
      what,
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: size }),
      opts.signal,
    );
    return { partNumber, etag: unquote(out.ETag)!, size };
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, source: CopySource, range: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    const out = await this.send<{ CopyPartResult?: { ETag?: string } }>(
      `upload part copy ${partNumber} s3://${this.bucket}/${key}`,
      new UploadPartCopyCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        CopySource: copySourceHeader(source),
        CopySourceRange: rangeHeader(range),
        CopySourceIfMatch: source.etag ? `"${source.etag}"` : undefined,
      }),
      opts.signal,
    );
    return { partNumber, etag: unquote(out.CopyPartResult?.ETag)!, size: (range.end ?? 0) - range.start + 1 };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    const out = await this.send<{ ETag?: string }>(
      `complete multipart s3://${this.bucket}/${key}`,
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
      }),
      opts.signal,
    );
    return { etag: unquote(out.ETag) };
  }

  async abortMultipart(key: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.send(`abort multipart s3://${this.bucket}/${key}`, new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), opts.signal);
  }

  /** Lists bucket-wide and filters here: MinIO lists uploads only for an exact key or the whole bucket. */
  async listMultipartUploads(prefix = '', opts: { signal?: AbortSignal } = {}): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const result: { key: string; uploadId: string; initiated: number }[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const out = await this.send<{ Uploads?: { Key?: string; UploadId?: string; Initiated?: Date }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }>(
        `list multipart uploads s3://${this.bucket}/${prefix}`,
        new ListMultipartUploadsCommand({ Bucket: this.bucket, KeyMarker, UploadIdMarker }),
        opts.signal,
      );
      for (const u of out.Uploads ?? []) if (u.Key!.startsWith(prefix)) result.push({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated?.getTime() ?? 0 });
      if (!out.IsTruncated || !out.NextKeyMarker) return result;
      KeyMarker = out.NextKeyMarker;
      UploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const what = `copy s3://${source.bucket}/${source.key} → s3://${this.bucket}/${key}`;
    if (this.data) {
      try {
        return { etag: unquote(await this.data.copy(key, copySourceHeader(source), source.etag, opts.contentType, opts.metadata, opts.signal)) };
      } catch (e) {
        throw mapS3Error(e, what);
      }
    }
    const out = await this.send<{ CopyObjectResult?: { ETag?: string } }>(
      what,
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: key,
        CopySource: copySourceHeader(source),
        CopySourceIfMatch: source.etag ? `"${source.etag}"` : undefined,
        MetadataDirective: opts.metadata || opts.contentType ? 'REPLACE' : 'COPY',
        ContentType: opts.contentType,
        Metadata: opts.metadata,
      }),
      opts.signal,
    );
    return { etag: unquote(out.CopyObjectResult?.ETag) };
  }

  async delete(key: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.send(`delete s3://${this.bucket}/${key}`, new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), opts.signal);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** Opens an s3 bucket. Extra options are for tests and benchmarks. */
export function openS3Provider(spec: EndpointSpec, ctx: ProviderContext = {}, opts: S3ProviderOptions = {}): ObjectProvider & { client: S3Client } {
  return new S3Provider(spec, ctx, opts);
}

openS3Provider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
