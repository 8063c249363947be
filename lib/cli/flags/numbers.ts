/**
 * Numbers on the command line, one grammar for every numeric flag: an integer flag takes decimal digits
 * only (`8`, not `8.0`, `0x8`, `1e1`, `-8`, ` 8` or the empty string, all of which `Number()` would turn
 * into some number), a real flag a plain decimal (`0.5`, `1e-3`, `-2`; not `NaN`, `Infinity`, `1e309`
 * or hex). A value outside the grammar or the flag's range is INVALID_ARGUMENT naming the flag and
 * the text. The library checks the meaning (ranges such as a tolerance below 1) with its own wording.
 */
import { invalidArgument } from '../../errors';

const INTEGER = /^[0-9]+$/;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** An integer flag's value, at least `min`; undefined when the flag is absent. */
export function integerFlag(flag: string, text: unknown, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) invalidArgument(flag, min > 0 ? `a positive integer` : 'a non-negative integer', text);
  return value;
}

/** A real flag's value (finite); undefined when the flag is absent. */
export function numberFlag(flag: string, text: unknown): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' && DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) invalidArgument(flag, 'a finite decimal number', text);
  return value;
}
