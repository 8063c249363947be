#!/usr/bin/env node
'use strict';
// Builds the prebuilt binaries the package ships, with prebuildify (N-API, so one binary serves every
// Node.js >= 18; tagged glibc, so node-gyp-build never offers them on musl):
//   node scripts/prebuild.js            the host's architecture   (npm run prebuild)
//   node scripts/prebuild.js arm64      linux-arm64, cross-compiled with Debian's g++-aarch64-linux-gnu
//   node scripts/prebuild.js x64 arm64  both                       (npm run prebuild:all)
// Each is compiled in build-prebuild/stage-<arch>/ (the checkout's build/ is left alone) and lands in
// prebuilds/linux-<arch>/paramscope.glibc.node, stripped; its unstripped twin is kept in
// build-prebuild/linux-<arch>/ for the instruction-set check (scripts/check-prebuild.js), which needs
// function names. The ISA is pinned, not left to the compiler's default: baseline x86-64 (the AVX2
// kernels carry their own target attributes and are chosen at run time), baseline ARMv8-A without
// outline atomics (no LSE code anywhere in the arm64 binary). OpenBLAS is dlopen'ed at run time from
// Debian's multiarch directory for the target, then from the loader's search path.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');

const TARGETS = {
  x64: { triplet: 'x86_64-linux-gnu', cflags: '-march=x86-64 -mtune=generic', aptPackage: 'g++-x86-64-linux-gnu' },
  arm64: { triplet: 'aarch64-linux-gnu', cflags: '-march=armv8-a -mno-outline-atomics', aptPackage: 'g++-aarch64-linux-gnu' },
};

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

function buildOne(arch) {
  const target = TARGETS[arch];
  if (!target) fail(`unknown architecture ${arch} (known: ${Object.keys(TARGETS).join(', ')})`);
  const cross = os.arch() !== arch;
  const prefix = cross ? `${target.triplet}-` : '';
  for (const tool of ['gcc', 'g++', 'strip']) {
    if (!onPath(prefix + tool)) fail(`${arch} needs ${prefix}${tool} on PATH: apt-get install ${cross ? target.aptPackage : 'g++ binutils'}`);
  }
  const folder = `linux-${arch}`;
  const name = 'paramscope.glibc.node';
  const shipped = path.join(root, 'prebuilds', folder, name);
  const twin = path.join(root, 'build-prebuild', folder, name);
  fs.rmSync(shipped, { force: true });

  const env = {
    ...process.env,
    CC: `${prefix}gcc`,
    CXX: `${prefix}g++`,
    CFLAGS: target.cflags,
    CXXFLAGS: target.cflags,
    PARAMSCOPE_BLAS_LIBDIR: `/usr/lib/${target.triplet}/openblas-pthread`,
  };
  // A staging directory of links to the sources, so the build never touches the checkout's build/ (a
  // developer's local build stays where node-gyp-build looks first).
  const stage = path.join(root, 'build-prebuild', `stage-${arch}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const file of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(root, file), path.join(stage, file));
  for (const dir of ['native', 'scripts', 'node_modules']) fs.symlinkSync(path.join(root, dir), path.join(stage, dir));

  console.log(`prebuild: ${folder} with ${env.CXX} ${target.cflags}`);
  const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
  const build = spawnSync(process.execPath, [prebuildify, '--napi', '--tag-libc', `--arch=${arch}`, `--cwd=${stage}`, `--out=${root}`], { cwd: stage, env, stdio: 'inherit' });
  if (build.status !== 0) fail(`prebuildify for ${folder} failed (exit code ${build.status ?? build.signal})`);
  if (!fs.existsSync(shipped)) fail(`prebuildify made no ${path.relative(root, shipped)}`);

  fs.mkdirSync(path.dirname(twin), { recursive: true });
  fs.renameSync(shipped, twin);
  const strip = spawnSync(`${prefix}strip`, ['--strip-all', '-o', shipped, twin], { stdio: 'inherit' });
  if (strip.status !== 0) fail(`${prefix}strip failed on ${path.relative(root, twin)}`);
  fs.rmSync(stage, { recursive: true, force: true });
  console.log(`prebuild: ${path.relative(root, shipped)} (${fs.statSync(shipped).size} bytes; unstripped twin in ${path.relative(root, twin)})`);
}

if (process.platform !== 'linux') fail(`prebuilds are made on Linux (this is ${process.platform})`);
const arches = process.argv.slice(2);
for (const arch of arches.length ? arches : [os.arch()]) buildOne(arch);
