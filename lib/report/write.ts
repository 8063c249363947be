/**
 * Writes a diff report in any of its formats to paths of the caller's choice (the library's `writeReports`;
 * the CLI's `--out` writes a whole directory as one set instead: report-set.ts), all or nothing as far as
 * renames one by one allow: every report is rendered in memory, written
 * to a temporary file beside its target (fsynced), then renamed into place. Files that a target path
 * already held are moved aside first and put back if anything fails, so after a failure none of the new
 * files remain and the old ones are intact. Under the CLI an interruption (SIGINT / SIGTERM) undoes the
 * write through an onInterrupt hook; only a process killed outright can leave hidden temporaries
 * (`.<name>.paramscope-<pid>-<random>.tmp`), never a partial report under the requested name.
 *
 * @example
 * await writeReports(report, { json: 'out/report.json', html: 'out/report.html' });
 */
import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DiffReport } from './model';
import { onInterrupt } from '../engine/interrupt';
import { writeDurably } from './report-set';
import { invalidArgument, ParamscopeError } from '../errors';
import { diffToCsv } from './diff-csv';
import { toHtml } from './html/index';
import { toMarkdown } from './markdown';
import { serializeReport } from './schema';

export interface ReportPaths {
  json?: string;
  csv?: string;
  markdown?: string;
  html?: string;
}

export type ReportFormat = keyof ReportPaths;

const RENDERERS: Record<ReportFormat, (r: DiffReport) => string> = {
  json: (r) => serializeReport(r),
  csv: diffToCsv,
  markdown: toMarkdown,
  html: (r) => toHtml(r),
};

/** Renders one format of a report. */
export function renderReport(report: DiffReport, format: ReportFormat): string {
  return RENDERERS[format](report);
}

function tempPath(target: string, tag: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.paramscope-${process.pid}-${randomBytes(4).toString('hex')}.${tag}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the requested formats (absolute or relative paths; missing parent directories are an error).
 * Returns the written paths, resolved. Throws WRITE_FAILED (nothing new left behind) or INVALID_ARGUMENT.
 */
export async function writeReports(report: DiffReport, paths: ReportPaths): Promise<Record<ReportFormat, string | undefined>> {
  const files: TextFile[] = [];
  for (const format of Object.keys(RENDERERS) as ReportFormat[]) {
    const p = paths[format];
    if (p === undefined) continue;
    if (typeof p !== 'string' || p.length === 0) invalidArgument(`${format} report path`, 'a non-empty string', p);
    files.push({ what: format, path: p, text: () => renderReport(report, format) });
  }
  const placed = await writeTextFiles(files);
  const written: Record<ReportFormat, string | undefined> = { json: undefined, csv: undefined, markdown: undefined, html: undefined };
  files.forEach((f, i) => (written[f.what as ReportFormat] = placed[i]));
  return written;
}

/** One file of an all-or-nothing write: what it is (for the error message), where, and its text. */
export interface TextFile {
  what: string;
  path: string;
  text: string | (() => string);
}

/**
 * Writes the files all or nothing (see the top of this file); returns their resolved paths in order.
 * Throws WRITE_FAILED (nothing new left behind) or INVALID_ARGUMENT (two files on one path).
 */
export async function writeTextFiles(files: readonly TextFile[]): Promise<string[]> {
  const jobs: Array<{ format: string; target: string; text: string; temp: string; backup?: string; placed?: boolean }> = [];
  const seen = new Set<string>();
  for (const file of files) {
    if (typeof file.path !== 'string' || file.path.length === 0) invalidArgument(`${file.what} report path`, 'a non-empty string', file.path);
    const target = path.resolve(file.path);
    if (seen.has(target)) invalidArgument(`${file.what} report path`, 'a path not used by another format', file.path);
    seen.add(target);
    jobs.push({ format: file.what, target, text: typeof file.text === 'string' ? file.text : file.text(), temp: tempPath(target, 'tmp') });
  }
  if (jobs.length === 0) return [];

  let current = jobs[0] as (typeof jobs)[number];
  // Undo: remove what was placed, restore what was moved aside, delete the temporaries. Synchronous, so
  // it is also the interrupt hook (a second SIGINT / SIGTERM exits at once: lib/engine/interrupt.ts).
  const undo = () => {
    for (const job of jobs) {
      try {
        if (job.placed) fsSync.rmSync(job.target, { force: true });
        if (job.backup) fsSync.renameSync(job.backup, job.target);
        fsSync.rmSync(job.temp, { force: true });
      } catch {
        // Best effort: the others are still undone.
      }
      job.placed = false;
      job.backup = undefined;
    }
  };
  const unhook = onInterrupt(undo);
  try {
    // 1. Every report to its temporary file.
    for (const job of jobs) {
      current = job;
      await writeDurably(job.temp, job.text);
    }
    // 2. Move any old file aside, then the new one into place.
    for (const job of jobs) {
      current = job;
      if (await exists(job.target)) {
        const stat = await fs.stat(job.target);
        if (stat.isDirectory()) throw Object.assign(new Error(`is a directory`), { code: 'EISDIR' });
        job.backup = tempPath(job.target, 'old');
        await fs.rename(job.target, job.backup);
      }
      await fs.rename(job.temp, job.target);
      job.placed = true;
    }
  } catch (error) {
    unhook();
    undo();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ParamscopeError(`cannot write the ${current.format} report to ${current.target}: ${reason}; no report was written`, { code: 'WRITE_FAILED', file: current.target, cause: error });
  }
  // 3. Success: drop the old files.
  unhook();
  for (const job of jobs) if (job.backup) await fs.rm(job.backup, { force: true }).catch(() => undefined);
  return jobs.map((j) => j.target);
}
