/**
 * What each prebuilt binary is, checked with binutils (scripts/check-prebuild.js explains why the checks
 * are sound): the ELF machine its folder names, no BLAS or LAPACK in DT_NEEDED, N-API only (no V8/node C++
 * imports, so one binary serves every Node.js version), baseline instructions only
 * (x86-64: SSE2, with AVX/AVX2/FMA/F16C only inside the functions the core compiles with
 * __attribute__((target)) and picks at run time; arm64: ARMv8.0-A in the whole file, as judged by
 * re-assembling the disassembly with `as -march=armv8-a`), and glibc /
 * libstdc++ versions no newer than the README promises. The scanners are checked first on small
 * binaries compiled here with and without ISA flags, so a scanner that sees nothing cannot pass.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

interface Found {
  name: string;
  address: string;
  instruction: string;
  feature: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const check = require('../../scripts/check-prebuild.js') as {
  x86Feature(mnemonic: string, operands: string): string | null;
  arm64Feature(mnemonic: string, operands: string): string | null;
  dispatchedFunctionNames(dir?: string): string[];
  scanX64(file: string, names?: string[], scope?: string): { dispatched: Array<{ name: string; features: string[] }>; violations: Found[] };
  scanArm64(file: string): { instructions: number; violations: Found[] };
  checkPrebuild(file: string): {
    target: string;
    machine: string;
    needed: string[];
    versions: { glibc: string | null; glibcxx: string | null };
    node: { registers: boolean; napi: number; nodeAbi: string[] };
    summary: string;
    dispatched: Array<{ name: string; features: string[] }>;
    instructions: number;
  };
  unstrippedTwin(file: string): string;
  onPath(cmd: string): boolean;
  tool(target: string, name: string): string;
};

const prebuild = (target: string) => path.join(repoRoot, 'prebuilds', target, 'paramscope.glibc.node');
const checked = new Map<string, ReturnType<typeof check.checkPrebuild>>();
/** check.checkPrebuild once per file (it disassembles the whole binary). */
function checkOnce(file: string): ReturnType<typeof check.checkPrebuild> {
  if (!checked.has(file)) checked.set(file, check.checkPrebuild(file));
  return checked.get(file)!;
}
const x64 = prebuild('linux-x64');
const arm64 = prebuild('linux-arm64');
const hasBinutils = spawnSync('readelf', ['--version']).status === 0 && spawnSync('objdump', ['--version']).status === 0;
const hasArmObjdump = check.onPath(check.tool('linux-arm64', 'objdump')) && check.onPath(check.tool('linux-arm64', 'as'));
const hasGxx = check.onPath('g++') && process.arch === 'x64';
const hasArmGxx = check.onPath(check.tool('linux-arm64', 'g++'));

if (!hasBinutils) console.warn('[skip] prebuild ISA checks: readelf/objdump missing (apt-get install binutils)');
if (!fs.existsSync(x64)) console.warn('[skip] linux-x64 prebuild checks: no prebuilds/linux-x64/paramscope.glibc.node (npm run prebuild)');
if (!fs.existsSync(arm64)) console.warn('[skip] linux-arm64 prebuild checks: no prebuilds/linux-arm64/paramscope.glibc.node (npm run prebuild:arm64)');
else if (!hasArmObjdump) console.warn('[skip] linux-arm64 prebuild checks: aarch64-linux-gnu-objdump missing (apt-get install binutils-aarch64-linux-gnu)');

/** The versions the README's platform table promises: "glibc ≥ 2.34" and "GLIBCXX_3.4.30". */
function promisedVersions(): { glibc: string; glibcxx: string } {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const glibc = /glibc ≥ (\d+\.\d+)/.exec(readme)?.[1];
  const glibcxx = /GLIBCXX_(\d+\.\d+\.\d+)/.exec(readme)?.[1];
  if (!glibc || !glibcxx) throw new Error('README.md states no "glibc ≥ X.Y" / "GLIBCXX_X.Y.Z" for the prebuilds');
  return { glibc, glibcxx };
}

function atMost(version: string | null, limit: string): boolean {
  if (version === null) return true;
  const a = version.split('.').map(Number);
  const b = limit.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return true;
}

describe('instruction classifiers', () => {
  it('x86-64: AVX, AVX-512, FMA, F16C, SSE3+ and BMI are non-baseline; SSE2 and tzcnt (rep bsf) are baseline', () => {
    expect(check.x86Feature('vmovaps', '(%rsp),%ymm0')).toBe('avx-256');
    expect(check.x86Feature('vpxor', '%xmm0,%xmm0,%xmm0')).toBe('avx');
    expect(check.x86Feature('vfmadd231pd', '%ymm1,%ymm1,%ymm7')).toBe('fma');
    expect(check.x86Feature('vcvtph2ps', '%xmm0,%ymm0')).toBe('f16c');
    expect(check.x86Feature('vaddps', '%zmm1,%zmm2,%zmm3')).toBe('avx-512');
    expect(check.x86Feature('kmovw', '%k1,%eax')).toBe('avx-512');
    expect(check.x86Feature('pshufb', '%xmm1,%xmm0')).toBe('ssse3');
    expect(check.x86Feature('pmulld', '%xmm1,%xmm0')).toBe('sse4.1');
    expect(check.x86Feature('popcnt', '%rdi,%rax')).toBe('popcnt');
    expect(check.x86Feature('shlx', '%rsi,%rdi,%rax')).toBe('bmi');
    for (const [m, o] of [['movaps', '%xmm0,(%rsp)'], ['mulpd', '%xmm1,%xmm0'], ['cvtps2pd', '%xmm0,%xmm1'], ['pextrw', '$0x1,%xmm0,%eax'], ['tzcnt', '%rdi,%rax'], ['cpuid', ''], ['call', '1234 <f>']])
      expect(check.x86Feature(m!, o!), m).toBeNull();
  });

  it('AArch64: LSE, SVE, dotprod, fp16 arithmetic, crc32, crypto are extensions; ARMv8.0 NEON and half conversions are not', () => {
    expect(check.arm64Feature('ldaddal', 'w1, w0, [x2]')).toMatch(/lse/);
    expect(check.arm64Feature('casal', 'w1, w2, [x0]')).toMatch(/lse/);
    expect(check.arm64Feature('ld1w', '{z0.s}, p0/z, [x0]')).toBe('sve');
    expect(check.arm64Feature('sdot', 'v0.4s, v1.16b, v2.16b')).toBe('dotprod');
    expect(check.arm64Feature('fadd', 'v0.8h, v1.8h, v2.8h')).toBe('fp16');
    expect(check.arm64Feature('fadd', 'h0, h1, h2')).toBe('fp16');
    expect(check.arm64Feature('crc32w', 'w0, w0, w1')).toBe('crc32');
    expect(check.arm64Feature('aese', 'v0.16b, v1.16b')).toBe('crypto');
    expect(check.arm64Feature('ldapr', 'w0, [x1]')).toBe('rcpc');
    for (const [m, o] of [['ldaxr', 'w1, [x0]'], ['stlxr', 'w2, w1, [x0]'], ['fadd', 'v0.4s, v1.4s, v2.4s'], ['fcvt', 's0, h0'], ['fcvtl', 'v0.4s, v1.4h'], ['ldr', 'h0, [x0]'], ['paciasp', ''], ['bti', 'c'], ['mov', 'x0, xzr'], ['ldp', 'x29, x30, [sp], #16']])
      expect(check.arm64Feature(m!, o!), `${m} ${o}`).toBeNull();
  });
});

describe.skipIf(!hasBinutils)('the scanners on binaries compiled here', () => {
  let tmp: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir: tmp, cleanup } = temporaryDirectory('paramscope-isa-')));
  afterAll(() => cleanup?.());

  const kernel = `#include <immintrin.h>
__attribute__((target("avx2"))) void add_avx2(float* a, const float* b, int n) {
  for (int i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(a + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
}
void add_plain(float* a, const float* b, int n) { for (int i = 0; i < n; i++) a[i] += b[i] * 3.0f; }
`;

  it.skipIf(!hasGxx)('x86-64: AVX in a target("avx2") function passes; the same file built with -mavx2 fails', () => {
    fs.mkdirSync(path.join(tmp, 'src'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'src', 'kernel.cpp'), kernel);
    const names = check.dispatchedFunctionNames(path.join(tmp, 'src'));
    expect(names).toEqual(['add_avx2']);
    const build = (flags: string[], out: string) => execFileSync('g++', ['-O3', '-shared', '-fPIC', ...flags, '-o', path.join(tmp, out), path.join(tmp, 'src', 'kernel.cpp')]);
    build(['-march=x86-64'], 'dispatched.so');
    const ok = check.scanX64(path.join(tmp, 'dispatched.so'), names, '');
    expect(ok.violations).toEqual([]);
    expect(ok.dispatched.map((d) => d.name.replace(/\(.*/, ''))).toEqual(['add_avx2']);
    expect(ok.dispatched[0]!.features).toContain('avx-256');
    build(['-march=x86-64', '-mavx2'], 'whole-file.so');
    const bad = check.scanX64(path.join(tmp, 'whole-file.so'), names, '');
    // Outside the core's namespace the same name is not let through.
    expect(check.scanX64(path.join(tmp, 'dispatched.so'), names).violations.length).toBeGreaterThan(0);
    expect(bad.violations.length).toBeGreaterThan(0);
    expect(new Set(bad.violations.map((v) => v.name.replace(/\(.*/, '')))).toContain('add_plain');
  });

  it.skipIf(!hasArmGxx || !hasArmObjdump)('AArch64: -march=armv8-a -mno-outline-atomics passes; +lse, +sve, +dotprod fail', () => {
    const source = path.join(tmp, 'arm.cpp');
    fs.writeFileSync(
      source,
      `#include <atomic>
int bump(std::atomic<int>& a) { return a.fetch_add(1); }
void axpy(float* y, const float* x, float a, int n) { for (int i = 0; i < n; i++) y[i] += a * x[i]; }
int dot(const signed char* a, const signed char* b, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }
`,
    );
    const build = (march: string[], out: string) => {
      execFileSync(check.tool('linux-arm64', 'g++'), ['-O3', '-shared', '-fPIC', ...march, '-o', path.join(tmp, out), source]);
      return check.scanArm64(path.join(tmp, out));
    };
    const baseline = build(['-march=armv8-a', '-mno-outline-atomics'], 'baseline.so');
    expect(baseline.instructions).toBeGreaterThan(20);
    expect(baseline.violations).toEqual([]);
    const features = new Set(build(['-march=armv8.2-a+sve+dotprod'], 'extended.so').violations.map((v) => v.feature));
    expect([...features].some((f) => f.startsWith('lse'))).toBe(true);
    expect(features.has('sve') || features.has('dotprod')).toBe(true);
    // GCC's default outline atomics put LSE code (chosen at run time) into the binary: why the build disables them.
    expect(build(['-march=armv8-a'], 'outline.so').violations.some((v) => v.feature.startsWith('lse'))).toBe(true);
  });
});

describe.skipIf(!hasBinutils || !fs.existsSync(x64))('prebuilds/linux-x64', () => {
  it('is x86-64, links no BLAS, and is baseline x86-64 outside the run-time dispatched kernels', () => {
    const r = checkOnce(x64); // throws one line on any failure, naming the instruction
    expect(r.machine).toBe('Advanced Micro Devices X86-64');
    expect(r.needed.filter((lib) => /blas|lapack/i.test(lib))).toEqual([]);
    // N-API only: registers through napi_register_module_v1 and imports no V8/node C++ symbol.
    expect(r.node).toMatchObject({ registers: true, nodeAbi: [] });
    expect(r.node.napi).toBeGreaterThan(20);
    // The kernels are there and hold the AVX2 code: the scan sees what it is looking for.
    if (check.dispatchedFunctionNames().length) {
      expect(r.dispatched.length).toBeGreaterThan(0);
      expect(r.dispatched.flatMap((d) => d.features)).toContain('avx-256');
    }
  });

  it('needs no newer glibc / libstdc++ than the README states', () => {
    const promised = promisedVersions();
    const { versions } = checkOnce(x64);
    expect(atMost(versions.glibc, promised.glibc), `needs GLIBC_${versions.glibc}, README says ${promised.glibc}`).toBe(true);
    expect(atMost(versions.glibcxx, promised.glibcxx), `needs GLIBCXX_${versions.glibcxx}, README says ${promised.glibcxx}`).toBe(true);
  });
});

describe.skipIf(!hasBinutils || !hasArmObjdump || !fs.existsSync(arm64))('prebuilds/linux-arm64 (built, not run here)', () => {
  it('is AArch64, links no BLAS, and holds only ARMv8.0-A instructions', () => {
    const r = checkOnce(arm64);
    expect(r.machine).toBe('AArch64');
    expect(r.needed.filter((lib) => /blas|lapack/i.test(lib))).toEqual([]);
    expect(r.node).toMatchObject({ registers: true, nodeAbi: [] });
    expect(r.needed).toContain('libc.so.6');
    expect(r.instructions).toBeGreaterThan(10_000); // and none beyond ARMv8.0-A, or checkPrebuild threw
  });

  it('needs no newer glibc / libstdc++ than the README states', () => {
    const promised = promisedVersions();
    const { versions } = checkOnce(arm64);
    expect(atMost(versions.glibc, promised.glibc)).toBe(true);
    expect(atMost(versions.glibcxx, promised.glibcxx)).toBe(true);
  });
});
