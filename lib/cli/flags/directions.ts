/** --directions / --no-directions / --direction-rank: the direction analysis of diff, compare and lora. */
import { integerFlag } from './numbers';

/** On, off, or the library's default ('auto': when the base is at most 1 GB). */
export function directionsFlag(values: Record<string, unknown>): boolean | 'auto' {
  return values.directions ? true : values['no-directions'] ? false : 'auto';
}

/** `{ directionRank }` when --direction-rank was given (a positive integer; the library checks the rest). */
export function directionRankFlag(values: Record<string, unknown>): { directionRank?: number } {
  const directionRank = integerFlag('--direction-rank', values['direction-rank'], 1);
  return directionRank === undefined ? {} : { directionRank };
}
