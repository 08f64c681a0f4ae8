/**
 * Reading `--prices FILE` (YAML or JSON) for `ferry plan`: syntax errors with line and column, then the schema of
 * common/prices.ts (every problem at once). Both end in InvalidConfigError (exit 2); an unreadable file is a
 * UsageError (exit 2).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { BUILT_IN_PRICES, parsePriceFile, type PriceBook } from '../common/prices';
import { InvalidConfigError, errorMessage } from '../common/errors';
import { UsageError } from './errors';

/** The built-in price tables, overridden by `path` when given. */
export function readPriceFile(path: string | undefined): PriceBook {
  if (path === undefined) return BUILT_IN_PRICES;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read price file ${path}: ${errorMessage(e)}`, 'plan');
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${path}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new InvalidConfigError(issues, `invalid price file ${path} (YAML/JSON syntax):\n  ${issues.join('\n  ')}`);
  }
  return parsePriceFile(doc.toJS(), path);
}
