/**
 * The `key=value` reader for ossimport's `job.cfg` and `sys.properties`.
 * Hand-written: npm's parsers (properties-file, dot-properties) unescape like java.util.Properties (`c:\data\in` → `c:datain`); the converter must see the raw text to report it.
 */

/** One parsed `key=value` file (Java-properties style). */
export interface Properties {
  /** Trimmed key → trimmed value, in file order; the last occurrence wins. */
  values: Map<string, string>;
  /** Keys that appeared more than once. */
  duplicates: string[];
}

/**
 * Parses ossimport's `job.cfg` / `sys.properties`: `key=value` (or `key:value`), `#`/`!` comment lines, UTF-8
 * with or without BOM, LF or CRLF. Keys and values are trimmed (shipped templates have trailing spaces) and
 * may contain parentheses (`workerMaxThroughput(KB/s)`). Backslashes are kept literally: ossimport paths use
 * `/`, and a `\` in a path is reported by the converter rather than silently unescaped.
 */
export function parseProperties(text: string): Properties {
  const values = new Map<string, string>();
  const duplicates: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n|\r/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:]?\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    if (values.has(key) && !duplicates.includes(key)) duplicates.push(key);
    values.set(key, m[2]!.trim());
  }
  return { values, duplicates };
}

/** Value of a key, with ossimport's convention that an empty value means unset (users keep keys, emptied). */
export function valueOf(props: Properties, key: string): string | undefined {
  const v = props.values.get(key);
  return v === undefined || v === '' ? undefined : v;
}
