/** `paramscope lora <adapter> [--base <ckpt>]`: the footprint of a LoRA adapter. */
import type { PairResult } from '../../report/model';
import { formatBounded } from '../../results/metrics';
import type { CommandContext } from '../context';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag, emitReport, reportFlagOptions, reportFlagsHelp } from '../flags/report';
import { componentFlagHelp, componentFlagOption } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags } from '../flags/spectrum';
import { exitCodeOf, printReport } from '../output/diff-summary';
import { allRowsFlagHelp, allRowsFlagOption, distinct, renderLongTable } from '../output/long-table';
import { terminalText } from '../output/terminal-text';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { runShard, shardFlagHelp, shardFlagOption, shardFrom } from '../flags/shard';
import { runAdapter, runAdapterShard } from './run-diff';

export const loraUsage = `Usage: paramscope lora <adapter> [--base <checkpoint>] [options]

Every module of a LoRA adapter (PEFT, MLX, kohya / sd-scripts, cloneofsimo, old diffusers) as
ΔW = s·B·A with the layout's scale (alpha/r, rsLoRA alpha/sqrt(r), rank/alpha patterns, fan_in_fan_out,
MLX lora_parameters.scale); singular values from the r×r core of the factors, no m×n matrix formed.
With --base: relative update ‖ΔW‖/‖W_base‖ and overlap with the base's top directions.

  <adapter>             a directory with adapter_model.safetensors / adapters.safetensors and its
                        adapter_config.json, or a .safetensors file
  --base <path>         the base checkpoint the adapter was trained on
  --scale <s>           use this scale for every module (when the adapter has no config)
  --config <file>       adapter_config.json to use
${componentFlagHelp}
${allRowsFlagHelp.replace('every tensor', 'every module')}
${spectrumFlags}
${reportFlagsHelp}
${cacheFlagHelp}
${shardFlagHelp}
${machineFlagsHelp}

Example: paramscope lora ./adapter --base ./Llama-3.2-1B --out lora-report/`;

export async function loraCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    { ...spectrumFlagOptions, ...reportFlagOptions, ...componentFlagOption, base: { type: 'string' }, scale: { type: 'string' }, config: { type: 'string' }, 'no-directions': { type: 'boolean' }, ...cacheFlagOptions, ...machineFlagOptions, ...allRowsFlagOption, ...shardFlagOption },
    loraUsage,
  );
  const output = commandOutput(ctx, values);
  if (positionals.length !== 1) return ctx.usageError('lora takes exactly one adapter path', loraUsage);
  const shard = shardFrom(values);
  if (!shard) checkOutFlag(values); // before any work (a shard's partial has its own rule)
  const { cache } = cacheFrom(values, output.text);
  if (shard) return runShard(ctx, output, values, shard, (hooks) => runAdapterShard(values, positionals[0] as string, shard, { ...hooks, ...(cache ? { cache } : {}) }));
  const { report, adapter } = await output.withProgress((onProgress) =>
    runAdapter(values, positionals[0] as string, { onProgress, ...(output.onEvent ? { onEvent: output.onEvent } : {}), signal: ctx.signal, ...(cache ? { cache } : {}) }));
  const text = output.text;
  if (!output.machineOnStdout) {
    const a = report.adapter;
    if (a) text.out(`${terminalText(report.tuned.path)}: ${terminalText(a.layout)} adapter, ${a.modules} modules${a.fullTensors.length ? `, ${a.fullTensors.length} full tensors` : ''}${a.needsBase ? ' (needs its base: DoRA / PiSSA-style)' : ''}`);
    for (const n of a?.notes ?? []) text.out(`  note: ${terminalText(n)}`);
    // One pair per module analysed (the component filter may leave some out).
    const modules = new Map(adapter.modules.map((m) => [m.name, m]));
    text.out(
      '\n' +
        renderLongTable(report.pairs, {
          columns: [{ header: 'module' }, { header: 'ΔW shape' }, { header: 'rank', align: 'right' }, { header: 'scale', align: 'right' },
           { header: '‖ΔW‖_F', align: 'right' }, { header: 'σ₁', align: 'right' }, { header: 'stable rank', align: 'right' },
           { header: 'eff. rank', align: 'right' }, { header: '‖ΔW‖/‖W‖', align: 'right' }],
          row: (p: PairResult) => {
            const m = modules.get(p.name);
            return [p.name, `${p.rows}×${p.cols}`, String(m?.rank ?? '-'), String(m?.scale ?? '-'),
              formatBounded(p.updateNorm, 4), formatBounded(p.metrics?.spectralNorm, 4), formatBounded(p.metrics?.stableRank),
              formatBounded(p.metrics?.energyEffectiveRank), p.relativeUpdate === undefined ? '-' : p.relativeUpdate.toExponential(2)];
          },
          name: (p) => p.name,
          noun: 'modules',
          groupColumns: [{ header: 'ΔW shapes' }, { header: 'ranks' }, { header: 'failed', align: 'right' }],
          group: (ps) => [distinct(ps.map((p) => `${p.rows}×${p.cols}`)), distinct(ps.map((p) => String(modules.get(p.name)?.rank ?? '-'))), String(ps.filter((p) => p.error).length)],
        }, { all: Boolean(values.all) }) + '\n',
    );
  }
  printReport(text, report, { json: output.machineOnStdout, table: false }); // its own module table is above
  const written = await emitReport(ctx, report, values);
  if (written.length) text.err(`report written: ${written.map(terminalText).join(', ')}`);
  for (const line of cacheLines(cache)) text.err(line);
  return exitCodeOf([report]); // 2 when a matrix failed (the others are reported)
}
