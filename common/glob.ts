// On top of picomatch: rclone-style anchoring (no `/` = any folder), glob-only syntax (no regex groups), include/exclude.
/**
 * Include/exclude globs of the job file's `filter`, matched against the key relative to the source prefix.
 * `**` (a whole segment) crosses `/`, `*` and `?` do not, `[abc]`/`[!a-z]`/`[[:alpha:]]` classes, `{a,{b,c}}`
 * alternatives, `\` escapes the next character; dotfiles match; case-sensitive. A pattern without `/` matches
 * the last path segment anywhere (like rclone and .gitignore): `*.jpg` = `**\/*.jpg`; a leading `/` is dropped.
 * `(`, `)`, `|`, `"` and a leading `!` are literal. `?` is one UTF-16 unit (an emoji needs `*`). Wildcards never
 * match a `.` or `..` segment (picomatch's rule): a pattern has to spell it out. Keys are only tested, never parsed.
 */
import picomatch from 'picomatch/posix';
import { InvalidConfigError } from './errors';

const OPTIONS: picomatch.PicomatchOptions = {
  dot: true, // `*` and `**` match `.cache/`, `.env` like the rest
  posix: true, // `[!a-z]` negates (without it picomatch reads `!` literally) and `[[:alpha:]]` classes
  literalBrackets: false, // `[abc]` is a class only; by default picomatch also matches the text `[abc]`
  nonegate: true, // a leading `!` is literal: exclusion is what `exclude` is for
  strictSlashes: true, // `tmp/**` matches below `tmp/`, not the key `tmp`; `*.jpg` does not match `a.jpg/`
  flags: 's', // keys may contain newlines; `**` must cross them
  debug: true, // throw on a pattern that compiles to an invalid RegExp instead of silently matching nothing
};

/**
 * picomatch passes `(`, `)`, `|` and `\<letter>` through to the RegExp (`file(1).jpg` would be a group, `\d` a digit
 * class) and reads `"…"` as quoting. A glob means them literally: escape the first four (which also keeps extglobs
 * like `+(a|b)` literal) and reduce `\d` to `d`. A trailing `\` is literal.
 */
function globOnly(pattern: string): string {
  return pattern.replace(/\\([^]?)|[()|"]/g, (m, escaped?: string) => {
    if (escaped === undefined) return `\\${m}`;
    if (escaped === '') return '\\\\';
    return /[A-Za-z0-9]/.test(escaped) ? escaped : m;
  });
}

/**
 * Compiles one glob to a predicate over relative keys.
 * @throws InvalidConfigError when the pattern cannot be compiled (e.g. an unclosed `{`: write `\{` for a literal one).
 */
export function compileGlob(glob: string): (key: string) => boolean {
  const anchored = glob.includes('/') ? glob.replace(/^\//, '') : `**/${glob}`;
  let re: RegExp;
  try {
    re = picomatch.makeRe(globOnly(anchored), OPTIONS);
  } catch (err) {
    const why = /^Invalid regular expression/.test((err as Error).message) ? 'unbalanced `{`? `\\{` is a literal one' : (err as Error).message;
    throw new InvalidConfigError([`filter: pattern ${JSON.stringify(glob)} is not a valid glob (${why})`]);
  }
  return (key) => re.test(key);
}

/**
 * A key filter from include/exclude lists: included (or no include list) and not excluded.
 * @throws InvalidConfigError when a pattern cannot be compiled.
 */
export function compileFilter(include: readonly string[] | undefined, exclude: readonly string[] | undefined): (relKey: string) => boolean {
  const inc = (include ?? []).map(compileGlob);
  const exc = (exclude ?? []).map(compileGlob);
  return (k) => (inc.length === 0 || inc.some((m) => m(k))) && !exc.some((m) => m(k));
}
