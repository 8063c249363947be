#!/usr/bin/env node
'use strict';
// Checks a prebuilt binary for what the package promises about it, with binutils:
//   - readelf -h: the ELF machine is the one its folder names (x86-64 / AArch64);
//   - readelf -d: no BLAS or LAPACK in DT_NEEDED (OpenBLAS is dlopen'ed at run time);
//   - readelf --dyn-syms: an N-API-only addon (napi_register_module_v1, no V8/node C++ imports), so one
//     binary serves every Node.js version with N-API 8;
//   - objdump -d: only baseline instructions (x86-64: SSE2; arm64: ARMv8.0-A), except, on x86-64, in the
//     functions the core declares with __attribute__((target("..."))) and calls only after a cpuid check.
//
// Why this check is sound. x86-64: an ISA flag for a whole file (-mavx2, -march=haswell) makes GCC
// VEX-encode every SSE operation, so v-prefixed mnemonics would appear in ordinary functions; the only
// AVX code allowed is inside functions whose own target attribute enables it. Function boundaries need
// symbols, so the x64 scan reads the unstripped twin that scripts/prebuild.js keeps in build-prebuild/
// and first proves it is the shipped file's twin (stripping it gives the shipped bytes). In AT&T syntax
// every VEX/EVEX-encoded instruction has a v-prefixed mnemonic (or is an AVX-512 mask op), so the AVX
// family cannot hide from the mnemonic test; SSE3/SSSE3/SSE4, POPCNT, BMI and the like are listed.
// arm64: the core has no run-time dispatch on aarch64 (its x86 paths are compiled out) and the build uses
// -march=armv8-a -mno-outline-atomics (no libgcc LSE helpers), so any extension instruction anywhere is a
// failure; the stripped file is scanned whole, and the judge is GNU as: the disassembly is re-assembled
// with -march=armv8-a, which rejects every instruction (with its operands) that ARMv8.0-A lacks.
//
// CLI: node scripts/check-prebuild.js [prebuilds/linux-x64/paramscope.glibc.node ...] (default: every
// prebuild present). Prints one line per binary; a failure is one line on stderr and exit code 1.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');

/** What each prebuild folder's binary must be, and the binutils that read it. */
const TARGETS = {
  'linux-x64': { arch: 'x64', machine: 'Advanced Micro Devices X86-64', triplet: 'x86_64-linux-gnu' },
  'linux-arm64': { arch: 'arm64', machine: 'AArch64', triplet: 'aarch64-linux-gnu' },
};

/** A binutils program for a target: the plain one on a host of that architecture, else the triplet's. */
function tool(target, name) {
  return os.arch() === TARGETS[target].arch ? name : `${TARGETS[target].triplet}-${name}`;
}

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

function run(cmd, args) {
  return execFileSync(cmd, args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** The ELF machine name from readelf -h. */
function elfMachine(file) {
  const m = /^\s*Machine:\s*(.+)$/m.exec(run('readelf', ['-h', file]));
  return m ? m[1].trim() : '';
}

/** The DT_NEEDED entries from readelf -d. */
function neededLibraries(file) {
  return [...run('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

/** The newest GLIBC_ and GLIBCXX_ symbol versions the binary requires (readelf -V). */
function requiredVersions(file) {
  const text = run('readelf', ['-V', file]);
  const newest = (prefix) => {
    const versions = [...text.matchAll(new RegExp(`Name: ${prefix}_([0-9.]+)`, 'g'))].map((m) => m[1]);
    versions.sort((a, b) => {
      const x = a.split('.').map(Number);
      const y = b.split('.').map(Number);
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
      return 0;
    });
    return versions.length ? versions[versions.length - 1] : null;
  };
  return { glibc: newest('GLIBC'), glibcxx: newest('GLIBCXX') };
}

/**
 * What the binary asks of Node: { registers: exports napi_register_module_v1, napi: how many napi_*
 * functions it imports, nodeAbi: imported V8 / node C++ symbols (they would tie it to one Node version) }.
 */
function nodeInterface(file) {
  const rows = run('readelf', ['--dyn-syms', '-W', file]).split('\n').map((l) => l.trim().split(/\s+/));
  const imported = rows.filter((r) => r[6] === 'UND' && r[7]).map((r) => r[7].replace(/@.*$/, ''));
  const exported = rows.filter((r) => r[6] && r[6] !== 'UND' && r[7]).map((r) => r[7].replace(/@.*$/, ''));
  return {
    registers: exported.includes('napi_register_module_v1'),
    napi: imported.filter((n) => n.startsWith('napi_')).length,
    nodeAbi: imported.filter((n) => /^_ZN(2v8|4node)/.test(n) || n.startsWith('node_module_register')),
  };
}

// ---- x86-64: which instructions are beyond baseline x86-64 (SSE2) ------------------------------------

const X86_PREFIXES = new Set(['rep', 'repz', 'repe', 'repnz', 'repne', 'lock', 'notrack', 'bnd', 'data16', 'addr32', 'cs', 'ds', 'es', 'ss', 'fs', 'gs', 'xacquire', 'xrelease']);
const X86_VMX = new Set(['verr', 'verw', 'vmcall', 'vmlaunch', 'vmresume', 'vmxoff', 'vmxon', 'vmread', 'vmwrite', 'vmptrld', 'vmptrst', 'vmclear', 'vmfunc', 'vmrun', 'vmload', 'vmsave', 'vmmcall']);
const X86_SETS = [
  ['sse3', /^(addsubp[sd]|h(add|sub)p[sd]|lddqu|movddup|movs[hl]dup|fisttp[sl]*|monitor|mwait)$/],
  ['ssse3', /^(pabs[bwd]|palignr|ph(add|sub)(w|d|sw)|pmaddubsw|pmulhrsw|pshufb|psign[bwd])$/],
  ['sse4.1', /^(blendv?p[sd]|pblendvb|pblendw|dpp[sd]|extractps|insertps|movntdqa|mpsadbw|packusdw|pcmpeqq|pextr[bdq]|phminposuw|pinsr[bdq]|pmaxs[bd]|pmaxu[dw]|pmins[bd]|pminu[dw]|pmov[sz]x\w+|pmuldq|pmulld|ptest|round[ps][sd])$/],
  ['sse4.2', /^(crc32[bwlq]?|pcmp[ei]str[im]|pcmpgtq)$/],
  ['popcnt', /^popcnt[wlq]?$/],
  ['lzcnt', /^lzcnt[wlq]?$/],
  ['bmi', /^(andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)[lq]?$/],
  ['movbe', /^movbe[wlq]?$/],
  ['adx', /^ad[co]x[lq]?$/],
  ['aes/pclmul/sha', /^(aes(enc|enclast|dec|declast|imc|keygenassist)|pclmul\w*|sha(1|256)\w+)$/],
  ['avx-512', /^k(mov|and|andn|or|xor|xnor|not|add|shiftl|shiftr|test|ortest|unpck)[bwdq]?\w*$/],
];

/** The non-baseline feature an objdump (AT&T) instruction needs, or null for baseline x86-64. */
function x86Feature(mnemonic, operands) {
  if (/%zmm\d|%k[0-7]\b|\{%k[0-7]\}/.test(operands)) return 'avx-512';
  if (mnemonic.startsWith('v') && !X86_VMX.has(mnemonic)) {
    if (/^vfn?m(add|sub)/.test(mnemonic)) return 'fma';
    if (/^vcvt(ph2ps|ps2ph)$/.test(mnemonic)) return 'f16c';
    return /%ymm\d/.test(operands) ? 'avx-256' : 'avx';
  }
  for (const [feature, re] of X86_SETS) if (re.test(mnemonic)) return feature;
  return null;
}

// ---- AArch64: which instructions are beyond ARMv8.0-A --------------------------------------------------

const ARM_SETS = [
  ['lse (v8.1 atomics)', /^(ld(add|clr|eor|set|smax|smin|umax|umin)|st(add|clr|eor|set|smax|smin|umax|umin)|swp|casp?)(a|l|al)?(b|h)?$/],
  ['lse128', /^(ldclrp|ldsetp|swpp)(a|l|al)?$/],
  ['rdm (v8.1)', /^sqrdml[as]h$/],
  ['lor (v8.1)', /^(ldlar|stllr)(b|h)?$/],
  ['crc32', /^crc32c?[bhwx]$/],
  ['crypto', /^(aes[ed]|aesi?mc|sha1[chmp]|sha1su[01]|sha256(h2?|su[01])|sha512\w*|sm3\w*|sm4\w*|eor3|bcax|rax1|xar)$/],
  ['dotprod', /^[su]dot$/],
  ['i8mm', /^(smmla|ummla|usmmla|usdot|sudot)$/],
  ['bf16', /^bf(cvt\w*|dot|mmla|mlal[bt])$/],
  ['rcpc', /^(ldapr|ldapur|stlur)\w*$/],
  ['fcma', /^(fcmla|fcadd)$/],
  ['jscvt', /^fjcvtzs$/],
  ['frintts', /^frint(32|64)[xz]$/],
  ['flagm', /^(cfinv|rmif|setf8|setf16|axflag|xaflag)$/],
  ['pauth (non-hint)', /^((pac|aut)(ia|ib|da|db|iza|izb|dza|dzb|ga)|reta[ab]|bra[ab]z?|blra[ab]z?|eret[ab]a|ldra[ab])$/],
  ['mte', /^(irg|gmi|subps?|addg|subg|stz?2?g|ldg|stgp|ldgm|stgm|stzgm)$/],
  ['sb (v8.5)', /^sb$/],
  ['wfxt (v8.7)', /^(wfet|wfit)$/],
];
const ARM_FP16_OK = new Set(['fcvt', 'fcvtl', 'fcvtl2', 'fcvtn', 'fcvtn2']);

/** The extension an objdump AArch64 instruction needs, or null for ARMv8.0-A. */
function arm64Feature(mnemonic, operands) {
  if (mnemonic === '.inst') return 'unknown encoding';
  if (/(^|[\s,{[])z([0-9]|[12][0-9]|3[01])(\.[bhsdq]|\b)/.test(operands) || /(^|[\s,{])p([0-9]|1[0-5])(\/[zm]|\.[bhsdq])/.test(operands)) return 'sve';
  if (/^(ptrue|pfalse|whilel[eot]|whilelo|incb|incd|inch|incw|cnt[bhwd]|rdvl|addvl|addpl|smstart|smstop)$/.test(mnemonic)) return 'sve/sme';
  for (const [feature, re] of ARM_SETS) if (re.test(mnemonic)) return feature;
  // Half-precision arithmetic (FEAT_FP16); conversions between half and single/double are ARMv8.0.
  if (/^(f|[su]cvtf)/.test(mnemonic) && !ARM_FP16_OK.has(mnemonic) && /(^|[\s,])h([0-9]|[12][0-9]|3[01])\b|\.[48]h\b/.test(operands)) return 'fp16';
  if (mnemonic === 'pmull' || mnemonic === 'pmull2') if (/\.1q\b/.test(operands)) return 'crypto (pmull.1q)';
  if (mnemonic === 'dc' && /^(cvap|cvadp)\b/.test(operands)) return 'dcpop';
  return null;
}

// ---- disassembly ---------------------------------------------------------------------------------------

/** objdump -d as functions: [{ name, instructions: [{ address, mnemonic, operands }] }]. */
function disassemble(objdump, file, { demangle }) {
  const args = ['-d', '--no-show-raw-insn', '-w'];
  if (demangle) args.push('-C');
  const text = run(objdump, [...args, file]);
  const functions = [];
  let current = { name: '(section start)', instructions: [] };
  functions.push(current);
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (header) {
      current = { name: header[1], instructions: [] };
      functions.push(current);
      continue;
    }
    const insn = /^\s+([0-9a-f]+):\t(.*)$/.exec(line);
    if (!insn) continue;
    // Comments: x86 "# 1234 <sym>" (an AArch64 immediate is "#12", no space), AArch64 "// ...".
    const tokens = insn[2].replace(/\s+#\s.*$/, '').replace(/\s+\/\/.*$/, '').trim().split(/\s+/);
    while (tokens.length > 1 && X86_PREFIXES.has(tokens[0])) tokens.shift();
    const mnemonic = tokens.shift() || '';
    if (mnemonic === '(bad)' || mnemonic === '') continue;
    current.instructions.push({ address: insn[1], mnemonic, operands: tokens.join(' ') });
  }
  return functions;
}

/** Names of the functions declared with __attribute__((target("..."))) in the core's sources. */
function dispatchedFunctionNames(sourceRoot = path.join(root, 'native')) {
  const names = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'third_party' && entry.name !== 'tests') walk(full);
      } else if (/\.(c|cc|cpp|h|hpp)$/.test(entry.name)) {
        const text = fs.readFileSync(full, 'utf8');
        const re = /__attribute__\s*\(\(\s*target\s*\([^)]*\)\s*\)\)([^;{(]*?)\b([A-Za-z_]\w*)\s*(?:<[^>]*>)?\s*\(/g;
        for (const m of text.matchAll(re)) names.add(m[2]);
      }
    }
  };
  walk(sourceRoot);
  return [...names];
}

/** Whether a demangled symbol name is one of the given function names (clones such as .constprop included). */
function isNamed(symbol, names) {
  const text = symbol.replace(/\s*\[clone [^\]]*\]/g, '').replace(/\(anonymous namespace\)/g, '{anon}');
  let depth = 0;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '<') depth++;
    else if (text[i] === '>') depth--;
    else if (text[i] === '(' && depth === 0) {
      end = i; // the parameter list starts here
      break;
    }
  }
  const base = text.slice(0, end).trim();
  return names.some((n) => new RegExp(`(^|::|\\s)${n}(<.*>)?$`).test(base));
}

/**
 * Scans an x86-64 binary with symbols. Returns { dispatched: [{ name, features }], violations: [{ name,
 * address, instruction, feature }] }: non-baseline instructions inside / outside the target functions
 * (by name, and only within `scope`, the core's namespace, so a same-named function elsewhere is not let
 * through).
 */
function scanX64(unstrippedFile, names = dispatchedFunctionNames(), scope = 'paramscope::') {
  const dispatched = [];
  const violations = [];
  for (const fn of disassemble(tool('linux-x64', 'objdump'), unstrippedFile, { demangle: true })) {
    const features = new Set();
    const allowed = isNamed(fn.name, names) && fn.name.includes(scope);
    for (const insn of fn.instructions) {
      const feature = x86Feature(insn.mnemonic, insn.operands);
      if (!feature) continue;
      features.add(feature);
      if (!allowed) violations.push({ name: fn.name, address: insn.address, instruction: `${insn.mnemonic} ${insn.operands}`.trim(), feature });
    }
    if (allowed && features.size) dispatched.push({ name: fn.name, features: [...features].sort() });
  }
  return { dispatched, violations };
}

/**
 * The AArch64 disassembly as assembler input: branch and literal targets (printed as addresses) become
 * "." so the text assembles anywhere; every other operand is kept, so the assembler judges each
 * instruction with its operands (fadd on .4s is ARMv8.0, on .8h it is FP16).
 */
function arm64AssemblyLine(insn) {
  let operands = insn.operands.replace(/\s*<[^>]*>$/, '');
  const branch = /^(b|bl|b\.\w+|cbn?z|tbn?z|adrp?)$/.test(insn.mnemonic);
  const literal = /^(ldr|ldrsw|prfm)$/.test(insn.mnemonic) && !operands.includes('[');
  if (branch || literal) operands = operands.replace(/(^|,\s*)[0-9a-f]+$/, '$1.');
  return `\t${insn.mnemonic}\t${operands}`;
}

/**
 * Scans an AArch64 binary whole: every instruction beyond ARMv8.0-A is a violation. The authority is GNU
 * as itself: the disassembly is re-assembled with -march=armv8-a, and the assembler rejects each
 * instruction its tables place in an extension ("selected processor does not support"). Any other
 * assembler complaint means the disassembly could not be turned back into input, and is a failure of
 * the check rather than a pass. The mnemonic classifier (arm64Feature) only names the extension.
 */
function scanArm64(file) {
  const violations = [];
  const lines = ['\t.text'];
  const where = [null];
  for (const fn of disassemble(tool('linux-arm64', 'objdump'), file, { demangle: false })) {
    for (const insn of fn.instructions) {
      if (insn.mnemonic === '.inst') {
        violations.push({ name: fn.name, address: insn.address, instruction: `.inst ${insn.operands}`, feature: 'unknown encoding' });
        continue;
      }
      lines.push(arm64AssemblyLine(insn));
      where.push({ fn, insn });
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-isa-'));
  try {
    const source = path.join(tmp, 'disassembly.s');
    fs.writeFileSync(source, lines.join('\n') + '\n');
    const as = spawnSync(tool('linux-arm64', 'as'), ['-march=armv8-a', '-o', path.join(tmp, 'out.o'), source], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (as.error) throw new Error(`${tool('linux-arm64', 'as')} could not run (${as.error.message}): apt-get install binutils-aarch64-linux-gnu`);
    for (const m of (as.stderr || '').matchAll(/^[^\n]*?:(\d+): Error: ([^\n]*)$/gm)) {
      const at = where[Number(m[1]) - 1];
      if (!at) throw new Error(`assembler error outside the disassembly: ${m[2]}`);
      if (!/selected processor does not support/.test(m[2])) throw new Error(`could not re-assemble the disassembly at 0x${at.insn.address} (\`${lines[Number(m[1]) - 1].trim()}\`): ${m[2]}`);
      violations.push({ name: at.fn.name, address: at.insn.address, instruction: `${at.insn.mnemonic} ${at.insn.operands}`.trim(), feature: arm64Feature(at.insn.mnemonic, at.insn.operands) || 'not ARMv8.0-A (as -march=armv8-a)' });
    }
    if (as.status !== 0 && violations.length === 0) throw new Error(`${tool('linux-arm64', 'as')} failed: ${(as.stderr || '').trim().split('\n').pop()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  violations.sort((a, b) => parseInt(a.address, 16) - parseInt(b.address, 16));
  return { instructions: where.length - 1, violations };
}

/** build-prebuild/<target>/<file>: the unstripped twin that scripts/prebuild.js keeps of a prebuild. */
function unstrippedTwin(prebuild) {
  return path.join(root, 'build-prebuild', path.basename(path.dirname(prebuild)), path.basename(prebuild));
}

/** Whether stripping `unstripped` the way scripts/prebuild.js does gives exactly the bytes of `shipped`. */
function isTwin(target, unstripped, shipped) {
  if (!fs.existsSync(unstripped)) return false;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-strip-'));
  try {
    const out = path.join(tmp, 'stripped.node');
    run(tool(target, 'strip'), ['--strip-all', '-o', out, unstripped]);
    return fs.readFileSync(out).equals(fs.readFileSync(shipped));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Every check for one prebuild; returns { target, machine, needed, versions, summary, dispatched (x64:
 * the target-attributed functions and their features), instructions (arm64: how many were scanned) }, or
 * throws one line.
 */
function checkPrebuild(file) {
  const target = path.basename(path.dirname(file));
  const spec = TARGETS[target];
  if (!spec) throw new Error(`${file}: no checks defined for ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  const machine = elfMachine(file);
  if (machine !== spec.machine) throw new Error(`${file}: ELF machine is "${machine}", expected "${spec.machine}"`);
  const needed = neededLibraries(file);
  const blas = needed.filter((lib) => /blas|lapack/i.test(lib));
  if (blas.length) throw new Error(`${file}: links ${blas.join(', ')} at load time (DT_NEEDED); OpenBLAS must be dlopen'ed`);
  const node = nodeInterface(file);
  if (!node.registers || node.nodeAbi.length)
    throw new Error(`${file}: not an N-API-only addon (${node.registers ? `imports ${node.nodeAbi[0]}, a V8/node C++ symbol` : 'no napi_register_module_v1'}), so it would not serve every Node.js version`);
  const versions = requiredVersions(file);
  let summary;
  let dispatched = [];
  let instructions = 0;
  if (target === 'linux-x64') {
    const twin = unstrippedTwin(file);
    if (!isTwin(target, twin, file)) throw new Error(`${file}: ${path.relative(root, twin)} is missing or is not its unstripped twin: rebuild both with \`npm run prebuild\``);
    const scan = scanX64(twin);
    dispatched = scan.dispatched;
    const { violations } = scan;
    if (violations.length) {
      const v = violations[0];
      throw new Error(`${file}: ${violations.length} non-baseline instruction(s) outside run-time dispatched functions, first: ${v.feature} \`${v.instruction}\` at 0x${v.address} in ${v.name}`);
    }
    summary = `baseline x86-64 outside ${dispatched.length} run-time dispatched function(s) (${[...new Set(dispatched.flatMap((d) => d.features))].join(', ') || 'none'})`;
  } else {
    const scan = scanArm64(file);
    instructions = scan.instructions;
    const { violations } = scan;
    if (instructions === 0) throw new Error(`${file}: objdump found no instructions (is ${tool(target, 'objdump')} able to read AArch64?)`);
    if (violations.length) {
      const v = violations[0];
      throw new Error(`${file}: ${violations.length} instruction(s) beyond ARMv8.0-A, first: ${v.feature} \`${v.instruction}\` at 0x${v.address}`);
    }
    summary = `ARMv8.0-A only (${instructions} instructions scanned)`;
  }
  return { target, machine, needed, versions, node, summary, dispatched, instructions };
}

/** Every prebuilds/<target>/*.node present. */
function listPrebuilds(dir = path.join(root, 'prebuilds')) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((t) => (fs.statSync(path.join(dir, t)).isDirectory() ? fs.readdirSync(path.join(dir, t)).filter((f) => f.endsWith('.node')).map((f) => path.join(dir, t, f)) : []));
}

module.exports = { TARGETS, nodeInterface, x86Feature, arm64Feature, arm64AssemblyLine, disassemble, dispatchedFunctionNames, isNamed, scanX64, scanArm64, elfMachine, neededLibraries, requiredVersions, unstrippedTwin, isTwin, checkPrebuild, listPrebuilds, onPath, tool };

if (require.main === module) {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => path.resolve(f)) : listPrebuilds();
  if (files.length === 0) {
    console.error('check-prebuild: no prebuilds/*/*.node to check: run `npm run prebuild` first');
    process.exit(1);
  }
  if (spawnSync('readelf', ['--version']).status !== 0) {
    console.error('check-prebuild: readelf is missing: apt-get install binutils');
    process.exit(1);
  }
  let failed = 0;
  for (const file of files) {
    try {
      const r = checkPrebuild(file);
      console.log(`${path.relative(root, file)}: ${r.machine}; N-API only (${r.node.napi} napi_* imports); needs ${r.needed.join(' ')}; glibc >= ${r.versions.glibc}${r.versions.glibcxx ? `, GLIBCXX_${r.versions.glibcxx}` : ''}; ${r.summary}`);
    } catch (error) {
      failed++;
      console.error(`check-prebuild: ${error.message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}
