/** --directions / --no-directions / --direction-rank: the direction analysis of diff, compare and lora. */

/** On, off, or the library's default ('auto': when the base is at most 1 GB). */
export function directionsFlag(values: Record<string, unknown>): boolean | 'auto' {
  return values.directions ? true : values['no-directions'] ? false : 'auto';
}

/** `{ directionRank }` when --direction-rank was given (the library checks it). */
export function directionRankFlag(values: Record<string, unknown>): { directionRank?: number } {
  return values['direction-rank'] === undefined ? {} : { directionRank: Number(values['direction-rank']) };
}
