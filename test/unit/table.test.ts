/** Terminal tables (lib/cli/output/table.ts): padding, and tables of checkpoints with 100k+ tensors. */
import { describe, expect, it } from 'vitest';
import { renderTable } from '../../lib/cli/output/table';

describe('renderTable', () => {
  it('pads each column to its widest cell, left or right aligned', () => {
    const text = renderTable([{ header: 'name' }, { header: 'n', align: 'right' }], [['a', '1'], ['longer', '100']]);
    expect(text.split('\n')).toEqual(['name      n', '------  ---', 'a         1', 'longer  100']);
  });

  it('renders 200,000 rows (inspect or plan of a 100k-tensor checkpoint) without overflowing the stack', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`model.layers.${i % 100}.mlp.experts.${i}.up_proj.weight`, String(i)]);
    const lines = renderTable([{ header: 'name' }, { header: 'i', align: 'right' }], rows).split('\n');
    expect(lines).toHaveLength(200_002);
    const widest = 'model.layers.99.mlp.experts.199999.up_proj.weight'.length;
    expect(lines[1]).toBe(`${'-'.repeat(widest)}  ${'-'.repeat(6)}`);
    expect(lines[2]).toBe(`${'model.layers.0.mlp.experts.0.up_proj.weight'.padEnd(widest)}       0`);
  });
});
