/** `paramscope trajectory <base> <checkpoint>…`: how a run's footprint grows over its saved steps. */
import { integerFlag, numberFlag } from '../flags/numbers';
import { trajectoryRunNames, trajectory } from '../../trajectory';
import { stepCells, STEP_HEADERS, trajectoryJson, trajectoryFiles } from '../../report/trajectory-render';
import { REGIME_LEGEND } from '../../aggregate/regime';
import type { CommandContext } from '../context';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag, reportFiles, writeOutSet } from '../flags/report';
import { parseRenameRule } from '../flags/rename-rule';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { renderTable } from '../output/table';

export const trajectoryUsage = `Usage: paramscope trajectory <base> <checkpoint>… [options]
       paramscope trajectory --no-base <adapter checkpoint>… [options]

A training run's checkpoints in step order, each against the base and against the previous step: how
the footprint grows (regime score and its D / L / C components, relative update ‖ΔW‖/‖W‖, effective-rank
ratios, energy per layer and module type) and where the update's directions settle (overlap of each
step's top singular subspaces with the previous step's). Full checkpoints are compared as 'diff' does,
LoRA adapters (adapter_model.safetensors + adapter_config.json in checkpoint-N/) as 'lora' does.

  <checkpoint>          a checkpoint or adapter directory (its step: trainer_state.json's global_step,
                        else the number its name ends with: checkpoint-500, step-500), or a run
                        directory holding Trainer checkpoint-N/ directories
  --no-base             LoRA adapters without their base: ΔW = s·B·A (no relative update)
  --overlap-rank <k>    top directions compared between steps (default: --direction-rank, 16)
${spectrumFlags.replace('(default: exact)', '(default: truncated; exact for adapters)')}
  --directions          compare each update's directions with the base's (default: when base ≤ 1 GB)
  --no-directions       skip that comparison
  --direction-rank <k>  directions compared with the base (default 16)
  --map <from=to>, --include <glob>, --exclude <glob>   pairing, as for 'diff'
${componentFlagHelp}
  --scale <s>, --config <file>   adapter scale / config override, as for 'lora'
  --json                print the trajectory report as JSON (docs/trajectory.md)
  --out <dir>           write trajectory.json, trajectory.md, trajectory.csv and every step's diff
                        reports (step-N.*, step-N-vs-M.*) into <dir>
${cacheFlagHelp}
${machineFlagsHelp}

Example: paramscope trajectory Llama-3.2-1B/ runs/sft/ --out trajectory/`;

export async function trajectoryCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse({
    ...spectrumFlagOptions, ...componentFlagOption, ...cacheFlagOptions, ...machineFlagOptions,
    json: { type: 'boolean' }, out: { type: 'string' }, 'no-base': { type: 'boolean' }, 'overlap-rank': { type: 'string' },
    directions: { type: 'boolean' }, 'no-directions': { type: 'boolean' }, 'direction-rank': { type: 'string' },
    map: { type: 'string', multiple: true }, include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true },
    scale: { type: 'string' }, config: { type: 'string' }, 'no-mmap': { type: 'boolean' },
  }, trajectoryUsage);
  const output = commandOutput(ctx, values);
  const noBase = Boolean(values['no-base']);
  if (positionals.length < (noBase ? 1 : 2))
    return ctx.usageError(noBase ? 'trajectory --no-base takes at least one adapter checkpoint' : 'trajectory takes a base and at least one checkpoint', trajectoryUsage);
  const [base, checkpoints] = noBase ? [null, positionals] : [positionals[0] as string, positionals.slice(1)];
  const scale = numberFlag('--scale', values.scale);
  const overlapRank = integerFlag('--overlap-rank', values['overlap-rank'], 1);
  const outDir = checkOutFlag(values); // before any work
  const { cache } = cacheFrom(values, output.text);
  const result = await output.withProgress((onProgress) => trajectory(base, checkpoints, {
    ...spectrumOptionsFrom(values),
    ...componentFrom(values),
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    directions: directionsFlag(values),
    ...directionRankFlag(values),
    ...(overlapRank === undefined ? {} : { overlapRank }),
    ...(scale === undefined ? {} : { scale }),
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
    mmap: !values['no-mmap'],
    onProgress: (p) => onProgress({ ...p, current: p.run ? `[${p.run}] ${p.current}` : p.current }),
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
    ...(cache ? { cache } : {}),
  }));
  const { report } = result;
  if (values.json) ctx.data(trajectoryJson(report).trimEnd());
  else if (!values.jsonl) {
    const text = output.text;
    text.out(`${report.steps.length} ${report.kind === 'adapter' ? 'adapter checkpoints' : 'checkpoints'} against ${report.base ?? '(no base)'}, in step order:\n`);
    text.out(renderTable([...STEP_HEADERS].map((header, i) => ({ header, ...(i > 2 ? { align: 'right' as const } : {}) })), report.steps.map(stepCells)));
    text.out(`\nscore: regime verdict of ΔW from the base; ${REGIME_LEGEND} (docs/regime.md). Overlap: ‖U_kᵀU_{k−1}‖²/k of the top ` +
      `${report.options.overlapRank} directions against the previous step's (1: settled). docs/trajectory.md`);
    for (const note of report.notes) text.out(`note: ${note}`);
  }
  if (outDir !== undefined) {
    // One report set: the trajectory's files and every step's reports, all written or none.
    const files = trajectoryFiles(report);
    for (const [i, s] of result.steps.entries()) {
      const names = trajectoryRunNames(s.step, result.steps[i - 1]?.step);
      files.push(...reportFiles(s.vsBase, names.vsBase));
      if (s.vsPrevious) files.push(...reportFiles(s.vsPrevious, names.vsPrevious));
    }
    const written = await writeOutSet(ctx, outDir, files);
    const dir = outDir;
    output.text.err(`reports written: ${written.length} files in ${dir} (trajectory.json, trajectory.md, trajectory.csv, step-*)`);
  }
  for (const line of cacheLines(cache)) output.text.err(line);
  return 0;
}
