/**
 * The regime verdict: is a fine-tune's update *concentrated* (energy in a few directions of a few
 * matrices: the footprint of narrow, benchmark-aligned data) or *dispersed* (energy spread over many
 * directions, modules and layers: the footprint of coverage-expanding data)? A diagnostic, not a
 * benchmark score: it describes the shape of ΔW, not whether the model got better.
 *
 * Built from principles so it transfers to runs it was never tuned on:
 *  - scale-free: every measure is a ratio or an entropy, so model size, learning rate and training length
 *    change it only through the update's shape;
 *  - noise-aware: signal is what storage rounding cannot account for: singular values above the
 *    storage-noise edge, plus below-edge energy beyond the expected rounding energy Σ ulp²/12 (bf16
 *    rounding of two checkpoints alone produces a flat, full-rank ΔW that would otherwise read as
 *    "dispersed"; a real update spread thinly over many directions raises that flat part above it);
 *  - many-layer evidence: a per-matrix measure is aggregated across every matrix, weighted by how much of
 *    the update it carries, and the spread across matrices is a measure of its own.
 *
 * Score = 0.75·D + 0.15·L + 0.10·C in [0, 1] (0 concentrated, 1 dispersed), where
 *  D (directional spread): per matrix, √(r_sig / R) with r_sig the energy effective rank of the signal
 *    singular values and R the rank the update could have had (min(m, n), or the LoRA rank r);
 *    averaged with weights equal to each matrix's share of the update energy;
 *  L (layer/module spread): normalised entropy of the matrices' shares of the update energy;
 *  C (coverage): the fraction of matrices whose update rises above the storage-noise floor at all.
 * Hidden energy (below the edge) has no resolvable directions: it enters D as a range, from the fewest
 * directions it can occupy (each carries less than edge²) to all of them.
 * Labels: < 0.35 concentrated, > 0.65 dispersed, else mixed; 'indeterminate' when less than half of the
 * update's energy is more than rounding accounts for, and 'no-signal' when nothing is. Matrices that failed
 * (failures.ts) are not in the score; they lower the confidence (any: at most medium; more than 5 %: low)
 * and the note says how many and why. docs/regime.md explains each choice.
 */
import { codesText, type FailedMatrix, failureCounts } from './failures';
import { normalizedEntropy } from './groups';

export interface RegimeMatrix {
  name: string;
  layer: number | null;
  /** Its model component (language, vision, …): layers are counted per component. */
  component?: string;
  moduleType: string;
  /** The largest rank the update could have: min(m, n), or the adapter rank for LoRA. */
  rankCap: number;
  /** The update's energy, made scale-free: ‖ΔW‖_F² / ‖W_base‖_F² when the base is known, else ‖ΔW‖_F². */
  energy: number;
  /** Known singular values of ΔW, descending (all, or the top k). */
  values: ArrayLike<number>;
  /** ‖ΔW‖_F² (for the unknown tail in truncated mode). */
  frobeniusSquared: number;
  /** Singular values at or below this are storage noise (0 when there is no noise floor). */
  noiseEdge: number;
  /**
   * Update energy below the noise edge beyond what storage rounding accounts for (units of values²):
   * real update spread over directions each too weak to stand out from the noise. 0 when unknown.
   */
  hiddenEnergy?: number;
}

export interface RegimeEvidence {
  metric: 'D' | 'L' | 'C';
  text: string;
}

export interface RegimeVerdict {
  /** 0 = concentrated … 1 = dispersed. */
  score: number;
  /** The score's range over what truncated spectra leave unknown (equal to score when exact). */
  scoreRange: [number, number];
  label: 'concentrated' | 'mixed' | 'dispersed' | 'indeterminate' | 'no-signal';
  components: { directionalSpread: [number, number]; layerSpread: number; coverage: number };
  /** The matrices carrying most of the update, with their directional spread. */
  drivers: Array<{ name: string; energyShare: number; directionalSpread: [number, number] }>;
  evidence: RegimeEvidence[];
  confidence: 'high' | 'medium' | 'low';
  confidenceNote: string;
  /** Matrices that could not be analysed (their codes: aggregates.model.failed): not in the verdict, and counted against its confidence. */
  failed: number;
}

// D dominates: a full fine-tune touches every matrix whatever its data, so L and C separate regimes
// mainly for partial updates (frozen layers, adapters on some modules); the number of directions per
// matrix is what tells narrow from broad data in every case.
export const REGIME_WEIGHTS = { D: 0.75, L: 0.15, C: 0.1 } as const;

/**
 * The name and one-sentence definition of each component, the one wording the reports (Markdown, HTML),
 * the report schema and the CLI use; how each is computed is in the comment at the top of this file.
 */
export const REGIME_COMPONENTS = {
  D: {
    name: 'directional spread',
    definition: 'energy-weighted mean over matrices of √(r/R), r the energy effective rank of the update\'s signal (its spectrum above the storage-noise floor) and R the largest rank it could have (min(m, n), or the LoRA rank)',
  },
  L: { name: 'layer/module spread', definition: 'normalised entropy of the matrices\' shares of the update energy' },
  C: { name: 'coverage', definition: 'fraction of matrices changed by more than storage rounding' },
} as const satisfies Record<RegimeEvidence['metric'], { name: string; definition: string }>;

/** "D directional spread, L layer/module spread, C coverage": the letters as the evidence and tables use them. */
export const REGIME_LEGEND = (['D', 'L', 'C'] as const).map((k) => `${k} ${REGIME_COMPONENTS[k].name}`).join(', ');

export const REGIME_THRESHOLDS = { concentrated: 0.35, dispersed: 0.65 } as const;

/**
 * Energy effective rank exp(H(σᵢ²/Σσ²)) of the signal, as bounds over what the spectrum leaves
 * unresolved: the unknown tail of a truncated spectrum, and hidden energy below the noise edge.
 */
export function signalEffectiveRank(m: RegimeMatrix): [number, number] {
  const signal: number[] = [];
  for (let i = 0; i < m.values.length; i++) if ((m.values[i] as number) > m.noiseEdge) signal.push((m.values[i] as number) ** 2);
  const hidden = m.hiddenEnergy ?? 0;
  const known = signal.reduce((a, b) => a + b, 0);
  if (known + hidden <= 0) return [0, 0];
  const entropyRank = (energies: number[]) => {
    const total = energies.reduce((a, b) => a + b, 0);
    return Math.exp(-energies.reduce((s, e) => (e > 0 ? s + (e / total) * Math.log(e / total) : s), 0));
  };
  if (hidden > 0) {
    // No single direction of the hidden energy reaches the edge (it would stand out), so it spans at
    // least hidden / edge² directions; at most all the directions left.
    const room = Math.max(1, m.rankCap - signal.length);
    const fewest = m.noiseEdge > 0 ? Math.min(room, Math.max(1, Math.ceil(hidden / m.noiseEdge ** 2))) : room;
    const spread = (count: number) => entropyRank([...signal, ...new Array<number>(count).fill(hidden / count)]);
    return [spread(fewest), spread(room)];
  }
  const lo = entropyRank(signal);
  // Truncated: if the smallest known value is still signal, the tail may hold more signal. Its energy is
  // at most what is left of ‖ΔW‖_F², in values no larger than the last known one; spreading it evenly is
  // the most entropy it can add.
  const lastKnown = (m.values[m.values.length - 1] as number) ** 2;
  const allKnownAreSignal = signal.length === m.values.length;
  const tail = Math.max(0, m.frobeniusSquared - Array.from(m.values as ArrayLike<number>).reduce((s, v) => s + v * v, 0));
  const room = m.rankCap - m.values.length;
  if (!allKnownAreSignal || tail <= 0 || room <= 0 || lastKnown <= 0) return [lo, lo];
  const count = Math.min(room, Math.ceil(tail / lastKnown));
  const hi = entropyRank([...signal, ...new Array<number>(count).fill(tail / count)]);
  return [lo, Math.max(lo, hi)];
}

/** ‖signal‖²: the values above the edge plus the hidden energy (units of values²). */
function signalEnergy(m: RegimeMatrix): number {
  let above = 0;
  for (let i = 0; i < m.values.length; i++) if ((m.values[i] as number) > m.noiseEdge) above += (m.values[i] as number) ** 2;
  return above + (m.hiddenEnergy ?? 0);
}

function directionalSpread(m: RegimeMatrix): [number, number] {
  if (m.rankCap <= 1) return [0, 0];
  const [lo, hi] = signalEffectiveRank(m);
  // √ of the effective-rank ratio: 0 for one direction, 1 for all; rank 8 of 2048 reads 0.06, a quarter
  // of the directions 0.5 — the two regimes differ by orders of magnitude in rank.
  const scale = (r: number) => (r <= 1 ? 0 : Math.min(1, Math.sqrt(r / m.rankCap)));
  return [scale(lo), scale(hi)];
}

/** What one matrix contributes to the score: its energy, whether it carries signal, its directional spread [lo, hi]. */
export interface RegimeTerm {
  energy: number;
  signal: boolean;
  spread: [number, number];
}

export function regimeTerm(m: RegimeMatrix): RegimeTerm {
  const signal = ((m.values.length > 0 && (m.values[0] as number) > m.noiseEdge) || (m.hiddenEnergy ?? 0) > 0) && m.energy > 0;
  return { energy: m.energy, signal, spread: signal ? directionalSpread(m) : [0, 0] };
}

/** The score and its components from the matrices' terms: what the verdict reports, and what a bootstrap recomputes. */
export interface RegimeScore {
  score: number;
  scoreRange: [number, number];
  directionalSpread: [number, number];
  layerSpread: number;
  coverage: number;
  /** Σ energy of the matrices with signal (0: no signal at all, the score is then 0). */
  signalEnergy: number;
}

export function regimeScore(terms: readonly RegimeTerm[]): RegimeScore {
  let signalCount = 0, totalEnergy = 0;
  for (const t of terms) if (t.signal) { signalCount++; totalEnergy += t.energy; }
  const coverage = terms.length ? signalCount / terms.length : 0;
  if (signalCount === 0 || totalEnergy <= 0) return { score: 0, scoreRange: [0, 0], directionalSpread: [0, 0], layerSpread: 0, coverage: 0, signalEnergy: 0 };
  let dLo = 0, dHi = 0;
  for (const t of terms) if (t.signal) { dLo += t.spread[0] * (t.energy / totalEnergy); dHi += t.spread[1] * (t.energy / totalEnergy); }
  // Matrices without signal carry zero share: the entropy runs over all matrices, so leaving most of them
  // untouched lowers it.
  const layerSpread = normalizedEntropy(terms.map((t) => (t.signal ? t.energy / totalEnergy : 0)));
  const score = (d: number) => REGIME_WEIGHTS.D * d + REGIME_WEIGHTS.L * layerSpread + REGIME_WEIGHTS.C * coverage;
  const scoreRange: [number, number] = [score(dLo), score(dHi)];
  return { score: (scoreRange[0] + scoreRange[1]) / 2, scoreRange, directionalSpread: [dLo, dHi], layerSpread, coverage, signalEnergy: totalEnergy };
}

/**
 * @param matrices one entry per compared matrix
 * @param signalShare share of the whole update's energy that storage rounding cannot account for (1 when
 *   there is no noise floor): when most of the update could be rounding, what is left is not a fair
 *   sample of the update's shape (a dispersed update of tiny entries is the first to vanish in rounding).
 */
export function regimeVerdict(matrices: readonly RegimeMatrix[], signalShare = 1, failed: readonly FailedMatrix[] = []): RegimeVerdict {
  // Failed matrices are unknowns, not zeros: they lower the confidence, never raise it.
  const total = matrices.length + failed.length;
  const failedNote = failed.length
    ? `${failed.length} of ${total} matrices failed (${codesText(failureCounts(failed))}) and are not in the verdict: what they changed is unknown`
    : '';
  const terms = matrices.map(regimeTerm);
  const withSignal = matrices.filter((_, i) => (terms[i] as RegimeTerm).signal);
  const { score: mid, scoreRange: range, directionalSpread: [dLo, dHi], layerSpread, coverage, signalEnergy: totalEnergy } = regimeScore(terms);
  if (withSignal.length === 0 || totalEnergy <= 0) {
    return {
      score: 0, scoreRange: [0, 0], label: 'no-signal',
      components: { directionalSpread: [0, 0], layerSpread: 0, coverage: 0 }, drivers: [],
      evidence: [{ metric: 'C', text: `no matrix of ${matrices.length}${failed.length ? ' analysed' : ''} has an update above the storage-noise floor` }],
      ...(failed.length
        ? { confidence: 'low' as const, confidenceNote: `the analysed matrices differ only by storage rounding (or not at all), but ${failedNote}` }
        : { confidence: 'high' as const, confidenceNote: 'the two checkpoints differ only by storage rounding (or not at all)' }),
      failed: failed.length,
    };
  }
  const shares = withSignal.map((m) => m.energy / totalEnergy);
  const spreads = terms.filter((t) => t.signal).map((t) => t.spread);
  const label: RegimeVerdict['label'] = signalShare < 0.5 ? 'indeterminate'
    : mid < REGIME_THRESHOLDS.concentrated ? 'concentrated' : mid > REGIME_THRESHOLDS.dispersed ? 'dispersed' : 'mixed';

  const order = withSignal.map((m, i) => ({ m, i })).sort((a, b) => (shares[b.i] as number) - (shares[a.i] as number));
  const drivers = order.slice(0, 5).map(({ m, i }) => ({ name: m.name, energyShare: shares[i] as number, directionalSpread: spreads[i] as [number, number] }));
  const topShare = drivers.slice(0, 3).reduce((s, d) => s + d.energyShare, 0);
  // Layers per component: "vision layer 3" and "language layer 3" are different layers.
  const layeredComponents = new Set(matrices.filter((m) => m.layer !== null).map((m) => m.component ?? ''));
  const layerName = (m: RegimeMatrix) => (layeredComponents.size > 1 && m.component ? `${m.component} layer ${m.layer}` : `layer ${m.layer}`);
  const layers = new Map<string, number>();
  withSignal.forEach((m, i) => m.layer !== null && layers.set(layerName(m), (layers.get(layerName(m)) ?? 0) + (shares[i] as number)));
  const topLayers = [...layers].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const evidence: RegimeEvidence[] = [
    { metric: 'D', text: `energy-weighted directional spread ${dLo.toFixed(3)}${dHi > dLo + 1e-3 ? `–${dHi.toFixed(3)}` : ''} (√ of the effective-rank ratio of the signal: 0 one direction per matrix, 1 all directions used evenly)` },
    { metric: 'L', text: `the 3 matrices with the largest updates carry ${pct(topShare)} of the update energy; energy entropy across ${matrices.length} matrices ${layerSpread.toFixed(3)}` },
    { metric: 'C', text: `${withSignal.length} of ${matrices.length} matrices (${pct(coverage)}) changed by more than storage rounding` },
  ];
  if (topLayers.length) evidence.push({ metric: 'L', text: `largest layer shares: ${topLayers.map(([l, s]) => `${l} ${pct(s)}`).join(', ')}` });
  const byComponent = new Map<string, number>();
  withSignal.forEach((m, i) => m.component && byComponent.set(m.component, (byComponent.get(m.component) ?? 0) + (shares[i] as number)));
  if (layeredComponents.size > 1)
    evidence.push({ metric: 'L', text: `update energy by component: ${[...byComponent].sort((a, b) => b[1] - a[1]).map(([c, s]) => `${c} ${pct(s)}`).join(', ')}` });
  const hiddenTotal = withSignal.reduce((s, m) => s + (m.energy * (m.hiddenEnergy ?? 0)) / Math.max(Number.MIN_VALUE, signalEnergy(m)), 0);
  if (hiddenTotal > 0)
    evidence.push({ metric: 'D', text: `${pct(hiddenTotal / totalEnergy)} of the signal lies below the noise edge but beyond what rounding accounts for: spread over many directions, each too weak to resolve (it widens D's range)` });

  const components = [dLo, layerSpread, coverage];
  const disagreement = Math.max(...components) - Math.min(...components);
  const width = range[1] - range[0];
  const nearThreshold = Math.min(Math.abs(mid - REGIME_THRESHOLDS.concentrated), Math.abs(mid - REGIME_THRESHOLDS.dispersed)) < 0.05;
  let confidence: RegimeVerdict['confidence'] = 'high';
  const notes: string[] = [];
  if (withSignal.length < 4) { confidence = 'low'; notes.push(`only ${withSignal.length} matrices carry signal`); }
  if (width > 0.1) { confidence = confidence === 'high' ? 'medium' : 'low'; notes.push(`what the spectra leave unresolved (a truncated tail, update energy below the noise edge) keeps the score within ±${(width / 2).toFixed(2)}${hiddenTotal > 0 ? '' : '; use --mode exact or a larger --rank'}`); }
  if (disagreement > 0.6) { confidence = confidence === 'high' ? 'medium' : 'low'; notes.push('the components disagree (e.g. few matrices updated, but each in many directions)'); }
  if (nearThreshold) { confidence = confidence === 'high' ? 'medium' : confidence; notes.push('the score is near a label threshold'); }
  if (failed.length) {
    // More than a twentieth of the matrices unknown, or too few left: low; any at all: at most medium.
    confidence = failed.length > 0.05 * total ? 'low' : confidence === 'high' ? 'medium' : confidence;
    notes.push(failedNote);
  }
  if (signalShare < 0.5) {
    confidence = 'low';
    notes.push(`only ${pct(signalShare)} of the update energy is more than storage rounding accounts for: the rest is indistinguishable from rounding, and a dispersed update of small entries is what rounding hides first`);
  }
  return {
    score: mid, scoreRange: range, label,
    components: { directionalSpread: [dLo, dHi], layerSpread, coverage },
    drivers, evidence, confidence,
    confidenceNote: notes.length ? notes.join('; ') : `${withSignal.length} matrices with signal, components agree`,
    failed: failed.length,
  };
}
