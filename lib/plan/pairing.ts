/**
 * Pairing two checkpoints tensor by tensor, for ΔW = W_tuned − W_base (SAFETENSORS.md §3): by name,
 * never by shard. Every tensor of both checkpoints ends up in exactly one {@link PairingEntry} of the
 * report (the base embedding of a tied head may appear twice: once paired with its own counterpart, once
 * as the base side of the head), so nothing is dropped silently. Only headers are used: no tensor byte is
 * read here (results/vector-changes.ts reads the small 1-D tensors afterwards).
 *
 * How names are matched, in order:
 * 1. rename rules (`options.map`, rename.ts) rewrite the tuned names;
 * 2. a prefix difference is detected (prefix.ts): the pair (base prefix, tuned prefix) — `model.`,
 *    `language_model.`, `base_model.model.`, `transformer.`, … or any leading name segment — whose removal
 *    matches the most names; a name without the prefix is kept as it is (so `lm_head.weight` still matches
 *    when only the layers carry `model.`);
 * 3. names equal after that are paired; an output head missing on one side is paired with the other
 *    side's input embedding (tied weights, tied-heads.ts).
 * Then the checks and the filter (pairing-checks.ts) and the summary (pairing-summary.ts).
 *
 * @example
 * const report = pairCheckpoints(base, tuned, { map: [['transformer.h.*.attn.', 'model.layers.*.self_attn.']] });
 * for (const e of report.entries) if (e.fate !== 'paired') console.log(e.fate, e.name, e.note);
 * const jobs = diffJobs(report);   // → runSpectra(jobs)
 */
import type { Checkpoint } from '../read/checkpoint';
import { FLOAT_DTYPES } from '../read/dtypes';
import { invalidArgument } from '../errors';
import { type FusedJoin, joinFusedWithUnfused, pairFusedExperts } from './layouts/fused-pairing';
import { type LogicalTensor, logicalView, requireSupported } from './layouts/logical';
import { applyFilter, checkArchitecture, rejectShapeMismatches } from './pairing-checks';
import {
  dtypeNote, isRowResize, joinNotes, type PairingEntry, type PairingOptions, type PairingReport, resizeNote, sameShape, shapeText, side,
  type TensorSide,
} from './pairing-entry';
import { countFates, emptyPairing, layoutNotes, summarise } from './pairing-summary';
import { detectPrefix, keyByCanonicalName } from './prefix';
import { renameTuned } from './rename';
import { resolveTiedHeads } from './tied-heads';

/**
 * Matches the tensors of `base` and `tuned` by name and reports every tensor's fate. Quantized weights
 * are matched as one logical tensor with their scales, and fused experts expert by expert
 * (plan/layouts/, docs/formats.md).
 *
 * Throws ParamscopeError:
 * - UNSUPPORTED_QUANTIZATION / INVALID_QUANTIZATION for quantized layouts that cannot be decoded exactly;
 * - ARCHITECTURE_MISMATCH when more than half of the names both sides share have shapes that cannot be
 *   compared (the first few are named);
 * - SHAPE_MISMATCH with `strictShapes` and any shape mismatch;
 * - EMPTY_PAIRING when no matrix pair is left to analyse (no common name at all, or all filtered out);
 * - INVALID_ARGUMENT for malformed options or rename rules that send two tuned tensors to one name.
 */
export function pairCheckpoints(base: Checkpoint, tuned: Checkpoint, options: PairingOptions = {}): PairingReport {
  checkOptions(options);
  const baseView = logicalView(base), tunedView = logicalView(tuned);
  requireSupported(baseView, base);
  requireSupported(tunedView, tuned);
  const renamed = renameTuned(tunedView.tensors, options.map ?? []);
  const prefix = options.detectPrefix === false
    ? { base: '', tuned: '' }
    : detectPrefix(baseView.tensors.map((t) => t.name), [...renamed.keys()]);
  const baseByKey = keyByCanonicalName(baseView.tensors, (t) => t.name, prefix.base);
  const tunedByKey = keyByCanonicalName([...renamed], ([name]) => name, prefix.tuned);

  // Fused experts on one side, unfused on the other: joined first, reported where their base tensors were.
  const unmatchedBase = new Map<string, { name: string; tensor: LogicalTensor }>();
  for (const [key, t] of baseByKey) if (!tunedByKey.has(key)) unmatchedBase.set(key, { name: t.name, tensor: t });
  const unmatchedTuned = new Map<string, { name: string; tensor: LogicalTensor }>();
  for (const [key, [name, t]] of tunedByKey) if (!baseByKey.has(key)) unmatchedTuned.set(key, { name, tensor: t });
  const joins = joinFusedWithUnfused(unmatchedBase, unmatchedTuned);
  const joinOfBase = new Map<string, FusedJoin>();
  const joinedTuned = new Set<string>();
  for (const j of joins) {
    for (const k of j.baseKeys) joinOfBase.set(k, j);
    for (const k of j.tunedKeys) joinedTuned.add(k);
  }

  const entries: PairingEntry[] = [];
  const emitted = new Set<FusedJoin>();
  for (const [key, baseInfo] of baseByKey) {
    const tunedMatch = tunedByKey.get(key);
    const join = joinOfBase.get(key);
    if (join) {
      if (!emitted.has(join)) entries.push(...join.entries);
      emitted.add(join);
    } else if (tunedMatch) entries.push(...classifyPair(baseInfo, tunedMatch[1]));
    else entries.push(oneSided('missing-in-tuned', baseInfo.name, baseInfo, null));
  }
  for (const [key, [name, info]] of tunedByKey)
    if (!baseByKey.has(key) && !joinedTuned.has(key)) entries.push(oneSided('extra-in-tuned', name, null, info));

  const resolved = resolveTiedHeads(entries);
  checkArchitecture(resolved, base, tuned);
  if (options.strictShapes) rejectShapeMismatches(resolved);
  const filtered = applyFilter(resolved, options, baseView.context);
  const report: PairingReport = { base, tuned, prefix, entries: filtered, counts: countFates(filtered), notes: [] };
  report.notes = [...summarise(report, options), ...layoutNotes(filtered, baseView, tunedView, joins.length)];
  if (report.counts.paired + report.counts.resized + report.counts.tied === 0) throw emptyPairing(report, options);
  return report;
}

function checkOptions(options: PairingOptions): void {
  if (typeof options !== 'object' || options === null) invalidArgument('pairCheckpoints: options', 'an object', options);
  const { map, include, exclude, component } = options;
  if (component !== undefined && !(typeof component === 'string' || (Array.isArray(component) && component.every((c) => typeof c === 'string'))))
    invalidArgument('pairCheckpoints: component', 'a component name or an array of them', component);
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

// ---------------------------------------------------------------------------------------------------
// Classifying pairs

function oneSided(fate: 'missing-in-tuned' | 'extra-in-tuned', name: string, base: LogicalTensor | null, tuned: LogicalTensor | null): PairingEntry {
  return { fate, name, base: base && side(base), tuned: tuned && side(tuned) };
}

/** A matrix for the spectral part: a float (or quantized) tensor with at least two dimensions (≥3-D is read as shape[0] × the rest). */
function isFloatMatrix(info: TensorSide): boolean {
  return info.shape.length >= 2 && (FLOAT_DTYPES.has(info.dtype) || info.layout !== undefined);
}

function classifyPair(baseInfo: LogicalTensor, tunedInfo: LogicalTensor): PairingEntry[] {
  const name = baseInfo.name;
  if (baseInfo.experts && tunedInfo.experts) return pairFusedExperts(name, baseInfo, tunedInfo);
  const base = side(baseInfo);
  const tuned = side(tunedInfo);
  const dtypes = dtypeNote(base, tuned);
  if (sameShape(base.shape, tuned.shape)) {
    if (isFloatMatrix(base) && isFloatMatrix(tuned)) return [{ fate: 'paired', name, base, tuned, ...optionalNote(dtypes) }];
    const why = base.shape.length < 2 ? (base.shape.length === 0 ? 'a scalar' : 'a vector') : 'not floating point';
    return [{ fate: 'not-a-matrix', name, base, tuned, note: joinNotes(`skipped for the spectrum: ${why}`, dtypes) as string }];
  }
  if (isRowResize(base, tuned) && isFloatMatrix(base) && isFloatMatrix(tuned)) {
    const sharedRows = Math.min(base.shape[0] as number, tuned.shape[0] as number);
    return [{ fate: 'resized', name, base, tuned, sharedRows, note: joinNotes(resizeNote(base.shape[0] as number, tuned.shape[0] as number), dtypes) as string }];
  }
  return [{ fate: 'shape-mismatch', name, base, tuned, note: `shape ${shapeText(base.shape)} (base) vs ${shapeText(tuned.shape)} (tuned)` }];
}

function optionalNote(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}
