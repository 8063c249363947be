/**
 * Tables with one row per tensor or matrix, which a checkpoint can make as long as it likes (MoE
 * checkpoints with scale tensors have ~10⁵ of them). Up to TABLE_ROW_LIMIT rows are listed as they are;
 * a longer table is summarised as one row per name pattern — the name with every number replaced by `*`
 * (`model.layers.*.mlp.experts.*.down_proj.weight`) — with how many rows it stands for, unless the user
 * asks for every row (`--all`). When even the patterns are too many (names without numbers), patterns are
 * cut to their first dot-separated parts until they fit. The summary says how to get every row.
 */
import { type Column, renderTable } from './table';

/** Most rows a per-tensor table lists before it is summarised by name pattern. */
export const TABLE_ROW_LIMIT = 500;

/** The help line of the flag that lists every row. */
export const allRowsFlagHelp = `  --all                 list every tensor, even when there are more than ${TABLE_ROW_LIMIT} (default: a longer
                        table is summarised by name pattern, numbers as *)`;

export const allRowsFlagOption = { all: { type: 'boolean' } } as const;

export interface LongTable<T> {
  columns: readonly Column[];
  /** The cells of one item's row. */
  row: (item: T) => string[];
  /** The name its pattern is made from. */
  name: (item: T) => string;
  /** The summary's columns after the pattern and the count, and their cells for one pattern's items. */
  groupColumns: readonly Column[];
  group: (items: readonly T[]) => string[];
  /** What a row is, plural ("tensors", "matrices"). */
  noun: string;
}

/** A name's pattern: every run of digits as `*`. */
export function namePattern(name: string): string {
  return name.replace(/\d+/g, '*');
}

/** The first `parts` dot-separated parts of a pattern, `.…` marking the cut. */
function cut(pattern: string, parts: number): string {
  const split = pattern.split('.');
  return split.length <= parts ? pattern : `${split.slice(0, parts).join('.')}.…`;
}

/** Items grouped by pattern (in order of first appearance), coarsened until at most `limit` groups remain. */
export function groupByPattern<T>(items: readonly T[], name: (item: T) => string, limit = TABLE_ROW_LIMIT): Map<string, T[]> {
  const patterns = items.map((item) => namePattern(name(item)));
  const group = (key: (i: number) => string) => {
    const groups = new Map<string, T[]>();
    items.forEach((item, i) => {
      const k = key(i);
      const list = groups.get(k);
      if (list) list.push(item);
      else groups.set(k, [item]);
    });
    return groups;
  };
  let groups = group((i) => patterns[i] as string);
  if (groups.size <= limit) return groups;
  // Fewer parts make fewer groups: the most parts that fit, by bisection (a name can have many parts).
  let fits = group(() => '…');
  let lo = 1, hi = patterns.reduce((d, p) => Math.max(d, p.split('.').length), 0) - 1;
  while (lo <= hi) {
    const parts = (lo + hi) >> 1;
    groups = group((i) => cut(patterns[i] as string, parts));
    if (groups.size <= limit) {
      fits = groups;
      lo = parts + 1;
    } else hi = parts - 1;
  }
  return fits;
}

/** The table of every item, or, beyond TABLE_ROW_LIMIT items without `all`, its summary by name pattern. */
export function renderLongTable<T>(items: readonly T[], table: LongTable<T>, options: { all: boolean }): string {
  if (options.all || items.length <= TABLE_ROW_LIMIT) return renderTable(table.columns, items.map(table.row));
  const groups = groupByPattern(items, table.name);
  const rows = [...groups].map(([pattern, members]) => [pattern, members.length.toLocaleString('en-US'), ...table.group(members)]);
  return (
    renderTable([{ header: 'name pattern (* = any number)' }, { header: table.noun, align: 'right' }, ...table.groupColumns], rows) +
    `\n(${items.length.toLocaleString('en-US')} ${table.noun} in ${groups.size.toLocaleString('en-US')} name pattern${groups.size === 1 ? '' : 's'}: the table is summarised beyond ${TABLE_ROW_LIMIT} rows; --all lists every one, --json gives them all)`
  );
}

/** Up to `limit` distinct values, then "…": what a pattern's items hold ("F32, BF16", "[8, 8], [4, 8]"). */
export function distinct(values: Iterable<string>, limit = 3): string {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.size === limit && !seen.has(v)) return `${[...seen].join(', ')}, …`;
    seen.add(v);
  }
  return [...seen].join(', ');
}
