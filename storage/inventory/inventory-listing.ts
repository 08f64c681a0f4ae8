/**
 * A provider whose listing is an inventory report or key manifest (report-reader.ts) and whose reads and writes go
 * to the real bucket: a job with `source.inventory`/`source.manifest` never LISTs its source.
 *
 * Choices the engine relies on:
 * - **Order is the report's** (`order: 'list'`, like the http source): positions are data file + line, so a task
 *   is a row range, and rows need not be sorted by key.
 * - **Bad rows are listed, never dropped** (whatever the prefix): an entry with size 0 whose key names the data
 *   file and line; `stat`/`get` of it throw InvalidInventoryRowError with the reason.
 * - **Older versions and delete markers** of a versioned report are no objects: passed over.
 * - **Rows without a size** (a manifest of keys only) are stat'ed when listed (16 at a time).
 * - **Stale rows**: an object listed here and gone when read throws SourceMissingError. One whose size, ETag or
 *   modification time differs from its row has the listed entry updated in place to the object as it is now and
 *   throws SourceChangedError (retryable): the engine's next attempt copies the object as it is now. Each such row
 *   is counted (`staleRows`) and kept for the report ({@link InventoryListing.takeStaleRows}).
 * - **Writes** (the destination side with `destination.inventory`) go to the bucket; the keys written are
 *   remembered so that {@link DestinationLookup} answers for them from the bucket, not from the older inventory.
 */
import type { GetOptions, GetResult, ListOptions, ListPage, ObjectInfo, ObjectProvider, PutOptions, PutResult, UploadedPart, WriteOptions, CopySource } from '../provider';
import type { Readable } from 'node:stream';
import { BucketNotFoundError, InvalidInventoryRowError, NotFoundError, SourceChangedError, SourceMissingError } from '../../common/errors';
import { stat } from 'node:fs/promises';
import { ReportReader, describeLocation, parsePosition, type Row } from './report-reader';
import { RowCursors } from './row-cursors';
import { DestinationLookup } from './destination-lookup';

/** Rows examined per `list` call before it returns what it has (keeps a call short when a prefix matches few rows). */
const SCAN_BUDGET = 100_000;
/** Listed entries remembered for the stale-row check (a worker's windows in flight hold far fewer). */
const REMEMBERED = 200_000;
const STAT_CONCURRENCY = 16;

/** A row whose object had changed when it was read. */
export interface StaleRow {
  key: string;
  where: string;
  row: { size: number; etag?: string; lastModified: number };
  now: { size: number; etag?: string; lastModified: number };
}

/** Remembers the latest `capacity` entries by key (insertion order = recency). */
class Recent<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, v: V): void {
    // A key set again keeps its place: listings set each key once, so recency by first setting is close enough.
    this.map.set(key, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
}

const differs = (row: ObjectInfo, now: ObjectInfo) =>
  (Number.isFinite(now.size) && now.size !== row.size) || (!!row.etag && !!now.etag && row.etag.toLowerCase() !== now.etag.toLowerCase()) || (row.lastModified > 0 && now.lastModified > 0 && Math.abs(row.lastModified - now.lastModified) >= 1000);

export class InventoryListing implements ObjectProvider {
  readonly type: string;
  readonly endpointId: string;
  readonly bucket: string;
  readonly capabilities: ObjectProvider['capabilities'];
  /** Rows found stale when read (see the module comment). */
  staleRows = 0;

  private readonly cursors: RowCursors;
  /** Entries listed, by key: the stale-row check and SourceMissing apply to these. */
  private readonly listed = new Recent<{ entry: ObjectInfo; file: number; line: number }>(REMEMBERED);
  /** Bad rows listed, by their entry key → reason. */
  private readonly badRows = new Recent<string>(REMEMBERED);
  /** Keys written through this provider. */
  readonly written = new Recent<true>(REMEMBERED);
  private readonly stale = new WeakMap<AbortSignal, StaleRow[]>();
  private readonly staleUnscoped: StaleRow[] = [];

  constructor(
    readonly inner: ObjectProvider,
    readonly reader: ReportReader,
    private readonly closeAlso: () => Promise<void> = async () => undefined,
  ) {
    this.type = inner.type;
    this.endpointId = inner.endpointId;
    this.bucket = inner.bucket;
    this.capabilities = { ...inner.capabilities, order: 'list' };
    this.cursors = new RowCursors(reader);
    for (const m of ['createMultipart', 'uploadPart', 'uploadPartCopy', 'abortMultipart', 'listMultipartUploads', 'delete', 'restore', 'listVersions', 'getTags'] as const) {
      const f = inner[m] as ((...a: unknown[]) => unknown) | undefined;
      if (f) (this as Record<string, unknown>)[m] = f.bind(inner);
    }
    if (inner.completeMultipart) this.completeMultipart = (key, uploadId, parts, opts) => this.wrote(key, inner.completeMultipart!(key, uploadId, parts, opts));
    if (inner.copyObject) this.copyObject = (source, key, opts) => this.wrote(key, inner.copyObject!(source, key, opts));
    if (inner.backToOrigin) (this as { backToOrigin?: unknown }).backToOrigin = inner.backToOrigin;
  }

  completeMultipart?: (key: string, uploadId: string, parts: UploadedPart[], opts?: { signal?: AbortSignal }) => Promise<PutResult>;
  copyObject?: (source: CopySource, key: string, opts?: WriteOptions) => Promise<PutResult>;

  async list(opts: ListOptions = {}): Promise<ListPage> {
    const limit = Math.max(1, Math.min(opts.limit ?? 1000, 1000));
    const report = await this.reader.report();
    let { file, line } = opts.startAfter ? parsePosition(opts.startAfter) : { file: 0, line: 0 };
    const objects: ObjectInfo[] = [];
    let scanned = 0;
    let last: string | undefined;
    for (; file < report.files.length; file++, line = 0) {
      opts.signal?.throwIfAborted();
      this.reader.prefetch(file + 1);
      const cursor = this.cursors.take(file, line);
      for (let rows = await cursor.batch(); rows; rows = await cursor.batch()) {
        for (let k = 0; k < rows.length; k++) {
          const row = rows[k]!;
          last = row.position;
          scanned++;
          const entry = this.entryOf(row, file, opts.prefix);
          if (entry) objects.push(entry);
          if (objects.length >= limit || scanned >= SCAN_BUDGET) {
            cursor.unread(rows.slice(k + 1));
            this.cursors.keep(cursor, row);
            await this.fillSizes(objects, opts.signal);
            return { objects, next: last };
          }
        }
      }
      await cursor.close();
    }
    await this.fillSizes(objects, opts.signal);
    return { objects };
  }

  private entryOf(row: Row, file: number, prefix: string | undefined): ObjectInfo | undefined {
    const r = row.result;
    if ('skip' in r) return undefined;
    if ('invalid' in r) {
      const where = this.reader.where(file, row.line);
      const key = `(bad row) ${where}`;
      this.badRows.set(key, `${where}: ${r.invalid}`);
      return { key, size: 0, lastModified: 0, position: row.position };
    }
    if (prefix && !r.object.key.startsWith(prefix)) return undefined;
    const entry = r.object as ObjectInfo;
    entry.position = row.position;
    this.listed.set(entry.key, { entry, file, line: row.line });
    return entry;
  }

  /** Rows without a size get it from the bucket (a gone object: size 0, and SourceMissing when read). */
  private async fillSizes(objects: ObjectInfo[], signal?: AbortSignal): Promise<void> {
    const todo = objects.filter((o) => Number.isNaN(o.size));
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const o = todo[next++]!;
        try {
          const now = await this.inner.stat(o.key, { signal });
          Object.assign(o, { size: now.size, lastModified: now.lastModified, ...(now.etag ? { etag: now.etag } : {}) });
        } catch (e) {
          if (!(e instanceof NotFoundError) || e instanceof BucketNotFoundError) throw e;
          o.size = 0;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, todo.length) }, worker));
  }

  private badRow(key: string): void {
    const reason = this.badRows.get(key);
    if (reason !== undefined) throw new InvalidInventoryRowError(`bad row in ${reason}`);
  }

  /** Maps "gone" for a listed key to SourceMissingError. */
  private missing(key: string, e: unknown): never {
    const l = this.listed.get(key);
    if (l && e instanceof NotFoundError && !(e instanceof BucketNotFoundError)) {
      throw new SourceMissingError(`${key} is listed in ${this.reader.where(l.file, l.line)} but gone from the source`, { code: 'SourceMissing', cause: e });
    }
    throw e;
  }

  /** Updates a stale listed entry to the object as it is now, records it, and asks for another attempt. */
  private checkRow(key: string, now: ObjectInfo, signal: AbortSignal | undefined): void {
    const l = this.listed.get(key);
    if (!l || !differs(l.entry, now)) return;
    const { entry } = l;
    const where = this.reader.where(l.file, l.line);
    const stale: StaleRow = { key, where, row: { size: entry.size, etag: entry.etag, lastModified: entry.lastModified }, now: { size: now.size, etag: now.etag, lastModified: now.lastModified } };
    entry.size = now.size;
    entry.lastModified = now.lastModified;
    if (now.etag) entry.etag = now.etag;
    else delete entry.etag;
    this.staleRows++;
    if (signal) this.stale.set(signal, [...(this.stale.get(signal) ?? []), stale]);
    else this.staleUnscoped.push(stale);
    throw new SourceChangedError(`${key} changed since ${where} was written (row: ${stale.row.size} bytes, etag ${stale.row.etag ?? '-'}; now ${now.size} bytes, etag ${now.etag ?? '-'}): copying it as it is now`, { code: 'StaleInventoryRow' });
  }

  /** The stale rows found by reads that passed `signal` (or by reads without a signal), removed. */
  takeStaleRows(signal?: AbortSignal): StaleRow[] {
    if (!signal) return this.staleUnscoped.splice(0);
    const rows = this.stale.get(signal) ?? [];
    this.stale.delete(signal);
    return rows;
  }

  async stat(key: string, opts?: { signal?: AbortSignal; versionId?: string }): Promise<ObjectInfo> {
    this.badRow(key);
    let now: ObjectInfo;
    try {
      now = await this.inner.stat(key, opts);
    } catch (e) {
      this.missing(key, e);
    }
    this.checkRow(key, now, opts?.signal);
    return now;
  }

  async get(key: string, opts?: GetOptions): Promise<GetResult> {
    this.badRow(key);
    let got: GetResult;
    try {
      got = await this.inner.get(key, opts);
    } catch (e) {
      this.missing(key, e);
    }
    if (!opts?.range) {
      try {
        this.checkRow(key, got.info, opts?.signal);
      } catch (e) {
        got.body.destroy();
        throw e;
      }
    }
    return got;
  }

  /** The report's files as read: manifests (0 for a key manifest), data files and their bytes as stored. */
  async reportFiles(): Promise<{ manifests: number; dataFiles: number; bytes: number; where: string }> {
    const report = await this.reader.report();
    let bytes = 0;
    for (const [i, f] of report.files.entries()) bytes += f.size ?? (await stat((await this.reader.local(i)).path)).size;
    return { manifests: this.reader.kind === 'inventory' ? 1 : 0, dataFiles: report.files.length, bytes, where: describeLocation(this.reader.location) };
  }

  /**
   * The inventory's rows for those of `keys` it lists and this provider has not written since (absent: ask the
   * bucket). Undefined when the side has no inventory or its report is not sorted by key (see destination-lookup.ts).
   */
  async inventoryRows(keys: readonly string[]): Promise<Map<string, ObjectInfo> | undefined> {
    if (this.reader.kind !== 'inventory') return undefined;
    this.lookup ??= new DestinationLookup(this.reader);
    const rows = await this.lookup.lookup(keys.filter((k) => !this.written.has(k)));
    if (!rows && !this.warned) {
      this.warned = true;
      console.warn(`inventory of ${this.bucket} not used to compare: ${await this.lookup.unsortedReason()}; each key is checked at the bucket`);
    }
    return rows;
  }

  private lookup: DestinationLookup | undefined;
  private warned = false;

  async put(key: string, body: Readable | Buffer, opts?: PutOptions): Promise<PutResult> {
    return this.wrote(key, this.inner.put(key, body, opts));
  }

  private async wrote(key: string, p: Promise<PutResult>): Promise<PutResult> {
    this.written.set(key, true);
    return p;
  }

  validateKey(key: string): void {
    this.inner.validateKey(key);
  }

  async close(): Promise<void> {
    await this.cursors.closeAll();
    await this.inner.close?.();
    await this.closeAlso();
  }
}
