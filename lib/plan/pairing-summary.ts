/** What a pairing says to people: counts per fate, summary notes, and why nothing was left to compare. */
import { ParamscopeError } from '../errors';
import { PAIRING_FATES, type PairingEntry, type PairingFate, type PairingOptions, type PairingReport } from './pairing-entry';

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

export function emptyPairing(report: PairingReport, options: PairingOptions): ParamscopeError {
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
