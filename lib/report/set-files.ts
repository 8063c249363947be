/**
 * The name of every file a paramscope command writes into `--out <dir>`, in one place: the writers take
 * their names from here, and the rule of what a report directory may hold (output-directory.ts) is built
 * from the same lists, so a new file cannot be written without the directory check knowing it.
 */

/** One diff's report set (each prefixed `<name>.` by compare and trajectory). */
export const REPORT_SET_FILES = { json: 'report.json', csv: 'pairs.csv', markdown: 'summary.md', html: 'report.html' } as const;

/** The comparison family: compare --out, compare --weights, analyze <ckpt>… --out, trajectory --out. */
export const COMPARISON_FILES = { json: 'comparison.json', csv: 'comparison.csv', markdown: 'comparison.md', html: 'comparison.html' } as const;

/** trajectory's own files. */
export const TRAJECTORY_FILES = { json: 'trajectory.json', markdown: 'trajectory.md', csv: 'trajectory.csv' } as const;

/** Each checkpoint's analysis beside a weights comparison, as `<name>.` + one of these. */
export const ANALYSIS_FILES = { json: 'analysis.json', csv: 'tensors.csv' } as const;

/** The file name a shard's partial takes in `--out <dir>`: part-<index>-of-<count>.json. */
export function partialFileName(shard: { index: number; count: number }): string {
  return `part-${shard.index}-of-${shard.count}.json`;
}

const PARTIAL_FILE = /^part-\d+-of-\d+\.json$/;
const NAMED_FILES = [REPORT_SET_FILES, COMPARISON_FILES, TRAJECTORY_FILES, ANALYSIS_FILES].flatMap((family) => Object.values(family) as string[]);
const literal = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Built from the constants above (never from input): any of the names, optionally `<prefix>.` first.
const SET_FILE = new RegExp(`^(?:.+\\.)?(?:${NAMED_FILES.map(literal).join('|')})$`);

/** Whether a file name is one a paramscope command writes into a report directory. */
export function isSetFileName(name: string): boolean {
  return SET_FILE.test(name) || PARTIAL_FILE.test(name);
}
