/** The fields every report starts with: document type, schema version, the tool, when, what kind. */
import { packageVersion } from '../engine/build-info';
import type { DiffReport } from './model';

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
