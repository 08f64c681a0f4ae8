/**
 * Inventory reports written the way S3 Inventory and OSS bucket inventory write them (from their published format
 * descriptions): a `manifest.json` naming the columns (`fileSchema`) and gzip CSV data files (`files[]` with key,
 * compressed size and MD5), every field quoted, keys form-URL-encoded (a space as `+`). Returned as key → bytes, to
 * put into a bucket or an fs root.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ObjectProvider } from '../../storage/provider';

export interface InventoryObject {
  key: string;
  size: number;
  etag?: string;
  lastModified?: number;
  storageClass?: string;
  versionId?: string;
  isLatest?: boolean;
  deleteMarker?: boolean;
}

export interface InventoryOptions {
  /** Report prefix in the inventory bucket (the configuration's destination prefix). */
  prefix: string;
  sourceBucket: string;
  /** Name of the bucket holding the report. */
  inventoryBucket: string;
  objects: readonly InventoryObject[];
  /** Data files the rows are spread over (round-robin by default, in order with `contiguous`). */
  files?: number;
  contiguous?: boolean;
  /** Version columns (VersionId, IsLatest, IsDeleteMarker), as a report of all versions has. */
  versioned?: boolean;
  /** Lines inserted verbatim into data file `file` after its row `after` (bad rows). */
  extraLines?: { file: number; after: number; text: string }[];
  createdAt?: number;
  /** gzip the data files (default true, as both stores do). */
  gzip?: boolean;
}

/** A key as S3 and OSS write it into inventory CSV: form-URL-encoded. */
export function encodeInventoryKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

const S3_COLUMNS = ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass', 'IsMultipartUploaded'];
const S3_VERSIONED = ['Bucket', 'Key', 'VersionId', 'IsLatest', 'IsDeleteMarker', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'];
const OSS_COLUMNS = ['Bucket', 'Key', 'Size', 'StorageClass', 'LastModifiedDate', 'ETag', 'IsMultipartUploaded', 'EncryptionStatus'];

function row(columns: readonly string[], bucket: string, o: InventoryObject): string {
  const value: Record<string, string> = {
    Bucket: bucket,
    Key: encodeInventoryKey(o.key),
    VersionId: o.versionId ?? '',
    IsLatest: String(o.isLatest ?? true),
    IsDeleteMarker: String(o.deleteMarker ?? false),
    Size: o.deleteMarker ? '' : String(o.size),
    LastModifiedDate: new Date(o.lastModified ?? Date.UTC(2025, 0, 1)).toISOString(),
    ETag: o.etag ?? '',
    StorageClass: o.storageClass ?? 'STANDARD',
    IsMultipartUploaded: 'false',
    EncryptionStatus: 'false',
  };
  return columns.map((c) => `"${value[c] ?? ''}"`).join(',');
}

function dataFiles(columns: readonly string[], opts: InventoryOptions): Buffer[] {
  const n = opts.files ?? 1;
  const lines: string[][] = Array.from({ length: n }, () => []);
  const per = Math.ceil(opts.objects.length / n);
  opts.objects.forEach((o, i) => lines[opts.contiguous ? Math.floor(i / per) : i % n]!.push(row(columns, opts.sourceBucket, o)));
  for (const x of [...(opts.extraLines ?? [])].sort((a, b) => b.after - a.after)) lines[x.file]!.splice(x.after, 0, x.text);
  return lines.map((l) => {
    const text = Buffer.from(l.length ? `${l.join('\n')}\n` : '');
    return opts.gzip === false ? text : gzipSync(text);
  });
}

function stamp(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace(':', '-') + 'Z';
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** An S3 Inventory report: `<prefix>/<source>/<config>/<stamp>/manifest.json` and `.../data/<n>.csv.gz`. */
export function s3Inventory(opts: InventoryOptions): { manifestKey: string; files: Map<string, Buffer> } {
  const createdAt = opts.createdAt ?? Date.UTC(2025, 0, 2);
  const base = `${opts.prefix}/${opts.sourceBucket}/ferry-config`;
  const columns = opts.versioned ? S3_VERSIONED : S3_COLUMNS;
  const out = new Map<string, Buffer>();
  const files = dataFiles(columns, opts).map((body, i) => {
    const key = `${base}/data/${String(i).padStart(8, '0')}-6d46-85a9-4ba8-87bd.csv${opts.gzip === false ? '' : '.gz'}`;
    out.set(key, body);
    return { key, size: body.length, MD5checksum: md5(body) };
  });
  const manifest = {
    sourceBucket: opts.sourceBucket,
    destinationBucket: `arn:aws:s3:::${opts.inventoryBucket}`,
    version: '2016-11-30',
    creationTimestamp: String(createdAt),
    fileFormat: 'CSV',
    fileSchema: columns.join(', '),
    files,
  };
  const manifestKey = `${base}/${stamp(createdAt)}/manifest.json`;
  out.set(manifestKey, Buffer.from(JSON.stringify(manifest, null, 4)));
  return { manifestKey, files: out };
}

/** An OSS bucket inventory: `<prefix>/<source>/<id>/<stamp>/manifest.json` and `.../<id>/data/<uuid>.csv.gz`. */
export function ossInventory(opts: InventoryOptions): { manifestKey: string; files: Map<string, Buffer> } {
  const createdAt = opts.createdAt ?? Date.UTC(2025, 0, 2);
  const base = `${opts.prefix}/${opts.sourceBucket}/inventory0`;
  const out = new Map<string, Buffer>();
  const files = dataFiles(OSS_COLUMNS, opts).map((body, i) => {
    const key = `${base}/data/a1574226-b5e5-40ee-91df-${String(i).padStart(12, '0')}.csv${opts.gzip === false ? '' : '.gz'}`;
    out.set(key, body);
    return { MD5checksum: md5(body).toUpperCase(), key, size: body.length };
  });
  const manifest = {
    creationTimestamp: String(Math.floor(createdAt / 1000)),
    destinationBucket: opts.inventoryBucket,
    fileFormat: 'CSV',
    fileSchema: OSS_COLUMNS.join(', '),
    files,
    sourceBucket: opts.sourceBucket,
    version: '2019-09-01',
  };
  const manifestKey = `${base}/${stamp(createdAt)}/manifest.json`;
  out.set(manifestKey, Buffer.from(JSON.stringify(manifest)));
  return { manifestKey, files: out };
}

/** Writes report files under an fs root. */
export function writeReport(root: string, files: Map<string, Buffer>): void {
  for (const [key, body] of files) {
    mkdirSync(dirname(join(root, key)), { recursive: true });
    writeFileSync(join(root, key), body);
  }
}

/** Puts report files into a bucket. */
export async function putReport(p: ObjectProvider, files: Map<string, Buffer>): Promise<void> {
  for (const [key, body] of files) await p.put(key, body, { size: body.length });
}
