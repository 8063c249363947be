/** What a pairing says to people: counts per fate, summary notes, and why nothing was left to compare. */
import { ParamscopeError } from '../errors';
import type { LogicalView } from './layouts/logical';
import { MATRIX_FATES, PAIRING_FATES, type PairingEntry, type PairingFate, type PairingOptions, type PairingReport, quantizedSide } from './pairing-entry';

export function countFates(entries: readonly PairingEntry[]): Record<PairingFate, number> {
  const counts = Object.fromEntries(PAIRING_FATES.map((f) => [f, 0])) as Record<PairingFate, number>;
  for (const e of entries) counts[e.fate]++;
  return counts;
}

export function summarise(report: PairingReport, options: PairingOptions): string[] {
  const notes: string[] = [];
  const { prefix, entries, counts } = report;
  if (options.map?.length) notes.push(`${options.map.length} rename rule(s) applied to the tuned names`);
  if (prefix.base || prefix.tuned)
    notes.push(`prefix removed before matching: ${JSON.stringify(prefix.base)} (base), ${JSON.stringify(prefix.tuned)} (tuned)`);
  const dtypeChanges = new Map<string, number>();
  for (const e of entries)
    if (e.base && e.tuned && (e.base.dtype !== e.tuned.dtype || e.base.layout !== e.tuned.layout)) {
      const key = `${e.base.layout ?? e.base.dtype} → ${e.tuned.layout ?? e.tuned.dtype}`;
      dtypeChanges.set(key, (dtypeChanges.get(key) ?? 0) + 1);
    }
  for (const [change, n] of dtypeChanges) notes.push(`${n} pair(s) change dtype ${change} (base → tuned)`);
  for (const e of entries) if (e.fate === 'tied' || e.fate === 'resized') notes.push(`${e.name}: ${e.note}`);
  const listed = (['shape-mismatch', 'missing-in-tuned', 'extra-in-tuned', 'not-a-matrix', 'excluded'] as const).filter((f) => counts[f] > 0);
  if (listed.length) notes.push(listed.map((f) => `${counts[f]} ${f}`).join(', '));
  return notes;
}

export function emptyPairing(report: PairingReport, options: PairingOptions): ParamscopeError {
  const { base, tuned, counts, entries } = report;
  const firstNames = (which: 'base' | 'tuned') =>
    entries.map((e) => e[which]?.tensor).filter((n): n is string => Boolean(n)).slice(0, 3).join(', ') || '(none)';
  const filters = options.include?.length || options.exclude?.length;
  const why = counts.excluded > 0 && (filters || options.component !== undefined)
    ? `${filters ? 'include/exclude' : 'the component filter'} left no pair (${counts.excluded} excluded)`
    : counts['missing-in-tuned'] + counts['extra-in-tuned'] === entries.length
      ? `no tensor name is common to both (base has e.g. ${firstNames('base')}; tuned has e.g. ${firstNames('tuned')}); ` +
        'if the names differ systematically, pass rename rules (--map from=to)'
      : `the common tensors are not matrices or differ in shape (${counts['not-a-matrix']} not-a-matrix, ${counts['shape-mismatch']} shape-mismatch)`;
  return new ParamscopeError(`nothing to compare between ${base.path} and ${tuned.path}: ${why}`, { code: 'EMPTY_PAIRING', file: tuned.path });
}

/**
 * Notes on the layouts: quantized weights on each side, pairs where only one side is quantized (their
 * ΔW is that side's quantization error), fused experts compared per expert, and fused gate_up split to
 * meet unfused experts.
 */
export function layoutNotes(entries: readonly PairingEntry[], base: LogicalView, tuned: LogicalView, fusedJoins: number): string[] {
  const notes: string[] = [];
  for (const [which, view] of [['base', base], ['tuned', tuned]] as const) {
    const labels = new Map<string, number>();
    for (const t of view.tensors) if (t.quantized) labels.set(t.quantized.label, (labels.get(t.quantized.label) ?? 0) + 1);
    if (labels.size) notes.push(`${which} quantized weights (decoded as codes × scales): ${[...labels].map(([l, n]) => `${n} ${l}`).join(', ')}`);
  }
  const mixed = entries.filter((e) => MATRIX_FATES.has(e.fate) && e.base && e.tuned && quantizedSide(e.base, e.tuned) !== null);
  if (mixed.length)
    notes.push(`${mixed.length} pair(s) compare a quantized weight with an unquantized one: their ΔW is the quantization error (plus any fine-tuning), not a fine-tuning update`);
  const experts = entries.filter((e) => MATRIX_FATES.has(e.fate) && /\[\d+\]$/.test(e.name)).length;
  if (experts) notes.push(`${experts} expert matrices of fused expert tensors compared expert by expert`);
  if (fusedJoins) notes.push(`${fusedJoins} fused expert tensor(s) paired with unfused experts.N weights (a fused gate_up split into its gate and up rows)`);
  return notes;
}
