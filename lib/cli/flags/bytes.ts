/** Byte sizes on the command line: `512MiB`, `4GiB`, `1.5GB`, `1000000` (SI and binary units). */
import { invalidArgument } from '../../errors';

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** The bytes `text` names, a whole number up to 2^53 - 1; INVALID_ARGUMENT naming `flag` otherwise. */
export function parseBytes(text: string, flag = '--memory-budget'): number {
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|TiB)?$/i.exec(text.trim()) : null;
  if (!match) invalidArgument(flag, 'a size like 512MiB or 4GiB', text);
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes)) invalidArgument(flag, `a size of at most ${Number.MAX_SAFE_INTEGER} bytes`, text);
  return bytes;
}
