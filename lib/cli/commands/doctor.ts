/** `paramscope doctor`: what this installation uses, and why. */
import { buildInfo, type BuildInfo } from '../../engine/build-info';
import type { CommandContext } from '../context';

export const doctorUsage = `Usage: paramscope doctor [--json]

Prints the package and N-API versions, the BLAS backend in use (OpenBLAS loaded at run time, or the
Eigen fallback and why), whether LAPACK is available, the SIMD level detected on this CPU, who computes
the truncated solver's thin products and the exact route's Grams (the core's AVX-512 kernels or the
BLAS), threads, and
the compute backend: whether the optional CUDA plugin loaded and which device it found (or why not).`;

export async function doctorCommand(ctx: CommandContext): Promise<number> {
  const { values } = ctx.parse({ json: { type: 'boolean' } }, doctorUsage);
  const info = buildInfo();
  if (values.json) {
    ctx.data(JSON.stringify(info, null, 2));
    return 0;
  }
  const flags = Object.entries(info.cpuFlags).filter(([, on]) => on).map(([f]) => f).join(' ');
  const lines: Array<[string, string]> = [
    ['paramscope', info.version],
    ['node', `${info.node} (N-API ${info.napiVersion}), ${info.platform}`],
    ['binary', `${info.binary}, ${info.compiler}, build mode ${info.blasBuild}`],
    ['BLAS backend', info.backend === 'openblas' ? `OpenBLAS (${info.blasLibrary})` : `Eigen ${info.eigenVersion} (${info.whyEigen})`],
    ...(info.backend === 'openblas' ? ([['OpenBLAS', `${info.blasConfig}; core ${info.blasCore}`]] as Array<[string, string]>) : []),
    ['LAPACK', info.lapackProvider === 'openblas' ? 'yes (OpenBLAS)' : `Eigen solvers (${info.backend === 'openblas' ? 'library lacks LAPACK' : 'no OpenBLAS'})`],
    ['SIMD', `${info.simd} (${flags || 'none'})`],
    ['thin products', info.thinProducts === 'avx512'
      ? "AVX-512 kernels for the truncated solver's A·X and Aᵀ·Q (≤ 80 columns, A read in place), the BLAS for the rest"
      : 'the BLAS (no AVX-512F on this CPU)'],
    ['Gram product', info.gramProduct === 'avx512'
      ? "AVX-512 kernel for the exact route's Grams (the BLAS here runs without AVX-512)"
      : `the BLAS (${info.thinProducts === 'avx512' ? 'it runs AVX-512 kernels here' : 'no AVX-512F on this CPU'})`],
    ['threads', `${info.threads} BLAS thread(s), ${info.hardwareThreads} hardware thread(s)`],
    ['compute', computeBackendLine(info)],
    ['engine', `${info.engine.defaultLanes} matrices at once by default (one per core, at most one per ${info.engine.minLaneBytes / 2 ** 20} MiB of the ${info.engine.defaults.memoryBudget / 2 ** 30} GiB default budget), 1 BLAS thread each; a lone matrix uses all ${info.hardwareThreads} threads (--parallel-matrices, --threads, --memory-budget)`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [key, value] of lines) ctx.out(`${key.padEnd(width)}  ${value}`);
  return 0;
}

/** Which backend `auto` takes here, and what the CUDA plugin said. */
function computeBackendLine(info: BuildInfo): string {
  const cuda = info.cuda;
  if (cuda.available) {
    const gib = (cuda.memoryBytes / 2 ** 30).toFixed(1);
    return `auto → cuda: ${cuda.device}, ${gib} GiB, driver ${cuda.driverVersion}, ${cuda.runtimeVersion}, ${cuda.libraries} (plugin ${cuda.plugin}); --backend cpu to stay on the CPU`;
  }
  return `auto → cpu (CUDA backend not available: ${cuda.why})`;
}
