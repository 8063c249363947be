#!/usr/bin/env node
'use strict';
// Regenerates docs/errors.md from native/include/paramscope/error_codes.def (the one list of codes).
// A test fails when the page is out of date: run `node scripts/gen-error-docs.js` after adding a code.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const def = fs.readFileSync(path.join(root, 'native/include/paramscope/error_codes.def'), 'utf8').split('\n');

const out = [
  '# Error codes',
  '',
  'Every failure is a `ParamscopeError` (an `Error` subclass) with a stable `code`, a message naming the',
  'file, tensor and values involved, and `file` / `tensor` properties where known. The CLI prints',
  '`paramscope <command>: CODE: message` on stderr and exits with 2 (1 for `INTERNAL`).',
  '',
  'Codes are appended, never renamed or reused. The list lives once in',
  '`native/include/paramscope/error_codes.def`; `lib/errors.ts` mirrors it, and this page is generated',
  'from it by `scripts/gen-error-docs.js` (tests check all three agree).',
];
let headerDone = false;
for (const line of def) {
  const section = /^\/\/ (.+)$/.exec(line);
  if (section && headerDone) out.push('', `## ${section[1]}`, '', '| code | meaning |', '|---|---|');
  if (!line.startsWith('//')) headerDone = true;
  const code = /^X\((\w+), "(.*)"\)$/.exec(line);
  if (code) out.push(`| \`${code[1]}\` | ${code[2]} |`);
}
fs.writeFileSync(path.join(root, 'docs', 'errors.md'), out.join('\n') + '\n');
