/**
 * Tensor-name globs for --include / --exclude: `*` matches any run of characters (dots included), `?`
 * one character, `{a,b}` alternatives; everything else is literal. Matching is against the whole name.
 *
 * @example globToRegExp('model.layers.*.mlp.{up,down}_proj.weight')
 */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globPattern(glob)}$`);
}

/** The regular-expression source of a glob; with `capture`, each `*` and `?` is a capturing group. */
export function globPattern(glob: string, capture = false): string {
  let pattern = '';
  let inBraces = false;
  for (const ch of glob) {
    if (ch === '*') pattern += capture ? '(.*?)' : '.*';
    else if (ch === '?') pattern += capture ? '(.)' : '.';
    else if (ch === '{' && !inBraces) { pattern += '(?:'; inBraces = true; }
    else if (ch === '}' && inBraces) { pattern += ')'; inBraces = false; }
    else if (ch === ',' && inBraces) pattern += '|';
    else pattern += ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return inBraces ? pattern + '\\{' : pattern;
}

/** Tensor-name globs: include only matching names (all when empty), then leave out the excluded ones. */
export interface NameFilterOptions {
  include?: readonly string[];
  exclude?: readonly string[];
}

/** A predicate for names: included by any include glob (all when none) and by no exclude glob. */
export function nameFilter(include: readonly string[] = [], exclude: readonly string[] = []): (name: string) => boolean {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
}
