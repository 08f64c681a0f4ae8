/**
 * `oss` provider on `ali-oss` (6.23.0): Alibaba Cloud OSS, V4 (default) or V1 request signatures.
 *
 * What ali-oss does not do, this provider does:
 * - **CRC-64** (`x-oss-hash-crc64ecma`, CRC-64/XZ) is computed while streaming on put, uploadPart and get
 *   (`download.ts`) and compared with what the server reports (→ ChecksumMismatchError); multipart completion is
 *   checked against the combination of the part CRCs.
 * - **AbortSignal**, keys with `.`/`..` segments and per-provider agents: a wrapper around ali-oss's urllib
 *   (`client.ts`); the agents and client options come from `config.ts`.
 * - **Clock skew**: a RequestTimeTooSkewed answer corrects the signer's clock (`clock.ts`) and the request is
 *   sent again at once, as the AWS SDK does for S3.
 *
 * Errors are mapped in one place, {@link mapOssError} (`errors.ts`).
 */
import { Readable, pipeline } from 'node:stream';
import type { BackToOrigin, ByteRange, Capabilities, CopySource, EndpointSpec, GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, RestoreTier, UploadedPart, VersioningStatus, VersionListOptions, VersionPage, WriteOptions } from '../provider';
import type { ProviderContext } from '../registry';
import { Crc64Stream, combineCrc64Parts, crc64ecma, parseCrc64 } from '../checksum/crc64';
import { ObjectTooLargeError, SizeMismatchError, TransientError } from '../../common/errors';
import { partEtagsMissing } from '../part-etags';
import { createAliOss, uploadPartFromStream, type AliOss, type AliOssTransport, type RequestCtx } from './client';
import { SignerClock } from './clock';
import { ossConfig, type OssConfig, type OssProviderOptions } from './config';
import { checkedDownload } from './download';
import { capabilitiesFor, endpointQuirks, type Quirks } from '../quirks';
import { bodyFrame, type BodyFrame } from '../get-body';
import { mapOssError } from './errors';
import { bucketWebsite, ossBackToOrigin } from './website';
import { restoreOssObject } from './archive';
import { listOssVersions, ossVersioning, versionIdOf, type OssVersionCall } from './versions';
import { rethrowNamingClass } from '../archive-fields';
import { listAdvancing, type ListingMode, type ListVersion } from '../listing-guard';
import { decodeListValue, objectInfo, reportedChecksums, statInfo, unquote, validateOssKey, verifyCrc } from './object-fields';
import { copyOssObject, copySourceHeaders, getOssTags, ossCopyHeaders, ossWriteHeaders, replacesMetadata } from './write-fields';

export { mapOssError };
export type { OssProviderOptions };

const KiB = 1024;
const GiB = 1024 * 1024 * KiB;

const capabilities: Capabilities = {
  checksums: ['crc64ecma'],
  etagIsMd5: true,
  maxSinglePut: 5 * GiB,
  multipart: { minPartSize: 100 * KiB, maxPartSize: 5 * GiB, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: GiB,
  uploadPartCopy: true,
  writable: true,
  trailingSlashKeys: true,
  emptyPathSegments: true, // `a//b` yes; a leading `/` is refused by validateKey
  metadata: true,
  order: 'key',
  archive: true,
  tags: true,
  writeClasses: true,
  versions: true,
};

/** Slowest upload rate tolerated before a body upload times out (abort signals end stalls sooner). */
const MIN_UPLOAD_BYTES_PER_SECOND = 64 * KiB;
const CONNECT_TIMEOUT_MS = 10_000;

/** What {@link OssProvider.call} hands each ali-oss call: the `ctx` that carries signal and skew report to urllib. */
type CallCtx = { ctx: RequestCtx };

class OssProvider implements ObjectProvider {
  readonly type = 'oss';
  readonly capabilities: Capabilities;
  /** The store's quirks (preset + job overrides) this provider runs with. */
  readonly quirks: Quirks;
  readonly endpointId: string;
  readonly bucket: string;
  private readonly clients = new Map<string, AliOss>();
  private readonly clientOptions: OssConfig['clientOptions'];
  private readonly transport: AliOssTransport;
  private readonly timeoutMs: number;
  /** The list version this store needs (switched to 1 when it ignores `start-after`). */
  private readonly listing: ListingMode;
  private readonly warn: (message: string) => void;
  /** Mirroring-based back-to-origin through the bucket's website configuration (website.ts). */
  readonly backToOrigin: BackToOrigin;

  constructor(spec: EndpointSpec, ctx: ProviderContext, opts: OssProviderOptions = {}) {
    const config = ossConfig(spec, ctx, opts);
    this.quirks = endpointQuirks(spec)!;
    // The provider computes and checks CRC-64 itself: the only checksum it reads back.
    this.capabilities = capabilitiesFor(capabilities, this.quirks, ['crc64ecma']);
    this.bucket = config.bucket;
    this.endpointId = config.endpointId;
    this.timeoutMs = config.timeoutMs;
    this.clientOptions = config.clientOptions;
    this.transport = { agents: config.agents, clock: new SignerClock(ctx.now ?? Date.now), onRequest: opts.onRequest };
    this.listing = { version: opts.listVersion ?? this.quirks.listVersion };
    this.warn = opts.onWarning ?? ((message) => console.warn(message));
    this.client(this.bucket); // fail fast on options ali-oss rejects
    this.backToOrigin = ossBackToOrigin(bucketWebsite(this.bucket, () => this.client(this.bucket), (what, signal, fn) => this.call(what, signal, fn)));
  }

  /** One ali-oss client per bucket (the own bucket, and copy sources), sharing agents and clock. */
  private client(bucket: string): AliOss {
    let client = this.clients.get(bucket);
    if (!client) {
      client = createAliOss(this.clientOptions, bucket, this.transport);
      this.clients.set(bucket, client);
    }
    return client;
  }

  validateKey(key: string): void {
    validateOssKey(key);
  }

  /**
   * Runs one ali-oss call with the caller's signal and maps its failure. `streamError` names the error of an
   * upload stream, which ali-oss would otherwise bury under a generic request error; a call without one has a
   * body that can be sent again, and is, once, when the server refused its request time and the signer's clock
   * was corrected. A spent stream body cannot: that call fails with a retryable TransientError instead.
   */
  private async call<T>(what: string, signal: AbortSignal | undefined, fn: (callCtx: CallCtx) => Promise<T>, streamError?: () => unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      let skewed = false;
      try {
        const ctx: RequestCtx = { ferrySignal: () => signal, ferrySkewed: () => void (skewed = true) };
        return await fn({ ctx });
      } catch (err) {
        signal?.throwIfAborted();
        const fromStream = streamError?.();
        if (fromStream) throw mapOssError(fromStream, what);
        if (skewed && streamError) {
          const msg = `${what}: RequestTimeTooSkewed — the server's clock is ${Math.round(this.transport.clock.offsetMs / 1000)} s off this worker's; later requests are dated by it`;
          throw new TransientError(msg, { code: 'RequestTimeTooSkewed', status: 403, cause: mapOssError(err, what) });
        }
        if (!skewed || attempt > 1) throw mapOssError(err, what);
      }
    }
  }

  private uploadTimeout(size: number | undefined): [number, number] {
    const bodyMs = size === undefined ? 24 * 3600_000 : Math.ceil((size / MIN_UPLOAD_BYTES_PER_SECOND) * 1000);
    return [CONNECT_TIMEOUT_MS, this.timeoutMs + bodyMs];
  }

  /** One page, checked to advance in key order (storage/listing-guard.ts): V1 `marker` for stores that ignore `start-after`. */
  async list(opts: ListOptions = {}): Promise<ListPage> {
    const startAfter = opts.startAfter || undefined;
    const fetch = async (version: ListVersion) => {
      const query: Record<string, string | number> = { 'max-keys': Math.max(1, Math.min(opts.limit ?? 1000, 1000)), 'encoding-type': 'url' };
      if (opts.prefix) query.prefix = opts.prefix;
      if (startAfter) query[version === 2 ? 'start-after' : 'marker'] = startAfter;
      const client = this.client(this.bucket);
      const out = await this.call(`list oss://${this.bucket}/${opts.prefix ?? ''}`, opts.signal, (callCtx) => (version === 2 ? client.listV2(query, callCtx) : client.list(query, callCtx)));
      const objects: ObjectInfo[] = (out.objects ?? []).map((entry) => {
        const key = decodeListValue(entry.name, this.bucket);
        const lastModified = Date.parse(entry.lastModified);
        return { key, size: Number(entry.size), lastModified: Number.isNaN(lastModified) ? 0 : lastModified, etag: unquote(entry.etag), ...(entry.storageClass ? { storageClass: entry.storageClass } : {}), position: key };
      });
      return { objects, truncated: out.isTruncated };
    };
    const page = await listAdvancing(fetch, startAfter, this.listing, { endpoint: String(this.clientOptions.endpoint), bucket: this.bucket, prefix: opts.prefix }, this.warn);
    return page.next ? { objects: page.objects, next: page.next } : { objects: page.objects };
  }

  async stat(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<ObjectInfo> {
    this.validateKey(key);
    const what = `stat oss://${this.bucket}/${key}`;
    const out = await this.call(what, opts.signal, (callCtx) => this.client(this.bucket).head(key, { ...callCtx, versionId: opts.versionId }));
    return statInfo(what, key, out.res.headers);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.validateKey(key);
    const what = `get oss://${this.bucket}/${key}`;
    const range = opts.range;
    const headers: Record<string, string> = {};
    if (range && !(range.start === 0 && range.end === undefined)) {
      headers.Range = `bytes=${range.start}-${range.end ?? ''}`;
      headers['x-oss-range-behavior'] = 'standard'; // 416 for an unsatisfiable range instead of the whole object
    }
    const out = await this.call(what, opts.signal, (callCtx) => this.client(this.bucket).getStream(key, { ...callCtx, headers, ...(opts.versionId ? { subres: { versionId: opts.versionId } } : {}) })).catch((e: unknown) => rethrowNamingClass(e, () => this.stat(key, opts)));
    const h = out.res.headers;
    let frame: BodyFrame;
    try {
      frame = bodyFrame({ what, status: out.res.status, contentLength: h['content-length'], contentRange: h['content-range'], range: headers.Range ? range : undefined, expectedSize: opts.expectedSize });
    } catch (e) {
      out.stream.destroy();
      throw e;
    }
    const info = { ...objectInfo(key, h), size: frame.size ?? NaN };
    // The whole-object CRC applies when the body is the whole object.
    const expectedCrc = frame.whole ? parseCrc64(h['x-oss-hash-crc64ecma']) : undefined;
    const body = checkedDownload(out.stream, frame, expectedCrc, opts.signal);
    return { body, info, ...(frame.length !== undefined ? { contentLength: frame.length } : {}) };
  }

  async put(key: string, body: Readable | Buffer, opts: PutOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    const what = `put oss://${this.bucket}/${key}`;
    const headers = ossWriteHeaders(what, opts);
    const size = Buffer.isBuffer(body) ? body.length : opts.size;
    if (Buffer.isBuffer(body) && opts.size !== undefined && opts.size !== body.length) throw new SizeMismatchError(`${what}: size ${opts.size} announced for a ${body.length}-byte buffer`);
    if (size !== undefined && size > capabilities.maxSinglePut) throw new ObjectTooLargeError(`${what}: ${size} bytes exceeds the single-put limit ${capabilities.maxSinglePut}; use multipart`);
    if (Buffer.isBuffer(body)) {
      const crc = crc64ecma(body); // ali-oss adds Content-MD5 for buffers; the server checks it
      const out = await this.call(what, opts.signal, (callCtx) => this.client(this.bucket).put(key, body, { ...callCtx, headers, timeout: this.uploadTimeout(size) }));
      verifyCrc(what, out.res.headers, crc);
      return { etag: unquote(out.res.headers.etag), checksums: reportedChecksums(out.res.headers), ...versionIdOf(out.res.headers) };
    }
    const limit = size ?? capabilities.maxSinglePut;
    const counted = new Crc64Stream({
      onChunk: (counter) => (counter.bytes > limit ? (size === undefined ? new ObjectTooLargeError(`${what}: stream longer than the single-put limit ${limit}; use multipart`) : new SizeMismatchError(`${what}: stream longer than the announced ${size} bytes`)) : undefined),
      onFlush: (counter) => (size !== undefined && counter.bytes !== size ? new SizeMismatchError(`${what}: stream ended after ${counter.bytes} of the announced ${size} bytes`) : undefined),
    });
    pipeline(body, counted, () => undefined); // errors travel both ways; `call` reports the stream's own
    const out = await this.call(
      what,
      opts.signal,
      (callCtx) => this.client(this.bucket).putStream(key, counted, { ...callCtx, headers, ...(size ? { contentLength: size } : {}), timeout: this.uploadTimeout(size) }),
      () => counted.errored ?? body.errored,
    );
    const crc = counted.crc.toString();
    verifyCrc(what, out.res.headers, crc);
    return { etag: unquote(out.res.headers.etag), checksums: reportedChecksums(out.res.headers), ...versionIdOf(out.res.headers) };
  }

  async createMultipart(key: string, opts: WriteOptions = {}): Promise<string> {
    this.validateKey(key);
    const what = `create multipart oss://${this.bucket}/${key}`;
    const headers = ossWriteHeaders(what, opts);
    const out = await this.call(what, opts.signal, (callCtx) => this.client(this.bucket).initMultipartUpload(key, { ...callCtx, headers }));
    return out.uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    this.validateKey(key);
    const what = `upload part ${partNumber} oss://${this.bucket}/${key}`;
    if (size > capabilities.multipart!.maxPartSize) throw new ObjectTooLargeError(`${what}: ${size} bytes exceeds the part limit ${capabilities.multipart!.maxPartSize}`);
    if (Buffer.isBuffer(body) && body.length !== size) throw new SizeMismatchError(`${what}: size ${size} announced for a ${body.length}-byte buffer`);
    const send = (stream: Readable, callCtx: CallCtx) => uploadPartFromStream(this.client(this.bucket), key, uploadId, partNumber, { size, stream }, { ...callCtx, timeout: this.uploadTimeout(size) });
    const { out, crc } = Buffer.isBuffer(body)
      ? // a fresh stream per attempt, so a part refused for its request time can be sent again
        { out: await this.call(what, opts.signal, (callCtx) => send(Readable.from([body]), callCtx)), crc: crc64ecma(body) }
      : await this.uploadPartStream(what, body, size, opts.signal, send);
    verifyCrc(what, out.res.headers, crc);
    return { partNumber, etag: unquote(out.etag) ?? '', size, checksums: { crc64ecma: crc } };
  }

  /** Sends a part from a stream, counting its bytes and CRC-64 on the way (a spent stream cannot be resent). */
  private async uploadPartStream<T>(what: string, body: Readable, size: number, signal: AbortSignal | undefined, send: (stream: Readable, callCtx: CallCtx) => Promise<T>) {
    const counted = new Crc64Stream({
      onChunk: (counter) => (counter.bytes > size ? new SizeMismatchError(`${what}: body longer than the announced ${size} bytes`) : undefined),
      onFlush: (counter) => (counter.bytes !== size ? new SizeMismatchError(`${what}: body ended after ${counter.bytes} of the announced ${size} bytes`) : undefined),
    });
    pipeline(body, counted, () => undefined);
    const out = await this.call(what, signal, (callCtx) => send(counted, callCtx), () => counted.errored ?? body.errored);
    return { out, crc: counted.crc.toString() };
  }

  /** Size (and content type) of a copy source in another bucket of this endpoint. */
  private async statSource(source: CopySource, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    this.validateKey(source.key);
    const what = `stat oss://${source.bucket}/${source.key}`;
    const out = await this.call(what, signal, (callCtx) => this.client(source.bucket).head(source.key, callCtx));
    return statInfo(what, source.key, out.res.headers);
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, source: CopySource, range: ByteRange, opts: { signal?: AbortSignal } = {}): Promise<UploadedPart> {
    this.validateKey(key);
    this.validateKey(source.key);
    const end = range.end ?? (await this.statSource(source, opts.signal)).size - 1;
    const headers: Record<string, string> = source.etag ? { 'x-oss-copy-source-if-match': `"${source.etag}"` } : {};
    const out = await this.call(`upload part copy ${partNumber} oss://${source.bucket}/${source.key} → oss://${this.bucket}/${key}`, opts.signal, (callCtx) =>
      this.client(this.bucket).uploadPartCopy(key, uploadId, partNumber, `${range.start}-${end}`, { sourceKey: source.key, sourceBucketName: source.bucket }, { ...callCtx, headers }),
    );
    const checksums = reportedChecksums(out.res.headers);
    return { partNumber, etag: unquote(out.etag) ?? '', size: end - range.start + 1, ...(checksums ? { checksums } : {}) };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[], opts: { signal?: AbortSignal } = {}): Promise<PutResult> {
    this.validateKey(key);
    const what = `complete multipart oss://${this.bucket}/${key}`;
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    // Parts the server answered without an ETag are listed as it answered them: with an empty one.
    const out = await this.call(what, opts.signal, (callCtx) =>
      this.client(this.bucket).completeMultipartUpload(key, uploadId, sorted.map((part) => ({ number: part.partNumber, etag: part.etag ? `"${part.etag}"` : '' })), callCtx),
    ).catch((e: unknown) => {
      throw partEtagsMissing(what, sorted, e);
    });
    const expected = combineCrc64Parts(sorted.map((part) => ({ crc: part.checksums?.crc64ecma, size: part.size })));
    if (expected !== undefined) verifyCrc(what, out.res.headers, expected);
    return { etag: unquote(out.etag ?? out.res.headers.etag), checksums: reportedChecksums(out.res.headers), ...versionIdOf(out.res.headers) };
  }

  async abortMultipart(key: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.validateKey(key);
    await this.call(`abort multipart oss://${this.bucket}/${key}`, opts.signal, (callCtx) => this.client(this.bucket).abortMultipartUpload(key, uploadId, callCtx));
  }

  async listMultipartUploads(prefix = '', opts: { signal?: AbortSignal } = {}): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const result: { key: string; uploadId: string; initiated: number }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const query: Record<string, string | number> = { 'max-uploads': 1000, 'encoding-type': 'url' };
      if (prefix) query.prefix = prefix;
      if (keyMarker) query['key-marker'] = keyMarker;
      if (uploadIdMarker) query['upload-id-marker'] = uploadIdMarker;
      const out = await this.call(`list multipart uploads oss://${this.bucket}/${prefix}`, opts.signal, (callCtx) => this.client(this.bucket).listUploads(query, callCtx));
      for (const upload of out.uploads) {
        const initiated = Date.parse(upload.initiated);
        result.push({ key: decodeListValue(upload.name, this.bucket), uploadId: upload.uploadId, initiated: Number.isNaN(initiated) ? 0 : initiated });
      }
      if (!out.isTruncated || !out.nextKeyMarker) return result;
      keyMarker = decodeListValue(out.nextKeyMarker, this.bucket);
      uploadIdMarker = out.nextUploadIdMarker || undefined;
    }
  }

  /**
   * CopyObject (up to {@link Capabilities.maxServerSideCopy}). Content type, standard headers and metadata are kept
   * (`COPY`) unless given, which replaces them (`REPLACE`); a replacement without a content type keeps the source's.
   * Tags are kept unless given (write-fields.ts ossCopyHeaders).
   */
  async copyObject(source: CopySource, key: string, opts: WriteOptions = {}): Promise<PutResult> {
    this.validateKey(key);
    this.validateKey(source.key);
    const what = `copy oss://${source.bucket}/${source.key} → oss://${this.bucket}/${key}`;
    const contentType = replacesMetadata(opts) && opts.contentType === undefined ? (await this.statSource(source, opts.signal)).contentType : opts.contentType;
    const headers = { ...ossCopyHeaders(what, { ...opts, contentType }), ...copySourceHeaders(source) };
    const out = await this.call(what, opts.signal, (callCtx) => copyOssObject(this.client(this.bucket), key, headers, callCtx));
    const checksums = reportedChecksums(out.res.headers);
    return { etag: unquote(out.etag ?? out.res.headers.etag), ...(checksums ? { checksums } : {}), ...versionIdOf(out.res.headers) };
  }

  getTags(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<Record<string, string>> {
    this.validateKey(key);
    return this.call(`get tags oss://${this.bucket}/${key}`, opts.signal, (callCtx) => getOssTags(this.client(this.bucket), key, { ...callCtx, versionId: opts.versionId }));
  }

  restore(key: string, opts: { days: number; tier: RestoreTier; versionId?: string; signal?: AbortSignal }): Promise<'requested' | 'already'> {
    return restoreOssObject(this.bucket, key, opts, { stat: () => this.stat(key, opts), call: (what, fn) => this.call(what, opts.signal, (callCtx) => fn(this.client(this.bucket), callCtx)) });
  }

  async delete(key: string, opts: { signal?: AbortSignal; versionId?: string } = {}): Promise<{ versionId?: string }> {
    this.validateKey(key);
    const out = await this.call(`delete oss://${this.bucket}/${key}`, opts.signal, (callCtx) => this.client(this.bucket).delete(key, { ...callCtx, versionId: opts.versionId }));
    return versionIdOf(out.res.headers);
  }

  /** Runs a versioned request through {@link call} with this bucket's client. */
  private versionCall(signal: AbortSignal | undefined): OssVersionCall {
    return (what, fn) => this.call(what, signal, (callCtx) => fn(this.client(this.bucket), callCtx));
  }

  listVersions(opts: VersionListOptions = {}): Promise<VersionPage> {
    return listOssVersions(this.bucket, opts, this.versionCall(opts.signal));
  }

  versioning(opts: { signal?: AbortSignal } = {}): Promise<VersioningStatus> {
    return ossVersioning(this.bucket, this.versionCall(opts.signal));
  }

  async close(): Promise<void> {
    this.transport.agents.http.destroy();
    this.transport.agents.https.destroy();
    this.clients.clear();
  }
}

/** Opens an OSS bucket. Throws InvalidConfigError for a bad spec, CredentialsError when no keys are found. */
export function openOssProvider(spec: EndpointSpec, ctx: ProviderContext = {}, opts: OssProviderOptions = {}): ObjectProvider {
  return new OssProvider(spec, ctx, opts);
}

openOssProvider satisfies (spec: EndpointSpec, ctx: ProviderContext) => ObjectProvider;
