/**
 * Linear-time pattern matching: a pattern's syntax tree (syntax.ts) compiled to a small program and run
 * as a Pike VM — every thread of the nondeterministic automaton advanced in lockstep over the name,
 * at most one thread per program step — so a match costs O(program length × name length) whatever the
 * pattern. A backtracking engine (RegExp) takes exponential time on `(a*)*b` or on a glob of many `*`
 * against a long name, and both come from input (a config's rank_pattern keys, --include flags).
 *
 * Threads are kept in priority order (greedy before lazy, left alternative before right), so the
 * captures of a match are the ones a backtracking engine would report (the first match it finds);
 * rename rules rely on this (`*` captures as little as it can).
 *
 * Matching is always of the whole name: the program starts at its first character and accepts only at
 * its end (a caller wanting a suffix match wraps the pattern, as PEFT's `(.*\.)?(key)$` does).
 */
import { type CharSet, inSet, type PatternNode, PatternSyntaxError } from './syntax';

/** Most steps a compiled pattern may have (repetitions {n,m} are expanded into copies). */
export const MAX_PROGRAM_STEPS = 10_000;

const CHARS = 0;
const SPLIT = 1; // try x, then y
const JUMP = 2;
const SAVE = 3;
const ASSERT_START = 4;
const ASSERT_END = 5;
const MATCH = 6;

export interface Program {
  readonly op: Uint8Array;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly sets: ReadonlyArray<CharSet | null>;
  /** Capture slots (two per capturing group). */
  readonly slots: number;
}

class Builder {
  op: number[] = [];
  x: number[] = [];
  y: number[] = [];
  sets: Array<CharSet | null> = [];

  emit(op: number, x = 0, y = 0, set: CharSet | null = null): number {
    if (this.op.length >= MAX_PROGRAM_STEPS) throw new PatternSyntaxError(`the pattern expands to more than ${MAX_PROGRAM_STEPS} steps`, 0);
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    this.sets.push(set);
    return this.op.length - 1;
  }

  get next(): number {
    return this.op.length;
  }

  node(n: PatternNode): void {
    switch (n.kind) {
      case 'chars':
        this.emit(CHARS, 0, 0, n.set);
        return;
      case 'sequence':
        for (const item of n.items) this.node(item);
        return;
      case 'alternation': {
        const exits: number[] = [];
        n.items.forEach((item, k) => {
          if (k === n.items.length - 1) return this.node(item);
          const split = this.emit(SPLIT);
          this.x[split] = this.next;
          this.node(item);
          exits.push(this.emit(JUMP));
          this.y[split] = this.next;
        });
        for (const j of exits) this.x[j] = this.next;
        return;
      }
      case 'group':
        if (n.capture === null) return this.node(n.node);
        this.emit(SAVE, 2 * n.capture);
        this.node(n.node);
        this.emit(SAVE, 2 * n.capture + 1);
        return;
      case 'assert':
        this.emit(n.at === 'start' ? ASSERT_START : ASSERT_END);
        return;
      case 'repeat':
        return this.repeat(n.node, n.min, n.max, n.lazy);
    }
  }

  /** A split whose preferred branch is `body` (greedy) or `skip` (lazy). */
  #branch(split: number, body: number, skip: number, lazy: boolean): void {
    this.x[split] = lazy ? skip : body;
    this.y[split] = lazy ? body : skip;
  }

  repeat(node: PatternNode, min: number, max: number, lazy: boolean): void {
    for (let i = 0; i < min; ++i) this.node(node);
    if (max === Infinity) {
      const loop = this.emit(SPLIT);
      this.node(node);
      this.emit(JUMP, loop);
      this.#branch(loop, loop + 1, this.next, lazy);
      return;
    }
    const splits: number[] = [];
    for (let i = min; i < max; ++i) {
      splits.push(this.emit(SPLIT));
      this.node(node);
    }
    for (const s of splits) this.#branch(s, s + 1, this.next, lazy);
  }
}

/** Compiles a tree with `captures` capturing groups (numbered from 0) into a whole-name matcher. */
export function compilePattern(node: PatternNode, captures = 0): Program {
  const b = new Builder();
  b.node(node);
  b.emit(ASSERT_END);
  b.emit(MATCH);
  return { op: Uint8Array.from(b.op), x: Int32Array.from(b.x), y: Int32Array.from(b.y), sets: b.sets, slots: 2 * captures };
}

type Captures = Int32Array | null;

/**
 * Runs `program` over `input`. Returns null when it does not match, else the capture slots of the
 * highest-priority match (an empty array when `withCaptures` is false).
 */
function run(program: Program, input: string, withCaptures: boolean): Int32Array | null {
  const { op, x, y, sets } = program;
  const size = op.length;
  const n = input.length;
  // mark[pc] === generation: pc is already in the list being built (one thread per step and position).
  const mark = new Int32Array(size).fill(-1);
  let current = { pc: new Int32Array(size), caps: new Array<Captures>(size), length: 0 };
  let next = { pc: new Int32Array(size), caps: new Array<Captures>(size), length: 0 };
  const stackPc = new Int32Array(size * 2 + 2);
  const stackCaps = new Array<Captures>(size * 2 + 2);

  /** Adds the thread at `start` and everything reachable from it without consuming, in priority order. */
  const add = (list: typeof current, start: number, pos: number, caps: Captures) => {
    let top = 0;
    stackPc[top] = start;
    stackCaps[top++] = caps;
    while (top > 0) {
      const pc = stackPc[--top] as number;
      const c = stackCaps[top] as Captures;
      if (mark[pc] === pos) continue;
      mark[pc] = pos;
      switch (op[pc]) {
        case JUMP:
          stackPc[top] = x[pc] as number;
          stackCaps[top++] = c;
          break;
        case SPLIT: // pushed in reverse: x is explored first
          stackPc[top] = y[pc] as number;
          stackCaps[top++] = c;
          stackPc[top] = x[pc] as number;
          stackCaps[top++] = c;
          break;
        case SAVE: {
          let saved = c;
          if (withCaptures && c) {
            saved = c.slice();
            saved[x[pc] as number] = pos;
          }
          stackPc[top] = pc + 1;
          stackCaps[top++] = saved;
          break;
        }
        case ASSERT_START:
          if (pos === 0) {
            stackPc[top] = pc + 1;
            stackCaps[top++] = c;
          }
          break;
        case ASSERT_END:
          if (pos === n) {
            stackPc[top] = pc + 1;
            stackCaps[top++] = c;
          }
          break;
        default: // CHARS and MATCH wait in the list
          list.pc[list.length] = pc;
          list.caps[list.length++] = c;
      }
    }
  };

  add(current, 0, 0, withCaptures ? new Int32Array(program.slots).fill(-1) : null);
  for (let pos = 0; current.length > 0; ++pos) {
    const code = pos < n ? input.charCodeAt(pos) : -1;
    next.length = 0;
    for (let i = 0; i < current.length; ++i) {
      const pc = current.pc[i] as number;
      if (op[pc] === MATCH) return current.caps[i] ?? new Int32Array(0); // lower-priority threads are cut
      if (code >= 0 && inSet(sets[pc] as CharSet, code)) add(next, pc + 1, pos + 1, current.caps[i] as Captures);
    }
    if (pos >= n) break;
    [current, next] = [next, current];
  }
  return null;
}

/** Whether the whole of `input` matches. */
export function matches(program: Program, input: string): boolean {
  return run(program, input, false) !== null;
}

/** The text of each capturing group of a whole-name match (undefined for a group that took no part), or null. */
export function matchCaptures(program: Program, input: string): Array<string | undefined> | null {
  const slots = run(program, input, true);
  if (!slots) return null;
  const out: Array<string | undefined> = [];
  for (let k = 0; k < program.slots; k += 2) {
    const begin = slots[k] as number;
    const end = slots[k + 1] as number;
    out.push(begin >= 0 && end >= 0 ? input.slice(begin, end) : undefined);
  }
  return out;
}
