/** The TypeScript dtype table (lib/read/dtypes.ts) and the core's (native/src/dtype.cpp) agree row by row. */
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/engine/binding';
import { DECODABLE_DTYPES, DTYPE_BITS, DTYPE_TABLE, DTYPES, FLOAT_DTYPES } from '../../lib/read/dtypes';

describe('dtype table', () => {
  it('lists the same dtypes, in the same order, with the same bits, kinds and rounding grid as the core', () => {
    const core = native().dtypeTable();
    expect(core.map((r) => r.name)).toEqual([...DTYPES]);
    for (const r of core) {
      const { name, ...columns } = r;
      expect({ name, ...DTYPE_TABLE[name as keyof typeof DTYPE_TABLE] }).toEqual({ name, ...columns });
    }
  });

  it('derives every other dtype fact from the table', () => {
    for (const d of DTYPES) {
      expect(DTYPE_BITS[d]).toBe(DTYPE_TABLE[d].bits);
      expect(FLOAT_DTYPES.has(d)).toBe(DTYPE_TABLE[d].isFloat);
      expect(DECODABLE_DTYPES.has(d)).toBe(DTYPE_TABLE[d].decodable);
    }
    expect(DTYPE_TABLE.BF16.precision).toBe(8);
    expect([...DECODABLE_DTYPES]).not.toContain('F4');
  });
});
