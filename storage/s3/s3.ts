/**
 * `s3` provider: AWS (through `@aws-sdk/client-s3`) and every S3-compatible store (MinIO, versitygw, R2, COS, US3 …).
 * Custom endpoints default to path-style addressing and to `WHEN_REQUIRED` checksum calculation (many
 * S3-compatible stores reject the default CRC trailers). One keep-alive agent per provider with enough sockets
 * for `concurrency.objects` transfers. Credentials are resolved on the worker from a profile name. Path-style custom
 * endpoints (every S3-compatible store) go through `s3-http.ts` for every request: no SDK middleware per object, and
 * with keys from a profile the SDK is never loaded (idle worker 10–15 MiB smaller, measured). AWS itself (virtual-hosted buckets,
 * region redirects, the default credential chain) uses the SDK, loaded on first use.
 * The SDK's clients are built in sdk-client.ts. Every operation names its request for both paths side by side, which
 * keeps each operation's two forms in one place.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Http } from './s3-http';
import { CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUT_MS, hasAwsDefaultChain, sdk, sdkClientFactory, type Sdk } from './sdk-client';
import { listAdvancing, type ListingMode, type ListVersion } from '../listing-guard';
import { mapS3Error } from './errors';
import { checksumsOf, headFields, unquote, type HeadFields } from './head-fields';
import { archiveFields, restoreS3Object } from './archive';
import { copyHeaders, getS3Tags, sdkCopyInput, sdkWriteInput, storedFields, writeHeaders } from './write-fields';
import { rethrowNamingClass } from '../archive-fields';
import { deleteS3Object, listS3Versions, putResult, s3Versioning, sdkWritten } from './versions';
import { bodyFrame, framedBody, type BodyFrame } from '../get-body';
import { partEtagsMissing } from '../part-etags';
import { proxySettings } from '../proxy/proxy-env';
import { proxyAwareAgents } from '../proxy/proxy-agent';
import type { ByteRange, Capabilities, CopySource, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, RestoreTier, UploadedPart, VersioningStatus, VersionListOptions, VersionPage, WriteOptions } from '../provider';
import { credentialSources, type ProviderContext } from '../registry';
import { resolveCredentials } from '../credentials';
import { FerryError, InvalidConfigError, InvalidKeyError, NotFoundError, ObjectTooLargeError } from '../../common/errors';
import { keyByteLength } from '../../common/keys';
import { capabilitiesFor, endpointQuirks, type Quirks } from '../quirks';
// Quiets the SDK's node-version warning in every process that runs this provider (`ferry`, `node workers/main.js`, the demo).
import './aws-sdk-env';

const MiB = 1024 * 1024;
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
  archive: true,
  tags: true,
  writeClasses: true,
  versions: true,
};

/** Checksums this provider reads back (`x-amz-checksum-*`, see head-fields.ts). */
const S3_READABLE_CHECKSUMS = ['crc32', 'crc32c', 'crc64nvme', 'sha256'] as const;

/** Part size used when `put` receives a stream of unknown size. */
const UNKNOWN_SIZE_PART = 8 * MiB;

function rangeHeader(r: ByteRange): string {
  return `bytes=${r.start}-${r.end ?? ''}`;
}

/** `x-amz-copy-source` value: bucket and key, each path segment URL-encoded. */
export function copySourceHeader(src: CopySource): string {
  return `${src.bucket}/${src.key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Options beyond the job spec (tests, benchmarks). */
export interface S3ProviderOptions {
  /** Sockets per provider (default 256). */
  maxSockets?: number;
  /** Called once per HTTP request sent (request counting in benchmarks). */
  onRequest?: (method: string, path: string) => void;
  /** Every request through the SDK, as for AWS itself (tests of that path against local servers). */
  sdkOnly?: boolean;
  /**
   * ListObjects version to list with (default 2, `start-after`). 1 (`marker`) for stores known to ignore `start-after`;
   * with 2, a page that ignored it switches this provider to 1 by itself (see storage/listing-guard.ts).
   */
  listVersion?: ListVersion;
  /** Where the provider reports what it found out about its server (default `console.warn`). */
  onWarning?: (message: string) => void;
}

class S3Provider implements ObjectProvider {
  readonly type = 's3';
  readonly capabilities: Capabilities;
  /** The store's quirks (preset + job overrides) this provider runs with. */
  readonly quirks: Quirks;
  readonly endpointId: string;
  readonly bucket: string;
  /** Every request without the SDK (see s3-http.ts); undefined for AWS endpoints. */
  private readonly data: S3Http | undefined;
  private sdkClient: S3Client | undefined;
  /** The SDK client for requests that must not be resent after a network failure (see `createMultipart`). */
  private sdkOnceClient: S3Client | undefined;
  private readonly makeClient: (maxAttempts?: number) => S3Client;
  private readonly agents: { destroy(): void }[];
  /** The list version this store needs (switched to 1 when it ignores `start-after`). */
  private readonly listing: ListingMode;
  /** The endpoint as listing errors and warnings name it. */
  private readonly endpointName: string;
  private readonly warn: (message: string) => void;

  constructor(spec: EndpointSpec, ctx: ProviderContext, opts: S3ProviderOptions = {}) {
    if (!spec.bucket) throw new InvalidConfigError(['bucket: an s3 endpoint needs "bucket"']);
    this.bucket = spec.bucket;
    this.quirks = endpointQuirks(spec)!;
    this.capabilities = capabilitiesFor(capabilities, this.quirks, S3_READABLE_CHECKSUMS);
    const creds = resolveCredentials(spec.credentials, {
      ...credentialSources(ctx),
      defaultChain: (env) => (hasAwsDefaultChain(env) ? 'sdk' : undefined),
      defaultChainHint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE for the AWS default chain',
    });
    const region = spec.region ?? 'us-east-1';
    this.endpointId = `s3|${spec.endpoint ?? `aws:${region}`}|${spec.credentials ?? 'default'}`;
    this.endpointName = spec.endpoint ?? `s3 (AWS ${region})`;
    this.listing = { version: opts.listVersion ?? this.quirks.listVersion };
    this.warn = opts.onWarning ?? ((message) => console.warn(message));
    const maxSockets = opts.maxSockets ?? 256;
    const agentOpts = { keepAlive: true, maxSockets, keepAliveMsecs: 10_000 };
    const proxy = proxySettings(ctx.env ?? process.env);
    const { http: httpAgent, https: httpsAgent } = proxyAwareAgents(proxy, agentOpts);
    this.agents = [httpAgent, httpsAgent];
    const forcePathStyle = this.quirks.pathStyle;
    this.makeClient = sdkClientFactory({ region, endpoint: spec.endpoint, forcePathStyle, credentials: creds, httpAgent, httpsAgent, onRequest: opts.onRequest });
    if (spec.endpoint && forcePathStyle && !opts.sdkOnly) {
      this.data = new S3Http({
        endpoint: spec.endpoint,
        region,
        bucket: this.bucket,
        // Keys from a profile sign directly; the AWS default chain (rare with a custom endpoint) is the SDK's.
        credentials: creds === 'sdk' ? () => this.client.config.credentials() : async () => creds,
        maxSockets,
        connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        proxy,
        now: ctx.now,
        onRequest: opts.onRequest,
      });
    }
  }

  /** The SDK client, created (and the SDK loaded) on first use. */
  get client(): S3Client {
    return (this.sdkClient ??= this.makeClient());
  }

  validateKey(key: string): void {
    if (key.length === 0) throw new InvalidKeyError('key "" cannot be stored on s3: empty key');
    if (keyByteLength(key) > 1024) throw new InvalidKeyError(`key ${JSON.stringify(key.slice(0, 40))}… cannot be stored on s3: longer than 1024 bytes`);
  }

  /**
   * One request: through the lean path when this endpoint has one (`lean`), else through the SDK (`viaSdk` sends
   * its command with `run`, which passes the caller's AbortSignal). Failures of either are mapped here.
   */
  private async send<T>(what: string, lean: (data: S3Http) => Promise<T>, viaSdk: (s: Sdk, run: <O>(command: object) => Promise<O>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      if (this.data) return await lean(this.data);
      return await viaSdk(sdk(), (command) => this.client.send(command as never, { abortSignal: signal }) as Promise<never>);
    } catch (e) {
      throw mapS3Error(e, what);
    }
  }

  /** One page, checked to advance in key order (storage/listing-guard.ts): V1 `marker` for stores that ignore `start-after`. */
  async list(opts: ListOptions = {}): Promise<ListPage> {
    const limit = Math.min(opts.limit ?? 1000, 1000);
    const startAfter = opts.startAfter || undefined;
    const fetch = (version: ListVersion) =>
      this.send(
        `list s3://${this.bucket}/${opts.prefix ?? ''}`,
        (d) => d.list(opts.prefix, startAfter, limit, opts.signal, version),
        async (s, run) => {
          const input = { Bucket: this.bucket, Prefix: opts.prefix || undefined, MaxKeys: limit };
          const out = await run<{ Contents?: { Key?: string; Size?: number; LastModified?: Date; ETag?: string; StorageClass?: string }[]; IsTruncated?: boolean }>(
            version === 1 ? new s.ListObjectsCommand({ ...input, Marker: startAfter }) : new s.ListObjectsV2Command({ ...input, StartAfter: startAfter }),
          );
          return { objects: (out.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0, etag: o.ETag, storageClass: o.StorageClass })), truncated: !!out.IsTruncated };
        },
        opts.signal,
      );
    const page = await listAdvancing(fetch, startAfter, this.listing, { endpoint: this.endpointName, bucket: this.bucket, prefix: opts.prefix }, this.warn);
    const objects: ObjectInfo[] = page.objects.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified, etag: unquote(o.etag), ...(o.storageClass ? { storageClass: o.storageClass } : {}), position: o.key }));
    return page.next ? { objects, next: page.next } : { objects };
  }

  /** ObjectInfo of a HEAD/GET answer; `size` NaN when it carries no Content-Length (a GET replaces it). */
  private infoFromHead(key: string, h: HeadFields): ObjectInfo {
    return {
      key,
      size: h.ContentLength ?? NaN,
      lastModified: h.LastModified?.getTime() ?? 0,
      etag: unquote(h.ETag),
      checksums: checksumsOf(h),
      contentType: h.ContentType,
      metadata: h.Metadata ?? {},
      ...archiveFields(h),
      ...storedFields(h),
      ...(h.VersionId ? { versionId: h.VersionId } : {}),
      position: key,
    };
  }

  private head(key: string, signal?: AbortSignal, versionId?: string): Promise<HeadFields> {
    return this.send(
      `stat s3://${this.bucket}/${key}`,
      async (d) => headFields(await d.head(key, signal, versionId)),
      (s, run) => run<HeadFields>(new s.HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED', VersionId: versionId })),
      signal,
    );
  }

  /** Throws FerryError (`NoContentLength`) when the HEAD answer carries no length: a size Ferry would have to make up. */
  async stat(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<ObjectInfo> {
    const h = await this.head(key, opts.signal, opts.versionId);
    if (h.ContentLength === undefined) throw new FerryError(`stat s3://${this.bucket}/${key}: the server's answer carries no Content-Length, so the object's size is unknown`, { code: 'NoContentLength' });
    return this.infoFromHead(key, h);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    const what = `get s3://${this.bucket}/${key}`;
    const asked = opts.range && !(opts.range.start === 0 && opts.range.end === undefined) ? opts.range : undefined;
    const range = asked ? rangeHeader(asked) : undefined;
    type Got = HeadFields & { Body?: Readable; ContentRange?: string; status: number; contentLength: string | undefined };
    const out = await this.send(
      what,
      async (d): Promise<Got> => {
        const r = await d.get(key, range, opts.signal, opts.versionId);
        const contentLength = typeof r.headers['content-length'] === 'string' ? r.headers['content-length'] : undefined;
        return Object.assign(headFields(r.headers), { Body: r.body as Readable | undefined, ContentRange: r.headers['content-range'], status: r.status, contentLength });
      },
      async (s, run): Promise<Got> => {
        const r = await run<HeadFields & { Body?: Readable; ContentRange?: string; $metadata: { httpStatusCode?: number } }>(new s.GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range, VersionId: opts.versionId }));
        return { ...r, status: r.$metadata.httpStatusCode ?? 200, contentLength: r.ContentLength === undefined ? undefined : String(r.ContentLength) };
      },
      opts.signal,
    ).catch((e: unknown) => rethrowNamingClass(e, () => this.stat(key, opts)));
    const raw = out.Body ?? Readable.from([]);
    let frame: BodyFrame;
    try {
      frame = bodyFrame({ what, status: out.status, contentLength: out.contentLength, contentRange: out.ContentRange, range: asked, expectedSize: opts.expectedSize });
    } catch (e) {
      raw.destroy();
      throw e;
    }
    const info = { ...this.infoFromHead(key, out), size: frame.size ?? NaN };
    const body = framedBody(raw, frame, opts.signal);
    return { body, info, ...(frame.length !== undefined ? { contentLength: frame.length } : {}) };
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    if (size === undefined) return this.putUnknownSize(key, body as Readable, opts);
    if (size > capabilities.maxSinglePut) throw new ObjectTooLargeError(`put ${key}: ${size} bytes exceeds the single-put limit ${capabilities.maxSinglePut}; use multipart`);
    const started = Date.now();
    try {
      const written = await this.send(
        `put s3://${this.bucket}/${key}`,
        (d) => d.put(key, body, size, writeHeaders(opts), opts.signal),
        async (s, run) => sdkWritten(await run<{ ETag?: string; VersionId?: string }>(new s.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: size, ...sdkWriteInput(`put ${key}`, opts) }))),
        opts.signal,
      );
      return putResult(written);
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
        const h = await this.head(key);
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

  /**
   * Sent once on either path: after a network failure the store may have made the upload, and a second create would
   * leave it orphaned. The caller's retry (copyMultipart) lists and aborts the key's orphans before it creates again.
   */
  async createMultipart(key: string, opts: WriteOptions = {}): Promise<string> {
    this.validateKey(key);
    return this.send(
      `create multipart s3://${this.bucket}/${key}`,
      (d) => d.createMultipart(key, writeHeaders(opts), opts.signal),
      async (s) => {
        this.sdkOnceClient ??= this.makeClient(1);
        const out = await this.sdkOnceClient.send(new s.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...sdkWriteInput(`create multipart ${key}`, opts) }), { abortSignal: opts.signal });
        return out.UploadId!;
      },
      opts.signal,
    );
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    const etag = await this.send(
      `upload part ${partNumber} s3://${this.bucket}/${key}`,
      async (d) => (await d.put(key, body, size, {}, opts.signal, { partNumber: String(partNumber), uploadId })).etag,
      async (s, run) => (await run<{ ETag?: string }>(new s.UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: size }))).ETag,
      opts.signal,
    );
    return { partNumber, etag: unquote(etag) ?? '', size };
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, source: CopySource, range: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    const etag = await this.send(
      `upload part copy ${partNumber} s3://${this.bucket}/${key}`,
      (d) => d.uploadPartCopy(key, uploadId, partNumber, copySourceHeader(source), rangeHeader(range), source.etag, opts.signal),
      async (s, run) => {
        const out = await run<{ CopyPartResult?: { ETag?: string } }>(
          new s.UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            CopySource: copySourceHeader(source),
            CopySourceRange: rangeHeader(range),
            CopySourceIfMatch: source.etag ? `"${source.etag}"` : undefined,
          }),
        );
        return out.CopyPartResult?.ETag;
      },
      opts.signal,
    );
    return { partNumber, etag: unquote(etag) ?? '', size: (range.end ?? 0) - range.start + 1 };
  }

  /**
   * A complete the store carried out but whose answer was lost is sent again (in place on the lean path, by the SDK's
   * retry on the other), and the store then answers NoSuchUpload. That object counts as completed when it is there
   * now with the parts' total size, a multipart ETag of as many parts, and a modification time since this call began.
   */
  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const started = Date.now();
    try {
      const written = await this.send(
        `complete multipart s3://${this.bucket}/${key}`,
        (d) => d.complete(key, uploadId, sorted, opts.signal),
        async (s, run) =>
          sdkWritten(await run<{ ETag?: string; VersionId?: string }>(new s.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag ? `"${p.etag}"` : '' })) } }))),
        opts.signal,
      );
      return putResult(written);
    } catch (e) {
      if (!(e instanceof NotFoundError) || e.code !== 'NoSuchUpload') throw partEtagsMissing(`complete multipart s3://${this.bucket}/${key}`, sorted, e);
      const now = await this.stat(key, { signal: opts.signal }).catch(() => undefined);
      const size = sorted.reduce((n, p) => n + p.size, 0);
      // Clocks: the store's modification time against the worker's start, with the 15 minutes of skew SigV4 allows.
      if (!now || now.size !== size || !now.etag?.endsWith(`-${sorted.length}`) || now.lastModified < started - 15 * 60_000) throw e;
      return { etag: now.etag, ...(now.versionId ? { versionId: now.versionId } : {}) };
    }
  }

  async abortMultipart(key: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.send(
      `abort multipart s3://${this.bucket}/${key}`,
      (d) => d.abort(key, uploadId, opts.signal),
      (s, run) => run<void>(new s.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })),
      opts.signal,
    );
  }

  /** Lists bucket-wide and filters here: MinIO lists uploads only for an exact key or the whole bucket. */
  async listMultipartUploads(prefix = '', opts: { signal?: AbortSignal } = {}): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const result: { key: string; uploadId: string; initiated: number }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.send(
        `list multipart uploads s3://${this.bucket}/${prefix}`,
        (d) => d.listUploads(keyMarker, uploadIdMarker, opts.signal),
        async (s, run) => {
          const out = await run<{ Uploads?: { Key?: string; UploadId?: string; Initiated?: Date }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }>(
            new s.ListMultipartUploadsCommand({ Bucket: this.bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          );
          const uploads = (out.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated?.getTime() ?? 0 }));
          return { uploads, truncated: !!out.IsTruncated, nextKeyMarker: out.NextKeyMarker, nextUploadIdMarker: out.NextUploadIdMarker };
        },
        opts.signal,
      );
      for (const u of page.uploads) if (u.key.startsWith(prefix)) result.push(u);
      if (!page.truncated || !page.nextKeyMarker) return result;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const written = await this.send(
      `copy s3://${source.bucket}/${source.key} → s3://${this.bucket}/${key}`,
      (d) => d.copy(key, copySourceHeader(source), source.etag, copyHeaders(opts), opts.signal),
      async (s, run) => {
        const out = await run<{ CopyObjectResult?: { ETag?: string }; VersionId?: string }>(
          new s.CopyObjectCommand({
            Bucket: this.bucket,
            Key: key,
            CopySource: copySourceHeader(source),
            CopySourceIfMatch: source.etag ? `"${source.etag}"` : undefined,
            ...sdkCopyInput(`copy ${key}`, opts),
          }),
        );
        return { etag: out.CopyObjectResult?.ETag, versionId: out.VersionId };
      },
      opts.signal,
    );
    return putResult(written);
  }

  getTags(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<Record<string, string>> {
    return getS3Tags((what, lean, viaSdk) => this.send(what, lean, viaSdk, opts.signal), this.bucket, key, opts);
  }

  restore(key: string, opts: { days: number; tier: RestoreTier; versionId?: string; signal?: AbortSignal }): Promise<'requested' | 'already'> {
    return restoreS3Object((what, lean, viaSdk) => this.send(what, lean, viaSdk, opts.signal), this.bucket, key, opts);
  }

  delete(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<{ versionId?: string }> {
    return deleteS3Object(this.bucket, key, opts, (what, lean, viaSdk) => this.send(what, lean, viaSdk, opts.signal));
  }

  listVersions(opts: VersionListOptions = {}): Promise<VersionPage> {
    return listS3Versions(this.bucket, opts, (what, lean, viaSdk) => this.send(what, lean, viaSdk, opts.signal));
  }

  versioning(opts: { signal?: AbortSignal } = {}): Promise<VersioningStatus> {
    return s3Versioning(this.bucket, opts.signal, (what, lean, viaSdk) => this.send(what, lean, viaSdk, opts.signal));
  }

  async close(): Promise<void> {
    this.sdkClient?.destroy();
    this.sdkOnceClient?.destroy();
    for (const a of this.agents) a.destroy();
    this.data?.close();
  }
}

export { mapS3Error };

/** Opens an s3 bucket. Extra options are for tests and benchmarks. */
export function openS3Provider(spec: EndpointSpec, ctx: ProviderContext = {}, opts: S3ProviderOptions = {}): ObjectProvider & { client: S3Client } {
  return new S3Provider(spec, ctx, opts);
}

openS3Provider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
