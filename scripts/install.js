#!/usr/bin/env node
'use strict';
// npm's install step. Uses the prebuilt binary in prebuilds/ when one matches this platform and loads
// (node-gyp-build picks it, exactly as the runtime loader in lib/native.ts will); otherwise builds from
// source with node-gyp. When that build cannot start because the tools are missing, it prints one line
// — the platform looked for, the prebuilds the package has, the command that installs the tools — and
// exits with code 1, instead of node-gyp's stack.
//
// Honours npm's --build-from-source (npm_config_build_from_source=true) and node-gyp-build's LIBC,
// npm_config_arch and npm_config_platform, as node-gyp-build does.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const packageName = 'paramscope';

/** The C library node-gyp-build matches prebuilds against ('glibc' or 'musl'), decided as it does. */
function libc(env = process.env, platform = process.platform) {
  return env.LIBC || (platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/** The platform a prebuild is looked for, e.g. linux-x64-glibc, linux-arm64-musl, darwin-arm64. */
function platformLookedFor(env = process.env) {
  const platform = env.npm_config_platform || process.platform;
  const arch = env.npm_config_arch || process.arch;
  return platform === 'linux' ? `${platform}-${arch}-${libc(env, platform)}` : `${platform}-${arch}`;
}

/** The prebuilds the package holds, named like platformLookedFor (prebuilds/linux-x64/x.glibc.node -> linux-x64-glibc). */
function shippedPrebuilds(dir = path.join(root, 'prebuilds')) {
  let folders = [];
  try {
    folders = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
  const names = [];
  for (const folder of folders) {
    for (const file of fs.readdirSync(path.join(dir, folder)).filter((f) => f.endsWith('.node')).sort()) {
      const tags = file.split('.').slice(1, -1);
      const c = tags.find((t) => t === 'glibc' || t === 'musl');
      names.push(c ? `${folder}-${c}` : folder);
    }
  }
  return [...new Set(names)];
}

/** The one command that installs the build tools on this system, or null when there is none to name. */
function buildToolsCommand(platform = process.platform, osRelease = readOsRelease(), isRoot = process.getuid?.() === 0) {
  if (platform === 'darwin') return 'xcode-select --install';
  if (platform !== 'linux') return null;
  const sudo = isRoot ? '' : 'sudo ';
  const id = (osRelease.ID || '').toLowerCase();
  const like = `${id} ${(osRelease.ID_LIKE || '').toLowerCase()}`.split(/\s+/);
  if (like.includes('alpine')) return `${sudo}apk add g++ make python3`;
  if (like.includes('debian') || like.includes('ubuntu')) return `${sudo}apt-get install -y g++ make python3`;
  if (like.some((x) => ['fedora', 'rhel', 'centos', 'amzn'].includes(x))) return `${sudo}dnf install -y gcc-c++ make python3`;
  if (like.some((x) => x.startsWith('suse') || x.startsWith('opensuse') || x === 'sles')) return `${sudo}zypper install -y gcc-c++ make python3`;
  if (like.includes('arch')) return `${sudo}pacman -S --needed gcc make python`;
  return null;
}

function readOsRelease() {
  const fields = {};
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
        if (m) fields[m[1]] = m[3];
      }
      break;
    } catch {
      // try the next one
    }
  }
  if (!fields.ID && fs.existsSync('/etc/alpine-release')) fields.ID = 'alpine';
  return fields;
}

/** The absolute path of an executable found on PATH (or the path itself when it has a slash), or null. */
function which(cmd, env = process.env) {
  if (!cmd) return null;
  const exts = process.platform === 'win32' ? (env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  const isExecutable = (file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/') || cmd.includes('\\')) return isExecutable(cmd) ? path.resolve(cmd) : null;
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) if (isExecutable(path.join(dir, cmd + ext))) return path.join(dir, cmd + ext);
  }
  return null;
}

/**
 * What a node-gyp build needs here and lacks: { missing: ['g++', 'make'], tooOld: 'g++ 9' | null }.
 * Windows is left to node-gyp (it finds Visual Studio itself); macOS needs the Command Line Tools.
 */
function missingBuildTools(env = process.env, platform = process.platform) {
  const missing = [];
  let tooOld = null;
  if (platform === 'win32') return { missing, tooOld };
  if (platform === 'darwin') {
    const clt = which('xcode-select', env) ? spawnSync('xcode-select', ['-p'], { env, stdio: 'ignore' }).status === 0 : false;
    if (!clt) missing.push('the Xcode Command Line Tools');
  } else {
    // node-gyp's Makefile compiles and links with $(CXX), which make defaults to g++.
    const cxx = (env.CXX || 'g++').trim().split(/\s+/)[0];
    const found = which(cxx, env);
    if (!found) missing.push(cxx);
    else if (/(^|[-/])g\+\+(-[\d.]+)?$/.test(cxx)) {
      const version = spawnSync(found, ['-dumpversion'], { env, encoding: 'utf8' }).stdout?.trim() || '';
      const major = Number.parseInt(version, 10);
      if (Number.isFinite(major) && major < 10) tooOld = `${cxx} ${version}`;
    }
    const make = ['freebsd', 'openbsd', 'netbsd'].includes(platform) ? 'gmake' : 'make';
    if (!which(make, env)) missing.push(make);
  }
  const python = env.npm_config_python || env.PYTHON;
  if (!(python ? which(python, env) : which('python3', env) || which('python', env))) missing.push(python || 'python3');
  return { missing, tooOld };
}

/** Tries the prebuilt binary: { status: 'loaded' | 'none' | 'broken', file?, reason? }. */
function tryPrebuild() {
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch (error) {
    return { status: 'none', reason: String(error.message || error).split('\n')[0] };
  }
  try {
    require(file);
    return { status: 'loaded', file };
  } catch (error) {
    return { status: 'broken', file, reason: String(error.message || error).split('\n')[0] };
  }
}

/** How to run node-gyp: the package's own, npm's bundled one, or the one on PATH. */
function nodeGyp(env = process.env) {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })];
  } catch {
    // not installed beside the package
  }
  if (env.npm_config_node_gyp && fs.existsSync(env.npm_config_node_gyp)) return [process.execPath, env.npm_config_node_gyp];
  return ['node-gyp'];
}

/** The one line printed when a source build is needed and cannot start. */
function missingToolsMessage({ why, missing, tooOld, command }) {
  const needs = process.platform === 'darwin' ? 'the Xcode Command Line Tools and python3' : 'g++ >= 10 (or $CXX), make and python3';
  let problem;
  if (missing.length) {
    const how = command ? `install the build tools with \`${command}\`` : "install the build tools with the system's package manager";
    problem = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on PATH: ${how} and run the install again`;
  } else {
    problem = `${tooOld} is older than g++ 10: install a newer g++, set CXX to it (e.g. CXX=g++-12) and run the install again`;
  }
  return `${packageName}: ${why}, and building from source needs ${needs}, but ${problem}`;
}

function main() {
  const env = process.env;
  const looked = platformLookedFor(env);
  const shipped = shippedPrebuilds();
  const has = shipped.length ? `the package has prebuilds for ${shipped.join(', ')}` : 'the package has no prebuilt binaries';
  let why;
  if (env.npm_config_build_from_source === 'true') {
    why = `a build from source was asked for (--build-from-source) on ${looked}`;
  } else {
    const prebuild = tryPrebuild();
    if (prebuild.status === 'loaded') return 0;
    why =
      prebuild.status === 'broken'
        ? `the prebuilt binary for ${looked} (${path.relative(root, prebuild.file)}) does not load here (${prebuild.reason})`
        : `no prebuilt binary matches ${looked} (${has})`;
  }
  const { missing, tooOld } = missingBuildTools(env);
  if (missing.length || tooOld) {
    process.stderr.write(missingToolsMessage({ why, missing, tooOld, command: buildToolsCommand() }) + '\n');
    return 1;
  }
  process.stderr.write(`${packageName}: ${why}; building from source with node-gyp\n`);
  const [cmd, ...args] = nodeGyp(env);
  const build = spawnSync(cmd, [...args, 'rebuild'], { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' && cmd === 'node-gyp' });
  if (build.status === 0) return 0;
  const how = build.error ? build.error.message : build.signal ? `signal ${build.signal}` : `exit code ${build.status}`;
  process.stderr.write(`${packageName}: the source build for ${looked} failed (node-gyp: ${how}); the compiler's messages are above\n`);
  return 1;
}

module.exports = { libc, platformLookedFor, shippedPrebuilds, buildToolsCommand, readOsRelease, which, missingBuildTools, tryPrebuild, missingToolsMessage };

if (require.main === module) process.exitCode = main();
