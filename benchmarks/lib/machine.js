'use strict';
/** What the numbers were measured on: CPU, cores, caches, memory, kernel, THP, Node, git commit, and paramscope's buildInfo(). */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const read = (file) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

function cpuCaches() {
  const dir = '/sys/devices/system/cpu/cpu0/cache';
  try {
    return fs.readdirSync(dir).filter((d) => d.startsWith('index')).map((d) => ({
      level: Number(read(path.join(dir, d, 'level'))),
      type: read(path.join(dir, d, 'type')),
      size: read(path.join(dir, d, 'size')),
      sharedWith: read(path.join(dir, d, 'shared_cpu_list')),
    }));
  } catch {
    return [];
  }
}

function cpuFlags() {
  const info = read('/proc/cpuinfo') ?? '';
  const m = /^flags\s*:\s*(.*)$/m.exec(info);
  const flags = new Set(m ? m[1].split(/\s+/) : []);
  return ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512_bf16', 'erms', 'fsrm'].filter((f) => flags.has(f));
}

function git(args, cwd) {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machineInfo(paramscope) {
  const cpus = os.cpus();
  const root = path.join(__dirname, '..', '..');
  let build = null;
  try {
    build = paramscope.buildInfo();
  } catch (error) {
    build = { error: String(error && error.message) };
  }
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuMHz: cpus[0]?.speed ?? null,
    logicalCores: cpus.length,
    availableParallelism: os.availableParallelism ? os.availableParallelism() : cpus.length,
    cpuFlags: cpuFlags(),
    caches: cpuCaches(),
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    transparentHugepages: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    node: process.version,
    v8: process.versions.v8,
    git: { commit: git(['rev-parse', 'HEAD'], root), dirty: (git(['status', '--porcelain', '--untracked-files=no'], root) ?? '') !== '' },
    paramscope: build,
  };
}

/** One line for the console header. */
function machineSummary(m) {
  const b = m.paramscope ?? {};
  const blas = b.error ? `buildInfo failed: ${b.error}` : `${b.backend} (${b.blasCore ?? ''}), simd ${b.simd}, threads ${b.threads}, paramscope ${b.version} ${b.binary}`;
  return `${m.cpuModel}, ${m.logicalCores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.platform} ${m.kernel}, node ${m.node}; ${blas}`;
}

module.exports = { machineInfo, machineSummary };
