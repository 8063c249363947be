/** The fields every report starts with: document type, schema version, the tool, when, what kind; the versions of the other documents. */
import { packageVersion } from '../engine/build-info';
import type { AnalysisReport, DiffReport } from './model';

export const REPORT_SCHEMA_VERSION = 2;

/** The fields every report starts with. */
export function reportHeader(kind: DiffReport['kind']): Pick<DiffReport, 'schema' | 'schemaVersion' | 'tool' | 'createdAt' | 'kind'> {
  let version = 'unknown';
  try {
    version = packageVersion();
  } catch {
    // A report is still worth writing without the version (package.json unreadable).
  }
  return { schema: 'paramscope.diff', schemaVersion: REPORT_SCHEMA_VERSION, tool: { name: 'paramscope', version }, createdAt: new Date().toISOString(), kind };
}

/** The version of `analyze`'s JSON document (`paramscope.analysis`). */
export const ANALYSIS_SCHEMA_VERSION = 1;

/** The version of `compare`'s JSON document (`paramscope.compare`). */
export const COMPARE_SCHEMA_VERSION = 1;

/** The version of the comparison document (`paramscope.comparison`, comparison.json). */
export const COMPARISON_SCHEMA_VERSION = 1;

/** The version of `trajectory`'s JSON document (`paramscope.trajectory`, report/trajectory-model.ts). */
export const TRAJECTORY_SCHEMA_VERSION = 1;

/** The fields the trajectory report starts with. */
export function trajectoryHeader(): { schema: 'paramscope.trajectory'; schemaVersion: number; tool: DiffReport['tool']; createdAt: string } {
  const { tool, createdAt } = reportHeader('checkpoints');
  return { schema: 'paramscope.trajectory', schemaVersion: TRAJECTORY_SCHEMA_VERSION, tool, createdAt };
}

/** `analyze`'s report as its versioned JSON document (what `analyze --json` prints). */
export function analysisDocument(report: AnalysisReport): { schema: 'paramscope.analysis'; schemaVersion: number } & AnalysisReport {
  return { schema: 'paramscope.analysis', schemaVersion: ANALYSIS_SCHEMA_VERSION, ...report };
}
