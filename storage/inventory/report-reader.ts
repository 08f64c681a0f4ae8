/**
 * Reading a job side's inventory report or key manifest: where it is (a location in a bucket of any provider, an
 * fs root, or a local file), its data files, and their rows with their positions.
 *
 * A position is the data file's index (6 digits) and the row's line number (10 digits), zero-padded: positions of
 * one report compare as numbers and as strings, and stay below 2⁵³.
 */
import { basename, dirname } from 'node:path';
import type { EndpointConfig } from '../../common/job';
import type { ObjectProvider } from '../provider';
import { InvalidConfigError } from '../../common/errors';
import { parseInventoryManifest, type DataFileRef, type InventoryReport } from './manifest';
import { headerColumns, readRow, splitFields, type RowResult } from './rows';
import { readLines, type DataFileCache, type LocalDataFile } from './data-files';

/** The `inventory:` or `manifest:` block of an endpoint. */
export type ReportLocation = NonNullable<EndpointConfig['inventory']> | NonNullable<EndpointConfig['manifest']>;

/** One row of a data file, read. */
export interface Row {
  position: string;
  line: number;
  result: RowResult;
}

const FILE_DIGITS = 6;
const LINE_DIGITS = 10;

export function formatPosition(file: number, line: number): string {
  return String(file).padStart(FILE_DIGITS, '0') + String(line).padStart(LINE_DIGITS, '0');
}

/** The data file index and line of a position. Throws InvalidConfigError for anything else. */
export function parsePosition(position: string): { file: number; line: number } {
  if (!/^\d{16}$/.test(position)) throw new InvalidConfigError([`startAfter: "${position}" is not an inventory position`]);
  return { file: Number(position.slice(0, FILE_DIGITS)), line: Number(position.slice(FILE_DIGITS)) };
}

/** The provider spec and key of a report location: a bucket and key, an fs root and key, or a local file. */
export function locationEndpoint(loc: ReportLocation): { spec: EndpointConfig; key: string } {
  if (loc.type === 'fs') {
    if (loc.key) return { spec: { type: 'fs', path: loc.path! }, key: loc.key };
    return { spec: { type: 'fs', path: dirname(loc.path!) }, key: basename(loc.path!) };
  }
  const { type, endpoint, region, bucket, credentials, forcePathStyle } = loc;
  const spec = { type, bucket, ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), ...(credentials ? { credentials } : {}), ...(forcePathStyle !== undefined ? { forcePathStyle } : {}) };
  return { spec: spec as EndpointConfig, key: loc.key! };
}

/** `s3://bucket/key`, `fs /root/key`: names a location in messages (never credentials). */
export function describeLocation(loc: ReportLocation): string {
  const { spec, key } = locationEndpoint(loc);
  return spec.type === 'fs' ? `${spec.path}/${key}` : `${spec.type}://${spec.bucket}/${key}`;
}

async function readText(p: ObjectProvider, key: string): Promise<string> {
  const { body } = await p.get(key);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > 64 * 1024 * 1024) throw new InvalidConfigError([`inventory: ${key} is larger than 64 MiB: not a manifest.json`]);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A report's files and rows. Loads the manifest once (a failed load is tried again on the next call). */
export class ReportReader {
  private loading: Promise<InventoryReport & { headerLines: number }> | undefined;
  /** The report once loaded. */
  private loaded: (InventoryReport & { headerLines: number }) | undefined;

  constructor(
    readonly kind: 'inventory' | 'manifest',
    readonly location: ReportLocation,
    /** The provider holding the manifest and data files. */
    private readonly store: ObjectProvider,
    private readonly cache: DataFileCache,
  ) {}

  /** The report: its row format and data files. Throws InvalidConfigError for a bad manifest. */
  report(): Promise<InventoryReport & { headerLines: number }> {
    if (!this.loading) {
      const p = this.load();
      this.loading = p;
      p.then(
        (r) => (this.loaded = r),
        () => this.loading === p && (this.loading = undefined),
      );
    }
    return this.loading;
  }

  private async load(): Promise<InventoryReport & { headerLines: number }> {
    const { key } = locationEndpoint(this.location);
    if (this.kind === 'inventory') {
      const format = (this.location as NonNullable<EndpointConfig['inventory']>).format;
      return { ...parseInventoryManifest(await readText(this.store, key), describeLocation(this.location), format), headerLines: 0 };
    }
    const loc = this.location as NonNullable<EndpointConfig['manifest']>;
    const delimiter = loc.format === 'tsv' ? '\t' : ',';
    const files: DataFileRef[] = [{ key }];
    if (loc.columns) return { format: { kind: 'manifest', delimiter, columns: loc.columns }, files, headerLines: 0 };
    const first = await this.firstLine(files[0]!);
    const fields = first === undefined ? ['key'] : splitFields(first, delimiter);
    const header = headerColumns(fields);
    if (header) return { format: { kind: 'manifest', delimiter, columns: header }, files, headerLines: 1 };
    if (fields.length === 1) return { format: { kind: 'manifest', delimiter, columns: ['key'] }, files, headerLines: 0 };
    throw new InvalidConfigError([
      `source.manifest: the first line of ${describeLocation(this.location)} has ${fields.length} columns but does not name them: start the file with a header (key, size, etag, lastModified) or give manifest.columns`,
    ]);
  }

  private async firstLine(ref: DataFileRef): Promise<string | undefined> {
    const gen = readLines(await this.cache.fetch(this.store, ref), 1);
    try {
      for (;;) {
        const { value, done } = await gen.next();
        if (done) return undefined;
        const line = value.find((l) => l.text !== null && l.text.trim() !== '');
        if (line) return line.text!;
      }
    } finally {
      await gen.return(undefined);
    }
  }

  /** The local copy of data file `i`. */
  async local(i: number): Promise<LocalDataFile> {
    const report = await this.report();
    return this.cache.fetch(this.store, report.files[i]!);
  }

  /** Starts fetching data file `i` (when there is one) so it is ready when the rows reach it. */
  prefetch(i: number): void {
    this.report()
      .then((r) => (i < r.files.length ? this.cache.fetch(this.store, r.files[i]!) : undefined))
      .catch(() => undefined);
  }

  /** `inventory data file KEY line N`, for messages (rows are read only after the report loaded). */
  where(file: number, line: number): string {
    return `${this.kind === 'inventory' ? 'inventory data file' : 'manifest'} ${this.loaded?.files[file]?.key ?? `#${file}`} line ${line}`;
  }

  /** The rows of data file `file` after line `afterLine`, in batches; blank lines and header lines are no rows. */
  async *rows(file: number, afterLine: number): AsyncGenerator<Row[]> {
    const report = await this.report();
    const local = await this.local(file);
    for await (const batch of readLines(local, Math.max(afterLine + 1, file === 0 ? report.headerLines + 1 : 1))) {
      const rows: Row[] = [];
      for (const raw of batch) {
        if (raw.text !== null && raw.text.trim() === '') continue;
        rows.push({ position: formatPosition(file, raw.line), line: raw.line, result: rowOf(raw.text, raw.unreadable, report) });
      }
      if (rows.length) yield rows;
    }
  }
}

function rowOf(text: string | null, unreadable: string | undefined, report: InventoryReport): RowResult {
  if (text === null) return { invalid: unreadable ?? 'unreadable line' };
  let fields: string[];
  try {
    fields = splitFields(text, report.format.delimiter);
  } catch (e) {
    return { invalid: `not a CSV row (${(e as Error).message.split('\n')[0]})` };
  }
  return readRow(fields, report.format);
}
