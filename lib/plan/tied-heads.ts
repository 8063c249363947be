/**
 * Tied output heads: an output head present on one side only, with the input embedding on the other
 * side, is a tied head — the side without it uses the embedding as its head — and is paired with that
 * embedding.
 */
import { dtypeNote, isRowResize, joinNotes, type PairingEntry, resizeNote, type TensorSide } from './pairing-entry';

/** Output heads that are commonly tied to the input embedding. */
const OUTPUT_HEAD = /(^|\.)(lm_head|embed_out|output)\.weight$/;
/** Input embeddings an output head can be tied to. */
const INPUT_EMBEDDING = /(^|\.)(embed_tokens|wte|tok_embeddings|word_embeddings|embed_in)\.weight$/;

/**
 * Replaces each one-sided head that has an embedding on the other side by a `tied` entry. When several
 * embeddings qualify (multimodal checkpoints), the one sharing the longest prefix with the head wins.
 */
export function resolveTiedHeads(entries: PairingEntry[]): PairingEntry[] {
  const result: PairingEntry[] = [];
  for (const entry of entries) {
    const head = oneSidedHead(entry);
    const embedding = head && findEmbedding(entries, head.present, entry);
    if (!head || !embedding) {
      result.push(entry);
      continue;
    }
    result.push(tiedEntry(entry, head.present, embedding));
  }
  return result;
}

function oneSidedHead(entry: PairingEntry): { present: 'base' | 'tuned' } | null {
  if (entry.fate === 'missing-in-tuned' && entry.base && OUTPUT_HEAD.test(entry.base.tensor)) return { present: 'base' };
  if (entry.fate === 'extra-in-tuned' && entry.tuned && OUTPUT_HEAD.test(entry.tuned.tensor)) return { present: 'tuned' };
  return null;
}

/** The input embedding on the side that lacks the head, of the head's width. */
function findEmbedding(entries: readonly PairingEntry[], headSide: 'base' | 'tuned', headEntry: PairingEntry): TensorSide | null {
  const head = (headSide === 'base' ? headEntry.base : headEntry.tuned) as TensorSide;
  const otherSide = headSide === 'base' ? 'tuned' : 'base';
  const candidates = entries
    .map((e) => e[otherSide])
    .filter((s): s is TensorSide => s !== null && INPUT_EMBEDDING.test(s.tensor) && isRowResize(s, head));
  if (candidates.length === 0) return null;
  const shared = (s: TensorSide) => commonPrefixLength(s.tensor, head.tensor);
  return candidates.reduce((best, c) => (shared(c) > shared(best) ? c : best));
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function tiedEntry(entry: PairingEntry, headSide: 'base' | 'tuned', embedding: TensorSide): PairingEntry {
  const head = (headSide === 'base' ? entry.base : entry.tuned) as TensorSide;
  const base = headSide === 'base' ? head : embedding;
  const tuned = headSide === 'base' ? embedding : head;
  const lacking = headSide === 'base' ? 'tuned' : 'base';
  const tie = `${lacking} has no ${head.tensor}: its output head is tied to ${embedding.tensor}, so ${head.tensor} is compared with that embedding`;
  const rowsDiffer = base.shape[0] !== tuned.shape[0];
  const sharedRows = rowsDiffer ? Math.min(base.shape[0] as number, tuned.shape[0] as number) : undefined;
  const note = joinNotes(tie, rowsDiffer ? resizeNote(base.shape[0] as number, tuned.shape[0] as number) : undefined, dtypeNote(base, tuned)) as string;
  return { fate: 'tied', name: entry.name, base, tuned, ...(sharedRows === undefined ? {} : { sharedRows }), note };
}
