/**
 * `compare --weights` / `analyze --out` of several checkpoints: each checkpoint's own weights W analysed
 * (lib/analyze.ts) and named like compare's arms, for a comparison of model families side by side
 * (report/comparison/). Progress is reported per checkpoint (`run` set, `fraction` of the whole).
 *
 * @example
 * const { arms } = await compareWeights(['llama.safetensors', 'qwen.safetensors'], { mode: 'truncated', rank: 32 });
 * const doc = await buildComparison({ arms: arms.map((a) => ({ label: a.name, kind: 'weights', report: a.report })) });
 */
import { type AnalyzeOptions, analyzeCheckpoint } from './analyze';
import { armNames } from './compare';
import { invalidArgument } from './errors';
import type { AnalysisReport } from './report/model';

export interface WeightsArm {
  name: string;
  path: string;
  report: AnalysisReport;
}

/** Every checkpoint analysed in turn (options are analyze's; onEvent is not supported here). */
export async function compareWeights(checkpoints: readonly string[], options: Omit<AnalyzeOptions, 'onEvent'> = {}): Promise<{ arms: WeightsArm[] }> {
  if (!Array.isArray(checkpoints) || checkpoints.length === 0) invalidArgument('compareWeights: checkpoints', 'at least one checkpoint', checkpoints);
  if ('onEvent' in options && (options as AnalyzeOptions).onEvent) invalidArgument('compareWeights: onEvent', 'no event listener (use onProgress)', 'a function');
  const names = armNames(checkpoints);
  const arms: WeightsArm[] = [];
  for (const [i, checkpoint] of checkpoints.entries()) {
    const name = names[i] as string;
    const { onProgress } = options;
    const report = await analyzeCheckpoint(checkpoint, {
      ...options,
      ...(onProgress ? { onProgress: (p) => onProgress({ ...p, run: name, fraction: (i + p.fraction) / checkpoints.length }) } : {}),
    });
    arms.push({ name, path: checkpoint, report });
  }
  return { arms };
}
