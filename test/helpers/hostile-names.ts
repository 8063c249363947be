/**
 * Tensor names an attacker would choose against the outputs: spreadsheet formulas (OWASP's CSV-injection
 * starts), and one name holding every class of character that steers a terminal or a renderer — ESC with
 * an OSC title and a CSI colour, BEL, LF, CR, TAB, DEL, a C1 CSI, bidi override and isolates, a line
 * separator — plus markup (`<script>`), a Markdown cell break (`|`), backticks, a comma and quotes.
 */
import { writeSafetensorsSync } from '../../lib/read/writer';
import { seededGaussian } from '../../lib/results/random';

export const FORMULA_NAMES = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", '-2+3', '@SUM(1,1)', '\tTAB', '\rCR', '\uFF1D1+1'];

export const EVERY_CLASS_NAME =
  'model.layers.0.evil\x1b]0;pwned\x07\x1b[31m red\nforged row\rcr\ttab\x7fdel\x9bc1\u202egnp.exe\u2066iso\u2069\u2028ls<script>alert(1)</script>|`tick`,"q".weight';

export const HOSTILE_NAMES = [...FORMULA_NAMES, EVERY_CLASS_NAME];

/** Raw characters that must not reach human-readable output (LF aside, which the output's own lines use). */
export const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/**
 * A base and a tuned checkpoint of 8×8 F32 matrices under the hostile names; the tuned one differs by a
 * full-rank update in every matrix. `nan` puts a NaN into the tuned EVERY_CLASS_NAME matrix.
 */
export function writeHostilePair(base: string, tuned: string, options: { nan?: boolean } = {}): void {
  const next = seededGaussian(7);
  const b: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const t: typeof b = {};
  for (const name of HOSTILE_NAMES) {
    const w = Float32Array.from({ length: 64 }, () => next());
    const d = Float32Array.from(w, (x) => x + 0.1 * next());
    if (options.nan && name === EVERY_CLASS_NAME) d[5] = NaN;
    b[name] = { dtype: 'F32', shape: [8, 8], data: w };
    t[name] = { dtype: 'F32', shape: [8, 8], data: d };
  }
  writeSafetensorsSync(base, b);
  writeSafetensorsSync(tuned, t);
}
