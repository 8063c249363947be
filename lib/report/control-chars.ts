/**
 * Characters that steer a terminal or a text renderer instead of showing as themselves, and the one
 * visible form every human-readable output (terminal text, Markdown, HTML) gives them when they come
 * from input (tensor names, paths, metadata, notes):
 *  - C0 controls U+0000–U+001F (NUL, BEL, BS, TAB, LF, CR, ESC: colours, cursor moves, OSC terminal
 *    titles and hyperlinks, rows forged with CR or LF), DEL U+007F, C1 controls U+0080–U+009F (CSI and
 *    OSC introducers on 8-bit terminals);
 *  - bidirectional controls — U+061C, U+200E, U+200F, the embeddings and overrides U+202A–U+202E and the
 *    isolates U+2066–U+2069 — which reorder what is shown ("Trojan Source"), and the line and paragraph
 *    separators U+2028, U+2029, which some renderers break lines at.
 * The visible form is JSON's escape syntax (`\n`, `\r`, `\t`, `\b`, `\f`, `\u001b`, `\u202e`), so a JSON
 * document that passes through the escaping still parses to the same values.
 */

/** One dangerous character (global: for replace). */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** The visible escape of one character: `\n`, `\u001b`, `\u202e`. */
export function escapeCharacter(c: string): string {
  return SHORT[c] ?? `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
}

/** `text` with every control, bidi and separator character shown as its escape; `keepNewlines` leaves LF as is. */
export function showControlCharacters(text: string, keepNewlines = false): string {
  return text.replace(CONTROL_CHARACTERS, (c) => (keepNewlines && c === '\n' ? c : escapeCharacter(c)));
}
