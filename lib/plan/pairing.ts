/**
 * Pairing two checkpoints tensor by tensor, for ΔW = W_tuned − W_base (SAFETENSORS.md §3): by name,
 * never by shard. Every tensor of both checkpoints ends up in exactly one {@link PairingEntry} of the
 * report (the base embedding of a tied head may appear twice: once paired with its own counterpart, once
 * as the base side of the head), so nothing is dropped silently. Only headers are used: no tensor byte is
 * read here (except by {@link vectorChanges}, which reads the small 1-D tensors on request).
 *
 * How names are matched, in order:
 * 1. rename rules (`options.map`) rewrite the tuned names;
 * 2. a prefix difference is detected: the pair (base prefix, tuned prefix) — `model.`, `language_model.`,
 *    `base_model.model.`, `transformer.`, … or any leading name segment — whose removal matches the most
 *    names; a name without the prefix is kept as it is (so `lm_head.weight` still matches when only the
 *    layers carry `model.`);
 * 3. names equal after that are paired; an output head missing on one side is paired with the other
 *    side's input embedding (tied weights).
 *
 * @example
 * const report = pairCheckpoints(base, tuned, { map: [['transformer.h.*.attn.', 'model.layers.*.self_attn.']] });
 * for (const e of report.entries) if (e.fate !== 'paired') console.log(e.fate, e.name, e.note);
 * const jobs = diffJobs(report);   // → runSpectra(jobs)
 */
import type { Checkpoint, TensorInfo } from '../read/checkpoint';
import { DECODABLE_DTYPES, FLOAT_DTYPES, type Dtype } from '../read/dtypes';
import type { MatrixJob } from '../engine/run';
import { invalidArgument, ParamscopeError } from '../errors';
import { globPattern, nameFilter } from './glob';

/** `[from, to]`: a prefix rule (`from` has no `*`, `?` or `{`), or a glob rule whose `*`/`?` captures fill the `*`/`?` of `to` in order. */
export type RenameRule = readonly [from: string, to: string];

export interface PairingOptions {
  /** Rename rules applied to the tuned checkpoint's names before matching; the first rule that matches a name wins. */
  map?: readonly RenameRule[];
  /** Globs (lib/glob.ts) on the entry's name: only matching pairs become jobs; the others are listed as `excluded`. */
  include?: readonly string[];
  exclude?: readonly string[];
  /** Detect and remove a prefix difference automatically (default true). */
  detectPrefix?: boolean;
  /** Make any shape mismatch an error (SHAPE_MISMATCH) instead of a listed entry (default false). */
  strictShapes?: boolean;
}

/**
 * What happened to a tensor:
 * - `paired`: same name on both sides, same shape, a float matrix (ndim ≥ 2): ΔW is analysed. Dtypes may differ (see `note`).
 * - `resized`: same name, same trailing dimensions, a different number of rows (a resized vocabulary): the
 *   first `sharedRows` rows are compared, the added (or removed) rows are reported in `note`.
 * - `tied`: an output head (`lm_head.weight`, …) present on one side only, while the other side has the
 *   input embedding it is tied to: the head is compared with that embedding.
 * - `not-a-matrix`: paired, but a scalar, a vector (norms, biases) or not floating point: no spectrum;
 *   {@link vectorChanges} gives the relative change of the float vectors.
 * - `shape-mismatch`: same name, shapes that cannot be compared.
 * - `missing-in-tuned` / `extra-in-tuned`: the name exists on one side only.
 * - `excluded`: left out by `include` / `exclude` (would otherwise have been analysed or listed).
 */
export type PairingFate =
  | 'paired' | 'resized' | 'tied' | 'not-a-matrix' | 'shape-mismatch' | 'missing-in-tuned' | 'extra-in-tuned' | 'excluded';

export const PAIRING_FATES: readonly PairingFate[] = [
  'paired', 'resized', 'tied', 'not-a-matrix', 'shape-mismatch', 'missing-in-tuned', 'extra-in-tuned', 'excluded',
];

/** One side of an entry, as stored in its checkpoint. */
export interface TensorSide {
  /** The tensor's name in its own checkpoint (before any renaming). */
  tensor: string;
  dtype: Dtype;
  shape: readonly number[];
}

export interface PairingEntry {
  fate: PairingFate;
  /** The name results are reported under: the base tensor's name, or the tuned one's (after renaming) when the base has none. */
  name: string;
  base: TensorSide | null;
  tuned: TensorSide | null;
  /** `resized` (and a resized `tied` head): the leading rows both sides have; only these are compared. */
  sharedRows?: number;
  /** Why the entry has its fate, in words: dtype change, tying, rows added, the reason for a skip or an exclusion. */
  note?: string;
}

export interface PairingReport {
  base: Checkpoint;
  tuned: Checkpoint;
  /** The prefixes removed before matching ('' when none). */
  prefix: { base: string; tuned: string };
  /** One entry per tensor fate, base order first, then tensors only the tuned side has. */
  entries: PairingEntry[];
  counts: Record<PairingFate, number>;
  /** Summary lines for people: the prefix used, dtype changes, ties, resizes. */
  notes: string[];
}

/** Fates whose ΔW is a matrix the engine analyses. */
const MATRIX_FATES: ReadonlySet<PairingFate> = new Set<PairingFate>(['paired', 'resized', 'tied']);

/** Prefixes that wrappers add (HF `model.`, multimodal `language_model.`, PEFT `base_model.model.`, DDP `module.`, torch.compile `_orig_mod.`). */
const KNOWN_PREFIXES = [
  'model.', 'model.model.', 'language_model.', 'model.language_model.', 'language_model.model.',
  'base_model.model.', 'base_model.model.model.', 'transformer.', 'module.', '_orig_mod.', 'text_model.',
];

/** Output heads that are commonly tied to the input embedding. */
const OUTPUT_HEAD = /(^|\.)(lm_head|embed_out|output)\.weight$/;
/** Input embeddings an output head can be tied to. */
const INPUT_EMBEDDING = /(^|\.)(embed_tokens|wte|tok_embeddings|word_embeddings|embed_in)\.weight$/;

/** How many mismatches an error message names. */
const FIRST_FEW = 5;

/**
 * Matches the tensors of `base` and `tuned` by name and reports every tensor's fate.
 *
 * Throws ParamscopeError:
 * - ARCHITECTURE_MISMATCH when more than half of the names both sides share have shapes that cannot be
 *   compared (the first few are named);
 * - SHAPE_MISMATCH with `strictShapes` and any shape mismatch;
 * - EMPTY_PAIRING when no matrix pair is left to analyse (no common name at all, or all filtered out);
 * - INVALID_ARGUMENT for malformed options or rename rules that send two tuned tensors to one name.
 */
export function pairCheckpoints(base: Checkpoint, tuned: Checkpoint, options: PairingOptions = {}): PairingReport {
  checkOptions(options);
  const renamed = renameTuned(tuned.tensors, options.map ?? []);
  const prefix = options.detectPrefix === false
    ? { base: '', tuned: '' }
    : detectPrefix(base.tensors.map((t) => t.name), [...renamed.keys()]);
  const baseByKey = keyByCanonicalName(base.tensors, (t) => t.name, prefix.base);
  const tunedByKey = keyByCanonicalName([...renamed], ([name]) => name, prefix.tuned);

  const entries: PairingEntry[] = [];
  const unmatchedTuned = new Map(tunedByKey);
  for (const [key, baseInfo] of baseByKey) {
    const tunedMatch = tunedByKey.get(key);
    unmatchedTuned.delete(key);
    entries.push(tunedMatch ? classifyPair(baseInfo, tunedMatch[1]) : oneSided('missing-in-tuned', baseInfo.name, baseInfo, null));
  }
  for (const [name, info] of unmatchedTuned.values()) entries.push(oneSided('extra-in-tuned', name, null, info));

  const resolved = resolveTiedHeads(entries);
  checkArchitecture(resolved, base, tuned);
  if (options.strictShapes) rejectShapeMismatches(resolved);
  const filtered = applyFilter(resolved, options);
  const report: PairingReport = { base, tuned, prefix, entries: filtered, counts: countFates(filtered), notes: [] };
  report.notes = summarise(report, options);
  if (report.counts.paired + report.counts.resized + report.counts.tied === 0) throw emptyPairing(report, options);
  return report;
}

/**
 * The engine jobs for ΔW = W_tuned − W_base of every matrix entry (`paired`, `resized`, `tied`), named
 * after the entry; a resized pair compares its `sharedRows` only.
 */
export function diffJobs(report: PairingReport): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  for (const entry of report.entries) {
    if (!MATRIX_FATES.has(entry.fate) || !entry.base || !entry.tuned) continue;
    jobs.push({
      kind: 'diff',
      name: entry.name,
      tuned: { checkpoint: report.tuned, tensor: entry.tuned.tensor },
      base: { checkpoint: report.base, tensor: entry.base.tensor },
      ...(entry.sharedRows === undefined ? {} : { rows: entry.sharedRows }),
    });
  }
  return jobs;
}

/** The change of a paired float vector or scalar (a norm's scale, a bias), which has no spectrum of interest. */
export interface VectorChange {
  name: string;
  /** ‖tuned − base‖₂ / ‖base‖₂ (Infinity when the base is all zero and the tuned is not; 0 when both are zero). */
  relativeChange: number;
  deltaNorm: number;
  baseNorm: number;
}

/**
 * Reads the `not-a-matrix` entries that are floating point and of equal shape (norm weights, biases,
 * scalars) and returns their relative change. They are small, so this reads them whole.
 */
export async function vectorChanges(report: PairingReport, options: { signal?: AbortSignal } = {}): Promise<VectorChange[]> {
  const changes: VectorChange[] = [];
  for (const entry of report.entries) {
    if (entry.fate !== 'not-a-matrix' || !entry.base || !entry.tuned) continue;
    if (![entry.base.dtype, entry.tuned.dtype].every((d) => FLOAT_DTYPES.has(d) && DECODABLE_DTYPES.has(d))) continue;
    const readOptions = options.signal ? { signal: options.signal } : {};
    const [b, t] = await Promise.all([report.base.read(entry.base.tensor, readOptions), report.tuned.read(entry.tuned.tensor, readOptions)]);
    changes.push(relativeChangeOf(entry.name, b.data, t.data));
  }
  return changes;
}

/** Parses a CLI `--map from=to` argument into a {@link RenameRule} (split at the first `=`). */
export function parseRenameRule(text: string): RenameRule {
  const at = typeof text === 'string' ? text.indexOf('=') : -1;
  if (at < 0) invalidArgument('map rule', '"from=to"', text);
  return [text.slice(0, at), text.slice(at + 1)];
}

/**
 * Applies rename rules to one name: the first rule that matches rewrites it; unmatched names are unchanged.
 * - Prefix rule (`from` has no `*`, `?` or `{a,b}`): a leading `from` is replaced by `to`.
 * - Glob rule: `from` must match a leading part of the name (the rest is kept); each `*` / `?` of `to`
 *   takes the text captured by the next `*` / `?` of `from` (`*` captures as little as it can).
 *
 * @example renameTensor('h.3.attn.c_attn.weight', [['h.*.attn.', 'layers.*.self_attn.']]) // 'layers.3.self_attn.c_attn.weight'
 */
export function renameTensor(name: string, rules: readonly RenameRule[]): string {
  for (const [from, to] of rules) {
    if (!isGlob(from)) {
      if (name.startsWith(from)) return to + name.slice(from.length);
      continue;
    }
    const match = globWithCaptures(from).exec(name);
    if (!match) continue;
    const captures = match.slice(1, -1);
    const tail = match[match.length - 1] ?? '';
    let next = 0;
    return to.replace(/[*?]/g, () => captures[next++] ?? '') + tail;
  }
  return name;
}

// ---------------------------------------------------------------------------------------------------
// Matching

function checkOptions(options: PairingOptions): void {
  if (typeof options !== 'object' || options === null) invalidArgument('pairCheckpoints: options', 'an object', options);
  const { map, include, exclude } = options;
  if (map !== undefined) {
    if (!Array.isArray(map)) invalidArgument('pairCheckpoints: map', 'an array of [from, to] pairs', map);
    for (const rule of map)
      if (!Array.isArray(rule) || rule.length !== 2 || typeof rule[0] !== 'string' || typeof rule[1] !== 'string')
        invalidArgument('pairCheckpoints: map rule', '[from, to] strings', rule);
  }
  for (const [what, globs] of [['include', include], ['exclude', exclude]] as const)
    if (globs !== undefined && (!Array.isArray(globs) || !globs.every((g) => typeof g === 'string')))
      invalidArgument(`pairCheckpoints: ${what}`, 'an array of glob strings', globs);
}

function isGlob(pattern: string): boolean {
  return /[*?{]/.test(pattern);
}

/** A glob whose `*` and `?` capture, so a rename can reuse what they matched. */
function globWithCaptures(glob: string): RegExp {
  // The final group is the tail that the rule does not mention: it is kept, so 'h.*.attn.' works like a prefix.
  return new RegExp(`^${globPattern(glob, true)}(.*)$`);
}

/** Tuned tensors under their renamed names; two tensors renamed to one name is a user error. */
function renameTuned(tensors: readonly TensorInfo[], rules: readonly RenameRule[]): Map<string, TensorInfo> {
  const renamed = new Map<string, TensorInfo>();
  for (const info of tensors) {
    const name = rules.length ? renameTensor(info.name, rules) : info.name;
    const clash = renamed.get(name);
    if (clash)
      throw new ParamscopeError(`map rules rename both "${clash.name}" and "${info.name}" of the tuned checkpoint to "${name}"`, { code: 'INVALID_ARGUMENT', tensor: info.name });
    renamed.set(name, info);
  }
  return renamed;
}

/**
 * The name a tensor is matched under: without `prefix` when it has it — unless the shorter name also
 * exists on the same side, which would make two tensors one.
 */
function canonicalNames(names: readonly string[], prefix: string): string[] {
  if (!prefix) return [...names];
  const present = new Set(names);
  return names.map((n) => (n.startsWith(prefix) && !present.has(n.slice(prefix.length)) ? n.slice(prefix.length) : n));
}

function keyByCanonicalName<T>(items: readonly T[], nameOf: (item: T) => string, prefix: string): Map<string, T> {
  const keys = canonicalNames(items.map(nameOf), prefix);
  return new Map(items.map((item, i) => [keys[i] as string, item]));
}

/**
 * '' plus the known wrapper prefixes and the leading segments (one or two) that at least 5 % of the names
 * share — enough for `model.decoder.` or `language_model.`, while per-layer prefixes (`blocks.7.`) of deep
 * models stay out and keep the search small.
 */
function candidatePrefixes(names: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const name of names) {
    const parts = name.split('.');
    for (let depth = 1; depth <= 2 && depth < parts.length; depth++) {
      const p = parts.slice(0, depth).join('.') + '.';
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
  }
  const minimum = Math.max(2, Math.ceil(0.05 * names.length));
  const shared = [...counts].filter(([, n]) => n >= minimum).map(([p]) => p);
  const known = KNOWN_PREFIXES.filter((p) => counts.has(p) || names.some((n) => n.startsWith(p)));
  return ['', ...new Set([...known, ...shared])];
}

/**
 * The (base, tuned) prefixes whose removal matches the most names; ties go to the shorter prefixes, so
 * checkpoints that already match keep their names.
 */
export function detectPrefix(baseNames: readonly string[], tunedNames: readonly string[]): { base: string; tuned: string } {
  const tunedKeys = candidatePrefixes(tunedNames).map((p) => ({ prefix: p, keys: new Set(canonicalNames(tunedNames, p)) }));
  let best = { base: '', tuned: '', matches: -1 };
  for (const basePrefix of candidatePrefixes(baseNames)) {
    const baseKeys = canonicalNames(baseNames, basePrefix);
    for (const { prefix: tunedPrefix, keys } of tunedKeys) {
      // The same prefix removed on both sides changes nothing: skip it so ties resolve to ('', '').
      if (basePrefix && basePrefix === tunedPrefix) continue;
      const matches = baseKeys.reduce((n, k) => n + (keys.has(k) ? 1 : 0), 0);
      const better = matches > best.matches ||
        (matches === best.matches && basePrefix.length + tunedPrefix.length < best.base.length + best.tuned.length);
      if (better) best = { base: basePrefix, tuned: tunedPrefix, matches };
    }
  }
  return { base: best.base, tuned: best.tuned };
}

// ---------------------------------------------------------------------------------------------------
// Classifying pairs

function side(info: TensorInfo): TensorSide {
  return { tensor: info.name, dtype: info.dtype, shape: info.shape };
}

function oneSided(fate: 'missing-in-tuned' | 'extra-in-tuned', name: string, base: TensorInfo | null, tuned: TensorInfo | null): PairingEntry {
  return { fate, name, base: base && side(base), tuned: tuned && side(tuned) };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** A matrix for the spectral part: a float tensor with at least two dimensions (≥3-D is read as shape[0] × the rest). */
function isFloatMatrix(info: TensorSide): boolean {
  return info.shape.length >= 2 && FLOAT_DTYPES.has(info.dtype);
}

/** Same trailing dimensions and both matrices: the leading (vocabulary) dimension alone differs. */
function isRowResize(base: TensorSide, tuned: TensorSide): boolean {
  return base.shape.length >= 2 && base.shape.length === tuned.shape.length && sameShape(base.shape.slice(1), tuned.shape.slice(1));
}

function dtypeNote(base: TensorSide, tuned: TensorSide): string | undefined {
  return base.dtype === tuned.dtype ? undefined : `dtype ${base.dtype} (base) → ${tuned.dtype} (tuned)`;
}

function joinNotes(...notes: Array<string | undefined>): string | undefined {
  const present = notes.filter((n): n is string => Boolean(n));
  return present.length ? present.join('; ') : undefined;
}

function resizeNote(baseRows: number, tunedRows: number): string {
  const delta = tunedRows - baseRows;
  return delta > 0
    ? `${delta} rows added in tuned (${baseRows} → ${tunedRows}); the first ${baseRows} rows are compared`
    : `${-delta} rows removed in tuned (${baseRows} → ${tunedRows}); the first ${tunedRows} rows are compared`;
}

function classifyPair(baseInfo: TensorInfo, tunedInfo: TensorInfo): PairingEntry {
  const base = side(baseInfo);
  const tuned = side(tunedInfo);
  const name = baseInfo.name;
  const dtypes = dtypeNote(base, tuned);
  if (sameShape(base.shape, tuned.shape)) {
    if (isFloatMatrix(base) && isFloatMatrix(tuned)) return { fate: 'paired', name, base, tuned, ...optionalNote(dtypes) };
    const why = base.shape.length < 2 ? (base.shape.length === 0 ? 'a scalar' : 'a vector') : 'not floating point';
    return { fate: 'not-a-matrix', name, base, tuned, note: joinNotes(`skipped for the spectrum: ${why}`, dtypes) as string };
  }
  if (isRowResize(base, tuned) && isFloatMatrix(base) && isFloatMatrix(tuned)) {
    const sharedRows = Math.min(base.shape[0] as number, tuned.shape[0] as number);
    return { fate: 'resized', name, base, tuned, sharedRows, note: joinNotes(resizeNote(base.shape[0] as number, tuned.shape[0] as number), dtypes) as string };
  }
  return { fate: 'shape-mismatch', name, base, tuned, note: `shape ${shapeText(base.shape)} (base) vs ${shapeText(tuned.shape)} (tuned)` };
}

function optionalNote(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}

/**
 * An output head present on one side only, with the input embedding on the other side, is a tied head:
 * the side without it uses the embedding as its head. Pairs the head with that embedding. When several
 * embeddings qualify (multimodal checkpoints), the one sharing the longest prefix with the head wins.
 */
function resolveTiedHeads(entries: PairingEntry[]): PairingEntry[] {
  const result: PairingEntry[] = [];
  for (const entry of entries) {
    const head = oneSidedHead(entry);
    const embedding = head && findEmbedding(entries, head.present, entry);
    if (!head || !embedding) {
      result.push(entry);
      continue;
    }
    result.push(tiedEntry(entry, head.present, embedding));
  }
  return result;
}

function oneSidedHead(entry: PairingEntry): { present: 'base' | 'tuned' } | null {
  if (entry.fate === 'missing-in-tuned' && entry.base && OUTPUT_HEAD.test(entry.base.tensor)) return { present: 'base' };
  if (entry.fate === 'extra-in-tuned' && entry.tuned && OUTPUT_HEAD.test(entry.tuned.tensor)) return { present: 'tuned' };
  return null;
}

/** The input embedding on the side that lacks the head, of the head's width. */
function findEmbedding(entries: readonly PairingEntry[], headSide: 'base' | 'tuned', headEntry: PairingEntry): TensorSide | null {
  const head = (headSide === 'base' ? headEntry.base : headEntry.tuned) as TensorSide;
  const otherSide = headSide === 'base' ? 'tuned' : 'base';
  const candidates = entries
    .map((e) => e[otherSide])
    .filter((s): s is TensorSide => s !== null && INPUT_EMBEDDING.test(s.tensor) && isRowResize(s, head));
  if (candidates.length === 0) return null;
  const shared = (s: TensorSide) => commonPrefixLength(s.tensor, head.tensor);
  return candidates.reduce((best, c) => (shared(c) > shared(best) ? c : best));
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function tiedEntry(entry: PairingEntry, headSide: 'base' | 'tuned', embedding: TensorSide): PairingEntry {
  const head = (headSide === 'base' ? entry.base : entry.tuned) as TensorSide;
  const base = headSide === 'base' ? head : embedding;
  const tuned = headSide === 'base' ? embedding : head;
  const lacking = headSide === 'base' ? 'tuned' : 'base';
  const tie = `${lacking} has no ${head.tensor}: its output head is tied to ${embedding.tensor}, so ${head.tensor} is compared with that embedding`;
  const rowsDiffer = base.shape[0] !== tuned.shape[0];
  const sharedRows = rowsDiffer ? Math.min(base.shape[0] as number, tuned.shape[0] as number) : undefined;
  const note = joinNotes(tie, rowsDiffer ? resizeNote(base.shape[0] as number, tuned.shape[0] as number) : undefined, dtypeNote(base, tuned)) as string;
  return { fate: 'tied', name: entry.name, base, tuned, ...(sharedRows === undefined ? {} : { sharedRows }), note };
}

// ---------------------------------------------------------------------------------------------------
// Checks, filtering and the summary

function describeMismatches(entries: readonly PairingEntry[]): string {
  const shown = entries.slice(0, FIRST_FEW).map((e) => `${e.name} ${shapeText(e.base?.shape ?? [])} vs ${shapeText(e.tuned?.shape ?? [])}`);
  const more = entries.length > FIRST_FEW ? `, and ${entries.length - FIRST_FEW} more` : '';
  return shown.join('; ') + more;
}

/** More than half of the shared names with incompatible shapes: not a fine-tune of this base. */
function checkArchitecture(entries: readonly PairingEntry[], base: Checkpoint, tuned: Checkpoint): void {
  const shared = entries.filter((e) => e.fate !== 'missing-in-tuned' && e.fate !== 'extra-in-tuned' && e.fate !== 'tied');
  const mismatched = shared.filter((e) => e.fate === 'shape-mismatch');
  if (shared.length === 0 || mismatched.length * 2 <= shared.length) return;
  throw new ParamscopeError(
    `${base.path} and ${tuned.path} look like different architectures: ${mismatched.length} of the ${shared.length} tensor names ` +
      `they share differ in shape (base vs tuned): ${describeMismatches(mismatched)}`,
    { code: 'ARCHITECTURE_MISMATCH', file: tuned.path, tensor: mismatched[0]?.name as string },
  );
}

function rejectShapeMismatches(entries: readonly PairingEntry[]): void {
  const mismatched = entries.filter((e) => e.fate === 'shape-mismatch');
  if (mismatched.length === 0) return;
  throw new ParamscopeError(`${mismatched.length} tensors differ in shape between base and tuned: ${describeMismatches(mismatched)}`, {
    code: 'SHAPE_MISMATCH',
    tensor: mismatched[0]?.name as string,
  });
}

/** Entries whose pair would have been analysed or listed, but that the filter leaves out, become `excluded`. */
function applyFilter(entries: readonly PairingEntry[], options: PairingOptions): PairingEntry[] {
  if (!options.include?.length && !options.exclude?.length) return [...entries];
  const keep = nameFilter(options.include ?? [], options.exclude ?? []);
  return entries.map((e) => (keep(e.name) ? e : { ...e, fate: 'excluded' as const, note: joinNotes(`excluded by include/exclude (was ${e.fate})`, e.note) as string }));
}

function countFates(entries: readonly PairingEntry[]): Record<PairingFate, number> {
  const counts = Object.fromEntries(PAIRING_FATES.map((f) => [f, 0])) as Record<PairingFate, number>;
  for (const e of entries) counts[e.fate]++;
  return counts;
}

function summarise(report: PairingReport, options: PairingOptions): string[] {
  const notes: string[] = [];
  const { prefix, entries, counts } = report;
  if (options.map?.length) notes.push(`${options.map.length} rename rule(s) applied to the tuned names`);
  if (prefix.base || prefix.tuned)
    notes.push(`prefix removed before matching: ${JSON.stringify(prefix.base)} (base), ${JSON.stringify(prefix.tuned)} (tuned)`);
  const dtypeChanges = new Map<string, number>();
  for (const e of entries)
    if (e.base && e.tuned && e.base.dtype !== e.tuned.dtype) {
      const key = `${e.base.dtype} → ${e.tuned.dtype}`;
      dtypeChanges.set(key, (dtypeChanges.get(key) ?? 0) + 1);
    }
  for (const [change, n] of dtypeChanges) notes.push(`${n} pair(s) change dtype ${change} (base → tuned)`);
  for (const e of entries) if (e.fate === 'tied' || e.fate === 'resized') notes.push(`${e.name}: ${e.note}`);
  const listed = (['shape-mismatch', 'missing-in-tuned', 'extra-in-tuned', 'not-a-matrix', 'excluded'] as const).filter((f) => counts[f] > 0);
  if (listed.length) notes.push(listed.map((f) => `${counts[f]} ${f}`).join(', '));
  return notes;
}

function emptyPairing(report: PairingReport, options: PairingOptions): ParamscopeError {
  const { base, tuned, counts, entries } = report;
  const firstNames = (which: 'base' | 'tuned') =>
    entries.map((e) => e[which]?.tensor).filter((n): n is string => Boolean(n)).slice(0, 3).join(', ') || '(none)';
  const why = counts.excluded > 0 && (options.include?.length || options.exclude?.length)
    ? `include/exclude left no pair (${counts.excluded} excluded)`
    : counts['missing-in-tuned'] + counts['extra-in-tuned'] === entries.length
      ? `no tensor name is common to both (base has e.g. ${firstNames('base')}; tuned has e.g. ${firstNames('tuned')}); ` +
        'if the names differ systematically, pass rename rules (--map from=to)'
      : `the common tensors are not matrices or differ in shape (${counts['not-a-matrix']} not-a-matrix, ${counts['shape-mismatch']} shape-mismatch)`;
  return new ParamscopeError(`nothing to compare between ${base.path} and ${tuned.path}: ${why}`, { code: 'EMPTY_PAIRING', file: tuned.path });
}

function relativeChangeOf(name: string, base: Float32Array, tuned: Float32Array): VectorChange {
  let delta2 = 0;
  let base2 = 0;
  for (let i = 0; i < base.length; i++) {
    const b = base[i] as number;
    const d = (tuned[i] as number) - b;
    delta2 += d * d;
    base2 += b * b;
  }
  const deltaNorm = Math.sqrt(delta2);
  const baseNorm = Math.sqrt(base2);
  const relativeChange = baseNorm > 0 ? deltaNorm / baseNorm : deltaNorm > 0 ? Infinity : 0;
  return { name, relativeChange, deltaNorm, baseNorm };
}
