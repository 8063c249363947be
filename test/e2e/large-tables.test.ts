/**
 * Headers with 200,000 tensors (issue 9: MoE checkpoints with scale tensors have ~10⁵): `inspect`,
 * `analyze` and `plan` print their tables (no "Maximum call stack size exceeded" from spreading rows into
 * an argument list), summarised by name pattern beyond 500 rows unless --all, saying how to get every row.
 * Run through the CLI in child processes with time limits (a limit on a child that must not hang).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupByPattern, namePattern, renderLongTable, TABLE_ROW_LIMIT } from '../../lib/cli/output/long-table';
import { renderTable } from '../../lib/cli/output/table';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';

const TENSORS = 200_000;
const MATRICES = 2_000;
const LIMIT_MS = 180_000;

describe('long tables', () => {
  it('renders 200,000 rows, and summarises them by pattern beyond the limit', () => {
    const rows = Array.from({ length: TENSORS }, (_, i) => [`model.layers.${i}.w`, String(i)]);
    const text = renderTable([{ header: 'name' }, { header: 'n', align: 'right' }], rows);
    expect(text.split('\n')).toHaveLength(TENSORS + 2);
    const summary = renderLongTable(rows, { columns: [], row: (r) => r, name: (r) => r[0] as string, groupColumns: [], group: () => [], noun: 'tensors' }, { all: false });
    expect(summary).toMatch(/^model\.layers\.\*\.w\s+200,000$/m);
    expect(summary).toContain('--all lists every one');
  });

  it('names without numbers are cut to their leading parts until the patterns fit', () => {
    const letters = (i: number) => i.toString(26).replace(/\d/g, (d) => String.fromCharCode(97 + Number(d)));
    const names = Array.from({ length: 5_000 }, (_, i) => `${letters(i % 7)}.${letters(i)}.weight`);
    expect(namePattern('a.12.b3')).toBe('a.*.b*');
    const groups = groupByPattern(names, (n) => n);
    expect(groups.size).toBeLessThanOrEqual(TABLE_ROW_LIMIT);
    expect([...groups.values()].reduce((n, g) => n + g.length, 0)).toBe(names.length);
    expect([...groups.keys()].every((k) => k.endsWith('.…'))).toBe(true);
  });
});

describe('200,000-tensor headers through the CLI', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    file = path.join(dir, 'many.safetensors');
    // Vectors of one value (analyze skips them) and MATRICES 2×2 matrices: a 200,000-entry header, 1 MB of data.
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < TENSORS - MATRICES; i++) tensors[`model.layers.${i % 1000}.mlp.experts.${Math.floor(i / 1000)}.down_proj.weight_scale`] = { dtype: 'F32', shape: [1], data: new Float32Array([1]) };
    for (let i = 0; i < MATRICES; i++) tensors[`model.layers.${i % 1000}.mlp.experts.${Math.floor(i / 1000)}.router.weight`] = { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, i, 0, 1]) };
    writeSafetensorsSync(file, tensors);
  }, LIMIT_MS);
  afterAll(() => cleanup());

  it('inspect: summarised by name pattern, --all lists every tensor, --json all of them', () => {
    const r = runCli(['inspect', file], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model\.layers\.\*\.mlp\.experts\.\*\.down_proj\.weight_scale\s+198,000\s+F32\s+\[1\]/);
    expect(r.stdout).toMatch(/model\.layers\.\*\.mlp\.experts\.\*\.router\.weight\s+2,000\s+F32\s+\[2, 2\]/);
    expect(r.stdout).toContain('200,000 tensors in 2 name patterns');
    expect(r.stdout).toContain('--all lists every one');
    const all = runCli(['inspect', file, '--all'], {}, LIMIT_MS);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout.split('\n').filter((l) => l.startsWith('model.layers.'))).toHaveLength(TENSORS);
    const json = runCli(['inspect', file, '--json'], {}, LIMIT_MS);
    expect(JSON.parse(json.stdout).tensors).toHaveLength(TENSORS);
  });

  it('analyze: 2,000 matrices summarised, --all lists each', () => {
    const r = runCli(['analyze', file, '--mode', 'exact'], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model\.layers\.\*\.mlp\.experts\.\*\.router\.weight\s+2,000\s+\[2, 2\]\s+0\s/);
    expect(r.stdout).toContain('2,000 matrices in 1 name pattern');
    expect(r.stdout).toContain(`skipped ${TENSORS - MATRICES} tensors`);
    const all = runCli(['analyze', file, '--mode', 'exact', '--all'], {}, LIMIT_MS);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout.split('\n').filter((l) => /^model\.layers\.\d+\.mlp\.experts\.\d+\.router\.weight\s/.test(l))).toHaveLength(MATRICES);
  });

  it('plan: the per-matrix table summarised too', () => {
    const r = runCli(['plan', file, '--no-calibration'], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('2,000 spectra in 1 name pattern');
  });
});
