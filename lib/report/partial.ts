/**
 * The partial report a shard writes (`--shard i/N` with `--json` or `--out`): which shard of which plan
 * it is, the units of work it covers, and per run (one, or one per fine-tune of `compare`) the parts of
 * the report besides the per-matrix results (its frame) and the results it computed. The merge
 * (lib/merge.ts) checks a set of them (report/merge.ts) and assembles the report a single run would have
 * written, through the same assembly code.
 *
 * The JSON is the report's own (typed arrays as arrays) except for non-finite numbers, which a report
 * writes as the strings "NaN" / "Infinity": a partial writes them as {"$nonFinite": "NaN"} so that they
 * read back as numbers and no string (a tensor named "NaN") is ever mistaken for one.
 *
 * Reading one (parsePartial) trusts nothing: anything that is not a partial report of this version —
 * text that is not JSON, a full report, a field of the wrong type — is MERGE_INVALID_PARTIAL naming the
 * file and what is wrong, never echoing its content.
 */
import { packageVersion } from '../engine/build-info';
import { ParamscopeError } from '../errors';

export const PARTIAL_SCHEMA = 'paramscope.partial';
export const PARTIAL_SCHEMA_VERSION = 1;

/** The commands whose partial reports merge. */
export type PartialCommand = 'analyze' | 'diff' | 'lora' | 'compare' | 'trajectory';
export const PARTIAL_COMMANDS: readonly string[] = ['analyze', 'diff', 'lora', 'compare', 'trajectory'];

/** One run of a partial: a whole analysis, or one fine-tune of compare. */
export interface PartialRun<Frame = Record<string, unknown>, Result = Record<string, unknown>> {
  /** compare's fine-tune name; null for the single run of the other commands. */
  run: string | null;
  /** compare's fine-tune path as given; null otherwise. */
  path: string | null;
  /** Every unit (matrix or module) of the run, in report order: the whole plan's, not only this shard's. */
  order: string[];
  /** The units this shard computed, in report order. */
  covers: string[];
  /** The report's parts besides its per-matrix results. */
  frame: Frame;
  /** This shard's per-matrix results, one per name of `covers`, in that order. */
  results: Result[];
}

export interface PartialReport {
  schema: typeof PARTIAL_SCHEMA;
  schemaVersion: number;
  tool: { name: 'paramscope'; version: string };
  createdAt: string;
  command: PartialCommand;
  shard: { index: number; count: number };
  /** The plan's identity (plan/plan-identity.ts) and how many units it has over all runs. */
  plan: { id: string; units: number };
  /** compare's and trajectory's base path as given (null for the other commands, and a trajectory without base). */
  base: string | null;
  /** trajectory: the parts of its report besides the runs (its steps, kind, overlap rank, notes). */
  frame?: Record<string, unknown>;
  runs: PartialRun[];
}

/** The partial of `shard` for the plan `id`: header fields filled in. */
export function partialReport(fields: Omit<PartialReport, 'schema' | 'schemaVersion' | 'tool' | 'createdAt'>): PartialReport {
  let version = 'unknown';
  try {
    version = packageVersion();
  } catch {
    // Still worth writing without the version.
  }
  return { schema: PARTIAL_SCHEMA, schemaVersion: PARTIAL_SCHEMA_VERSION, tool: { name: 'paramscope', version }, createdAt: new Date().toISOString(), ...fields };
}

const NON_FINITE = '$nonFinite';

function replacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number' && !Number.isFinite(value)) return { [NON_FINITE]: String(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const v = (value as Record<string, unknown>)[NON_FINITE];
    if (keys.length === 1 && keys[0] === NON_FINITE && (v === 'NaN' || v === 'Infinity' || v === '-Infinity')) return Number(v);
  }
  return value;
}

/** The partial as JSON text. */
export function serializePartial(partial: PartialReport, indent = 0): string {
  return JSON.stringify(partial, replacer, indent) + '\n';
}

export { partialFileName } from './set-files'; // one list of --out file names

function invalid(file: string, why: string): never {
  throw new ParamscopeError(`${file}: not a paramscope partial report (${why}); merge takes the files that 'paramscope … --shard i/N --json' or '--out' wrote`, { code: 'MERGE_INVALID_PARTIAL', file });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Full reports, named in the refusal so a user who passes one knows what it is. */
const FULL_REPORTS: Record<string, string> = { 'paramscope.diff': 'a diff report', 'paramscope.analysis': 'an analysis report', 'paramscope.compare': 'a compare report', 'paramscope.trajectory': 'a trajectory report' };

/** Parses and checks the text of `file` as a partial report. Throws MERGE_INVALID_PARTIAL. */
export function parsePartial(text: string, file: string): PartialReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text, reviver);
  } catch {
    invalid(file, 'it is not valid JSON');
  }
  if (!isObject(doc)) invalid(file, 'its JSON is not an object');
  const schema = doc.schema;
  if (typeof schema === 'string' && FULL_REPORTS[schema]) invalid(file, `it is ${FULL_REPORTS[schema]}, the output of a whole run, not a shard's`);
  if (schema !== PARTIAL_SCHEMA) invalid(file, `its "schema" is not "${PARTIAL_SCHEMA}"`);
  if (doc.schemaVersion !== PARTIAL_SCHEMA_VERSION) invalid(file, `schemaVersion ${isCount(doc.schemaVersion) ? doc.schemaVersion : '(not a number)'}, this version reads ${PARTIAL_SCHEMA_VERSION}`);
  if (typeof doc.command !== 'string' || !PARTIAL_COMMANDS.includes(doc.command)) invalid(file, '"command" is not one of ' + PARTIAL_COMMANDS.join(', '));
  const shard = doc.shard, plan = doc.plan;
  if (!isObject(shard) || !isCount(shard.index) || !isCount(shard.count) || shard.count < 1 || shard.index >= shard.count) invalid(file, '"shard" is not {index, count} with 0 ≤ index < count');
  if (!isObject(plan) || typeof plan.id !== 'string' || !/^[0-9a-f]{64}$/.test(plan.id) || !isCount(plan.units)) invalid(file, '"plan" is not {id: 64 hex digits, units: a count}');
  if (!(doc.base === null || typeof doc.base === 'string')) invalid(file, '"base" is neither null nor a path');
  if (doc.command === 'trajectory' ? !isObject(doc.frame) : doc.frame !== undefined) invalid(file, `"frame" is ${doc.command === 'trajectory' ? 'not an object' : "present (only a trajectory's partial has one)"}`);
  if (!Array.isArray(doc.runs) || doc.runs.length === 0) invalid(file, '"runs" is not a non-empty array');
  let units = 0;
  doc.runs.forEach((run: unknown, i: number) => {
    const where = `runs[${i}]`;
    if (!isObject(run)) invalid(file, `${where} is not an object`);
    if (!(run.run === null || typeof run.run === 'string') || !(run.path === null || typeof run.path === 'string')) invalid(file, `${where}: "run" / "path" are neither null nor strings`);
    if (!isStringArray(run.order) || !isStringArray(run.covers)) invalid(file, `${where}: "order" / "covers" are not arrays of names`);
    if (new Set(run.order).size !== run.order.length) invalid(file, `${where}: "order" names a unit twice`);
    const position = new Map(run.order.map((name, k) => [name, k]));
    let last = -1;
    for (const name of run.covers) {
      const k = position.get(name);
      if (k === undefined || k <= last) invalid(file, `${where}: "covers" is not a subset of "order" in its order`);
      last = k;
    }
    if (!isObject(run.frame)) invalid(file, `${where}: "frame" is not an object`);
    if (!Array.isArray(run.results) || run.results.length !== run.covers.length) invalid(file, `${where}: "results" does not hold one result per covered unit`);
    const covers = run.covers;
    run.results.forEach((r: unknown, k: number) => {
      if (!isObject(r) || r.name !== covers[k]) invalid(file, `${where}.results[${k}] is not the result of the unit "covers" names there`);
    });
    units += run.order.length;
  });
  if (units !== plan.units) invalid(file, `"plan.units" is not the number of units its runs list`);
  return doc as unknown as PartialReport;
}
