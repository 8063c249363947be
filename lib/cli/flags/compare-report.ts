/**
 * --json / --out of a comparison (`compare`, and `merge` of compare's shards, so both write the same):
 * the compare document on stdout, and each fine-tune's report set in <dir>, prefixed by its name.
 */
import * as path from 'node:path';
import type { CompareResult } from '../../compare';
import { toJson } from '../../report/json';
import { reportDocument } from '../../report/schema';
import type { CommandContext } from '../context';
import { emitReport } from './report';

/** Prints --json's compare document and writes --out's reports; returns the paths written. */
export async function emitCompareReport(ctx: CommandContext, result: CompareResult, values: Record<string, unknown>): Promise<string[]> {
  if (values.json)
    ctx.out(toJson({ schema: 'paramscope.compare', schemaVersion: 1, base: result.base, ranking: result.ranking.map((a) => ({ name: a.name, path: a.path, report: reportDocument(a.report) })) }));
  if (typeof values.out !== 'string') return [];
  const written: string[] = [];
  for (const a of result.arms) written.push(...(await emitReport(ctx, a.report, { out: values.out }, a.name)));
  return written;
}

/** The line saying where --out's reports went. */
export const compareWrittenLine = (written: readonly string[], out: string) => `reports written: ${written.length} files in ${path.resolve(out)}`;
