/**
 * Reading `--prices FILE` (YAML or JSON) for `ferry plan`: syntax errors with line and column, then the schema of
 * common/prices.ts (every problem at once). Both end in InvalidConfigError (exit 2); an unreadable file is a
 * UsageError (exit 2).
 */
import { readFileSync } from 'node:fs';
import { BUILT_IN_PRICES, parsePriceFile, type PriceBook } from '../common/prices';
import { errorMessage } from '../common/errors';
import { UsageError } from './errors';
import { parseYamlText } from './job-file';

/** The built-in price tables, overridden by `path` when given. */
export function readPriceFile(path: string | undefined): PriceBook {
  if (path === undefined) return BUILT_IN_PRICES;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read price file ${path}: ${errorMessage(e)}`, 'plan');
  }
  return parsePriceFile(parseYamlText(text, path, 'price file'), path);
}
