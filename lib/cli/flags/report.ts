/**
 * --json / --out for commands that produce a DiffReport. `--out <dir>` is checked before any work
 * (lib/report/output-directory.ts: OUTPUT_INVALID for an empty path, a file, a device, a path under a
 * file, a directory that cannot be created or that holds other files) and written all or nothing as one
 * report set (lib/report/report-set.ts).
 */
import type { DiffReport } from '../../report/model';
import { checkReportDirectory } from '../../report/output-directory';
import { REPORT_SET_FILES } from '../../report/set-files';
import { type ReportFile, writeReportSet } from '../../report/report-set';
import { reportDocument } from '../../report/schema';
import { renderReport, type ReportFormat } from '../../report/write';
import { toJson } from '../../report/json';
import type { CommandContext } from '../context';

export const reportFlagsHelp = `  --json                print the report as JSON (schema: docs/schema.md)
  --out <dir>           write report.json, pairs.csv, summary.md and report.html into <dir>, all or
                        nothing: <dir> is new, empty or holds an earlier report (docs/security.md)`;

export const reportFlagOptions = { json: { type: 'boolean' }, out: { type: 'string' } } as const;

/** Checks --out before any work (throws OUTPUT_INVALID); the resolved directory, or undefined without --out. */
export function checkOutFlag(values: Record<string, unknown>): string | undefined {
  return values.out === undefined ? undefined : checkReportDirectory(values.out);
}

/** The files of one report in a set, each name prefixed `<prefix>.` when given (compare's fine-tunes). */
export function reportFiles(report: DiffReport, prefix = ''): ReportFile[] {
  return (Object.entries(REPORT_SET_FILES) as Array<[ReportFormat, string]>).map(([format, name]) => ({
    name: prefix ? `${prefix}.${name}` : name,
    text: renderReport(report, format),
  }));
}

/** Writes the report set of --out (all or nothing) and returns its paths. */
export async function writeOutSet(ctx: CommandContext, dir: string, files: readonly ReportFile[]): Promise<string[]> {
  return writeReportSet(dir, files, { signal: ctx.signal });
}

/** Prints --json and writes the files of --out; returns the paths written. */
export async function emitReport(ctx: CommandContext, report: DiffReport, values: Record<string, unknown>): Promise<string[]> {
  if (values.json) ctx.data(toJson(reportDocument(report)));
  if (typeof values.out !== 'string') return [];
  return writeOutSet(ctx, values.out, reportFiles(report));
}

/**
 * File-name prefixes for compare's fine-tunes, one per name, distinct even on a case-insensitive file
 * system: `/` of a distinguishing parent path becomes `--`, characters outside [A-Za-z0-9._+-] `_`, a
 * leading dot `_`; a prefix still taken gets `-2`, `-3`, ….
 */
export function reportPrefixes(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    const stem = name.replace(/\//g, '--').replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\./, '_') || '_';
    let prefix = stem;
    for (let n = 2; taken.has(prefix.toLowerCase()); n++) prefix = `${stem}-${n}`;
    taken.add(prefix.toLowerCase());
    return prefix;
  });
}
