/**
 * Escaping for the terminal: the CLI's human-readable text (tables, summaries, progress, warnings, the
 * error line) never carries a control, bidi or separator character from input raw (lib/report/control-
 * chars.ts): an ESC or OSC sequence in a tensor name cannot recolour the screen, retitle the terminal or
 * plant a hyperlink, and a CR or LF cannot forge a table row or an error line.
 *
 * Two levels: `terminalText` for a fragment that comes from input (everything escaped, LF too: a name is
 * one line), used where such a fragment is put into a line; `terminalLines` for whole text on its way to
 * the terminal (everything but the LFs the CLI itself put there), applied by the context's out / err, so
 * a fragment that was not escaped where it was put still cannot steer the terminal. Machine output
 * (--json, --jsonl, --csv) is written exactly, through `data` (lib/cli/context.ts).
 */
import { showControlCharacters } from '../../report/control-chars';

/** A fragment from input (a name, a path, a message) made safe to show in one terminal line. */
export function terminalText(text: string): string {
  return showControlCharacters(text);
}

/** Text for the terminal with every control character escaped but the line breaks. */
export function terminalLines(text: string): string {
  return showControlCharacters(text, true);
}
