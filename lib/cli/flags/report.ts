/** --json / --out for commands that produce a DiffReport. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DiffReport } from '../../report/model';
import { reportDocument } from '../../report/schema';
import { writeReports } from '../../report/write';
import { toJson } from '../../report/json';
import type { CommandContext } from '../context';

export const reportFlagsHelp = `  --json                print the report as JSON (schema: docs/schema.md)
  --out <dir>           write report.json, pairs.csv, summary.md and report.html into <dir>`;

export const reportFlagOptions = { json: { type: 'boolean' }, out: { type: 'string' } } as const;

/** Writes the files of --out (atomically) and returns the paths, or prints --json. */
export async function emitReport(ctx: CommandContext, report: DiffReport, values: Record<string, unknown>, basename = ''): Promise<string[]> {
  if (values.json) ctx.data(toJson(reportDocument(report)));
  if (typeof values.out !== 'string') return [];
  const dir = path.resolve(values.out);
  const file = (name: string) => path.join(dir, basename ? `${basename}.${name}` : name);
  const paths = { json: file('report.json'), csv: file('pairs.csv'), markdown: file('summary.md'), html: file('report.html') };
  fs.mkdirSync(dir, { recursive: true });
  await writeReports(report, paths);
  return Object.values(paths);
}
