/**
 * Summaries over groups of per-tensor results: per layer, per module type, per depth bucket, per
 * component. Each group reports how many matrices and parameters it holds, a parameter-weighted mean and
 * the median of every numeric metric, and (when an energy is given) its share of the total.
 */

export interface GroupSummary {
  key: string;
  matrices: number;
  parameters: number;
  /** Parameter-weighted mean of each metric over the group's matrices that have it. */
  mean: Record<string, number>;
  median: Record<string, number>;
  /** Sum of the items' `energy` (e.g. ‖ΔW‖_F²) and its share of the total over all groups. */
  energy: number;
  energyShare: number;
}

export interface AggregateItem {
  parameters: number;
  energy?: number;
  /** Numeric metrics to summarise; non-finite values are left out. */
  metrics: Record<string, number | undefined>;
}

/** The median (NaN for no values). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The per-layer grouping key: the layer index as a string, null outside the blocks. */
export function layerKey(item: { module: { layer: number | null } }): string | null {
  return item.module.layer === null ? null : String(item.module.layer);
}

type Layered = { module: { layer: number | null; component: string } };

/** True when the layered items belong to more than one component (a vision tower and a language model). */
export function layersSpanComponents(items: readonly Layered[]): boolean {
  const components = new Set<string>();
  for (const i of items) if (i.module.layer !== null) components.add(i.module.component);
  return components.size > 1;
}

/**
 * The per-layer key with layers counted per component: "vision/3" and "language/3" when the items span
 * several components, the plain index ("3") otherwise (a text-only model's keys are unchanged).
 */
export function componentLayerKey(items: readonly Layered[]): (item: Layered) => string | null {
  const prefixed = layersSpanComponents(items);
  return (item) => (item.module.layer === null ? null : prefixed ? `${item.module.component}/${item.module.layer}` : String(item.module.layer));
}

/** Layers per component: the highest layer index + 1 of each. */
export function layerCounts(items: readonly Layered[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of items) if (i.module.layer !== null) counts.set(i.module.component, Math.max(counts.get(i.module.component) ?? 0, i.module.layer + 1));
  return counts;
}

/** Groups items by `key` (items with a null key are left out) and summarises each group. */
export function summarizeGroups<T extends AggregateItem>(items: readonly T[], key: (item: T) => string | null): GroupSummary[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    const list = groups.get(k) ?? [];
    list.push(item);
    groups.set(k, list);
  }
  const totalEnergy = items.reduce((s, i) => s + (i.energy ?? 0), 0);
  const out: GroupSummary[] = [];
  for (const [k, list] of groups) {
    const names = new Set(list.flatMap((i) => Object.keys(i.metrics)));
    const mean: Record<string, number> = {};
    const med: Record<string, number> = {};
    for (const name of names) {
      const present = list.filter((i) => Number.isFinite(i.metrics[name]));
      if (present.length === 0) continue;
      const weight = present.reduce((s, i) => s + i.parameters, 0);
      mean[name] = weight > 0
        ? present.reduce((s, i) => s + (i.metrics[name] as number) * i.parameters, 0) / weight
        : present.reduce((s, i) => s + (i.metrics[name] as number), 0) / present.length;
      med[name] = median(present.map((i) => i.metrics[name] as number));
    }
    const energy = list.reduce((s, i) => s + (i.energy ?? 0), 0);
    out.push({
      key: k,
      matrices: list.length,
      parameters: list.reduce((s, i) => s + i.parameters, 0),
      mean,
      median: med,
      energy,
      energyShare: totalEnergy > 0 ? energy / totalEnergy : 0,
    });
  }
  return out;
}

/** Normalised Shannon entropy of shares (1: spread evenly over all groups, 0: all in one). */
export function normalizedEntropy(shares: readonly number[]): number {
  const positive = shares.filter((s) => s > 0);
  const total = positive.reduce((a, b) => a + b, 0);
  if (shares.length <= 1 || total <= 0) return 0;
  const h = -positive.reduce((s, p) => s + (p / total) * Math.log(p / total), 0);
  return Math.max(0, h / Math.log(shares.length));
}

/** Gini coefficient of non-negative amounts (0: all equal, →1: all in one). */
export function gini(amounts: readonly number[]): number {
  const n = amounts.length;
  const total = amounts.reduce((a, b) => a + b, 0);
  if (n === 0 || total <= 0) return 0;
  const sorted = [...amounts].sort((a, b) => a - b);
  const weighted = sorted.reduce((s, x, i) => s + (i + 1) * x, 0);
  return (2 * weighted) / (n * total) - (n + 1) / n;
}
