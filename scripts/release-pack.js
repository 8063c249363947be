#!/usr/bin/env node
'use strict';
// npm run release:pack — the package as it would be published:
//   1. the TypeScript (dist/) and every prebuild (linux-x64, and linux-arm64 cross-compiled);
//   2. npm pack into build-release/;
//   3. the packaging tests against that tarball: install into an empty project with no compiler on
//      PATH, demo and doctor, the one-line message without a matching prebuild, a source build from the
//      tarball, the ELF / instruction-set checks of every prebuild;
//   4. what the tarball holds, with sizes.
// Flags: --skip-build (pack what prebuilds/ and dist/ hold now), --skip-tests; PARAMSCOPE_TEST_SOURCE_BUILD=0
// skips the source build from the tarball (minutes).
// Needs g++, make, python3, binutils and g++-aarch64-linux-gnu (Debian: apt-get install g++ make python3
// binutils g++-aarch64-linux-gnu). Failures are one line on stderr and exit code 1.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'build-release');
const args = new Set(process.argv.slice(2));
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const expectedPrebuilds = ['linux-x64', 'linux-arm64'];

function fail(message) {
  console.error(`release:pack: ${message}`);
  process.exit(1);
}

function step(title) {
  console.log(`\n=== ${title}`);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) fail(`${path.basename(cmd)} ${argv.join(' ')} failed (exit code ${r.status ?? r.signal})`);
  return r;
}

function formatBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The listing's rows: top-level files one by one, other files by folder (Eigen's by module), a lone file by name. */
function listTarball(pack) {
  const groups = new Map();
  for (const f of pack.files) {
    const eigen = /^(native\/third_party\/eigen\/Eigen\/src\/[^/]+\/)/.exec(f.path);
    const key = eigen ? eigen[1] : f.path.includes('/') ? `${path.posix.dirname(f.path)}/` : f.path;
    const entry = groups.get(key) || { files: [], bytes: 0 };
    entry.files.push(f.path);
    entry.bytes += f.size;
    groups.set(key, entry);
  }
  const rows = [...groups.entries()].map(([key, g]) => [g.files.length === 1 ? g.files[0] : key, g.files.length, g.bytes]).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, files, bytes] of rows) console.log(`  ${name.padEnd(width)}  ${String(files).padStart(4)} file${files === 1 ? ' ' : 's'}  ${formatBytes(bytes).padStart(10)}`);
  console.log(`  ${'total (unpacked)'.padEnd(width)}  ${String(pack.entryCount).padStart(4)} files  ${formatBytes(pack.unpackedSize).padStart(10)}`);
}

if (!args.has('--skip-build')) {
  step('TypeScript');
  run(npm[0], [...npm.slice(1), 'run', 'build:ts']);
  step('prebuilds: linux-x64 and linux-arm64');
  run(process.execPath, [path.join(__dirname, 'prebuild.js'), 'x64', 'arm64']);
}
for (const target of expectedPrebuilds) {
  const dir = path.join(root, 'prebuilds', target);
  if (!fs.existsSync(dir) || !fs.readdirSync(dir).some((f) => f.endsWith('.node'))) fail(`prebuilds/${target}/ has no .node: run without --skip-build`);
}

step('npm pack');
fs.mkdirSync(outDir, { recursive: true });
const packed = spawnSync(npm[0], [...npm.slice(1), 'pack', '--json', '--ignore-scripts', '--pack-destination', outDir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (packed.status !== 0) fail('npm pack failed');
const pack = JSON.parse(packed.stdout)[0];
const tarball = path.join(outDir, pack.filename);

if (!args.has('--skip-tests')) {
  step(`packaging tests against ${path.relative(root, tarball)}`);
  const tests = ['test/e2e/packaged-install.test.ts', 'test/e2e/install-message.test.ts', 'test/e2e/prebuild-isa.test.ts', 'test/e2e/prebuild.test.ts'];
  // Through `npm test`, as the README runs the suite (npm puts node_modules/.bin on PATH, which
  // node-gyp-build's install check in test/e2e/prebuild.test.ts needs).
  run(npm[0], [...npm.slice(1), 'test', '--', ...tests], {
    env: { ...process.env, PARAMSCOPE_PACKED_TARBALL: tarball, PARAMSCOPE_TEST_SOURCE_BUILD: process.env.PARAMSCOPE_TEST_SOURCE_BUILD ?? '1', PARAMSCOPE_TEST_REPORT: path.join(outDir, 'test-results.json') },
  });
}

step(`${path.relative(root, tarball)}: what it holds`);
listTarball(pack);
console.log(`\nrelease:pack: ${path.relative(root, tarball)}, ${formatBytes(pack.size)} compressed, ${pack.entryCount} files, ${formatBytes(pack.unpackedSize)} unpacked`);
