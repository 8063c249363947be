/**
 * Linear-time matching (lib/plan/matching/): the regex subset of PEFT pattern keys and the globs of
 * --include / --exclude / --map give the answers of a backtracking RegExp — checked on many seeded random
 * patterns and names — without its exponential time: the attacks of issue 9 (a glob of ten and thirty
 * stars, a rank_pattern key `(a*)*b`, against long names) run through the CLI in child processes under
 * a time limit.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { globMatcher, globPrefixCaptures } from '../../lib/plan/glob';
import { PeftPatternTable } from '../../lib/plan/lora/patterns';
import { compilePattern, matches } from '../../lib/plan/matching/nfa';
import { parseRegex, PatternSyntaxError } from '../../lib/plan/matching/syntax';
import { renameTensor } from '../../lib/plan/rename';
import { seededRandom } from '../../lib/results/random';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { writeAdapter } from '../fixtures/adapters';
import { expectRefused, expectSucceeded, runAttack } from '../helpers/attack';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-matching-');
afterAll(() => tmp.cleanup());

function generator(seed: number) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]) => items[int(items.length)] as T;
  return { random, int, pick };
}

/** A random pattern of the subset over a small alphabet, so that random names often match. */
function randomPattern(g: ReturnType<typeof generator>, depth = 0): string {
  const atoms = ['a', 'b', '\\.', '.', '[ab]', '[^a]', '[a-b.]', '\\d', '\\w', '\\s', '1', 'x'];
  const parts: string[] = [];
  for (let k = 1 + g.int(3); k > 0; --k) {
    let atom = depth < 3 && g.random() < 0.25 ? `(${g.random() < 0.5 ? '?:' : ''}${randomPattern(g, depth + 1)})` : g.pick(atoms);
    if (g.random() < 0.08) atom = g.pick(['^', '$']);
    else if (g.random() < 0.45) atom += g.pick(['*', '+', '?', '*?', '+?', '??', '{2}', '{0,2}', '{1,}', '{1,3}?']);
    parts.push(atom);
  }
  const sequence = parts.join('');
  return depth < 3 && g.random() < 0.2 ? `${sequence}|${randomPattern(g, depth + 1)}` : sequence;
}

const randomName = (g: ReturnType<typeof generator>, alphabet = ['a', 'b', '.', '1', 'x', ' ', '\n']) =>
  Array.from({ length: g.int(9) }, () => g.pick(alphabet)).join('');

describe('the regex subset against JavaScript RegExp', () => {
  it('whole-name matching agrees on 3000 random patterns × 20 names (seeded)', () => {
    const g = generator(42);
    let agreedMatches = 0;
    for (let i = 0; i < 3000; ++i) {
      const pattern = randomPattern(g);
      const program = compilePattern(parseRegex(pattern).node);
      const reference = new RegExp(`^(?:${pattern})$`);
      for (let k = 0; k < 20; ++k) {
        const name = randomName(g);
        const expected = reference.test(name);
        expect(matches(program, name), `/${pattern}/ on ${JSON.stringify(name)}`).toBe(expected);
        if (expected) ++agreedMatches;
      }
    }
    expect(agreedMatches).toBeGreaterThan(3000); // the random cases exercise matches, not only misses
  });

  it("PEFT's suffix rule ^(.*\\.)?(key)$ and first-key-wins agree on random patterns of plain and regex keys", () => {
    const g = generator(7);
    for (let i = 0; i < 1000; ++i) {
      const keys = Array.from({ length: 1 + g.int(4) }, () => (g.random() < 0.5 ? g.pick(['a', 'b', 'a.b', 'x1', 'b.a', '1']) : randomPattern(g)));
      const pattern = Object.fromEntries(keys.map((key, k) => [key, k + 1]));
      const table = new PeftPatternTable(pattern, 'rank_pattern', 'test.json');
      for (let k = 0; k < 20; ++k) {
        const name = randomName(g);
        const expected = Object.keys(pattern).find((key) => new RegExp(`^(.*\\.)?(${key})$`).test(name));
        expect(table.lookup(name)?.key, `${JSON.stringify(pattern)} on ${JSON.stringify(name)}`).toBe(expected);
      }
    }
  });

  it('refuses what is outside the subset, naming the reason and the position', async () => {
    const refused: Array<[string, RegExp]> = [
      ['(a)\\1', /backreferences/], ['(?=a)', /lookaround/], ['(?!a)b', /lookaround/], ['(?<=a)b', /lookaround/], ['(?<n>a)', /named groups/],
      ['(?i)a', /inline flags/], ['\\bq', /escape \\b/], ['a{,3}', /repetition/], ['[]a]', /empty class/], ['[^]', /empty class/], ['\\a', /escape/],
      ['a**', /cannot be repeated/], ['a{2}{3}', /cannot be repeated/], ['(a', /unbalanced "\("/], ['a)', /unbalanced "\)"/], ['a{1001}', /above 1000/],
      ['[z-a]', /backwards/], ['*a', /nothing to repeat/], ['[ab', /unterminated/], ['a\\', /cannot end/], ['\\x4', /hex digits/],
    ];
    for (const [pattern, reason] of refused) {
      let error: unknown;
      try {
        compilePattern(parseRegex(pattern).node);
      } catch (e) {
        error = e;
      }
      expect(error, pattern).toBeInstanceOf(PatternSyntaxError);
      expect((error as PatternSyntaxError).reason, pattern).toMatch(reason);
    }
    // A repetition that expands past the program cap is refused, not compiled into millions of steps.
    expect(() => compilePattern(parseRegex('(a{1000}){1000}').node)).toThrow(/expands to more than/);
    const key = await failure(() => new PeftPatternTable({ 'q_proj|(?=x)': 4 }, 'rank_pattern', 'cfg.json'));
    expect(key.code).toBe('ADAPTER_INVALID');
    expect(key.message).toContain('rank_pattern key "q_proj|(?=x)"');
    expect((await failure(() => new PeftPatternTable({ ['a'.repeat(1001)]: 4 }, 'rank_pattern', 'cfg.json'))).message).toContain('above the cap of 1000');
  });

  it('plain keys keep file order even when they look like integers (Object.keys would put "0" first)', async () => {
    const { parseJson } = await import('../../lib/read/json');
    const pattern = parseJson('{"to_out.0": 4, "0": 8}', { file: 'c.json', what: 'test', code: 'ADAPTER_INVALID' });
    expect(Object.keys(pattern as object)).toEqual(['0', 'to_out.0']);
    expect(new PeftPatternTable(pattern, 'rank_pattern', 'c.json').lookup('unet.attn.to_out.0')?.value).toBe(4);
  });
});

/** The backtracking implementation the globs had, kept as the reference for their semantics. */
function referenceGlobPattern(glob: string, capture = false): string {
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
  return pattern;
}

describe('globs against the backtracking reference', () => {
  const randomGlob = (g: ReturnType<typeof generator>) => {
    let glob = Array.from({ length: 1 + g.int(6) }, () => g.pick(['a', 'b', '.', '*', '?', '*', '(', '+'])).join('');
    if (g.random() < 0.3) glob += `{${g.pick(['a', 'b*', ''])},${g.pick(['.', '?b', 'ab'])}}${g.pick(['', '*', 'a'])}`;
    return glob;
  };

  it('matching and rename captures agree on 3000 random globs × 20 names (seeded, names without newlines)', () => {
    const g = generator(3);
    for (let i = 0; i < 3000; ++i) {
      const glob = randomGlob(g);
      const match = globMatcher(glob);
      const captures = globPrefixCaptures(glob);
      const reference = new RegExp(`^${referenceGlobPattern(glob)}$`);
      const referenceCaptures = new RegExp(`^${referenceGlobPattern(glob, true)}(.*)$`);
      for (let k = 0; k < 20; ++k) {
        const name = randomName(g, ['a', 'b', '.', '(', '+', 'c']);
        expect(match(name), `${glob} on ${name}`).toBe(reference.test(name));
        const expected = referenceCaptures.exec(name);
        expect(captures(name), `${glob} captures on ${name}`).toEqual(expected ? expected.slice(1).map((c) => c ?? '') : null);
      }
    }
  });

  it('a `*` also crosses a newline (a name is matched whole, whatever it holds), and an unclosed "{" means itself', () => {
    expect(globMatcher('a*b')('a\nb')).toBe(true);
    expect(globMatcher('x{a,b')('x{a,b')).toBe(true);
    expect(globMatcher('x{a,b}')('xb')).toBe(true);
    expect(renameTensor('h.3.attn.w', [['h.*.attn.', 'layers.*.self_attn.']])).toBe('layers.3.self_attn.w');
    expect(renameTensor('x{1.w', [['x{*.', 'y*.']])).toBe('y1.w');
  });
});

describe('the attacks of issue 9, through the CLI under a time limit', () => {
  const longName = `${'a'.repeat(20_000)}.weight`;
  const checkpoint = path.join(tmp.dir, 'long-name.safetensors');
  writeSafetensorsSync(checkpoint, [[longName, { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]);

  it.each([10, 30])('--include with %i stars and no match against a 20,000-character name', (stars) => {
    const run = runAttack(['analyze', checkpoint, '--include', `${'*'.repeat(stars)}x`, '--json', '--quiet']);
    expectSucceeded(run);
    expect(JSON.parse(run.stdout).skipped).toEqual([{ name: longName, reason: 'excluded' }]);
  });

  it('--include with thirty stars that matches, --exclude and --map of many stars', () => {
    const included = runAttack(['analyze', checkpoint, '--include', `${'*a'.repeat(30)}*`, '--json', '--quiet']);
    expectSucceeded(included);
    expect(JSON.parse(included.stdout).totals.matrices).toBe(1);
    expectSucceeded(runAttack(['diff', checkpoint, checkpoint, '--exclude', `${'*'.repeat(30)}x`, '--map', `${'*'.repeat(30)}=${'*'.repeat(30)}`, '--json', '--quiet']));
  });

  it('a rank_pattern key (a*)*b against a long module name', () => {
    const dir = writeAdapter(path.join(tmp.dir, 'redos'), {
      layout: 'peft',
      rank: 2,
      module: `model.${'a'.repeat(5000)}`,
      config: { peft_type: 'LORA', r: 2, lora_alpha: 4, rank_pattern: { '(a*)*b': 3, '(a|aa)+$x': 5 }, alpha_pattern: { '(a+)+c': 6 } },
    });
    const run = runAttack(['lora', dir, '--json', '--quiet']);
    expectSucceeded(run);
    // No key matches: the scale is lora_alpha / r.
    expect(JSON.parse(run.stdout).pairs[0].tunedDtype).toBe('LoRA r=2 s=2');
  });

  it('a rank_pattern key that is not in the subset is refused, naming it', () => {
    const dir = writeAdapter(path.join(tmp.dir, 'lookahead'), { layout: 'peft', rank: 2, config: { peft_type: 'LORA', r: 2, lora_alpha: 4, rank_pattern: { '(?=q)q_proj': 3 } } });
    expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('rank_pattern key "(?=q)q_proj"');
  });
});
