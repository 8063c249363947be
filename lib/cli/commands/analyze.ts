/** `paramscope analyze <checkpoint>`: spectra and spectral metrics of every weight matrix. */
import { codesText, failedMatrices, failureCounts } from '../../aggregate/failures';
import { median } from '../../aggregate/groups';
import { summaryMetrics } from '../../aggregate/tensors';
import { analyzeCheckpoint } from '../../analyze';
import { invalidArgument } from '../../errors';
import { formatBounded } from '../../results/metrics';
import { analysisToCsv } from '../../report/analysis-csv';
import { analysisDocument } from '../../report/header';
import { toJson } from '../../report/json';
import { formatShape } from '../output/numbers';
import { allRowsFlagHelp, allRowsFlagOption, distinct, renderLongTable } from '../output/long-table';
import { terminalText } from '../output/terminal-text';
import { analyzeShard } from '../../shard';
import { runShard, shardFlagHelpJsonOnly, shardFlagOption, shardFrom } from '../flags/shard';
import type { CommandContext } from '../context';
import { printPlan } from './plan';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { comparisonFlagOptions, comparisonFlagsHelp } from '../flags/comparison';
import { runWeightsComparison } from './run-weights';

export const analyzeUsage = `Usage: paramscope analyze <checkpoint> [options]
       paramscope analyze <checkpoint> … --out <dir> [options]

Singular-value spectrum and spectral metrics (stable rank, effective rank, energy ranks, power-law alpha,
directions above the storage-noise floor, ...) of every 2-D weight; higher-rank weights are reshaped to
2-D. Summaries per layer and per module type (q/k/v/o, gate/up/down, embedding, lm_head, ...).

${spectrumFlags}
  --include <glob>      analyse only matching tensor names (repeatable; * ? {a,b})
  --exclude <glob>      skip matching tensor names (repeatable)
${componentFlagHelp}
  --json                print the whole report as JSON
  --csv                 print one CSV row per matrix
${allRowsFlagHelp.replace('every tensor', 'every matrix')}
  --out <dir>           write <name>.analysis.json and <name>.tensors.csv of each checkpoint (one or
                        more) and the weights comparison comparison.{html,json,csv,md} (as compare --weights)
${comparisonFlagsHelp}
  --dry-run             print what the analysis would cost (bytes, flops, memory, time: 'paramscope plan';
                        --no-calibration: without the time)
${shardFlagHelpJsonOnly}
${machineFlagsHelp}
  --no-mmap             read with pread instead of memory-mapping
${cacheFlagHelp}

Example: paramscope analyze model.safetensors --mode truncated --rank 32 --include '*.mlp.*'`;

/** How many failed matrices get an error line of their own (all of them are in --json and --jsonl). */
const LISTED_FAILURES = 20;

export async function analyzeCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    {
      ...spectrumFlagOptions,
      ...componentFlagOption,
      include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true },
      json: { type: 'boolean' }, csv: { type: 'boolean' }, 'no-mmap': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'no-calibration': { type: 'boolean' }, out: { type: 'string' }, ...comparisonFlagOptions, ...machineFlagOptions,
      ...allRowsFlagOption,
      ...cacheFlagOptions, ...shardFlagOption,
    },
    analyzeUsage,
  );
  const output = commandOutput(ctx, values, ['json', 'csv']);
  if (typeof values.out === 'string' && !values['dry-run']) {
    if (positionals.length < 1) return ctx.usageError('analyze --out takes one or more checkpoint paths', analyzeUsage);
    if (values.json || values.csv || values.jsonl) return ctx.usageError('analyze --out writes its reports into the directory; --json, --csv and --jsonl are not available with it', analyzeUsage);
    return runWeightsComparison(ctx, positionals, values, {
      ...spectrumOptionsFrom(values), include: (values.include as string[] | undefined) ?? [], exclude: (values.exclude as string[] | undefined) ?? [], ...componentFrom(values), mmap: !values['no-mmap'],
    }, output, values.out);
  }
  if (positionals.length !== 1) return ctx.usageError(`analyze takes exactly one checkpoint path${positionals.length > 1 ? ' (several with --out <dir>)' : ''}`, analyzeUsage);
  if (values.json && values.csv) invalidArgument('--json/--csv', 'one output format', 'both');
  if (values['dry-run']) return printPlan(ctx, positionals, values);
  const { cache } = cacheFrom(values, output.text);
  const options = {
    ...spectrumOptionsFrom(values),
    ...(cache ? { cache } : {}),
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
  for (const line of cacheLines(cache)) output.text.err(line);
  if (values.json) {
    ctx.data(toJson(analysisDocument(report)));
    return exitCode;
  }
  if (values.csv) {
    ctx.data(analysisToCsv(report));
    return exitCode;
  }
  if (values.jsonl) return exitCode;
  const text = output.text;
  text.out(`${terminalText(report.path)}: ${report.totals.matrices} matrices, ${report.mode} spectra, ${report.totals.seconds.toFixed(2)} s of compute\n`);
  const all = Boolean(values.all);
  text.out(
    renderLongTable(report.tensors, {
      columns: [
        { header: 'name' }, { header: 'shape' }, { header: 'σ₁', align: 'right' }, { header: 'stable rank', align: 'right' },
        { header: 'eff. rank ratio', align: 'right' }, { header: 'k@90%', align: 'right' }, { header: 'alpha', align: 'right' },
        { header: 'above noise', align: 'right' },
      ],
      name: (t) => t.name,
      noun: 'matrices',
      groupColumns: [{ header: 'shapes' }, { header: 'failed', align: 'right' }, { header: 'median stable rank', align: 'right' }, { header: 'median eff. rank ratio', align: 'right' }],
      group: (ts) => {
        const ok = ts.filter((t) => t.metrics && !t.error).map((t) => summaryMetrics(t));
        return [distinct(ts.map((t) => formatShape([t.rows, t.cols]))), String(ts.length - ok.length),
          formatBounded(median(ok.map((m) => m.stableRank as number))), formatBounded(median(ok.map((m) => m.energyEffectiveRankRatio as number)))];
      },
      row: (t) =>
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
    }, { all }),
  );
  if (report.tensors.some((t) => t.reshaped)) text.out('* reshaped from a higher-rank tensor to [d0, d1·…·dk]');
  text.out('\n' + renderLongTable(report.byModule, {
    columns: [{ header: 'module type' }, { header: 'matrices', align: 'right' }, { header: 'parameters', align: 'right' },
     { header: 'stable rank', align: 'right' }, { header: 'eff. rank ratio', align: 'right' }, { header: 'alpha', align: 'right' }],
    row: (g) => [g.key, String(g.matrices), g.parameters.toLocaleString('en-US'), formatBounded(g.median.stableRank ?? NaN),
      formatBounded(g.median.energyEffectiveRankRatio ?? NaN), formatBounded(g.median.alpha ?? NaN)],
    name: (g) => g.key,
    noun: 'module types',
    groupColumns: [{ header: 'matrices', align: 'right' }, { header: 'parameters', align: 'right' }],
    group: (gs) => [String(gs.reduce((n, g) => n + g.matrices, 0)), gs.reduce((n, g) => n + g.parameters, 0).toLocaleString('en-US')],
  }, { all }) + '\n(medians per module type; per-layer summaries in --json)');
  const failed = report.tensors.filter((t) => t.error);
  for (const t of failed.slice(0, LISTED_FAILURES)) text.err(`${terminalText(t.name)}: ${t.error?.code}: ${terminalText(t.error?.message ?? '')}`);
  if (failed.length > LISTED_FAILURES) text.err(`… and ${failed.length - LISTED_FAILURES} more failed matrices (${codesText(failureCounts(failedMatrices(failed)))}; every one in --json and --jsonl)`);
  if (report.skipped.length) text.out(`skipped ${report.skipped.length} tensors (vectors, scalars, integer, quantization scales or excluded)`);
  return exitCode;
}
