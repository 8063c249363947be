/**
 * Running a diff or an adapter analysis from parsed flags, shared by `diff`, `diff --adapter` and `lora`
 * (so commands do not import each other).
 */
import { diff } from '../../diff';
import { analyzeAdapter } from '../../lora';
import { openAdapter } from '../../plan/lora/open-adapter';
import type { Adapter } from '../../plan/lora/types';
import type { DiffReport } from '../../report/model';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { numberFlag } from '../flags/numbers';
import { parseRenameRule } from '../flags/rename-rule';
import { componentFrom } from '../flags/component';
import { spectrumOptionsFrom } from '../flags/spectrum';
import type { EventOptions } from '../../report/events';

type Flags = Record<string, unknown>;

/** What a run reports to and is stopped by: the progress bar, the --jsonl events, the interruption signal. */
export type RunHooks = EventOptions & { signal?: AbortSignal };

/** `diff <base> <tuned>` with its flags. */
export async function runCheckpointDiff(values: Flags, base: string, tuned: string, hooks: RunHooks): Promise<DiffReport> {
  return diff(base, tuned, {
    ...spectrumOptionsFrom(values),
    ...hooks,
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    ...componentFrom(values),
    directions: directionsFlag(values),
    ...directionRankFlag(values),
    mmap: !values['no-mmap'],
  });
}

/** Opens the adapter (with --scale / --config) and analyses it (with --base); returns both. */
export async function runAdapter(values: Flags, adapterPath: string, hooks: RunHooks): Promise<{ report: DiffReport; adapter: Adapter }> {
  const scale = numberFlag('--scale', values.scale);
  const adapter = await openAdapter(adapterPath, {
    ...(scale === undefined ? {} : { scale }),
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
  });
  const directions = directionsFlag(values);
  const report = await analyzeAdapter(adapter, {
    ...spectrumOptionsFrom(values),
    ...hooks,
    ...(typeof values.base === 'string' ? { base: values.base } : {}),
    ...componentFrom(values),
    ...(directions === 'auto' ? {} : { directions }),
    ...directionRankFlag(values),
  });
  return { report, adapter };
}
