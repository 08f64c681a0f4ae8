/**
 * The one interface every storage backend implements (s3, oss, fs, http). Small and streaming: callers
 * branch on {@link Capabilities}, never on the provider type.
 *
 * Contract shared by all implementations (proved by `test/providers/conformance.ts`):
 * - Keys are exact strings (no normalisation: NFC and NFD are different keys). Listing returns keys in the
 *   provider's order: UTF-8 byte order for object stores and fs (`compareKeys`), list order for `http`.
 * - Every method takes an AbortSignal and stops promptly when it fires.
 * - Errors are the classes of `common/errors.ts`, mapped in one function per provider.
 */
import type { Readable } from 'node:stream';
import type { EndpointConfig } from '../common/job';

/** Checksum algorithms Ferry knows, by the name used in reports and metadata. Values are base64 unless noted. */
export const ChecksumAlgorithm = {
  /** MD5 of the whole object (hex, as in single-part ETags). */
  md5: 'md5',
  /** CRC-64/XZ as OSS reports it (`x-oss-hash-crc64ecma`), unsigned decimal string. */
  crc64ecma: 'crc64ecma',
  crc32: 'crc32',
  crc32c: 'crc32c',
  crc64nvme: 'crc64nvme',
  sha256: 'sha256',
} as const;
export type ChecksumAlgorithm = (typeof ChecksumAlgorithm)[keyof typeof ChecksumAlgorithm];

/** Checksums of a whole object, by algorithm. */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** What a listing or stat says about one object. Plain data: it crosses activity boundaries. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Last-modified time in epoch milliseconds. */
  lastModified: number;
  /** Entity tag without quotes, when the store has one. */
  etag?: string;
  /** Whole-object checksums the store reports (listing may omit them; stat/get fill what they can). */
  checksums?: Checksums;
  contentType?: string;
  /** User metadata (lower-case names without the `x-amz-meta-`/`x-oss-meta-` prefix). Filled by stat/get. */
  metadata?: Record<string, string>;
  /** Storage class as the store names it (`STANDARD`, `GLACIER`, `DEEP_ARCHIVE`, `Archive`, `ColdArchive` …); absent = the store's default. */
  storageClass?: string;
  /** Restore state of an archived object (`x-amz-restore` / `x-oss-restore`), filled by stat; absent = no restore requested. */
  restore?: RestoreState;
  /** Standard headers stored with the object, filled by stat/get. */
  headers?: ObjectHeaders;
  /** Server-side encryption the store reports for the object (stat/get); absent = none reported. */
  encryption?: Encryption;
  /** Object tags, filled by `getTags` (listing, stat and get leave them absent). */
  tags?: Record<string, string>;
  /** Version id (versioned listings, and stat/get of a versioned bucket); `null` version = `'null'`. */
  versionId?: string;
  /** In a version listing: whether this is the key's current version. */
  isLatest?: boolean;
  /** In a version listing: this entry is a delete marker (size 0, no body). */
  deleteMarker?: boolean;
  /** Versions of this key, oldest first (delete markers included): set by the version listing (storage/versions.ts). */
  versions?: ObjectInfo[];
  /**
   * Resume position of this entry for {@link ListOptions.startAfter}. Equal to `key` for stores listed in key
   * order; the list-line number for `http` lists.
   */
  position: string;
}

/** Standard HTTP headers an object store keeps with an object (both S3 and OSS). */
export interface ObjectHeaders {
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  /** The `Expires` header as the store returned it (an HTTP date). */
  expires?: string;
}

/** Restore state of an archived object. */
export interface RestoreState {
  /** A restore is running (`ongoing-request="true"`). */
  ongoing: boolean;
  /** When the restored copy expires (epoch ms), once the restore finished. */
  expiresAt?: number;
}

export type RestoreTier = 'Bulk' | 'Standard' | 'Expedited';

/** Server-side encryption of a written object: S3 `AES256`/`aws:kms`, OSS `AES256`/`KMS` (`kms` maps to each). */
export interface Encryption {
  algorithm: 'AES256' | 'kms';
  /** KMS key id (kms only; absent = the store's default key). */
  keyId?: string;
}

/**
 * Storage classes whose objects cannot be read until restored: S3 GLACIER and DEEP_ARCHIVE (GLACIER_IR reads at
 * once), OSS Archive, ColdArchive and DeepColdArchive.
 */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE', 'Archive', 'ColdArchive', 'DeepColdArchive']);

/** Whether an object must be restored before it can be read (its class is archived and no restored copy is ready). */
export function needsRestore(o: Pick<ObjectInfo, 'storageClass' | 'restore'>): boolean {
  return !!o.storageClass && ARCHIVE_CLASSES.has(o.storageClass) && !(o.restore && !o.restore.ongoing);
}

export interface ListOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** Exclusive start: a `position` from an earlier entry (or page's `next`). */
  startAfter?: string;
  /** Page size hint (providers cap it at their maximum, e.g. 1000). */
  limit?: number;
  signal?: AbortSignal;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Position to pass as `startAfter` for the next page; absent on the last page. */
  next?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. Omitted = to the end. */
  end?: number;
}

export interface GetOptions {
  range?: ByteRange;
  /** A given version (versioned buckets); absent = the current one. */
  versionId?: string;
  /**
   * The whole object's size as the caller listed it. A server may announce no length (a body framed by closing the
   * connection, valid HTTP/1.1): the body is then checked against this size instead (SizeMismatchError when short or
   * long), and it stands in for `info.size`.
   */
  expectedSize?: number;
  signal?: AbortSignal;
}

export interface GetResult {
  /**
   * Exactly the bytes asked for, or an error. A body whose length differs from the announced (or expected) one
   * fails with SizeMismatchError; a server that answered a ranged GET with the whole object has the range cut out.
   */
  body: Readable;
  /**
   * Object info as the GET response reports it (size is the whole object's size). When the server announced no
   * length, `size` is {@link GetOptions.expectedSize}, or `NaN` when the caller gave none: never a made-up 0.
   */
  info: ObjectInfo;
  /** Length of `body` in bytes; undefined when neither the server nor {@link GetOptions.expectedSize} says. */
  contentLength?: number;
}

export interface WriteOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  headers?: ObjectHeaders;
  /** Tags written with the object (S3 `x-amz-tagging`, OSS `x-oss-tagging`). */
  tags?: Record<string, string>;
  /** Storage class of the written object, in the store's own naming. */
  storageClass?: string;
  encryption?: Encryption;
  /** `private`: the object gets a private ACL; absent: the bucket's default (never the source's grants). */
  acl?: 'private';
  signal?: AbortSignal;
}

export interface PutOptions extends WriteOptions {
  /** Exact body length when known; omit for unknown-size streams. */
  size?: number;
}

export interface PutResult {
  etag?: string;
  /** Version id of the written object (versioned buckets). */
  versionId?: string;
  /**
   * Checksums the store reported for what was written, never one the provider computed alone (callers count these as
   * checks). A provider that sent the bytes has compared them with what it sent (ChecksumMismatchError).
   */
  checksums?: Checksums;
}

export interface UploadedPart {
  partNumber: number;
  /** The part's ETag without quotes; `''` when the server answered without one (completion lists it as given). */
  etag: string;
  size: number;
  checksums?: Checksums;
}

/** A source for upload-part-copy / server-side copy: an object in another bucket of the same endpoint. */
export interface CopySource {
  bucket: string;
  key: string;
  /** Guards against copying a changed source (S3 `x-amz-copy-source-if-match`). */
  etag?: string;
}

/** Features a provider offers. Callers test these; they never test the provider type. */
export interface Capabilities {
  /** Checksums the store keeps for every object and reports on stat (and maybe listing). */
  checksums: readonly ChecksumAlgorithm[];
  /** Whether a single-part upload's ETag is its MD5 (S3/OSS without SSE-KMS). */
  etagIsMd5: boolean;
  /** Largest object one `put` can write. */
  maxSinglePut: number;
  /** Multipart upload limits, or null when the provider has no multipart (writes any size with `put`). */
  multipart: { minPartSize: number; maxPartSize: number; maxParts: number } | null;
  /** Server-side copy between buckets of the same endpoint (`copyObject`). */
  serverSideCopy: boolean;
  /** Largest object `copyObject` takes in one request (OSS: 1 GB, S3: 5 GiB). */
  maxServerSideCopy: number;
  /** Upload-part-copy for server-side copies of larger objects. */
  uploadPartCopy: boolean;
  writable: boolean;
  /** Whether keys ending in `/` can be stored as objects. */
  trailingSlashKeys: boolean;
  /** Whether keys with empty path segments (`a//b`, leading `/`) can be stored. */
  emptyPathSegments: boolean;
  /** Whether content-type and user metadata are stored and returned. */
  metadata: boolean;
  /** `key` = listing is in UTF-8 byte order of keys; `list` = the order of a list file. */
  order: 'key' | 'list';
  /** Archive storage classes with restore (`restore`); absent = none. */
  archive?: boolean;
  /** Object versions (`listVersions`, `versionId` on get/stat/delete); absent = none. */
  versions?: boolean;
  /** Object tags (`getTags`, `WriteOptions.tags`); absent = none. */
  tags?: boolean;
  /** Storage classes and encryption on write (`WriteOptions.storageClass`, `encryption`, `acl`); absent = none. */
  writeClasses?: boolean;
}

export interface VersionListOptions {
  prefix?: string;
  /** Exclusive start: versions of keys after this key. */
  startAfter?: string;
  /** Page size hint in versions (a page still holds whole keys). */
  limit?: number;
  signal?: AbortSignal;
}

/** A bucket's versioning status, as S3 and OSS name it (`Off`: never enabled). */
export type VersioningStatus = 'Enabled' | 'Suspended' | 'Off';

export interface VersionPage {
  /** Whole keys: every version and delete marker of each key listed, in key order, newest first within a key. */
  versions: ObjectInfo[];
  /** The last key listed, to pass as `startAfter`; absent on the last page. */
  next?: string;
}

/**
 * One bucket (or fs root, or URL list) opened with resolved credentials. Created by the registry on a worker;
 * never serialised.
 */
export interface ObjectProvider {
  readonly type: string;
  /**
   * Non-secret identity of endpoint + credential profile. Two providers with equal `endpointId` can copy
   * server-side between their buckets.
   */
  readonly endpointId: string;
  /** Bucket name (or fs root / list location) — what {@link CopySource.bucket} refers to. */
  readonly bucket: string;
  readonly capabilities: Capabilities;

  /** Lists one page in provider order. Throws BucketNotFoundError / AccessDeniedError. */
  list(opts?: ListOptions): Promise<ListPage>;
  /** Object info with metadata, headers, storage class, restore state and stored checksums. Throws NotFoundError when missing. */
  stat(key: string, opts?: { signal?: AbortSignal; versionId?: string }): Promise<ObjectInfo>;
  /** Streams the object (or a byte range). Throws NotFoundError when missing. */
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  /** Writes a whole object from a stream or buffer; an aborted put leaves no visible object. */
  put(key: string, body: Readable | Buffer, opts?: PutOptions): Promise<PutResult>;
  /** Rejects keys this store cannot hold, with an InvalidKeyError naming the rule. Pure; no I/O. */
  validateKey(key: string): void;

  createMultipart?(key: string, opts?: WriteOptions): Promise<string>;
  uploadPart?(key: string, uploadId: string, partNumber: number, body: Readable | Buffer, size: number, opts?: { signal?: AbortSignal }): Promise<UploadedPart>;
  uploadPartCopy?(key: string, uploadId: string, partNumber: number, source: CopySource, range: ByteRange, opts?: { signal?: AbortSignal }): Promise<UploadedPart>;
  completeMultipart?(key: string, uploadId: string, parts: UploadedPart[], opts?: { signal?: AbortSignal }): Promise<PutResult>;
  abortMultipart?(key: string, uploadId: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Unfinished multipart uploads under a prefix (cleanup and orphan checks). */
  listMultipartUploads?(prefix?: string, opts?: { signal?: AbortSignal }): Promise<{ key: string; uploadId: string; initiated: number }[]>;
  /** Server-side copy from another bucket of the same endpoint, keeping content-type and metadata. */
  copyObject?(source: CopySource, key: string, opts?: WriteOptions): Promise<PutResult>;
  /**
   * Removes an object (with `versionId`: that version; without, in a versioned bucket: adds a delete marker, whose
   * version id is returned). Ferry never deletes source data: partial writes, mirror mode, versions' delete markers.
   */
  delete?(key: string, opts?: { signal?: AbortSignal; versionId?: string }): Promise<{ versionId?: string } | void>;
  /** Requests a restore of an archived object; `already` when a restored copy is ready or one is being made. */
  restore?(key: string, opts: { days: number; tier: RestoreTier; versionId?: string; signal?: AbortSignal }): Promise<'requested' | 'already'>;
  /** Lists versions and delete markers (capabilities.versions). */
  listVersions?(opts?: VersionListOptions): Promise<VersionPage>;
  /** The bucket's versioning status (capabilities.versions): `Off` when it was never enabled. */
  versioning?(opts?: { signal?: AbortSignal }): Promise<VersioningStatus>;
  /** The object's tags (capabilities.tags); `{}` when it has none. */
  getTags?(key: string, opts?: { signal?: AbortSignal; versionId?: string }): Promise<Record<string, string>>;
  /** Releases sockets and handles. */
  close?(): Promise<void>;
  /** Mirroring-based back-to-origin on this bucket, where the store has it (OSS); absent elsewhere (S3 has none). */
  readonly backToOrigin?: BackToOrigin;
}

/**
 * A store's mirroring-based back-to-origin: a read of a key the bucket lacks fetches it from an origin URL, stores
 * it and returns it (used while traffic moves to the destination during a cut-over).
 */
export interface BackToOrigin {
  /**
   * Sets Ferry's rule (keeping the bucket's own rules) and returns the bucket's configuration from before it, opaque,
   * to hand to {@link restore}. Idempotent: with Ferry's rule already set, it adds no second one and returns the
   * configuration without it (`alreadySet`). Throws InvalidConfigError for a bad origin URL or a full rule table.
   */
  enable(rule: { originUrl: string; keyPrefix?: string; passQueryString?: boolean }, opts?: { signal?: AbortSignal }): Promise<{ previous: string | null; rule: string; alreadySet: boolean }>;
  /** Puts back `previous` exactly as {@link enable} returned it (`null`: removes the configuration). Idempotent. */
  restore(previous: string | null, opts?: { signal?: AbortSignal }): Promise<void>;
}

/** Which bucket/root and credentials a provider opens: the `source`/`destination` block of a job, no secrets. */
export type EndpointSpec = EndpointConfig;

/** Resolved secrets for one profile. Lives only in worker memory. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
