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

/** For each name, the candidate prefixes (by index) that canonicalNames would strip from it, with the result. */
function strippings(names: readonly string[], prefixes: readonly string[]): Array<Array<[prefix: number, key: string]> | undefined> {
  const present = new Set(names);
  return names.map((name) => {
    let out: Array<[number, string]> | undefined;
    prefixes.forEach((prefix, p) => {
      if (prefix && name.startsWith(prefix) && !present.has(name.slice(prefix.length))) (out ??= []).push([p, name.slice(prefix.length)]);
    });
    return out;
  });
}

/**
 * matches[bp][tp]: how many base names, with base prefix bp removed, are tuned names with tuned prefix
 * tp removed — for every pair of candidates at once, in O(names × prefixes per name × candidates)
 * rather than O(names × candidates²): a name keeps itself as its key under every prefix it does not
 * start with, so what every row shares is counted once and only the few prefixes a name starts with
 * are counted apart. (Hostile checkpoints can offer ~50 candidates a side; 200k names took minutes.)
 */
function matchCounts(baseNames: readonly string[], basePrefixes: readonly string[], tunedNames: readonly string[], tunedPrefixes: readonly string[]): Float64Array[] {
  const T = tunedPrefixes.length;
  const tunedSet = new Set(tunedNames);
  const tunedStrips = strippings(tunedNames, tunedPrefixes);
  /** Tuned prefixes under which the name itself is stripped away, by name. */
  const strippedAway = new Map<string, number[]>();
  /** Tuned prefixes under which some tuned name becomes the key, by key. */
  const strippedTo = new Map<string, number[]>();
  tunedNames.forEach((name, i) => {
    for (const [p, key] of tunedStrips[i] ?? []) {
      (strippedAway.get(name) ?? strippedAway.set(name, []).get(name) as number[]).push(p);
      (strippedTo.get(key) ?? strippedTo.set(key, []).get(key) as number[]).push(p);
    }
  });
  /** Adds sign × [key is a tuned key under tp] to row[tp] for every tp: a constant, and the exceptions. */
  const addContains = (key: string, sign: number, row: Float64Array, constant: { value: number }) => {
    const to = strippedTo.get(key);
    if (tunedSet.has(key)) {
      constant.value += sign;
      for (const p of strippedAway.get(key) ?? []) if (!to?.includes(p)) row[p] = (row[p] as number) - sign;
    } else for (const p of to ?? []) row[p] = (row[p] as number) + sign;
  };
  // Every base name under every base prefix it is not stripped by: its own name, counted once for all rows.
  const shared = new Float64Array(T);
  const sharedConstant = { value: 0 };
  const rows = basePrefixes.map(() => new Float64Array(T));
  const rowConstants = basePrefixes.map(() => ({ value: 0 }));
  const baseStrips = strippings(baseNames, basePrefixes);
  baseNames.forEach((name, i) => {
    addContains(name, 1, shared, sharedConstant);
    for (const [p, key] of baseStrips[i] ?? []) {
      addContains(name, -1, rows[p] as Float64Array, rowConstants[p] as { value: number });
      addContains(key, 1, rows[p] as Float64Array, rowConstants[p] as { value: number });
    }
  });
  return rows.map((row, p) => row.map((v, t) => v + (shared[t] as number) + sharedConstant.value + (rowConstants[p] as { value: number }).value));
}

/**
 * The (base, tuned) prefixes whose removal matches the most names; ties go to the shorter prefixes, so
 * checkpoints that already match keep their names.
 */
export function detectPrefix(baseNames: readonly string[], tunedNames: readonly string[]): { base: string; tuned: string } {
  // Every name matching as it is cannot be beaten (ties go to the shorter prefixes): skip the search.
  if (baseNames.length === tunedNames.length) {
    const tuned = new Set(tunedNames);
    if (baseNames.every((n) => tuned.has(n))) return { base: '', tuned: '' };
  }
  const basePrefixes = candidatePrefixes(baseNames);
  const tunedPrefixes = candidatePrefixes(tunedNames);
  const counts = matchCounts(baseNames, basePrefixes, tunedNames, tunedPrefixes);
  let best = { base: '', tuned: '', matches: -1 };
  basePrefixes.forEach((basePrefix, b) => {
    tunedPrefixes.forEach((tunedPrefix, t) => {
      // The same prefix removed on both sides changes nothing: skip it so ties resolve to ('', '').
      if (basePrefix && basePrefix === tunedPrefix) return;
      const matches = (counts[b] as Float64Array)[t] as number;
      const better = matches > best.matches ||
        (matches === best.matches && basePrefix.length + tunedPrefix.length < best.base.length + best.tuned.length);
      if (better) best = { base: basePrefix, tuned: tunedPrefix, matches };
    });
  });
  return { base: best.base, tuned: best.tuned };
}
