/**
 * scripts/install.js, npm's install step, where no prebuilt binary can be used: in a copy of the
 * package (without prebuilds, with prebuilds for other platforms only, with a prebuild that does not
 * load) and a PATH without compilers, it prints one line — the platform looked for, the prebuilds the
 * package has, the command that installs the build tools — exits 1 and never starts node-gyp. Also what
 * node-gyp-build itself does on musl with glibc-tagged prebuilds: it offers none.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, makeToolLessBin } from '../helpers/install-env';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const install = require('../../scripts/install.js') as {
  buildToolsCommand(platform: string, osRelease: Record<string, string>, isRoot: boolean): string | null;
  shippedPrebuilds(dir: string): string[];
  platformLookedFor(env: NodeJS.ProcessEnv): string;
};

const host = `${process.platform}-${process.arch}`;
const onDebian = fs.existsSync('/etc/debian_version');
const hostPrebuild = path.join(repoRoot, 'prebuilds', host, 'paramscope.glibc.node');

describe('install.js where no prebuild can be used and no compiler exists', () => {
  let tmp: string;
  let cleanup: () => void;
  let bin: string;

  beforeAll(() => {
    ({ dir: tmp, cleanup } = temporaryDirectory('paramscope-install-'));
    bin = makeToolLessBin(path.join(tmp, 'bin'));
  });
  afterAll(() => cleanup?.());

  /** A package as npm unpacks it, with the given prebuilds (folder/file -> bytes); dependencies resolvable. */
  function packageCopy(name: string, prebuilds: Record<string, Buffer | string>): string {
    const pkg = path.join(tmp, name);
    fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true });
    for (const f of ['package.json', 'binding.gyp', 'scripts/install.js', 'scripts/gyp-config.js']) fs.copyFileSync(path.join(repoRoot, f), path.join(pkg, f));
    for (const [file, bytes] of Object.entries(prebuilds)) {
      fs.mkdirSync(path.dirname(path.join(pkg, 'prebuilds', file)), { recursive: true });
      fs.writeFileSync(path.join(pkg, 'prebuilds', file), bytes);
    }
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
    return pkg;
  }

  function runInstall(pkg: string, extra: NodeJS.ProcessEnv = {}, pathValue = bin) {
    return spawnSync(path.join(bin, 'node'), [path.join(pkg, 'scripts', 'install.js')], { cwd: pkg, env: cleanEnv(pathValue, extra), encoding: 'utf8', timeout: 60_000 });
  }

  /** The one line, checked for what every such message must say. */
  function expectOneLine(r: ReturnType<typeof runInstall>, pkg: string): string {
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatch(/^paramscope: /);
    expect(line).not.toMatch(/gyp|\bat .*\(|Error:/);
    if (onDebian) expect(line).toMatch(/install the build tools with `(sudo )?apt-get install -y g\+\+ make python3` and run the install again$/);
    else expect(line).toMatch(/install the build tools with .* and run the install again$/);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false); // node-gyp never started
    return line;
  }

  it('without any prebuild: names the platform looked for and says the package has none', () => {
    const pkg = packageCopy('no-prebuilds', {});
    const line = expectOneLine(runInstall(pkg), pkg);
    expect(line).toContain(`no prebuilt binary matches ${host}-glibc (the package has no prebuilt binaries)`);
    expect(line).toContain('but g++, make, python3 are not on PATH');
  });

  it('on musl (LIBC=musl) with glibc prebuilds: names linux-<arch>-musl and lists what the package has', () => {
    const pkg = packageCopy('glibc-only', { 'linux-x64/paramscope.glibc.node': 'x', 'linux-arm64/paramscope.glibc.node': 'x' });
    const line = expectOneLine(runInstall(pkg, { LIBC: 'musl' }), pkg);
    expect(line).toContain(`no prebuilt binary matches ${host}-musl (the package has prebuilds for linux-arm64-glibc, linux-x64-glibc)`);
  });

  it('node-gyp-build offers no glibc-tagged prebuild on musl, and offers it on glibc', () => {
    const pkg = packageCopy('glibc-tagged', { [`${host}/paramscope.glibc.node`]: 'x' });
    const resolve = (libc: string) =>
      spawnSync(path.join(bin, 'node'), ['-p', `require('node-gyp-build').path(${JSON.stringify(pkg)})`], { cwd: pkg, env: cleanEnv(bin, { LIBC: libc }), encoding: 'utf8' });
    const musl = resolve('musl');
    expect(musl.status).not.toBe(0);
    expect(musl.stderr).toMatch(/No native build was found for .*libc=musl/);
    const glibc = resolve('glibc');
    expect(glibc.stdout.trim()).toBe(path.join(pkg, 'prebuilds', host, 'paramscope.glibc.node'));
  });

  it('with a matching prebuild that does not load: says which file and why', () => {
    const pkg = packageCopy('broken-prebuild', { [`${host}/paramscope.glibc.node`]: Buffer.from('not an ELF file') });
    const line = expectOneLine(runInstall(pkg), pkg);
    expect(line).toContain(`the prebuilt binary for ${host}-glibc (prebuilds/${host}/paramscope.glibc.node) does not load here (`);
  });

  it('when a build from source is asked for: says so', () => {
    const pkg = packageCopy('from-source', {});
    const line = expectOneLine(runInstall(pkg, { npm_config_build_from_source: 'true' }), pkg);
    expect(line).toContain(`a build from source was asked for (--build-from-source) on ${host}-glibc`);
  });

  it('names only the tools that are missing', () => {
    const pkg = packageCopy('make-missing', {});
    const partial = path.join(tmp, 'bin-partial');
    makeToolLessBin(partial);
    for (const tool of ['g++', 'python3']) fs.writeFileSync(path.join(partial, tool), '#!/bin/sh\necho 12.2.0\n', { mode: 0o755 });
    const line = expectOneLine(runInstall(pkg, {}, partial), pkg);
    expect(line).toContain('but make is not on PATH');
  });

  it('says when g++ is older than 10 (C++20)', () => {
    const pkg = packageCopy('old-gxx', {});
    const old = path.join(tmp, 'bin-old-gxx');
    makeToolLessBin(old);
    for (const tool of ['g++', 'make', 'python3']) fs.writeFileSync(path.join(old, tool), '#!/bin/sh\necho 9.4.0\n', { mode: 0o755 });
    const r = runInstall(pkg, {}, old);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('but g++ 9.4.0 is older than g++ 10: install a newer g++, set CXX to it');
  });

  it.skipIf(!fs.existsSync(hostPrebuild))('with a matching prebuild that loads: exits 0, prints nothing, builds nothing', () => {
    const pkg = packageCopy('good-prebuild', { [`${host}/paramscope.glibc.node`]: fs.readFileSync(hostPrebuild) });
    const r = runInstall(pkg);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
  });
});

describe('install.js: the command that installs the build tools', () => {
  const cases: Array<[string, Record<string, string>, string | null]> = [
    ['linux', { ID: 'debian' }, 'apt-get install -y g++ make python3'],
    ['linux', { ID: 'ubuntu', ID_LIKE: 'debian' }, 'apt-get install -y g++ make python3'],
    ['linux', { ID: 'linuxmint', ID_LIKE: 'ubuntu debian' }, 'apt-get install -y g++ make python3'],
    ['linux', { ID: 'alpine' }, 'apk add g++ make python3'],
    ['linux', { ID: 'fedora' }, 'dnf install -y gcc-c++ make python3'],
    ['linux', { ID: 'rocky', ID_LIKE: 'rhel centos fedora' }, 'dnf install -y gcc-c++ make python3'],
    ['linux', { ID: 'amzn', ID_LIKE: 'fedora' }, 'dnf install -y gcc-c++ make python3'],
    ['linux', { ID: 'opensuse-leap', ID_LIKE: 'suse opensuse' }, 'zypper install -y gcc-c++ make python3'],
    ['linux', { ID: 'arch' }, 'pacman -S --needed gcc make python'],
    ['linux', { ID: 'nixos' }, null],
    ['darwin', {}, 'xcode-select --install'],
    ['win32', {}, null],
  ];
  it.each(cases)('%s %j -> %s', (platform, osRelease, expected) => {
    expect(install.buildToolsCommand(platform, osRelease, true)).toBe(expected);
  });

  it('prefixes sudo when not root', () => {
    expect(install.buildToolsCommand('linux', { ID: 'alpine' }, false)).toBe('sudo apk add g++ make python3');
    expect(install.buildToolsCommand('darwin', {}, false)).toBe('xcode-select --install');
  });

  it('names prebuilds and the platform as node-gyp-build sees them', () => {
    expect(install.platformLookedFor({ npm_config_platform: 'linux', npm_config_arch: 'arm64', LIBC: 'musl' })).toBe('linux-arm64-musl');
    expect(install.platformLookedFor({ npm_config_platform: 'darwin', npm_config_arch: 'arm64' })).toBe('darwin-arm64');
    expect(install.shippedPrebuilds(path.join(repoRoot, 'does-not-exist'))).toEqual([]);
  });
});

// The package's own install step is this script, not node-gyp-build's bare rebuild.
it('package.json runs scripts/install.js as the install step', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
  expect(pkg.scripts.install).toBe('node scripts/install.js');
  expect(pkg.files).toContain('scripts/install.js');
  expect(execFileSync(process.execPath, ['--check', path.join(repoRoot, 'scripts', 'install.js')]).toString()).toBe('');
});
