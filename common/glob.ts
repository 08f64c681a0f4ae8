/**
 * Include/exclude globs of the job file's `filter`, matched against the key relative to the source prefix.
 * `**` crosses `/`, `*` and `?` do not, `[abc]`/`[!a-z]` classes, `{a,b}` alternatives. A pattern without `/`
 * matches the last path segment anywhere (like rclone and .gitignore): `*.jpg` = `**\/*.jpg`.
 */

function toRegExpSource(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else if (c === '{') {
      const close = glob.indexOf('}', i);
      if (close < 0) re += '\\{';
      else {
        re += `(?:${glob.slice(i + 1, close).split(',').map(toRegExpSource).join('|')})`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return re;
}

/** Compiles one glob to a predicate over relative keys. */
export function compileGlob(glob: string): (key: string) => boolean {
  const anchored = glob.includes('/') ? glob.replace(/^\//, '') : `**/${glob}`;
  const re = new RegExp(`^${toRegExpSource(anchored)}$`, 's');
  return (key) => re.test(key);
}

/** A key filter from include/exclude lists: included (or no include list) and not excluded. */
export function compileFilter(include: readonly string[] | undefined, exclude: readonly string[] | undefined): (relKey: string) => boolean {
  const inc = (include ?? []).map(compileGlob);
  const exc = (exclude ?? []).map(compileGlob);
  return (k) => (inc.length === 0 || inc.some((m) => m(k))) && !exc.some((m) => m(k));
}
