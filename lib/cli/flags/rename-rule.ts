/** `--map from=to`: a rename rule for the tuned checkpoint's names (lib/plan/rename.ts). */
import { invalidArgument } from '../../errors';
import type { RenameRule } from '../../plan/rename';

/** Parses a CLI `--map from=to` argument into a {@link RenameRule} (split at the first `=`). */
export function parseRenameRule(text: string): RenameRule {
  const at = typeof text === 'string' ? text.indexOf('=') : -1;
  if (at < 0) invalidArgument('map rule', '"from=to"', text);
  return [text.slice(0, at), text.slice(at + 1)];
}
