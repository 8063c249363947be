/**
 * Rename rules for the tuned checkpoint's names (`--map from=to`), applied before matching: a prefix rule
 * or a glob rule whose captures fill the target.
 */
import { ParamscopeError } from '../errors';
import { globPrefixCaptures } from './glob';

/** `[from, to]`: a prefix rule (`from` has no `*`, `?` or `{`), or a glob rule whose `*`/`?` captures fill the `*`/`?` of `to` in order. */
export type RenameRule = readonly [from: string, to: string];

/**
 * Applies rename rules to one name: the first rule that matches rewrites it; unmatched names are unchanged.
 * - Prefix rule (`from` has no `*`, `?` or `{a,b}`): a leading `from` is replaced by `to`.
 * - Glob rule: `from` must match a leading part of the name (the rest is kept); each `*` / `?` of `to`
 *   takes the text captured by the next `*` / `?` of `from` (`*` captures as little as it can).
 *
 * @example renameTensor('h.3.attn.c_attn.weight', [['h.*.attn.', 'layers.*.self_attn.']]) // 'layers.3.self_attn.c_attn.weight'
 */
export function renameTensor(name: string, rules: readonly RenameRule[]): string {
  return renamer(rules)(name);
}

/** The rename function of `rules`, each glob compiled once (linear-time matching, plan/glob.ts). */
export function renamer(rules: readonly RenameRule[]): (name: string) => string {
  const compiled = rules.map(([from, to]) => ({ from, to, captures: isGlob(from) ? globPrefixCaptures(from) : null }));
  return (name) => {
    for (const { from, to, captures: capture } of compiled) {
      if (!capture) {
        if (name.startsWith(from)) return to + name.slice(from.length);
        continue;
      }
      const match = capture(name);
      if (!match) continue;
      const captures = match.slice(0, -1);
      const tail = match[match.length - 1] ?? '';
      let next = 0;
      return to.replace(/[*?]/g, () => captures[next++] ?? '') + tail;
    }
    return name;
  };
}

function isGlob(pattern: string): boolean {
  return /[*?{]/.test(pattern);
}

/** Tuned tensors under their renamed names; two tensors renamed to one name is a user error. */
export function renameTuned<T extends { name: string }>(tensors: readonly T[], rules: readonly RenameRule[]): Map<string, T> {
  const renamed = new Map<string, T>();
  const rename = renamer(rules);
  for (const info of tensors) {
    const name = rules.length ? rename(info.name) : info.name;
    const clash = renamed.get(name);
    if (clash)
      throw new ParamscopeError(`map rules rename both "${clash.name}" and "${info.name}" of the tuned checkpoint to "${name}"`, { code: 'INVALID_ARGUMENT', tensor: info.name });
    renamed.set(name, info);
  }
  return renamed;
}
