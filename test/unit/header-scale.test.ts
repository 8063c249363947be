/**
 * The scale of headers (docs/security.md, "Scale"): a safetensors file of 200,000 tensors and an index of
 * 600,000 weight_map names are inspected (--json) and planned through the CLI in child processes
 * under a generous time limit — no RangeError from spreading an input-sized array, no step that grows
 * faster than the names. The prefix search of the pairing, which was quadratic in candidates × names
 * (minutes for 200k names with many shared segments), is checked against its brute-force definition.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectPrefix } from '../../lib/plan/prefix';
import { seededRandom } from '../../lib/results/random';
import { expectRefused, expectSucceeded, runAttackAsync } from '../helpers/attack';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-scale-');
afterAll(() => tmp.cleanup());

/** A hang detector for the big inputs, far above their normal time on a loaded two-core machine. */
const LIMIT_MS = 300_000;

/** A shard of F32 scalars with these names, written directly (the writer would copy 250k typed arrays). */
function scalarShard(file: string, names: readonly string[]): void {
  const entries = names.map((name, i) => `${JSON.stringify(name)}:{"dtype":"F32","shape":[],"data_offsets":[${4 * i},${4 * i + 4}]}`);
  const header = Buffer.from(`{${entries.join(',')}}`);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([prefix, header, Buffer.alloc(4 * names.length)]));
}

describe('large headers through the CLI', () => {
  it('a file of 200,000 tensors: inspect --json and plan --json finish', async () => {
    const file = path.join(tmp.dir, 'many.safetensors');
    const names = Array.from({ length: 200_000 }, (_, i) => `model.layers.${i % 100}.mlp.experts.${Math.floor(i / 100)}.weight_scale`);
    scalarShard(file, names);
    const out = path.join(tmp.dir, 'inspect.json');
    expectSucceeded(await runAttackAsync(['inspect', file, '--json'], { limitMs: LIMIT_MS, stdoutTo: out }));
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).tensors).toHaveLength(200_000);
    expectSucceeded(await runAttackAsync(['plan', file, '--json', '--no-calibration'], { limitMs: LIMIT_MS, stdoutTo: out }));
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).totals.matrices).toBe(0);
  }, 2 * LIMIT_MS);

  // Two tests of one index, each under a minute on a loaded machine: a test that runs longer makes vitest's
  // forks pool time out on its own progress messages (vitest-dev/vitest#8164).
  describe('an index of 600,000 weight_map names over four shards', () => {
    const dir = path.join(tmp.dir, 'many-names');
    const index = path.join(dir, 'model.safetensors.index.json');
    const total = 600_000;
    const perShard = total / 4;
    beforeAll(() => {
      fs.mkdirSync(dir);
      const weightMap: Record<string, string> = {};
      for (let s = 0; s < 4; ++s) {
        const shard = `model-0000${s + 1}-of-00004.safetensors`;
        const names = Array.from({ length: perShard }, (_, i) => `l.${s * perShard + i}.s`);
        scalarShard(path.join(dir, shard), names);
        for (const name of names) weightMap[name] = shard;
      }
      fs.writeFileSync(index, JSON.stringify({ metadata: { total_size: 4 * total }, weight_map: weightMap }));
    });

    it('inspect --json lists every tensor', async () => {
      const out = path.join(tmp.dir, 'many-names.json');
      expectSucceeded(await runAttackAsync(['inspect', index, '--json'], { limitMs: LIMIT_MS, stdoutTo: out }));
      expect(JSON.parse(fs.readFileSync(out, 'utf8')).tensors).toHaveLength(total);
    }, 2 * LIMIT_MS);

    it('a diff plan ends, promptly and properly, with nothing to compare (scalars are not matrices)', async () => {
      const out = path.join(tmp.dir, 'many-names-plan.json');
      expect(expectRefused(await runAttackAsync(['plan', index, index, '--json', '--no-calibration'], { limitMs: LIMIT_MS, stdoutTo: out }), 'EMPTY_PAIRING')).toContain(`${total} not-a-matrix`);
    }, 2 * LIMIT_MS);
  });

  it('an index that lists all but one of 300,000 tensors: found in linear time, one warning line per few tensors, not per tensor', async () => {
    const dir = path.join(tmp.dir, 'unlisted');
    fs.mkdirSync(dir);
    const names = Array.from({ length: 300_000 }, (_, i) => `t.${i}`);
    scalarShard(path.join(dir, 'model.safetensors'), names);
    const index = path.join(dir, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ weight_map: Object.fromEntries(names.slice(0, 1000).map((n) => [n, 'model.safetensors'])) }));
    const out = path.join(tmp.dir, 'unlisted.json');
    expectSucceeded(await runAttackAsync(['inspect', index, '--json'], { limitMs: LIMIT_MS, stdoutTo: out }));
    const warnings: string[] = JSON.parse(fs.readFileSync(out, 'utf8')).warnings;
    expect(warnings).toHaveLength(21);
    expect(warnings[20]).toContain('and 298980 more tensors');
  }, 3 * LIMIT_MS);
});

/** The prefix search as it was defined (candidates × candidates × names), the reference for detectPrefix. */
function referenceDetectPrefix(baseNames: readonly string[], tunedNames: readonly string[], candidates: (names: readonly string[]) => string[]): { base: string; tuned: string } {
  const canonical = (names: readonly string[], prefix: string) => {
    const present = new Set(names);
    return names.map((n) => (prefix && n.startsWith(prefix) && !present.has(n.slice(prefix.length)) ? n.slice(prefix.length) : n));
  };
  let best = { base: '', tuned: '', matches: -1 };
  for (const bp of candidates(baseNames)) {
    for (const tp of candidates(tunedNames)) {
      if (bp && bp === tp) continue;
      const keys = new Set(canonical(tunedNames, tp));
      const matches = canonical(baseNames, bp).filter((k) => keys.has(k)).length;
      if (matches > best.matches || (matches === best.matches && bp.length + tp.length < best.base.length + best.tuned.length)) best = { base: bp, tuned: tp, matches };
    }
  }
  return { base: best.base, tuned: best.tuned };
}

describe('the prefix search', () => {
  it('agrees with its brute-force definition on 400 random pairs of name sets (seeded)', () => {
    const random = seededRandom(11);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    // The candidates are the known wrapper prefixes and leading segments; the reference enumerates the same ones.
    const segments = ['model', 'model.model', 'language_model', 'base_model.model', 'transformer', 'module', 'a', 'a.b', 'b', ''];
    const leaves = ['q', 'k', 'v', 'x.y', 'model.q', 'a.q', 'w'];
    const names = () => [...new Set(Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
      const head = pick(segments);
      return `${head ? `${head}.` : ''}${pick(leaves)}${random() < 0.5 ? `.${Math.floor(random() * 3)}` : ''}`;
    }))];
    const candidates = (list: readonly string[]) => {
      // The same candidate rule as lib/plan/prefix.ts: '' , known prefixes present, segments shared by 5 % (at least 2).
      const known = ['model.', 'model.model.', 'language_model.', 'model.language_model.', 'language_model.model.', 'base_model.model.', 'base_model.model.model.', 'transformer.', 'module.', '_orig_mod.', 'text_model.'];
      const counts = new Map<string, number>();
      for (const n of list) {
        const parts = n.split('.');
        for (let d = 1; d <= 2 && d < parts.length; d++) counts.set(parts.slice(0, d).join('.') + '.', (counts.get(parts.slice(0, d).join('.') + '.') ?? 0) + 1);
      }
      const minimum = Math.max(2, Math.ceil(0.05 * list.length));
      return ['', ...new Set([...known.filter((p) => counts.has(p) || list.some((n) => n.startsWith(p))), ...[...counts].filter(([, c]) => c >= minimum).map(([p]) => p)])];
    };
    for (let i = 0; i < 400; ++i) {
      const base = names();
      const tuned = names();
      expect(detectPrefix(base, tuned), `${JSON.stringify(base)} vs ${JSON.stringify(tuned)}`).toEqual(referenceDetectPrefix(base, tuned, candidates));
    }
  });

  it('200,000 names a side with the most candidate prefixes a hostile checkpoint can offer', () => {
    const base = Array.from({ length: 200_000 }, (_, i) => `p${i % 19}.q${i % 19}.x${i}`);
    const tuned = Array.from({ length: 200_000 }, (_, i) => `r${i % 19}.s${i % 19}.x${i}`);
    // Every name is p<k>.q<k>.x<i> against r<k>.s<k>.x<i>: removing the two-segment prefixes matches 1/19 each
    // (x<i> with the same k on both sides), more than anything else.
    const found = detectPrefix(base, tuned);
    expect(found.base).toMatch(/^p\d+\.q\d+\.$/);
    expect(found.tuned).toMatch(/^r\d+\.s\d+\.$/);
  });
});
