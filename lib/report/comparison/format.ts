/** Number formats shared by the comparison's HTML and Markdown. */
import { fmt } from '../common';
import type { Interval } from './model';

/** "0.412 [0.398, 0.431]" (the interval left out when there is none). */
export function intervalText(v: Interval | undefined, signed = false): string {
  if (!v) return '–';
  const f = (x: number) => (signed && x > 0 ? `+${fmt(x)}` : fmt(x));
  return Number.isFinite(v.lo) && Number.isFinite(v.hi) ? `${f(v.estimate)} [${f(v.lo)}, ${f(v.hi)}]` : f(v.estimate);
}
