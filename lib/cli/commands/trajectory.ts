/** `paramscope trajectory <base> <checkpoint>…`: how a run's footprint grows over its saved steps. */
import { integerFlag, numberFlag } from '../flags/numbers';
import { trajectoryCheckpoints } from '../../plan/trajectory-steps';
import { trajectory, type TrajectoryOptions, trajectoryShard } from '../../trajectory';
import type { CommandContext } from '../context';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { comparisonFlagOptions, comparisonFlagsHelp, comparisonOptionsFrom } from '../flags/comparison';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag } from '../flags/report';
import { parseRenameRule } from '../flags/rename-rule';
import { runShard, shardFlagHelp, shardFlagOption, shardFrom } from '../flags/shard';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { emitTrajectoryReport, printTrajectory, trajectoryArmNames, trajectoryWrittenLine } from '../flags/trajectory-report';

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
  --out <dir>           write trajectory.json, trajectory.md, trajectory.csv, every step's diff
                        reports (step-N.*, step-N-vs-M.*) and comparison.html (+ .json, .csv, .md:
                        the steps side by side on a step axis, docs/comparison.md) into <dir>
${comparisonFlagsHelp.replace('the first two', 'the first two steps, e.g. step-500,step-1000')}
${cacheFlagHelp}
${shardFlagHelp}
${machineFlagsHelp}

Example: paramscope trajectory Llama-3.2-1B/ runs/sft/ --out trajectory/`;

export async function trajectoryCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse({
    ...spectrumFlagOptions, ...componentFlagOption, ...cacheFlagOptions, ...machineFlagOptions, ...comparisonFlagOptions, ...shardFlagOption,
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
  const shard = shardFrom(values);
  const outDir = shard ? undefined : checkOutFlag(values); // before any work (a shard's partial has its own rule)
  // Before any work: the comparison's flags, its heatmap arms among the steps (read from the names and trainer_state.json).
  const comparison = outDir !== undefined ? comparisonOptionsFrom(values, ctx.signal, trajectoryArmNames(await trajectoryCheckpoints(checkpoints))) : undefined;
  const { cache } = cacheFrom(values, output.text);
  const options: TrajectoryOptions = {
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
    ...(cache ? { cache } : {}),
  };
  const labelled = (onProgress: NonNullable<TrajectoryOptions['onProgress']>): NonNullable<TrajectoryOptions['onProgress']> =>
    (p) => onProgress({ ...p, current: p.run ? `[${p.run}] ${p.current}` : p.current });
  if (shard)
    return runShard(ctx, output, values, shard, (hooks) => trajectoryShard(base, checkpoints, shard, { ...options, ...hooks, ...(hooks.onProgress ? { onProgress: labelled(hooks.onProgress) } : {}) }));
  const result = await output.withProgress((onProgress) => trajectory(base, checkpoints, {
    ...options,
    onProgress: labelled(onProgress),
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
  }));
  if (!values.json && !values.jsonl) printTrajectory(output.text, result.report);
  const written = await emitTrajectoryReport(ctx, result, values, outDir, comparison);
  if (outDir !== undefined) output.text.err(trajectoryWrittenLine(written, outDir));
  for (const line of cacheLines(cache)) output.text.err(line);
  return 0;
}
