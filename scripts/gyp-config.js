#!/usr/bin/env node
'use strict';
// Answers binding.gyp's questions at configure time, so gyp and CMake share one source list and one
// way of finding OpenBLAS.
//   sources      -> the files in native/sources.txt, one per line
//   blas         -> 1 (look for OpenBLAS at run time) or 0 (Eigen-only: PARAMSCOPE_BLAS_BUILD=off)
//   blas-libdir  -> the directory pkg-config reports for openblas, tried first at run time ('' if none);
//                   PARAMSCOPE_BLAS_LIBDIR names it instead (scripts/prebuild.js: the target's directory
//                   when cross-compiling, where the build machine's pkg-config would answer for itself)
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const what = process.argv[2];

if (what === 'sources') {
  const lines = fs.readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8').split('\n');
  process.stdout.write(lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join('\n') + '\n');
} else if (what === 'blas') {
  const off = ['off', '0', 'eigen', 'no'].includes(String(process.env.PARAMSCOPE_BLAS_BUILD || '').toLowerCase());
  process.stdout.write(off ? '0' : '1');
} else if (what === 'blas-libdir') {
  let dir = process.env.PARAMSCOPE_BLAS_LIBDIR;
  if (dir === undefined) {
    try {
      dir = execFileSync('pkg-config', ['--variable=libdir', 'openblas'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    } catch {
      dir = '';
    }
  }
  dir = dir.trim().replace(/\/+$/, '');
  process.stdout.write(/^[\w./+-]*$/.test(dir) ? dir : '');
} else {
  process.stderr.write(`gyp-config.js: unknown question ${what}\n`);
  process.exit(1);
}
