/**
 * What a job would cost in requests and traffic, for `ferry plan`. {@link RequestTally} counts the requests a run
 * would send to each side — LIST, HEAD, GET, PUT, multipart initiate/part/complete, COPY and upload-part-copy,
 * restores — and the bytes read out of each store, from what planning saw (each source page, each object to copy or
 * compare). The rules follow the copy engine (activities/transfer.ts, multipart.ts, checks.ts, verify.ts) on the
 * first attempt of each object: retries, pauses and the read sample are not counted. {@link priceUsage} multiplies the
 * counts by a side's price table (common/prices.ts); {@link withInventory} turns the LIST-based counts into those of
 * a job that reads an inventory report instead. Pure: no I/O.
 */
import type { Capabilities, ObjectInfo, RestoreTier } from '../storage/provider';
import { needsRestore } from '../storage/provider';
import type { EndpointConfig, JobSpec } from './job';
import { archivedPolicy } from './job';
import type { PriceBook, PriceTable, PricedRequest } from './prices';

/** The request kinds an estimate counts. */
export const RequestKind = {
  list: 'list',
  head: 'head',
  get: 'get',
  put: 'put',
  initiate: 'initiate',
  part: 'part',
  complete: 'complete',
  copy: 'copy',
  partCopy: 'partCopy',
  restore: 'restore',
} as const;
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind];
export const REQUEST_KINDS = Object.values(RequestKind);

/** Which price of a table each request kind is billed at (restores: by class and tier, see PriceTable.restore). */
const PRICE_OF: Record<Exclude<RequestKind, 'restore'>, PricedRequest> = {
  list: 'list',
  head: 'head',
  get: 'get',
  put: 'put',
  initiate: 'multipart',
  part: 'multipart',
  complete: 'multipart',
  copy: 'copy',
  partCopy: 'copy',
};

/** Keys per LIST page (both sides' listings ask for 1,000). */
export const LIST_PAGE = 1000;
/** Objects are cut into at most this many parts (activities/multipart.ts keeps heartbeat details small so). */
const MAX_TRACKED_PARTS = 1000;
const GB = 1024 ** 3;

/** Restores of one archive class at one tier. */
export interface RestoreUsage {
  storageClass: string;
  tier: RestoreTier;
  objects: number;
  bytes: number;
}

/** What a run would ask of one store. */
export interface SideUsage {
  requests: Record<RequestKind, number>;
  /** The LIST requests of the listing itself (part of `requests.list`): what reading an inventory replaces. */
  listing: number;
  /** Bytes read out of the store (to the workers). */
  egressBytes: number;
  restores: RestoreUsage[];
  /** Objects listed by inventory reports read instead of listing (their fee is per million). */
  inventoryObjects: number;
}

export interface Usage {
  source: SideUsage;
  destination: SideUsage;
}

/** What the tally needs to know about the job and both stores. */
export interface CostContext {
  job: Pick<JobSpec, 'mode' | 'verify' | 'multipart' | 'overwrite' | 'archived'>;
  /** Both sides are one endpoint that copies server-side (activities/batch.ts `serverSide`). */
  serverSide: boolean;
  /** Large server-side copies go part by part with upload-part-copy. */
  uploadPartCopy: boolean;
  source: Pick<Capabilities, 'order' | 'etagIsMd5'>;
  destination: Pick<Capabilities, 'order' | 'etagIsMd5' | 'multipart' | 'maxSinglePut' | 'maxServerSideCopy' | 'checksums' | 'metadata' | 'serverSideCopy'>;
}

/** A store as the tally sees it: the provider fields that decide which requests are sent. */
export interface CostSide {
  endpointId: string;
  capabilities: Capabilities;
  copyObject?: unknown;
  uploadPartCopy?: unknown;
}

/** The context of a job between two opened providers. */
export function costContext(job: CostContext['job'], src: CostSide, dst: CostSide): CostContext {
  const serverSide = src.endpointId === dst.endpointId && dst.capabilities.serverSideCopy && !!dst.copyObject;
  return { job, serverSide, uploadPartCopy: serverSide && dst.capabilities.uploadPartCopy && !!dst.uploadPartCopy, source: src.capabilities, destination: dst.capabilities };
}

export function emptySide(): SideUsage {
  return { requests: Object.fromEntries(REQUEST_KINDS.map((k) => [k, 0])) as Record<RequestKind, number>, listing: 0, egressBytes: 0, restores: [], inventoryObjects: 0 };
}

/** Parts of a multipart upload of `size` bytes (activities/multipart.ts partSizeFor). */
export function multipartParts(size: number, partSize: number, limits: { minPartSize: number; maxPartSize: number; maxParts: number }): number {
  const want = Math.max(partSize, limits.minPartSize, Math.ceil(size / Math.min(limits.maxParts, MAX_TRACKED_PARTS)));
  return Math.max(1, Math.ceil(size / Math.min(want, limits.maxPartSize)));
}

/**
 * Counts the requests of a run as planning walks the source: {@link sourcePage} for every source LIST,
 * {@link comparePage} for every page matched against the destination, {@link copy} for each object to copy,
 * {@link compare} for each object a verify-only job compares, then {@link usage}.
 */
export class RequestTally {
  private readonly src = emptySide();
  private readonly dst = emptySide();
  private copied = 0;

  constructor(private readonly ctx: CostContext) {}

  /** One LIST of the source listing. */
  sourcePage(): void {
    this.src.requests.list++;
    this.src.listing++;
  }

  /**
   * A page of `candidates` objects matched against the destination, where `destinationSeen` objects were found in
   * its key range: LISTs of that range when both sides list in key order, else a HEAD per object.
   */
  comparePage(candidates: number, destinationSeen: number): void {
    if (!candidates) return;
    if (this.keyOrdered()) {
      const pages = Math.max(1, Math.ceil(destinationSeen / LIST_PAGE));
      this.dst.requests.list += pages;
      this.dst.listing += pages;
    } else this.dst.requests.head += candidates;
  }

  /** One object the run would copy: a restore first if it is archived and the job restores, then the copy and its checks. */
  copy(o: Pick<ObjectInfo, 'size' | 'storageClass' | 'restore'>): void {
    const { ctx, src, dst } = this;
    this.copied++;
    if (archivedPolicy(ctx.job) === 'restore' && needsRestore(o)) this.restore(o.storageClass!, o.size);
    const mp = ctx.destination.multipart;
    const multipart = !!mp && (o.size >= ctx.job.multipart.threshold || o.size > ctx.destination.maxSinglePut);
    if (ctx.serverSide && o.size <= ctx.destination.maxServerSideCopy && !multipart) {
      dst.requests.copy++;
      this.afterCopy(o.size, 'server-side');
      return;
    }
    if (!multipart) {
      src.requests.get++;
      src.egressBytes += o.size;
      dst.requests.put++;
      this.afterCopy(o.size, 'single');
      return;
    }
    const parts = multipartParts(o.size, ctx.job.multipart.partSize, mp);
    src.requests.head++; // the source's headers and metadata for the upload
    dst.requests.list++; // uploads an earlier attempt may have left (ListMultipartUploads)
    dst.requests.initiate++;
    if (ctx.uploadPartCopy) dst.requests.partCopy += parts;
    else {
      src.requests.get += parts;
      src.egressBytes += o.size;
      dst.requests.part += parts;
    }
    dst.requests.complete++;
    if (ctx.destination.metadata) dst.requests.head++; // the metadata arrived (activities/metadata-kept.ts)
    this.afterCopy(o.size, ctx.uploadPartCopy ? 'part-copy' : 'multipart');
  }

  /** Checks after a copy: a read-back where the verify mode asks for one the destination's answer did not settle. */
  private afterCopy(size: number, how: 'server-side' | 'single' | 'multipart' | 'part-copy'): void {
    const { ctx, src, dst } = this;
    const mode = ctx.job.verify;
    if (mode !== 'checksum' && mode !== 'content' && mode !== 'checksum-strict') return;
    const crcKept = ctx.destination.checksums.includes('crc64ecma');
    // A multipart copy through Ferry records the bytes' CRC-64 on a store that keeps none, by copying the object onto itself.
    if (how === 'multipart' && !crcKept && ctx.destination.metadata && ctx.destination.serverSideCopy && size <= ctx.destination.maxServerSideCopy) dst.requests.copy++;
    const verified = how === 'server-side' ? ctx.source.etagIsMd5 && ctx.destination.etagIsMd5 : how === 'part-copy' ? crcKept : ctx.destination.etagIsMd5 || (how === 'multipart' && crcKept);
    if (mode === 'checksum-strict' || (mode === 'checksum' && verified)) return;
    dst.requests.get++;
    dst.egressBytes += size;
    // Without a digest of what was sent (server-side copies of objects with no MD5 ETag), the source is read again.
    if ((how === 'server-side' && !ctx.source.etagIsMd5) || how === 'part-copy') {
      src.requests.get++;
      src.egressBytes += size;
    }
  }

  /** One object a verify-only job compares with `existing` (undefined: missing, reported without a request). */
  compare(o: Pick<ObjectInfo, 'size'>, existing: Pick<ObjectInfo, 'size'> | undefined): void {
    const mode = this.ctx.job.verify;
    if (!existing || existing.size !== o.size || mode === 'none' || mode === 'size') return;
    if (mode !== 'content' && this.ctx.source.etagIsMd5 && this.ctx.destination.etagIsMd5) return;
    if (mode === 'checksum-strict') return;
    for (const side of [this.src, this.dst]) {
      side.requests.get++;
      side.egressBytes += o.size;
    }
  }

  private restore(storageClass: string, size: number): void {
    const tier = this.ctx.job.archived?.tier ?? 'Bulk';
    this.src.requests.restore++;
    this.src.requests.head++; // at least one look at the restore's progress
    let r = this.src.restores.find((x) => x.storageClass === storageClass && x.tier === tier);
    if (!r) this.src.restores.push((r = { storageClass, tier, objects: 0, bytes: 0 }));
    r.objects++;
    r.bytes += size;
  }

  private keyOrdered(): boolean {
    return this.ctx.source.order === 'key' && this.ctx.destination.order === 'key';
  }

  /** The counts so far, with the size checks after copying (one destination LIST per 1,000 copied objects, or a HEAD each). */
  usage(): Usage {
    const dst = structuredClone(this.dst);
    if (this.ctx.job.mode !== 'verify' && this.ctx.job.verify !== 'none' && this.copied) {
      if (this.keyOrdered()) dst.requests.list += Math.ceil(this.copied / LIST_PAGE);
      else dst.requests.head += this.copied;
    }
    return { source: structuredClone(this.src), destination: dst };
  }
}

/** What an inventory report costs to read instead of listing: its files and the objects it lists. */
export interface InventoryCounts {
  /** Manifest files read (one per report). */
  manifests: number;
  dataFiles: number;
  /** Bytes of manifests and data files together. */
  bytes: number;
  /** Rows (objects) the report lists. */
  objects: number;
}

/**
 * The usage of the same run reading inventory reports instead of listing: each side given an inventory drops the
 * LISTs of its listing and instead GETs the report's files (priced at that side's table, as if the report were kept
 * in the same store) and pays the report's fee per object listed.
 */
export function withInventory(usage: Usage, inventory: { source?: InventoryCounts; destination?: InventoryCounts }): Usage {
  const out = structuredClone(usage);
  for (const side of ['source', 'destination'] as const) {
    const inv = inventory[side];
    if (!inv) continue;
    const s = out[side];
    s.requests.list -= s.listing;
    s.listing = 0;
    s.requests.get += inv.manifests + inv.dataFiles;
    s.egressBytes += inv.bytes;
    s.inventoryObjects += inv.objects;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- prices

/** How a side is priced: its store's table, or none (local filesystem; a store with no table costs 0). */
export interface SidePricing {
  /** The price-table name (a provider preset or `http`), or `local` for a filesystem. */
  store: string;
  table?: PriceTable;
  /** Said in the output next to the figures. */
  notes: string[];
}

/** Which table prices an endpoint: its `provider:` preset; s3 without one is AWS unless it names an endpoint (then `other`). */
export function sidePricing(e: EndpointConfig, book: PriceBook): SidePricing {
  if (e.type === 'fs') return { store: 'local', notes: ['a local filesystem: no request or traffic charges'] };
  const store = e.type === 'http' ? 'http' : (e.provider ?? (e.type === 'oss' ? 'alibaba' : e.endpoint ? 'other' : 'aws'));
  const table = book[store as keyof PriceBook];
  const notes: string[] = [];
  if (!table) notes.push(`no prices for ${store === 'other' ? 'this S3-compatible store (provider: other or none)' : store}: priced at 0; give them with --prices FILE`);
  else if (store === 'aws' && e.region && e.region !== 'us-east-1' && !table.label.includes(e.region)) notes.push(`the built-in AWS prices are us-east-1's; this bucket is in ${e.region} (give its prices with --prices FILE)`);
  else if (store === 'alibaba' && e.endpoint && !/oss-cn-(?!hongkong)/.test(e.endpoint)) notes.push(`the built-in OSS prices are mainland China's (cn-hangzhou); ${e.endpoint} is outside it (give its prices with --prices FILE)`);
  return { store, table, notes };
}

/** One priced item of an estimate. */
export interface CostLine {
  side: 'source' | 'destination';
  /** A request kind, `egress`, `retrieval` (GB restored) or `inventory` (objects listed by reports). */
  item: RequestKind | 'egress' | 'retrieval' | 'inventory';
  /** For restores and retrievals: the archive class and tier. */
  detail?: string;
  /** Requests, bytes or objects. */
  quantity: number;
  unit: 'requests' | 'bytes' | 'objects';
  /** Price per 1,000 requests, per GB (2^30 bytes) or per million objects. */
  unitPrice: number;
  amount: number;
  currency: string;
}

/** Requests and traffic of a run, priced. */
export interface CostEstimate {
  usage: Usage;
  lines: CostLine[];
  /** Total per currency (sides priced in different currencies are not converted). */
  totals: Record<string, number>;
  sides: Record<'source' | 'destination', { store: string; label?: string; currency?: string; asOf?: string; source?: string }>;
  notes: string[];
}

/** `ferry plan`'s cost: with the job's listing, and beside it with inventory reports when both are possible. */
export interface PlanCost {
  list: CostEstimate;
  inventory?: CostEstimate;
}

/** Rounds away float noise (amounts are kept to a millionth of the currency unit). */
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Prices `usage` with each side's table; sides without one appear with their notes and cost nothing. */
export function priceUsage(usage: Usage, pricing: Record<'source' | 'destination', SidePricing>): CostEstimate {
  const lines: CostLine[] = [];
  const totals: Record<string, number> = {};
  const notes: string[] = [];
  const sides = {} as CostEstimate['sides'];
  for (const side of ['source', 'destination'] as const) {
    const { store, table } = pricing[side];
    const u = usage[side];
    sides[side] = table ? { store, label: table.label, currency: table.currency, asOf: table.asOf, source: table.source } : { store };
    for (const n of pricing[side].notes) notes.push(`${side}: ${n}`);
    const add = (line: Omit<CostLine, 'side' | 'currency' | 'amount'>, amount: number) => {
      if (!line.quantity) return;
      const currency = table?.currency ?? '';
      lines.push({ side, ...line, amount: round6(amount), currency });
      if (currency) totals[currency] = (totals[currency] ?? 0) + amount;
    };
    for (const kind of REQUEST_KINDS) {
      if (kind === 'restore') continue;
      const unitPrice = table?.requests[PRICE_OF[kind]] ?? 0;
      add({ item: kind, quantity: u.requests[kind], unit: 'requests', unitPrice }, (u.requests[kind] / 1000) * unitPrice);
    }
    for (const r of u.restores) {
      const p = table?.restore[r.storageClass]?.[r.tier];
      if (table && !p) notes.push(`${side}: no restore prices for ${r.storageClass} (${r.tier}) in ${table.label}: priced at 0`);
      const detail = `${r.storageClass} ${r.tier}`;
      add({ item: 'restore', detail, quantity: r.objects, unit: 'requests', unitPrice: p?.requests ?? 0 }, (r.objects / 1000) * (p?.requests ?? 0));
      add({ item: 'retrieval', detail, quantity: r.bytes, unit: 'bytes', unitPrice: p?.perGB ?? 0 }, (r.bytes / GB) * (p?.perGB ?? 0));
    }
    add({ item: 'egress', quantity: u.egressBytes, unit: 'bytes', unitPrice: table?.egressPerGB ?? 0 }, (u.egressBytes / GB) * (table?.egressPerGB ?? 0));
    add({ item: 'inventory', quantity: u.inventoryObjects, unit: 'objects', unitPrice: table?.inventoryPerMillion ?? 0 }, (u.inventoryObjects / 1e6) * (table?.inventoryPerMillion ?? 0));
  }
  if (usage.source.egressBytes && pricing.source.table?.egressPerGB) notes.push('source: egress is priced as internet traffic; workers in the source\'s own region (or on its internal network) pay none — give egressPerGB: 0 with --prices');
  for (const c of Object.keys(totals)) totals[c] = round6(totals[c]!);
  return { usage, lines, totals, sides, notes };
}

/** The plan's cost: the job's listing, and with `inventory` counts the same run reading inventory reports, side by side. */
export function planCost(usage: Usage, spec: Pick<JobSpec, 'source' | 'destination'>, book: PriceBook, inventory?: { source?: InventoryCounts; destination?: InventoryCounts }): PlanCost {
  const pricing = { source: sidePricing(spec.source, book), destination: sidePricing(spec.destination, book) };
  const list = priceUsage(usage, pricing);
  return inventory && (inventory.source || inventory.destination) ? { list, inventory: priceUsage(withInventory(usage, inventory), pricing) } : { list };
}
