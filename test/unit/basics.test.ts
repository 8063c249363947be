import { describe, expect, it } from 'vitest';
import { buildInfo, ERROR_CODES, ParamscopeError } from '../../lib/index';
import { native } from '../../lib/engine/binding';

describe('addon and error model', () => {
  it('native error codes mirror lib/errors.ts in the same order', () => {
    expect(native().errorCodes()).toEqual([...ERROR_CODES]);
  });

  it('native failures arrive as ParamscopeError instances with code and file', async () => {
    const error = await native()
      .openCheckpoint('/definitely/not/here.safetensors', { mmap: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParamscopeError);
    expect((error as ParamscopeError).code).toBe('FILE_NOT_FOUND');
    expect((error as ParamscopeError).file).toBe('/definitely/not/here.safetensors');
  });

  it('buildInfo names the backend, SIMD level and threads', () => {
    const info = buildInfo();
    expect(['openblas', 'eigen']).toContain(info.backend);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(['baseline', 'sse4.2', 'avx2', 'avx512']).toContain(info.simd);
    // The thin-product kernel runs exactly where the CPU has AVX-512F.
    expect(info.thinProducts).toBe(info.cpuFlags.avx512f ? 'avx512' : 'blas');
    expect(info.napiVersion).toBe(8);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    if (info.backend === 'eigen') expect(info.whyEigen).not.toBe('');
  });
});
