/**
 * Running a diff or an adapter analysis from parsed flags, shared by `diff`, `diff --adapter` and `lora`
 * (so commands do not import each other).
 */
import { diff, type DiffOptions } from '../../diff';
import { type AdapterOptions, analyzeAdapter } from '../../lora';
import { adapterShard, diffShard, type ShardSpec } from '../../shard';
import type { PartialReport } from '../../report/partial';
import { openAdapter } from '../../plan/lora/open-adapter';
import type { Adapter } from '../../plan/lora/types';
import type { DiffReport } from '../../report/model';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { numberFlag } from '../flags/numbers';
import { parseRenameRule } from '../flags/rename-rule';
import { componentFrom } from '../flags/component';
import { spectrumOptionsFrom } from '../flags/spectrum';
import type { EventOptions } from '../../report/events';
import type { ResultCache } from '../../engine/cache';

type Flags = Record<string, unknown>;

/** What a run reports to and is stopped by: the progress bar, the --jsonl events, the interruption signal. */
export type RunHooks = EventOptions & { signal?: AbortSignal; cache?: ResultCache };

/** `diff <base> <tuned>` with its flags. */
export async function runCheckpointDiff(values: Flags, base: string, tuned: string, hooks: RunHooks): Promise<DiffReport> {
  return diff(base, tuned, checkpointDiffOptions(values, hooks));
}

/** `diff <base> <tuned> --shard i/N`: the shard's partial report. */
export async function runCheckpointDiffShard(values: Flags, base: string, tuned: string, shard: ShardSpec, hooks: RunHooks): Promise<PartialReport> {
  return diffShard(base, tuned, shard, checkpointDiffOptions(values, hooks));
}

function checkpointDiffOptions(values: Flags, hooks: RunHooks): DiffOptions {
  return {
    ...spectrumOptionsFrom(values),
    ...hooks,
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    ...componentFrom(values),
    directions: directionsFlag(values),
    ...directionRankFlag(values),
    mmap: !values['no-mmap'],
  };
}

/** Opens the adapter (with --scale / --config) and analyses it (with --base); returns both. */
export async function runAdapter(values: Flags, adapterPath: string, hooks: RunHooks): Promise<{ report: DiffReport; adapter: Adapter }> {
  const { adapter, options } = await adapterWithOptions(values, adapterPath, hooks);
  return { report: await analyzeAdapter(adapter, options), adapter };
}

/** `lora <adapter> --shard i/N` (or `diff --adapter`): the shard's partial report. */
export async function runAdapterShard(values: Flags, adapterPath: string, shard: ShardSpec, hooks: RunHooks): Promise<PartialReport> {
  const { adapter, options } = await adapterWithOptions(values, adapterPath, hooks);
  return adapterShard(adapter, shard, options);
}

async function adapterWithOptions(values: Flags, adapterPath: string, hooks: RunHooks): Promise<{ adapter: Adapter; options: AdapterOptions }> {
  const scale = numberFlag('--scale', values.scale);
  const adapter = await openAdapter(adapterPath, {
    ...(scale === undefined ? {} : { scale }),
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
  });
  const directions = directionsFlag(values);
  const options: AdapterOptions = {
    ...spectrumOptionsFrom(values),
    ...hooks,
    ...(typeof values.base === 'string' ? { base: values.base } : {}),
    ...componentFrom(values),
    ...(directions === 'auto' ? {} : { directions }),
    ...directionRankFlag(values),
  };
  return { adapter, options };
}
