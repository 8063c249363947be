/**
 * The package as a user installs it: `npm pack` (or the tarball PARAMSCOPE_PACKED_TARBALL names, which
 * `npm run release:pack` passes), installed into an empty project with a PATH that holds node, npm, npx
 * and sh but no compiler, make or python3. The install must take the prebuilt binary and compile
 * nothing; `npx paramscope demo` and `doctor` run from the installed copy. Also: the same install where no
 * prebuild matches (LIBC=musl) fails with the install script's one line, and — with
 * PARAMSCOPE_TEST_SOURCE_BUILD=1 (.ci/run and release:pack set it; it compiles the core, minutes) — a
 * source build from the tarball alone, which proves the tarball carries every source and header it needs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTools, cleanEnv, makeToolLessBin, npmCli, reachable, runFromBin, runFromBinAsync, type RunResult } from '../helpers/install-env';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

const host = `${process.platform}-${process.arch}`;
const hostPrebuildDir = path.join(repoRoot, 'prebuilds', host);
const givenTarball = process.env.PARAMSCOPE_PACKED_TARBALL ? path.resolve(process.env.PARAMSCOPE_PACKED_TARBALL) : '';
const canPack = fs.existsSync(hostPrebuildDir) && fs.readdirSync(hostPrebuildDir).some((f) => f.endsWith('.node')) && fs.existsSync(path.join(repoRoot, 'dist', 'index.js'));
const available = givenTarball ? fs.existsSync(givenTarball) : canPack;
if (!available)
  console.warn(
    givenTarball
      ? `[skip] packaged install: PARAMSCOPE_PACKED_TARBALL=${givenTarball} does not exist`
      : `[skip] packaged install: no prebuilds/${host}/*.node or no dist/ to pack: run \`npm run prebuild\` and \`npm run build:ts\` (.ci/run does)`,
  );
const sourceBuild = process.env.PARAMSCOPE_TEST_SOURCE_BUILD === '1';
if (available && !sourceBuild) console.warn('[skip] source build from the tarball: set PARAMSCOPE_TEST_SOURCE_BUILD=1 to run it (minutes; .ci/run does)');

const installFlags = ['--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'];

function emptyProject(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'paramscope-install-probe', version: '1.0.0', private: true }));
  return dir;
}

function output(r: Pick<RunResult, 'stdout' | 'stderr'>): string {
  return `${r.stdout}\n${r.stderr}`;
}

describe.skipIf(!available)('the packed tarball, installed without build tools', () => {
  let tmp: string;
  let cleanup: () => void;
  let tarball: string;
  let entries: string[];
  let bin: string;
  let env: NodeJS.ProcessEnv;
  let project: string;
  let installed: string;
  let install: RunResult;

  beforeAll(async () => {
    ({ dir: tmp, cleanup } = temporaryDirectory('paramscope-packed-'));
    if (givenTarball) {
      tarball = givenTarball;
    } else {
      // dist/ is fresh (global setup), so the pack needs no prepare script.
      const packed = execFileSync(process.execPath, [npmCli(), 'pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: repoRoot, encoding: 'utf8' });
      tarball = path.join(tmp, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
    }
    entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((e) => e.replace(/^package\//, ''));
    bin = makeToolLessBin(path.join(tmp, 'bin'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh')); // npm runs scripts with sh
    env = cleanEnv(bin);
    project = emptyProject(path.join(tmp, 'project'));
    installed = path.join(project, 'node_modules', 'paramscope');
    install = await runFromBinAsync(bin, 'npm', ['install', tarball, ...installFlags], project, env);
  }, 300_000);
  afterAll(() => cleanup?.());

  it('carries the prebuilt binaries, the install script and the sources, and no tests, benchmarks or build folders', () => {
    expect(entries).toContain(`prebuilds/${host}/paramscope.glibc.node`);
    if (givenTarball) expect(entries).toEqual(expect.arrayContaining(['prebuilds/linux-x64/paramscope.glibc.node', 'prebuilds/linux-arm64/paramscope.glibc.node']));
    for (const f of ['package.json', 'scripts/install.js', 'scripts/gyp-config.js', 'binding.gyp', 'native/sources.txt', 'native/third_party/eigen/Eigen/Dense', 'native/third_party/eigen/COPYING.MPL2', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'bin/paramscope.js'])
      expect(entries).toContain(f);
    const listed = fs.readFileSync(path.join(repoRoot, 'native', 'sources.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(listed.filter((s) => !entries.includes(s))).toEqual([]);
    const unwanted = entries.filter((e) => /^(test|benchmarks|build[^/]*|node_modules|\.ci|lib)\/|\.map$|\.tgz$|lapacke\.h$|\/(Sparse\w*|IterativeLinearSolvers|OrderingMethods)(\/|$)/.test(e));
    expect(unwanted).toEqual([]);
    // Small: the prebuilds and the Eigen headers a source build needs; well under 3 MiB compressed.
    expect(fs.statSync(tarball).size).toBeLessThan(3 * 1024 * 1024);
  });

  it('runs in a PATH with node and npm and none of the build tools', () => {
    for (const tool of ['node', 'npm', 'npx']) expect(reachable(tool, env.PATH!), tool).toBe(true);
    expect(buildTools.filter((tool) => reachable(tool, env.PATH!))).toEqual([]);
  });

  it('installs from the prebuilt binary and compiles nothing', () => {
    expect(install.status, output(install)).toBe(0);
    expect(output(install)).not.toMatch(/gyp (info|ERR)|node-gyp|building from source/);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    // The loader's choice, asked of node-gyp-build in the installed project.
    const chosen = execFileSync(path.join(bin, 'node'), ['-p', `require('node-gyp-build').path(${JSON.stringify(installed)})`], { cwd: project, env, encoding: 'utf8' }).trim();
    expect(chosen).toBe(path.join(installed, 'prebuilds', host, 'paramscope.glibc.node'));
  });

  it('`npx paramscope doctor` says the binary is the prebuilt one', () => {
    const doctor = runFromBin(bin, 'npx', ['paramscope', 'doctor'], project, env, 60_000);
    expect(doctor.status, output(doctor)).toBe(0);
    expect(doctor.stdout).toMatch(/^binary\s+prebuild, /m);
    const json = runFromBin(bin, 'npx', ['paramscope', 'doctor', '--json'], project, env, 60_000);
    expect(JSON.parse(json.stdout)).toMatchObject({ binary: 'prebuild', platform: host });
  });

  it('`npx paramscope demo` diffs the example pair and writes the HTML reports', () => {
    const dir = path.join(tmp, 'demo');
    const demo = runFromBin(bin, 'npx', ['paramscope', 'demo', '--dir', dir], project, env, 120_000);
    expect(demo.status, output(demo)).toBe(0);
    expect(demo.stdout).toMatch(/tuned-concentrated: \d+ matrices compared/);
    expect(demo.stdout).toMatch(/tuned-dispersed: \d+ matrices compared/);
    for (const kind of ['concentrated', 'dispersed']) expect(fs.statSync(path.join(dir, `report-${kind}.html`)).size).toBeGreaterThan(1000);
  });

  it('works with install scripts disabled too (the loader finds the prebuild itself)', async () => {
    const other = emptyProject(path.join(tmp, 'project-ignore-scripts'));
    const r = await runFromBinAsync(bin, 'npm', ['install', tarball, '--ignore-scripts', ...installFlags], other, env);
    expect(r.status, output(r)).toBe(0);
    const doctor = runFromBin(bin, 'npx', ['paramscope', 'doctor', '--json'], other, env, 60_000);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ binary: 'prebuild' });
  });

  it('where no prebuild matches (LIBC=musl), fails with one line naming the platform, the prebuilds and the fix', async () => {
    const other = emptyProject(path.join(tmp, 'project-musl'));
    const r = await runFromBinAsync(bin, 'npm', ['install', tarball, ...installFlags], other, { ...env, LIBC: 'musl' });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('paramscope: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`no prebuilt binary matches ${host}-musl (the package has prebuilds for `);
    expect(lines[0]).toContain(`${host}-glibc`);
    expect(lines[0]).toMatch(/are not on PATH: install the build tools with `[^`]+` and run the install again$/);
    expect(output(r)).not.toMatch(/gyp (info|ERR)|node-gyp/);
  });

  it.runIf(sourceBuild)(
    'builds from the tarball\'s sources alone where a build is asked for (the path of platforms without a prebuild)',
    async () => {
      for (const tool of ['g++', 'make', 'python3']) expect(reachable(tool, process.env.PATH ?? ''), `${tool} on PATH`).toBe(true);
      const other = emptyProject(path.join(tmp, 'project-source'));
      const withTools = cleanEnv(`${bin}${path.delimiter}${process.env.PATH ?? ''}`);
      // npm's --build-from-source, as npm hands it to install scripts.
      const r = await runFromBinAsync(bin, 'npm', ['install', tarball, ...installFlags], other, { ...withTools, npm_config_build_from_source: 'true' }, 1_500_000);
      expect(r.status, output(r).slice(-4000)).toBe(0);
      const pkg = path.join(other, 'node_modules', 'paramscope');
      expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'paramscope.node'))).toBe(true);
      const doctor = runFromBin(bin, 'npx', ['paramscope', 'doctor', '--json'], other, withTools, 60_000);
      expect(JSON.parse(doctor.stdout)).toMatchObject({ binary: 'local-build' });
      const demo = runFromBin(bin, 'npx', ['paramscope', 'demo', '--dir', path.join(tmp, 'demo-source')], other, withTools, 120_000);
      expect(demo.status, output(demo)).toBe(0);
      expect(demo.stdout).toMatch(/tuned-dispersed: \d+ matrices compared/);
    },
    1_800_000,
  );
});
