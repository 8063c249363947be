/** Byte sizes on the command line: `512MiB`, `4GiB`, `1.5GB`, `1000000` (SI and binary units). */
import { invalidArgument } from '../../errors';

export function parseBytes(text: string, flag = '--memory-budget'): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|TiB)?$/i.exec(text.trim());
  if (!match) invalidArgument(flag, 'a size like 512MiB or 4GiB', text);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.floor(Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1));
}
