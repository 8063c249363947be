/**
 * The syntax tree of a pattern matched in linear time (nfa.ts), and the parser of the regular-expression
 * subset that PEFT users write in `rank_pattern` / `alpha_pattern` keys: literals, `.`, classes `[a-z_]`
 * (ranges, negation, escapes), `\d \w \s \D \W \S`, escaped punctuation, `\t \n \r \f \v \xHH \uHHHH`,
 * groups `( )` and `(?: )`, alternation `|`, `* + ?` (lazy forms too) and `{n}` `{n,}` `{n,m}`, anchors
 * `^ $`. Everything else — backreferences, lookaround, named groups, inline flags, `\b`, and forms
 * where Python's `re` and JavaScript disagree (`{,n}`, `[]`, `[^]`, `\a`) — is refused with the reason.
 * Semantics are JavaScript's RegExp without flags (which the matcher is tested against); on ASCII
 * module names they are Python's `re` too.
 */

/** A set of UTF-16 code units: sorted, disjoint inclusive ranges [lo0, hi0, lo1, hi1, …], maybe negated. */
export interface CharSet {
  ranges: readonly number[];
  negated: boolean;
}

export type PatternNode =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'sequence'; items: PatternNode[] }
  | { kind: 'alternation'; items: PatternNode[] }
  | { kind: 'repeat'; node: PatternNode; min: number; max: number; lazy: boolean }
  | { kind: 'group'; node: PatternNode; capture: number | null }
  | { kind: 'assert'; at: 'start' | 'end' };

/** The pattern is outside the subset; `at` is its character offset. The caller turns it into its error. */
export class PatternSyntaxError extends Error {
  constructor(readonly reason: string, readonly at: number) {
    super(`${reason} at character ${at}`);
  }
}

/** Largest repetition count `{n,m}` accepted (its copies count against the program cap as well). */
export const MAX_REPEAT = 1000;

const range = (lo: number, hi: number): number[] => [lo, hi];
export const DIGIT: CharSet = { ranges: range(0x30, 0x39), negated: false };
export const WORD: CharSet = { ranges: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a], negated: false };
/** JavaScript's \s: WhiteSpace and LineTerminator. */
export const SPACE: CharSet = {
  ranges: [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff],
  negated: false,
};
/** JavaScript's `.` without the s flag: anything but a line terminator. */
export const DOT: CharSet = { ranges: [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029], negated: true };
/** Any code unit (a glob's `*` and `?`). */
export const ANY: CharSet = { ranges: [], negated: true };

export const literal = (code: number): PatternNode => ({ kind: 'chars', set: { ranges: [code, code], negated: false } });
export const chars = (set: CharSet): PatternNode => ({ kind: 'chars', set });

/** Whether `code` is in `set`. */
export function inSet(set: CharSet, code: number): boolean {
  const r = set.ranges;
  let found = false;
  for (let i = 0; i < r.length; i += 2) {
    if (code < (r[i] as number)) break;
    if (code <= (r[i + 1] as number)) {
      found = true;
      break;
    }
  }
  return found !== set.negated;
}

/** Sorted, merged ranges of a list of (possibly overlapping) ranges. */
function normalise(ranges: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i] as number, ranges[i + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) out[last] = Math.max(out[last] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of a non-negated set's ranges over the code units 0..0xffff. */
function complement(ranges: readonly number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if ((ranges[i] as number) > next) out.push(next, (ranges[i] as number) - 1);
    next = (ranges[i + 1] as number) + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

const CONTROL_ESCAPES: Record<string, number> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d };
const CLASS_ESCAPES: Record<string, CharSet> = {
  d: DIGIT, w: WORD, s: SPACE,
  D: { ...DIGIT, negated: true }, W: { ...WORD, negated: true }, S: { ...SPACE, negated: true },
};
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** Parses `source` in the subset; throws PatternSyntaxError. Capturing groups are numbered from `firstCapture`. */
export function parseRegex(source: string, firstCapture = 0): { node: PatternNode; captures: number } {
  let pos = 0;
  let captures = firstCapture;
  const fail = (reason: string, at = pos): never => {
    throw new PatternSyntaxError(reason, at);
  };

  /** An escape after `\` (pos at the letter): a set, or a single code unit. */
  const escape = (inClass: boolean): CharSet | number => {
    const c = source[pos];
    if (c === undefined) fail('a pattern cannot end with "\\"', pos - 1);
    const ch = c as string;
    ++pos;
    const set = Object.hasOwn(CLASS_ESCAPES, ch) ? CLASS_ESCAPES[ch] : undefined;
    if (set) return set;
    const control = Object.hasOwn(CONTROL_ESCAPES, ch) ? CONTROL_ESCAPES[ch] : undefined;
    if (control !== undefined) return control;
    if (ch === 'x' || ch === 'u') {
      const digits = ch === 'x' ? 2 : 4;
      const hex = source.slice(pos, pos + digits);
      if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) fail(`\\${ch} needs ${digits} hex digits`, pos - 2);
      pos += digits;
      return parseInt(hex, 16);
    }
    if (ch === 'b' && inClass) return 0x08;
    if (isDigit(ch)) fail('backreferences and octal escapes are not supported', pos - 2);
    // Escaped punctuation means itself in both Python and JavaScript; an escaped letter does not.
    if (/[A-Za-z0-9]/.test(ch) || ch.charCodeAt(0) > 0x7e) fail(`the escape \\${ch} is not supported`, pos - 2);
    return ch.charCodeAt(0);
  };

  const charClass = (): CharSet => {
    const start = pos;
    ++pos; // [
    const negated = source[pos] === '^';
    if (negated) ++pos;
    if (source[pos] === ']') fail('an empty class "[]" or a class starting with "]" reads differently in Python and JavaScript; escape the "]"', start);
    const ranges: number[] = [];
    const item = (): CharSet | number => {
      const c = source[pos];
      if (c === '\\') {
        ++pos;
        return escape(true);
      }
      ++pos;
      return (c as string).charCodeAt(0);
    };
    for (;;) {
      if (pos >= source.length) fail('unterminated character class', start);
      if (source[pos] === ']') {
        ++pos;
        break;
      }
      const first = item();
      if (source[pos] === '-' && source[pos + 1] !== undefined && source[pos + 1] !== ']') {
        const dash = pos;
        ++pos;
        const last = item();
        if (typeof first !== 'number' || typeof last !== 'number') fail('a range in a class must be between two characters', dash);
        if ((first as number) > (last as number)) fail('a range in a class runs backwards', dash);
        ranges.push(first as number, last as number);
      } else if (typeof first === 'number') ranges.push(first, first);
      else ranges.push(...(first.negated ? complement(first.ranges) : first.ranges));
    }
    return { ranges: normalise(ranges), negated };
  };

  /** `{n}`, `{n,}`, `{n,m}` at pos, or null when the text there is not one (then it is refused). */
  const bounds = (): { min: number; max: number } => {
    const start = pos;
    const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(source.slice(pos, pos + 16));
    if (!m) fail('"{" must start a repetition {n}, {n,} or {n,m} (escape it as "\\{" to mean itself)', start);
    const found = m as RegExpExecArray;
    pos += found[0].length;
    const min = Number(found[1]);
    const max = found[2] === undefined ? min : found[3] === '' ? Infinity : Number(found[3]);
    if (max < min) fail('a repetition {n,m} needs n <= m', start);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(`a repetition count above ${MAX_REPEAT}`, start);
    return { min, max };
  };

  const atom = (): PatternNode => {
    const c = source[pos];
    switch (c) {
      case '(': {
        const start = pos;
        ++pos;
        let capture: number | null = null;
        if (source[pos] === '?') {
          if (source[pos + 1] !== ':') fail('lookaround, named groups and inline flags "(?" are not supported', start);
          pos += 2;
        } else capture = captures++;
        const node = alternation();
        if (source[pos] !== ')') fail('unbalanced "("', start);
        ++pos;
        return { kind: 'group', node, capture };
      }
      case '[': return chars(charClass());
      case '.': ++pos; return chars(DOT);
      case '^': ++pos; return { kind: 'assert', at: 'start' };
      case '$': ++pos; return { kind: 'assert', at: 'end' };
      case '\\': {
        ++pos;
        const e = escape(false);
        return typeof e === 'number' ? literal(e) : chars(e);
      }
      case '*': case '+': case '?': return fail(`"${c}" has nothing to repeat`);
      case '{': return fail('"{" must follow something to repeat (escape it as "\\{" to mean itself)');
      case ']': case '}': return fail(`"${c}" without its opening bracket reads differently in Python and JavaScript; escape it`);
      default: ++pos; return literal((c as string).charCodeAt(0));
    }
  };

  const quantified = (): PatternNode => {
    const at = pos;
    const node = atom();
    const c = source[pos];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') ({ min, max } = bounds());
    else return node;
    if (c !== '{') ++pos;
    if (node.kind === 'assert') fail('an anchor cannot be repeated', at);
    const lazy = source[pos] === '?';
    if (lazy) ++pos;
    const next = source[pos];
    if (next === '*' || next === '+' || next === '{' || (next === '?' && lazy)) fail('a repetition cannot be repeated (possessive or nested quantifiers)', pos);
    return { kind: 'repeat', node, min, max, lazy };
  };

  const sequence = (): PatternNode => {
    const items: PatternNode[] = [];
    while (pos < source.length && source[pos] !== '|' && source[pos] !== ')') items.push(quantified());
    return items.length === 1 ? (items[0] as PatternNode) : { kind: 'sequence', items };
  };

  const alternation = (): PatternNode => {
    const items = [sequence()];
    while (source[pos] === '|') {
      ++pos;
      items.push(sequence());
    }
    return items.length === 1 ? (items[0] as PatternNode) : { kind: 'alternation', items };
  };

  const node = alternation();
  if (pos < source.length) fail('unbalanced ")"');
  return { node, captures: captures - firstCapture };
}

/** Whether `source` is a plain literal in the subset (no character with a regex meaning): the fast path. */
export function isLiteralPattern(source: string): boolean {
  return !/[\\^$.|?*+()[\]{}]/.test(source);
}
