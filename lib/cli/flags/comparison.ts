/** The flags of the comparison report (compare --out, analyze --out): its bootstrap and its heatmap, and writing it. */
import { BOOTSTRAP_DEFAULTS, bootstrapSettings } from '../../aggregate/bootstrap';
import { invalidArgument } from '../../errors';
import { integerFlag, numberFlag } from './numbers';
import { buildComparison, type ComparisonOptions } from '../../report/comparison/build';
import type { ComparisonInput } from '../../report/comparison/model';
import { comparisonSetFiles } from '../../report/comparison/write';
import type { ReportFile } from '../../report/report-set';

export const comparisonFlagsHelp = `  --bootstrap <B>       with --out: resamples of the matrices behind comparison.*'s intervals (default
                        ${BOOTSTRAP_DEFAULTS.replicates}; 0: estimates only); --seed also seeds them (default ${BOOTSTRAP_DEFAULTS.seed})
  --ci <level>          central coverage of those intervals (default ${BOOTSTRAP_DEFAULTS.level})
  --heatmap-arms <a,b>  the two arms of the difference heatmap (default: the first two)`;

export const comparisonFlagOptions = { bootstrap: { type: 'string' }, ci: { type: 'string' }, 'heatmap-arms': { type: 'string' } } as const;

/**
 * The comparison options of the flags, checked before any work (INVALID_ARGUMENT); `arms`: the names the
 * heatmap arms must be among.
 */
export function comparisonOptionsFrom(values: Record<string, unknown>, signal: AbortSignal, arms: readonly string[]): ComparisonOptions {
  const options: ComparisonOptions = { signal };
  const replicates = integerFlag('--bootstrap', values.bootstrap);
  if (replicates !== undefined) options.replicates = replicates;
  const level = numberFlag('--ci', values.ci);
  if (level !== undefined) options.level = level;
  const seed = integerFlag('--seed', values.seed);
  if (seed !== undefined) options.seed = seed;
  if (values['heatmap-arms'] !== undefined) {
    const parts = String(values['heatmap-arms']).split(',');
    if (parts.length !== 2 || parts.some((p) => p.length === 0)) invalidArgument('--heatmap-arms', 'two arm names separated by a comma', values['heatmap-arms']);
    for (const p of parts) if (!arms.includes(p)) invalidArgument('--heatmap-arms', `names of the arms (${arms.join(', ')})`, p);
    options.heatmapArms = parts as [string, string];
  }
  bootstrapSettings(options);
  return options;
}

/** Builds the comparison: comparison.{json,csv,md,html} as files of a report set; `links`: each arm's own report file there. */
export async function comparisonFiles(input: ComparisonInput, options: ComparisonOptions, links: Record<string, string>): Promise<ReportFile[]> {
  return comparisonSetFiles(await buildComparison(input, options), { armLinks: links });
}

/** A relative link to a file in the same directory (names may hold characters a URL cannot). */
export const fileLink = (file: string) => encodeURIComponent(file);
