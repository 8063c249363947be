/** `paramscope analyze <checkpoint>`: spectra and spectral metrics of every weight matrix. */
import { analyzeCheckpoint } from '../../analyze';
import { analyzeShard } from '../../shard';
import { runShard, shardFlagHelpJsonOnly, shardFlagOption, shardFrom } from '../flags/shard';
import { invalidArgument } from '../../errors';
import { formatBounded } from '../../results/metrics';
import { analysisDocument } from '../../report/header';
import { toJson } from '../../report/json';
import { formatShape } from '../output/numbers';
import { renderTable } from '../output/table';
import { analysisCsv } from '../output/analysis-csv';
import type { CommandContext } from '../context';
import { printPlan } from './plan';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';

export const analyzeUsage = `Usage: paramscope analyze <checkpoint> [options]

Singular-value spectrum and spectral metrics (stable rank, effective rank, energy ranks, power-law alpha,
directions above the storage-noise floor, ...) of every 2-D weight; higher-rank weights are reshaped to
2-D. Summaries per layer and per module type (q/k/v/o, gate/up/down, embedding, lm_head, ...).

${spectrumFlags}
  --include <glob>      analyse only matching tensor names (repeatable; * ? {a,b})
  --exclude <glob>      skip matching tensor names (repeatable)
${componentFlagHelp}
  --json                print the whole report as JSON
  --csv                 print one CSV row per matrix
  --dry-run             print what the analysis would cost (bytes, flops, memory, time: 'paramscope plan';
                        --no-calibration: without the time)
${shardFlagHelpJsonOnly}
${machineFlagsHelp}
  --no-mmap             read with pread instead of memory-mapping

Example: paramscope analyze model.safetensors --mode truncated --rank 32 --include '*.mlp.*'`;

export async function analyzeCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    {
      ...spectrumFlagOptions,
      ...componentFlagOption,
      include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true },
      json: { type: 'boolean' }, csv: { type: 'boolean' }, 'no-mmap': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'no-calibration': { type: 'boolean' }, ...machineFlagOptions, ...shardFlagOption,
    },
    analyzeUsage,
  );
  const output = commandOutput(ctx, values, ['json', 'csv']);
  if (positionals.length !== 1) return ctx.usageError('analyze takes exactly one checkpoint path', analyzeUsage);
  if (values.json && values.csv) invalidArgument('--json/--csv', 'one output format', 'both');
  if (values['dry-run']) return printPlan(ctx, positionals, values);
  const options = {
    ...spectrumOptionsFrom(values),
    include: (values.include as string[] | undefined) ?? [],
    ...componentFrom(values),
    exclude: (values.exclude as string[] | undefined) ?? [],
    mmap: !values['no-mmap'],
  };
  const shard = shardFrom(values);
  if (shard) return runShard(ctx, output, values, shard, (hooks) => analyzeShard(positionals[0] as string, shard, { ...options, ...hooks }), { hasOut: false, failedExit: true });
  const report = await output.withProgress((onProgress) => analyzeCheckpoint(positionals[0] as string, {
    ...options,
    onProgress,
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
  }));
  // A failed matrix makes the exit code 2 (the other matrices are still reported).
  const exitCode = report.totals.failed > 0 ? 2 : 0;
  if (values.json) {
    ctx.out(toJson(analysisDocument(report)));
    return exitCode;
  }
  if (values.csv) {
    ctx.out(analysisCsv(report));
    return exitCode;
  }
  if (values.jsonl) return exitCode;
  const text = output.text;
  text.out(`${report.path}: ${report.totals.matrices} matrices, ${report.mode} spectra, ${report.totals.seconds.toFixed(2)} s of compute\n`);
  text.out(
    renderTable(
      [
        { header: 'name' }, { header: 'shape' }, { header: 'σ₁', align: 'right' }, { header: 'stable rank', align: 'right' },
        { header: 'eff. rank ratio', align: 'right' }, { header: 'k@90%', align: 'right' }, { header: 'alpha', align: 'right' },
        { header: 'above noise', align: 'right' },
      ],
      report.tensors.map((t) =>
        t.error || !t.metrics
          ? [t.name, formatShape(t.shape), t.error?.code ?? 'failed', '', '', '', '', '']
          : [
              t.layout ? `${t.name} (${t.layout})` : t.name,
              formatShape(t.reshaped ? [t.rows, t.cols] : t.shape) + (t.reshaped ? '*' : ''),
              formatBounded(t.metrics.spectralNorm, 4),
              formatBounded(t.metrics.stableRank),
              formatBounded(t.metrics.energyEffectiveRankRatio),
              formatBounded(t.metrics.energyRank['90']),
              t.metrics.powerLaw.valid ? formatBounded(t.metrics.powerLaw.alpha ?? NaN) : '-',
              formatBounded(t.metrics.aboveNoiseEdge),
            ],
      ),
    ),
  );
  if (report.tensors.some((t) => t.reshaped)) text.out('* reshaped from a higher-rank tensor to [d0, d1·…·dk]');
  text.out('\n' + renderTable(
    [{ header: 'module type' }, { header: 'matrices', align: 'right' }, { header: 'parameters', align: 'right' },
     { header: 'stable rank', align: 'right' }, { header: 'eff. rank ratio', align: 'right' }, { header: 'alpha', align: 'right' }],
    report.byModule.map((g) => [g.key, String(g.matrices), g.parameters.toLocaleString('en-US'), formatBounded(g.median.stableRank ?? NaN),
      formatBounded(g.median.energyEffectiveRankRatio ?? NaN), formatBounded(g.median.alpha ?? NaN)]),
  ) + '\n(medians per module type; per-layer summaries in --json)');
  for (const t of report.tensors.filter((t) => t.error)) text.err(`${t.name}: ${t.error?.code}: ${t.error?.message}`);
  if (report.skipped.length) text.out(`skipped ${report.skipped.length} tensors (vectors, scalars, integer, quantization scales or excluded)`);
  return exitCode;
}
