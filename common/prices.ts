/**
 * Price tables for `ferry plan`'s cost estimate: built-in list prices for AWS S3 (us-east-1, S3 Standard) and
 * Alibaba Cloud OSS (China (Hangzhou), cn-hangzhou, Standard), each with the date it was taken, and the schema of a
 * price file (`--prices FILE`) that overrides them or prices any other store. A side is priced by its provider preset
 * (storage/quirks.ts); stores without a built-in table (MinIO, COS, R2 …, `other`, http sources) cost 0 until the file
 * gives their prices, and fs sides are local (never priced).
 *
 * Units: request prices per 1,000 requests; data prices per GB of 2^30 bytes (both providers bill "GB" so).
 */
import { z } from 'zod';
import { PRESET_NAMES } from '../storage/quirks';
import type { RestoreTier } from '../storage/provider';
import { formatIssues } from './job';
import { InvalidConfigError } from './errors';

/** The request prices a table holds, per 1,000 requests. `multipart`: initiate, each part, complete; `copy`: CopyObject and UploadPartCopy. */
export const PRICED_REQUESTS = ['list', 'head', 'get', 'put', 'copy', 'multipart'] as const;
export type PricedRequest = (typeof PRICED_REQUESTS)[number];

/** Retrieval of one archive class at one tier: per 1,000 restore requests and per GB restored. */
export interface RestorePrice {
  requests: number;
  perGB: number;
}

/** One store's prices. */
export interface PriceTable {
  /** What the prices are for, e.g. `AWS S3 us-east-1, S3 Standard`. */
  label: string;
  /** ISO 4217 code, e.g. USD, CNY. */
  currency: string;
  /** When the prices were taken (YYYY-MM-DD). */
  asOf: string;
  /** Where they were taken from. */
  source?: string;
  /** Per 1,000 requests. */
  requests: Record<PricedRequest, number>;
  /** Bytes read out of the store to the internet, per GB. */
  egressPerGB: number;
  /** Retrieval of archived objects by storage class and tier. */
  restore: Record<string, Partial<Record<RestoreTier, RestorePrice>>>;
  /** Reading an inventory report instead of listing: the report's own fee per million objects it lists. */
  inventoryPerMillion: number;
}

/** The stores a price file may name: the provider presets, and `http` (an http source's server). */
export const PRICEABLE_STORES = [...PRESET_NAMES, 'http'] as const;
export type PriceableStore = (typeof PRICEABLE_STORES)[number];

/** Price tables by store. */
export type PriceBook = Partial<Record<PriceableStore, PriceTable>>;

/**
 * AWS S3, us-east-1, S3 Standard. Requests: PUT, COPY, POST, LIST $0.005 and GET, HEAD $0.0004 per 1,000; internet
 * egress $0.09/GB (the 100 GB-10 TB tier; the account's first 100 GB a month are free); S3 Inventory $0.0025 per million
 * objects listed; restores of Glacier Flexible Retrieval (bulk free, standard $0.05/1,000 + $0.01/GB, expedited
 * $10/1,000 + $0.03/GB) and Deep Archive (bulk $0.025/1,000 + $0.0025/GB, standard $0.10/1,000 + $0.02/GB).
 * Sources: https://aws.amazon.com/s3/pricing/ (Requests & data retrievals, Data transfer, Management & insights),
 * https://www.usage.ai/blogs/s3-egress-cost/ (egress tiers, US East, updated 2026-06-04),
 * https://www.usage.ai/blogs/aws/storage-cost/glacier-deep-archive-pricing/ (retrieval per GB, 2026-06-05),
 * https://repost.aws/knowledge-center/s3-manage-data-retrieval (retrieval requests per 1,000).
 */
const AWS_US_EAST_1: PriceTable = {
  label: 'AWS S3 us-east-1, S3 Standard',
  currency: 'USD',
  asOf: '2026-06-05',
  source: 'https://aws.amazon.com/s3/pricing/',
  requests: { list: 0.005, head: 0.0004, get: 0.0004, put: 0.005, copy: 0.005, multipart: 0.005 },
  egressPerGB: 0.09,
  restore: {
    GLACIER: { Bulk: { requests: 0, perGB: 0 }, Standard: { requests: 0.05, perGB: 0.01 }, Expedited: { requests: 10, perGB: 0.03 } },
    DEEP_ARCHIVE: { Bulk: { requests: 0.025, perGB: 0.0025 }, Standard: { requests: 0.1, perGB: 0.02 } },
  },
  inventoryPerMillion: 0.0025,
};

/**
 * Alibaba Cloud OSS, China (Hangzhou) (cn-hangzhou; the mainland regions share these list prices), Standard LRS.
 * Requests: PUT-type (uploads, copies, multipart, and also ListObjects, which OSS bills as a PUT-type request) and
 * GET-type (GetObject, HeadObject) ¥0.01 per 10,000; internet egress ¥0.50/GB (08:00-24:00; ¥0.25 at night); Archive
 * restores ¥0.06/GB with PUT-type requests at the Archive rate (¥0.1 per 10,000); Cold Archive retrieval requests
 * ¥0.3 / ¥3 / ¥30 per 10,000 and ¥0.03 / ¥0.06 / ¥0.2 per GB (bulk / standard / expedited). OSS bucket inventory
 * has no fee of its own (reading the report is billed as requests and traffic).
 * Sources: https://www.alibabacloud.com/help/en/oss/api-operation-calling-fees (which requests are PUT-type, updated
 * 2026-03-25), https://www.alibabacloud.com/product/oss/pricing, https://kandaoni.com/news/26917.html (unit prices),
 * https://developer.aliyun.com/ask/631608 (Cold Archive retrieval).
 */
const OSS_CN_HANGZHOU: PriceTable = {
  label: 'Alibaba Cloud OSS cn-hangzhou (mainland China), Standard',
  currency: 'CNY',
  asOf: '2026-03-25',
  source: 'https://www.alibabacloud.com/product/oss/pricing',
  requests: { list: 0.001, head: 0.001, get: 0.001, put: 0.001, copy: 0.001, multipart: 0.001 },
  egressPerGB: 0.5,
  restore: {
    Archive: { Bulk: { requests: 0.01, perGB: 0.06 }, Standard: { requests: 0.01, perGB: 0.06 }, Expedited: { requests: 0.01, perGB: 0.06 } },
    ColdArchive: { Bulk: { requests: 0.03, perGB: 0.03 }, Standard: { requests: 0.3, perGB: 0.06 }, Expedited: { requests: 3, perGB: 0.2 } },
  },
  inventoryPerMillion: 0,
};

/** The built-in tables: AWS S3 and Alibaba OSS. Every other store is priced at 0 unless a price file gives it. */
export const BUILT_IN_PRICES: PriceBook = { aws: AWS_US_EAST_1, alibaba: OSS_CN_HANGZHOU };

const price = z.number({ error: 'must be a number' }).nonnegative('must not be negative').finite('must be finite');
const restorePrice = z.strictObject({ requests: price, perGB: price }).partial();
const tableSchema = z.strictObject({
  label: z.string().min(1, 'must not be empty'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as USD or CNY'),
  asOf: z.union([z.string(), z.date()]).transform((v, ctx) => {
    const s = v instanceof Date ? v.toISOString().slice(0, 10) : v;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(s))) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a date (use YYYY-MM-DD, when the prices were taken)` });
      return z.NEVER;
    }
    return s;
  }),
  source: z.string().min(1, 'must not be empty'),
  requests: z.strictObject(Object.fromEntries(PRICED_REQUESTS.map((k) => [k, price])) as Record<PricedRequest, typeof price>).partial(),
  egressPerGB: price,
  restore: z.record(z.string(), z.strictObject({ Bulk: restorePrice, Standard: restorePrice, Expedited: restorePrice }).partial()),
  inventoryPerMillion: price,
}).partial();

/** The price file: store name → table. A built-in table is overridden field by field; any other store needs `currency`. */
export const priceFileSchema = z.strictObject(Object.fromEntries(PRICEABLE_STORES.map((s) => [s, tableSchema])) as Record<PriceableStore, typeof tableSchema>).partial();

const ZERO_REQUESTS = Object.fromEntries(PRICED_REQUESTS.map((k) => [k, 0])) as Record<PricedRequest, number>;

/**
 * Validates a parsed price file and merges it over the built-in tables.
 * @throws InvalidConfigError listing every problem as `store.field: message`.
 */
export function parsePriceFile(doc: unknown, file = 'price file'): PriceBook {
  const res = priceFileSchema.safeParse(doc ?? {});
  const issues = res.success ? [] : formatIssues(res.error);
  if (doc && typeof doc === 'object') {
    for (const [store, given] of Object.entries(doc)) {
      const known = (PRICEABLE_STORES as readonly string[]).includes(store) && !BUILT_IN_PRICES[store as PriceableStore];
      if (known && !(given && typeof given === 'object' && 'currency' in given)) issues.push(`${store}.currency: required (${store} has no built-in prices)`);
    }
  }
  const book: PriceBook = { ...BUILT_IN_PRICES };
  if (!issues.length && res.success) {
    for (const [store, given] of Object.entries(res.data) as [PriceableStore, z.output<typeof tableSchema>][]) {
      const base = BUILT_IN_PRICES[store];
      const restore = { ...base?.restore };
      for (const [cls, tiers] of Object.entries(given.restore ?? {})) {
        const merged = { ...restore[cls] };
        for (const [tier, p] of Object.entries(tiers) as [RestoreTier, Partial<RestorePrice>][]) merged[tier] = { requests: 0, perGB: 0, ...merged[tier], ...p };
        restore[cls] = merged;
      }
      book[store] = {
        label: given.label ?? (base ? `${base.label}, adjusted by ${file}` : `${store} (${file})`),
        currency: given.currency ?? base!.currency,
        asOf: given.asOf ?? base?.asOf ?? 'unknown',
        source: given.source ?? file,
        requests: { ...ZERO_REQUESTS, ...base?.requests, ...given.requests },
        egressPerGB: given.egressPerGB ?? base?.egressPerGB ?? 0,
        restore,
        inventoryPerMillion: given.inventoryPerMillion ?? base?.inventoryPerMillion ?? 0,
      };
    }
  }
  if (issues.length) throw new InvalidConfigError(issues, `invalid price file ${file}:\n  ${issues.join('\n  ')}`);
  return book;
}
