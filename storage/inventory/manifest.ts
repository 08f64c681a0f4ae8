/**
 * Inventory report manifests: S3 Inventory's and OSS inventory's `manifest.json`, which name the report's columns
 * (`fileSchema`) and its data files (`files[]`: key in the manifest's bucket, compressed size, MD5 of the file).
 *
 * S3 (version 2016-11-30) and OSS (version 2019-09-01) write the same shape; S3's `destinationBucket` is an ARN and
 * its `creationTimestamp` is in milliseconds, OSS's a plain name and seconds. Only CSV reports are read: ORC has no
 * maintained pure-JS reader, and Parquet support is not built (configure the inventory's output format as CSV).
 */
import { z } from 'zod';
import { InvalidConfigError } from '../../common/errors';
import type { RowFormat } from './rows';

/** One data file of a report (or the one file of a plain manifest). */
export interface DataFileRef {
  /** Key in the manifest's bucket (or fs root). */
  key: string;
  /** Compressed size as the manifest states it. */
  size?: number;
  /** MD5 (hex) of the file as stored, as the manifest states it. */
  md5?: string;
}

/** A report, read from its manifest: how to read its rows, and where they are. */
export interface InventoryReport {
  format: RowFormat;
  files: DataFileRef[];
  /** When the inventory's scan began (epoch ms), when the manifest says. */
  createdAt?: number;
  /** The bucket the report lists, when the manifest says. */
  sourceBucket?: string;
}

const manifestJson = z.object({
  sourceBucket: z.string().optional(),
  destinationBucket: z.string().optional(),
  version: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.number()]).optional(),
  fileFormat: z.string({ error: 'missing fileFormat' }),
  fileSchema: z.string({ error: 'missing fileSchema' }),
  files: z.array(z.object({ key: z.string().min(1), size: z.number().optional(), MD5checksum: z.string().optional() }), { error: 'missing files (the data files)' }).min(1, 'lists no data files'),
});

/** `creationTimestamp`: S3 writes milliseconds, OSS seconds (both as strings). */
function creationTime(v: string | number | undefined): number | undefined {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  return n < 1e12 ? n * 1000 : n;
}

/**
 * Reads a manifest.json (`where` names it in messages). `format` forces s3 or oss; absent, it is detected (an ARN
 * destination or version 2016-11-30 is S3, anything else OSS). Throws InvalidConfigError naming what is wrong.
 */
export function parseInventoryManifest(text: string, where: string, format?: 's3' | 'oss'): InventoryReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidConfigError([`inventory: ${where} is not JSON (${(e as Error).message}): give the report's manifest.json`]);
  }
  const res = manifestJson.safeParse(doc);
  if (!res.success) throw new InvalidConfigError(res.error.issues.map((i) => `inventory: ${where}: ${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`));
  const m = res.data;
  if (m.fileFormat.toUpperCase() !== 'CSV') {
    throw new InvalidConfigError([`inventory: ${where} is a ${m.fileFormat} report: Ferry reads CSV inventory reports only (ORC has no maintained pure-JS reader; Parquet is not supported yet): configure the inventory's output format as CSV`]);
  }
  const kind = format ?? (m.destinationBucket?.startsWith('arn:') || m.version === '2016-11-30' ? 's3' : 'oss');
  const columns = m.fileSchema.split(',').map((c) => c.trim());
  if (!columns.includes('Key')) throw new InvalidConfigError([`inventory: ${where}: fileSchema "${m.fileSchema}" has no Key column`]);
  return {
    format: { kind, delimiter: ',', columns },
    files: m.files.map((f) => ({ key: f.key, ...(f.size !== undefined ? { size: f.size } : {}), ...(f.MD5checksum ? { md5: f.MD5checksum.toLowerCase() } : {}) })),
    ...(creationTime(m.creationTimestamp) !== undefined ? { createdAt: creationTime(m.creationTimestamp) } : {}),
    ...(m.sourceBucket ? { sourceBucket: m.sourceBucket } : {}),
  };
}
