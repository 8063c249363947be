/**
 * Tensor-name globs for --include / --exclude: `*` matches any run of characters (dots included), `?`
 * one character, `{a,b}` alternatives (not nested; a `{` without its `}` means itself); everything else
 * is literal. Matching is against the whole name and takes linear time (matching/nfa.ts): a glob of
 * many `*` against a long name is as cheap as any other.
 *
 * @example globMatcher('model.layers.*.mlp.{up,down}_proj.weight')('model.layers.3.mlp.up_proj.weight') // true
 */
import { invalidArgument } from '../errors';
import { compilePattern, matchCaptures, matches, type Program } from './matching/nfa';
import { ANY, chars, literal, type PatternNode, PatternSyntaxError } from './matching/syntax';

/** Longest glob accepted (a name filter, not a document). */
export const MAX_GLOB_LENGTH = 1000;

/**
 * The syntax tree of a glob; with `capture`, each `*` (lazy: as little as it can) and `?` is a capturing
 * group, numbered from 0 in order. Returns the tree and the number of groups.
 */
export function globTree(glob: string, capture = false): { node: PatternNode; captures: number } {
  let captures = 0;
  const wildcard = (star: boolean): PatternNode => {
    const node: PatternNode = star ? { kind: 'repeat', node: chars(ANY), min: 0, max: Infinity, lazy: capture } : chars(ANY);
    return capture ? { kind: 'group', node, capture: captures++ } : node;
  };
  const sequence = (text: string): PatternNode[] => {
    const out: PatternNode[] = [];
    for (let k = 0; k < text.length; ++k) out.push(text[k] === '*' ? wildcard(true) : text[k] === '?' ? wildcard(false) : literal(text.charCodeAt(k)));
    return out;
  };
  const items: PatternNode[] = [];
  let rest = glob;
  for (;;) {
    const open = rest.indexOf('{');
    const close = open < 0 ? -1 : rest.indexOf('}', open + 1);
    if (close < 0) {
      items.push(...sequence(rest));
      break;
    }
    items.push(...sequence(rest.slice(0, open)));
    const alternatives = rest.slice(open + 1, close).split(',').map((a) => ({ kind: 'sequence', items: sequence(a) }) as PatternNode);
    items.push({ kind: 'alternation', items: alternatives });
    rest = rest.slice(close + 1);
  }
  return { node: { kind: 'sequence', items }, captures };
}

function compileGlob(glob: string, capture: boolean, tail: boolean): Program {
  if (typeof glob !== 'string') invalidArgument('glob', 'a string', glob);
  if (glob.length > MAX_GLOB_LENGTH) invalidArgument('glob', `at most ${MAX_GLOB_LENGTH} characters`, `${glob.length} characters`);
  const { node, captures } = globTree(glob, capture);
  // A rename rule's final group is the tail the rule does not mention (greedy: all of the rest).
  const tree: PatternNode = tail ? { kind: 'sequence', items: [node, { kind: 'group', node: { kind: 'repeat', node: chars(ANY), min: 0, max: Infinity, lazy: false }, capture: captures }] } : node;
  try {
    return compilePattern(tree, captures + (tail ? 1 : 0));
  } catch (error) {
    if (error instanceof PatternSyntaxError) invalidArgument('glob', error.reason, glob);
    throw error;
  }
}

/** A predicate: whether a whole name matches `glob`. */
export function globMatcher(glob: string): (name: string) => boolean {
  const program = compileGlob(glob, false, false);
  return (name) => matches(program, name);
}

/**
 * The captures of `glob` matching a leading part of a name: one string per `*` / `?`, then the rest of
 * the name; null when no leading part matches.
 */
export function globPrefixCaptures(glob: string): (name: string) => string[] | null {
  const program = compileGlob(glob, true, true);
  return (name) => {
    const groups = matchCaptures(program, name);
    return groups ? groups.map((g) => g ?? '') : null;
  };
}

/** Tensor-name globs: include only matching names (all when empty), then leave out the excluded ones. */
export interface NameFilterOptions {
  include?: readonly string[];
  exclude?: readonly string[];
}

/** A predicate for names: included by any include glob (all when none) and by no exclude glob. */
export function nameFilter(include: readonly string[] = [], exclude: readonly string[] = []): (name: string) => boolean {
  const inc = include.map(globMatcher);
  const exc = exclude.map(globMatcher);
  return (name) => (inc.length === 0 || inc.some((m) => m(name))) && !exc.some((m) => m(name));
}
