/**
 * Running a diff or an adapter analysis from parsed flags, shared by `diff`, `diff --adapter` and `lora`
 * (so commands do not import each other).
 */
import { diff } from '../../diff';
import { invalidArgument } from '../../errors';
import { analyzeAdapter } from '../../lora';
import { openAdapter } from '../../plan/lora/open-adapter';
import type { Adapter } from '../../plan/lora/types';
import type { DiffReport } from '../../report/model';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { parseRenameRule } from '../flags/rename-rule';
import { spectrumOptionsFrom } from '../flags/spectrum';
import type { OnProgress } from '../output/progress';

type Flags = Record<string, unknown>;

/** `diff <base> <tuned>` with its flags. */
export async function runCheckpointDiff(values: Flags, base: string, tuned: string, onProgress: OnProgress): Promise<DiffReport> {
  return diff(base, tuned, {
    ...spectrumOptionsFrom(values),
    onProgress,
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    directions: directionsFlag(values),
    ...directionRankFlag(values),
    mmap: !values['no-mmap'],
  });
}

/** Opens the adapter (with --scale / --config) and analyses it (with --base); returns both. */
export async function runAdapter(values: Flags, adapterPath: string, onProgress: OnProgress): Promise<{ report: DiffReport; adapter: Adapter }> {
  const scale = values.scale === undefined ? undefined : Number(values.scale);
  if (scale !== undefined && !Number.isFinite(scale)) invalidArgument('--scale', 'a number', values.scale);
  const adapter = await openAdapter(adapterPath, {
    ...(scale === undefined ? {} : { scale }),
    ...(typeof values.config === 'string' ? { config: values.config } : {}),
  });
  const directions = directionsFlag(values);
  const report = await analyzeAdapter(adapter, {
    ...spectrumOptionsFrom(values),
    onProgress,
    ...(typeof values.base === 'string' ? { base: values.base } : {}),
    ...(directions === 'auto' ? {} : { directions }),
    ...directionRankFlag(values),
  });
  return { report, adapter };
}
