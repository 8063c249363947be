/**
 * The prebuilt binary (`npm run prebuild`, made by .ci/run before the tests): a package holding it and
 * no build/ loads it without compiling, needs no OpenBLAS to load (no DT_NEEDED on BLAS; Eigen when
 * OpenBLAS is absent), and uses OpenBLAS where it is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

const prebuildDir = path.join(repoRoot, 'prebuilds', `${process.platform}-${process.arch}`);
const prebuilt = fs.existsSync(prebuildDir) ? fs.readdirSync(prebuildDir).filter((f) => f.endsWith('.node')) : [];
const distBuilt = fs.existsSync(path.join(repoRoot, 'dist', 'index.js'));
if (prebuilt.length === 0 || !distBuilt)
  console.warn('[skip] prebuild tests: run `npm run prebuild` and `npm run build:ts` first (.ci/run does)');

function hasReadelf(): boolean {
  return spawnSync('readelf', ['--version']).status === 0;
}

describe.skipIf(prebuilt.length === 0 || !distBuilt)('prebuilt binary', () => {
  let pkg: string;
  let cleanup: () => void;

  beforeAll(() => {
    ({ dir: pkg, cleanup } = temporaryDirectory('paramscope-prebuild-'));
    // A package as npm would install it: no build/, the prebuild present, dependencies resolvable.
    for (const entry of ['package.json', 'dist', 'bin', 'prebuilds'])
      fs.cpSync(path.join(repoRoot, entry), path.join(pkg, entry), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  });
  afterAll(() => cleanup());

  const info = (env: NodeJS.ProcessEnv = {}) =>
    JSON.parse(
      execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist/index.js').buildInfo()))"], {
        cwd: pkg,
        env: { ...process.env, PARAMSCOPE_NATIVE_PATH: '', ...env },
      }).toString(),
    ) as { binary: string; backend: string; whyEigen: string; blasBuild: string };

  it('loads from prebuilds/ without compiling', () => {
    const result = info();
    expect(result.binary).toBe('prebuild');
    expect(result.blasBuild).toBe('runtime-openblas');
    // node-gyp-build, run as npm's install step would, finds the prebuild and builds nothing.
    execFileSync(process.execPath, [path.join(pkg, 'node_modules', 'node-gyp-build', 'bin.js')], { cwd: pkg, env: { ...process.env, npm_config_build_from_source: '' } });
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
  });

  it.skipIf(!hasReadelf())('does not link BLAS or LAPACK at load time', () => {
    const dynamic = execFileSync('readelf', ['-d', path.join(prebuildDir, prebuilt[0] as string)]).toString();
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((lib) => /blas|lapack/i.test(lib ?? ''))).toEqual([]);
  });

  it('falls back to Eigen when OpenBLAS cannot be found', () => {
    const missing = info({ PARAMSCOPE_BLAS_LIBRARY: '/nonexistent/libopenblas.so.0' });
    expect(missing.backend).toBe('eigen');
    expect(missing.whyEigen).toMatch(/OpenBLAS not found/);
  });

  it('uses OpenBLAS where the system has it', () => {
    const systemHasOpenblas = spawnSync('sh', ['-c', 'ldconfig -p | grep -q libopenblas.so.0']).status === 0;
    const result = info();
    expect(result.backend).toBe(systemHasOpenblas ? 'openblas' : 'eigen');
  });
});
