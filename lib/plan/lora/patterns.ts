/**
 * PEFT's `rank_pattern` / `alpha_pattern`: per-module overrides of r and lora_alpha, keyed by patterns
 * that PEFT matches against the module path with `re.match(rf"(.*\.)?({key})$", path)`, the first
 * matching key (in the file's order) winning. The keys come from the adapter's own config, so they are
 * matched in linear time (plan/matching/nfa.ts), never by a backtracking RegExp: a key of `(a*)*b`
 * against a long module name costs what any key costs. Keys outside the supported regex subset are
 * refused (ADAPTER_INVALID naming the key); so are keys and patterns beyond the caps below.
 *
 * Plain keys (no regex syntax, the usual case: full or partial module names) take a fast path: a key
 * matches when it is a dot-aligned suffix of the path, found by hashing every such suffix of the path
 * once, so a lookup costs O(path length) whatever the number of keys.
 */
import { ParamscopeError } from '../../errors';
import { keysInFileOrder } from '../../read/json';
import { compilePattern, matches, MAX_PROGRAM_STEPS, type Program } from '../matching/nfa';
import { DOT, chars, isLiteralPattern, literal, parseRegex, type PatternNode, PatternSyntaxError } from '../matching/syntax';

/** Longest pattern key accepted (module paths are tens of characters). */
export const MAX_PATTERN_KEY_LENGTH = 1000;
/**
 * Most program steps all regex (non-plain) keys of one pattern may compile to together: each module
 * path is matched against them, so this bounds the work per module (real patterns hold a few keys of
 * tens of steps).
 */
export const MAX_PATTERN_STEPS = 4 * MAX_PROGRAM_STEPS;

export interface PatternMatch {
  key: string;
  value: unknown;
}

// Two polynomial hashes modulo primes below 2^26, so every product stays exact in a double.
const P1 = 67_108_859;
const P2 = 67_108_837;
const BASE = 65_599;
const combine = (h1: number, h2: number) => h1 * 67_108_864 + h2;

function hashOf(text: string): number {
  // Hashed from the end, the way suffixes of a path are (see lookup).
  let h1 = 0;
  let h2 = 0;
  let power1 = 1;
  let power2 = 1;
  for (let i = text.length - 1; i >= 0; --i) {
    const c = text.charCodeAt(i) + 1;
    h1 = (h1 + c * power1) % P1;
    h2 = (h2 + c * power2) % P2;
    power1 = (power1 * BASE) % P1;
    power2 = (power2 * BASE) % P2;
  }
  return combine(h1, h2);
}

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

/** PEFT's wrapper around a key: `(.*\.)?(key)`, matched against the whole path. */
function suffixTree(key: PatternNode): PatternNode {
  const prefix: PatternNode = { kind: 'sequence', items: [{ kind: 'repeat', node: chars(DOT), min: 0, max: Infinity, lazy: false }, literal(0x2e)] };
  return { kind: 'sequence', items: [{ kind: 'repeat', node: prefix, min: 0, max: 1, lazy: false }, key] };
}

export class PeftPatternTable {
  readonly #entries: PatternMatch[] = [];
  /** Plain keys by hash: the indices (in file order) of the keys with that hash. */
  readonly #plain = new Map<number, number[]>();
  readonly #regexes: Array<{ index: number; program: Program }> = [];

  /**
   * The table of `pattern` (rank_pattern or alpha_pattern of the config at `file`); undefined or null is
   * an empty table. Throws ADAPTER_INVALID for a pattern that is not an object, a key outside the
   * subset, too long a key, or keys that compile to more than MAX_PATTERN_STEPS.
   */
  constructor(pattern: unknown, readonly field: string, readonly file: string) {
    if (pattern === undefined || pattern === null) return;
    if (typeof pattern !== 'object' || Array.isArray(pattern))
      throw new ParamscopeError(`adapter config ${file}: ${field} must be an object of module patterns, got ${Array.isArray(pattern) ? 'an array' : typeof pattern}`, { code: 'ADAPTER_INVALID', file });
    let steps = 0;
    for (const key of keysInFileOrder(pattern)) {
      const index = this.#entries.length;
      this.#entries.push({ key, value: (pattern as Record<string, unknown>)[key] });
      if (key.length > MAX_PATTERN_KEY_LENGTH) this.#refuse(key, `is ${key.length} characters long, above the cap of ${MAX_PATTERN_KEY_LENGTH}`);
      if (isLiteralPattern(key)) {
        const h = hashOf(key);
        const list = this.#plain.get(h);
        if (list) list.push(index);
        else this.#plain.set(h, [index]);
        continue;
      }
      let program: Program;
      try {
        program = compilePattern(suffixTree(parseRegex(key).node));
      } catch (error) {
        if (error instanceof PatternSyntaxError) this.#refuse(key, `is not a pattern paramscope matches (in linear time): ${error.reason} at character ${error.at}`);
        throw error;
      }
      steps += program.op.length;
      if (steps > MAX_PATTERN_STEPS) this.#refuse(key, `takes the pattern's regex keys past ${MAX_PATTERN_STEPS} steps together`);
      this.#regexes.push({ index, program });
    }
  }

  #refuse(key: string, why: string): never {
    const shown = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);
    throw new ParamscopeError(`adapter config ${this.file}: ${this.field} key ${shown} ${why}`, { code: 'ADAPTER_INVALID', file: this.file });
  }

  /** Every key with its value, in file order (for validating the values). */
  get entries(): readonly PatternMatch[] {
    return this.#entries;
  }

  /** The first key (in file order) that matches `path` as PEFT matches it, or undefined. */
  lookup(path: string): PatternMatch | undefined {
    let best = Infinity;
    if (this.#plain.size > 0) {
      // The suffixes that start the path or follow a dot, hashed right to left in one pass. The `.*` of
      // PEFT's `(.*\.)?` does not cross a line terminator, so a suffix counts only when none precedes its dot.
      const terminator = path.search(LINE_TERMINATOR);
      const firstTerminator = terminator < 0 ? path.length : terminator;
      let h1 = 0;
      let h2 = 0;
      let power1 = 1;
      let power2 = 1;
      for (let i = path.length - 1; i >= 0; --i) {
        const c = path.charCodeAt(i) + 1;
        h1 = (h1 + c * power1) % P1;
        h2 = (h2 + c * power2) % P2;
        power1 = (power1 * BASE) % P1;
        power2 = (power2 * BASE) % P2;
        if (i > 0 && (path.charCodeAt(i - 1) !== 0x2e || firstTerminator < i - 1)) continue;
        for (const index of this.#plain.get(combine(h1, h2)) ?? []) {
          // A hash match is confirmed on the text: the key must be exactly this suffix.
          const key = (this.#entries[index] as PatternMatch).key;
          if (index < best && path.length - i === key.length && path.endsWith(key)) best = index;
        }
      }
    }
    for (const { index, program } of this.#regexes) {
      if (index >= best) break;
      if (matches(program, path)) {
        best = index;
        break;
      }
    }
    return best === Infinity ? undefined : this.#entries[best];
  }
}
