/**
 * Open readers of a report's data files, kept where a listing page ended, so the next page (same file, next line)
 * continues reading instead of seeking again. At most MAX_OPEN are kept; the oldest is closed.
 */
import type { ReportReader, Row } from './report-reader';

const MAX_OPEN = 64;

/** Rows of one data file from a line on, a batch at a time. */
export class RowCursor {
  private rest: Row[] = [];
  private readonly gen: AsyncGenerator<Row[]>;

  constructor(
    readonly file: number,
    reader: ReportReader,
    afterLine: number,
  ) {
    this.gen = reader.rows(file, afterLine);
  }

  /** The next rows (those given back by {@link unread} first); undefined at the end of the file. */
  async batch(): Promise<Row[] | undefined> {
    if (this.rest.length) {
      const rows = this.rest;
      this.rest = [];
      return rows;
    }
    const r = await this.gen.next();
    return r.done ? undefined : r.value;
  }

  /** Gives back rows a caller took but did not use: the next {@link batch} starts with them. */
  unread(rows: Row[]): void {
    this.rest = rows;
  }

  async close(): Promise<void> {
    await this.gen.return(undefined);
  }
}

export class RowCursors {
  private readonly open = new Map<string, RowCursor>();

  constructor(private readonly reader: ReportReader) {}

  /** A cursor over `file` after `afterLine`: the one a previous page left there, or a new one. */
  take(file: number, afterLine: number): RowCursor {
    const k = `${file}:${afterLine}`;
    const c = this.open.get(k);
    if (c) {
      this.open.delete(k);
      return c;
    }
    return new RowCursor(file, this.reader, afterLine);
  }

  /** Keeps `cursor`, which has just returned `last`, for the page that starts after it. */
  keep(cursor: RowCursor, last: Row): void {
    const k = `${cursor.file}:${last.line}`;
    this.open.get(k)?.close().catch(() => undefined);
    this.open.set(k, cursor);
    while (this.open.size > MAX_OPEN) {
      const [oldest, c] = this.open.entries().next().value!;
      this.open.delete(oldest);
      c.close().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
