/**
 * What differs between S3/OSS-compatible stores, as data (rclone keeps the same facts per provider): which listing
 * works, whether single-part ETags are MD5s, multipart limits, server-side copy, the checksums the store keeps,
 * addressing. A job endpoint names a preset (`provider:`) and may override any field (`quirks:`); the providers turn
 * the resolved quirks into their {@link Capabilities} and request options, and preflight reports what it used.
 * Pure data and pure functions: no I/O.
 */
import type { Capabilities, ChecksumAlgorithm, EndpointSpec } from './provider';

/** The stores Ferry has presets for; `other` is a conservative profile for any other S3-compatible store. */
export const Preset = {
  aws: 'aws',
  alibaba: 'alibaba',
  minio: 'minio',
  ceph: 'ceph',
  cos: 'cos',
  us3: 'us3',
  kodo: 'kodo',
  obs: 'obs',
  wasabi: 'wasabi',
  r2: 'r2',
  b2: 'b2',
  other: 'other',
} as const;
export type Preset = (typeof Preset)[keyof typeof Preset];
export const PRESET_NAMES = Object.values(Preset) as [Preset, ...Preset[]];

export interface MultipartLimits {
  /** Smallest part but the last, bytes. */
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
}

/** The facts about one store that change what Ferry sends or trusts. */
export interface Quirks {
  /** 2 = ListObjectsV2 (`start-after`), 1 = ListObjects (`marker`). */
  listVersion: 1 | 2;
  /** Whether listings ask for `encoding-type=url` (some stores break markers with it). */
  listUrlEncoding: boolean;
  /** Whether a single-part, unencrypted object's ETag is its MD5. */
  etagIsMd5: boolean;
  multipart: MultipartLimits;
  /** Server-side copy (CopyObject / UploadPartCopy) between buckets of the same endpoint. */
  serverSideCopy: boolean;
  /** Largest object one CopyObject request copies, bytes. */
  maxServerSideCopy: number;
  /** Whole-object checksums the store computes itself and returns on HEAD/GET (its own headers). */
  checksums: ChecksumAlgorithm[];
  /** Path-style addressing (`/<bucket>/<key>`) instead of virtual-hosted (`<bucket>.<host>`). */
  pathStyle: boolean;
  /** Ranged GETs (`Range: bytes=a-b`). */
  rangeRequests: boolean;
}

/** A job's `quirks:` block: any field, multipart limits one by one. */
export type QuirksOverride = Partial<Omit<Quirks, 'multipart'>> & { multipart?: Partial<MultipartLimits> };

const KB = 1000;
const MB = 1000 * KB;
const GB = 1000 * MB;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Amazon S3's own limits: what every preset starts from, and what a store whose docs are silent gets. */
const S3_DEFAULTS: Quirks = {
  listVersion: 2,
  listUrlEncoding: true,
  etagIsMd5: true,
  multipart: { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000 },
  serverSideCopy: true,
  maxServerSideCopy: 5 * GiB,
  checksums: [],
  pathStyle: false,
  rangeRequests: true,
};

const preset = (q: Partial<Quirks>): Quirks => ({ ...S3_DEFAULTS, ...q });

export const PRESETS: Record<Preset, Quirks> = {
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (parts 5 MiB–5 GiB, 10,000);
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html (one CopyObject up to 5 GB).
  // checksums: S3 adds CRC64NVME to new objects only (https://docs.aws.amazon.com/sdkref/latest/guide/feature-dataintegrity.html),
  // so older objects lack it: not one Ferry can rely on.
  aws: preset({}),
  // https://www.alibabacloud.com/help/en/oss/user-guide/what-should-i-do-if-encountering-the-error-too-many-parts-please-increase-part-size-during-during-resumable-upload
  // (parts 100 KB–5 GB, 10,000); https://www.alibabacloud.com/help/doc-detail/31994.html (CopyObject up to 1 GB);
  // x-oss-hash-crc64ecma on every object. Virtual-hosted only.
  alibaba: preset({ multipart: { minPartSize: 100 * KiB, maxPartSize: 5 * GiB, maxParts: 10_000 }, maxServerSideCopy: GiB, checksums: ['crc64ecma'] }),
  // https://min.io/docs/minio/linux/operations/concepts/thresholds.html (parts 5 MiB–5 GiB, 10,000).
  // CopyObject limit: not documented; S3 default. Path style: MinIO deployments rarely have wildcard DNS.
  minio: preset({ pathStyle: true }),
  // https://docs.ceph.com/en/latest/radosgw/s3/ (CopyObject and multipart supported; limits not documented; S3 default).
  // ListObjects V1 and no url encoding, as rclone's Ceph settings: V2 is missing from older RGW releases.
  ceph: preset({ listVersion: 1, listUrlEncoding: false, pathStyle: true }),
  // https://www.tencentcloud.com/document/product/436/14112 (parts 1 MB–5 GB, 10,000);
  // https://www.tencentcloud.com/document/product/436/43320 (x-cos-hash-crc64ecma on objects written since CRC64 launched).
  // ListObjects V1 as rclone's COS settings; CopyObject limit not documented here; S3 default.
  cos: preset({ listVersion: 1, multipart: { minPartSize: MB, maxPartSize: 5 * GB, maxParts: 10_000 }, checksums: ['crc64ecma'] }),
  // https://ucloud-global.com/en/docs/ufile/devguide/s3/s3_introduction (ListObjectsV2, CopyObject, UploadPartCopy
  // supported); limits not documented; S3 default.
  us3: preset({}),
  // https://developer.qiniu.com/kodo/12553/S3%20SDK%20sample (S3-compatible API); limits and ETag form not documented
  // there; S3 default. No url encoding of listings, as rclone's Qiniu settings.
  kodo: preset({ listUrlEncoding: false }),
  // https://support.huaweicloud.com/intl/en-us/api-obs/obs_04_0022.html (ListObjects with marker);
  // https://support.huaweicloud.com/eu/api-obs_nodejs_sdk_api_en/obs_39_0411.html (parts 100 KB–5 GB, 10,000).
  // V1 without url encoding: OBS's V2 omits the continuation and encoded markers stop advancing (minio-go#1703, rclone).
  obs: preset({ listVersion: 1, listUrlEncoding: false, multipart: { minPartSize: 100 * KB, maxPartSize: 5 * GB, maxParts: 10_000 } }),
  // https://docs.wasabi.com/docs/how-does-wasabi-handle-multipart-uploads ("adheres to" the AWS multipart rules): S3 default.
  wasabi: preset({}),
  // https://developers.cloudflare.com/r2/platform/limits/ (10,000 parts; 4.995 GiB per request, part or part copy);
  // https://developers.cloudflare.com/r2/objects/upload-objects/ (parts from 5 MiB).
  r2: preset({ multipart: { minPartSize: 5 * MiB, maxPartSize: 5 * GiB - 5 * MiB, maxParts: 10_000 }, maxServerSideCopy: 5 * GiB - 5 * MiB }),
  // https://www.backblaze.com/b2/docs/s3_compatible_api.html (ListObjectsV2, CopyObject, UploadPartCopy);
  // https://backblaze.com/docs/cloud-storage-create-large-files-with-the-native-api (parts 5 MB–5 GB, 10,000).
  b2: preset({ multipart: { minPartSize: 5 * MB, maxPartSize: 5 * GB, maxParts: 10_000 } }),
  // Unknown store: what works almost everywhere, trusting nothing that cannot be checked. ListObjects V1 (every
  // S3 clone has it), no url-encoded listings, ETags not taken for MD5s (no false mismatches), no server-side copy
  // (bytes go through the worker), path style (custom endpoints rarely have wildcard DNS), S3's part limits.
  other: preset({ listVersion: 1, listUrlEncoding: false, etagIsMd5: false, serverSideCopy: false, pathStyle: true }),
};

/** The preset an endpoint type uses when the job names none. */
export const DEFAULT_PRESET: Record<'s3' | 'oss', Preset> = { s3: Preset.aws, oss: Preset.alibaba };

/** `overrides` without the fields it leaves undefined. */
function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A preset (default: the type's) with `overrides` applied field by field. */
export function resolveQuirks(type: 's3' | 'oss', presetName?: Preset, overrides?: QuirksOverride): Quirks {
  const base = PRESETS[presetName ?? DEFAULT_PRESET[type]];
  const { multipart, ...rest } = defined(overrides);
  return { ...base, ...rest, multipart: { ...base.multipart, ...defined(multipart) }, checksums: [...(rest.checksums ?? base.checksums)] };
}

/**
 * The quirks an s3/oss endpoint runs with (undefined for fs/http): its preset and `quirks:`, and for s3 the older
 * `forcePathStyle`, which wins. Without a preset, a custom s3 endpoint stays path-style as it always was.
 */
export function endpointQuirks(spec: EndpointSpec): Quirks | undefined {
  if (spec.type !== 's3' && spec.type !== 'oss') return undefined;
  const customDefault = spec.type === 's3' && !spec.provider && spec.endpoint ? true : undefined;
  const pathStyle = spec.forcePathStyle ?? spec.quirks?.pathStyle ?? customDefault;
  return resolveQuirks(spec.type, spec.provider, { ...spec.quirks, pathStyle });
}

/**
 * A provider's capabilities under `quirks`: `base` (what the provider itself can do) with the store's limits.
 * `readable` are the checksums the provider can read back; one the store keeps in a header the provider does not
 * read (COS's CRC-64 through the s3 provider) is not a capability.
 */
export function capabilitiesFor(base: Capabilities, quirks: Quirks, readable: readonly ChecksumAlgorithm[]): Capabilities {
  return {
    ...base,
    checksums: quirks.checksums.filter((c) => readable.includes(c)),
    etagIsMd5: quirks.etagIsMd5,
    multipart: base.multipart && { ...quirks.multipart },
    serverSideCopy: base.serverSideCopy && quirks.serverSideCopy,
    maxServerSideCopy: quirks.maxServerSideCopy,
    uploadPartCopy: base.uploadPartCopy && quirks.serverSideCopy,
  };
}
