/**
 * Prefix differences between two sets of tensor names (`model.`, `language_model.`, `base_model.model.`,
 * `transformer.`, … or any leading name segment): which prefix pair, once removed, matches the most names.
 */

/** Prefixes that wrappers add (HF `model.`, multimodal `language_model.`, PEFT `base_model.model.`, DDP `module.`, torch.compile `_orig_mod.`). */
const KNOWN_PREFIXES = [
  'model.', 'model.model.', 'language_model.', 'model.language_model.', 'language_model.model.',
  'base_model.model.', 'base_model.model.model.', 'transformer.', 'module.', '_orig_mod.', 'text_model.',
];

/**
 * The name a tensor is matched under: without `prefix` when it has it — unless the shorter name also
 * exists on the same side, which would make two tensors one.
 */
function canonicalNames(names: readonly string[], prefix: string): string[] {
  if (!prefix) return [...names];
  const present = new Set(names);
  return names.map((n) => (n.startsWith(prefix) && !present.has(n.slice(prefix.length)) ? n.slice(prefix.length) : n));
}

/** The items keyed by their canonical name under `prefix`. */
export function keyByCanonicalName<T>(items: readonly T[], nameOf: (item: T) => string, prefix: string): Map<string, T> {
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
  // Every name matching as it is cannot be beaten (ties go to the shorter prefixes): skip the search,
  // which for 100k-tensor checkpoints costs more than the rest of the pairing.
  if (baseNames.length === tunedNames.length) {
    const tuned = new Set(tunedNames);
    if (baseNames.every((n) => tuned.has(n))) return { base: '', tuned: '' };
  }
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
