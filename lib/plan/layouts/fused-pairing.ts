/**
 * Pairing fused expert tensors (docs/formats.md, "Fused experts"), expert by expert:
 * - fused on both sides: slice e with slice e, `name[e]`; when one side stores [in, out] and the other
 *   [out, in], the [in, out] side is transposed (singular values do not depend on orientation, but the
 *   difference does);
 * - fused on one side, `experts.N.{gate,up,down}_proj.weight` (or Mixtral's w1/w3/w2) on the other: slice
 *   e of a fused down with experts.e's down; a fused gate_up is split into its gate and up rows
 *   (concatenated: the first and second half; gpt-oss: even and odd rows) and each half is paired with
 *   experts.e's gate and up weight. Each pair is then the ΔW the unfused-vs-unfused diff of the same
 *   models would report (gate and up are two linear maps: one spectrum of their concatenation would mix
 *   them), named after the unfused tensor.
 */
import { dtypeNote, type PairingEntry, side, shapeText } from '../pairing-entry';
import { expertShape, type LogicalTensor, type MatrixSlice } from './logical';

/** Slice e of both sides, or one shape-mismatch entry when the experts cannot be compared. */
export function pairFusedExperts(name: string, base: LogicalTensor, tuned: LogicalTensor): PairingEntry[] {
  const b = base.experts, t = tuned.experts;
  if (!b || !t) return [];
  const [bRows, bCols] = expertShape(base), [tRows, tCols] = expertShape(tuned);
  if (b.count !== t.count || bRows !== tRows || bCols !== tCols || b.projection !== t.projection || b.gateUp !== t.gateUp) {
    const why = b.count !== t.count ? `${b.count} experts (base) vs ${t.count} (tuned)`
      : b.gateUp !== t.gateUp ? `gate/up ${b.gateUp} (base) vs ${t.gateUp} (tuned)`
      : `experts of [out, in] ${shapeText([bRows, bCols])} (base) vs ${shapeText([tRows, tCols])} (tuned)`;
    return [{ fate: 'shape-mismatch', name, base: side(base), tuned: side(tuned), note: `fused experts that cannot be compared: ${why}` }];
  }
  // The same orientation on both sides: compare as stored. Otherwise bring the [in, out] side to [out, in].
  const transposeBase = b.orientation !== t.orientation && b.orientation === 'in-out';
  const transposeTuned = b.orientation !== t.orientation && t.orientation === 'in-out';
  const entries: PairingEntry[] = [];
  for (let e = 0; e < b.count; e++) {
    const baseSide = side(base, { expert: e, transpose: transposeBase });
    const tunedSide = side(tuned, { expert: e, transpose: transposeTuned });
    const note = dtypeNote(baseSide, tunedSide);
    entries.push({ fate: 'paired', name: `${name}[${e}]`, base: baseSide, tuned: tunedSide, ...(note ? { note } : {}) });
  }
  return entries;
}

const FUSED_KEY = /^(.*(?:^|\.)experts\.)(gate_up_proj|down_proj|up_proj|gate_proj)(?:\.weight)?$/;
/** Unfused names of each projection: HF (gate_proj / up_proj / down_proj) and Mixtral (w1 / w3 / w2). */
const UNFUSED: Record<'gate' | 'up' | 'down', string[]> = { gate: ['gate_proj', 'w1'], up: ['up_proj', 'w3'], down: ['down_proj', 'w2'] };

export interface FusedJoin {
  entries: PairingEntry[];
  baseKeys: string[];
  tunedKeys: string[];
}

type Unmatched = Map<string, { name: string; tensor: LogicalTensor }>;

/**
 * Fused tensors left unmatched on one side whose experts the other side stores unfused: every expert
 * must be found (with fitting shapes), else the tensors stay listed as they are.
 */
export function joinFusedWithUnfused(base: Unmatched, tuned: Unmatched): FusedJoin[] {
  const joins: FusedJoin[] = [];
  for (const [fusedSide, fused, other] of [['base', base, tuned], ['tuned', tuned, base]] as const) {
    for (const [key, { tensor: f }] of fused) {
      const m = FUSED_KEY.exec(key);
      if (!m || !f.experts) continue;
      const prefix = m[1] as string;
      const [rows, cols] = expertShape(f);
      const halves = f.experts.projection === 'gate_up' ? (['gate', 'up'] as const) : ([f.experts.projection] as const);
      const count = halves.length === 2 ? rows / 2 : rows;
      const transpose = f.experts.orientation === 'in-out';
      const entries: PairingEntry[] = [];
      const used: string[] = [];
      let complete = Number.isInteger(count);
      for (let e = 0; e < f.experts.count && complete; e++) {
        halves.forEach((half, h) => {
          if (!complete) return;
          const found = UNFUSED[half].map((n) => `${prefix}${e}.${n}.weight`).find((k) => other.has(k) && !used.includes(k));
          const unfused = found ? other.get(found) : undefined;
          const u = unfused?.tensor;
          if (!u || u.experts || u.shape.length !== 2 || u.shape[0] !== count || u.shape[1] !== cols) {
            complete = false;
            return;
          }
          const slice: MatrixSlice = {
            expert: e, transpose,
            ...(halves.length === 2
              ? { rows: f.experts?.gateUp === 'interleaved' ? { offset: h, stride: 2, count } : { offset: h * count, stride: 1, count } }
              : {}),
          };
          const fusedPart = side(f, slice), unfusedPart = side(u);
          const [b, t] = fusedSide === 'base' ? [fusedPart, unfusedPart] : [unfusedPart, fusedPart];
          const what = halves.length === 2 ? `the ${half} rows of fused ${f.name}[${e}]` : `fused ${f.name}[${e}]`;
          const note = [`${what} (${fusedSide}) paired with ${unfused.name}`, dtypeNote(b, t)].filter(Boolean).join('; ');
          entries.push({ fate: 'paired', name: unfused.name, base: b, tuned: t, note });
          used.push(found as string);
        });
      }
      if (!complete || entries.length === 0) continue;
      for (const k of used) other.delete(k);
      fused.delete(key);
      joins.push(fusedSide === 'base' ? { entries, baseKeys: [key], tunedKeys: used } : { entries, baseKeys: used, tunedKeys: [key] });
    }
  }
  return joins;
}
