/**
 * The checkpoints of a training run in step order, for `trajectory` (docs/trajectory.md). Each argument
 * is a checkpoint (a `.safetensors` file, a directory of shards, an index, or a LoRA adapter directory)
 * or a run directory holding Hugging Face Trainer `checkpoint-N/` directories, which stands for all of
 * them (the run's final copy at its top level, when there is one, is left out: it has no step).
 *
 * A checkpoint's step is `global_step` of the `trainer_state.json` beside it when there is one (the
 * trainer's own record), else the number its name ends with: `checkpoint-500`, `step-500`, `step_500`,
 * `run-3-500`, `model-500.safetensors` all say 500. TRAJECTORY_INVALID when no checkpoint is given, a
 * checkpoint has no step, two have the same step, or full checkpoints and adapters are mixed.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ParamscopeError } from '../errors';
import { parseJsonBytes, readBoundedFile } from '../read/json-file';
import { requireInside } from '../read/links';

export interface TrajectoryCheckpoint {
  /** The training step. */
  step: number;
  /** Where the step came from. */
  stepSource: 'trainer_state.json' | 'name';
  /** The checkpoint as given (or found in a run directory). */
  path: string;
  /** Its display name: the directory or file name. */
  name: string;
  /** A full checkpoint (ΔW = W_step − W_base) or a LoRA adapter (ΔW = s·B·A). */
  kind: 'full' | 'adapter';
}

/** Files that make a directory a LoRA adapter (PEFT, MLX). */
const ADAPTER_FILES = ['adapter_model.safetensors', 'adapters.safetensors', 'adapter_config.json'];
/** The Trainer's checkpoint directories of a run directory. */
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

const invalid = (message: string, file?: string) => new ParamscopeError(message, { code: 'TRAJECTORY_INVALID', ...(file ? { file } : {}) });

/** The step a name ends with: `checkpoint-500`, `step_500`, `model-500.safetensors`; null when it has none. */
export function stepFromName(name: string): number | null {
  const stem = name.replace(/\/+$/, '').replace(/\.safetensors(\.index\.json)?$/, '');
  const match = /(?:^|[-_])(?:step[-_]?)?(\d+)$/i.exec(stem) ?? /^step(\d+)$/i.exec(stem);
  if (!match) return null;
  const step = Number(match[1]);
  return Number.isSafeInteger(step) ? step : null;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The largest trainer_state.json read (its log history grows with the run: tens of MB for long ones). */
const TRAINER_STATE_MAX_BYTES = 256 * 2 ** 20;

/**
 * `global_step` of trainer_state.json in `dir`, or null when there is none. INPUT_TOO_LARGE above the
 * cap, TRAJECTORY_INVALID for a file that is not a JSON object with an integer global_step (its bytes
 * are not echoed).
 */
async function trainerStep(dir: string): Promise<number | null> {
  const file = path.join(dir, 'trainer_state.json');
  if (!(await exists(file))) return null;
  // Read as every side file is (read/json-file.ts): a FIFO or a link to /dev/zero in its place would
  // otherwise be read forever; a link out of the checkpoint is refused (read/links.ts).
  requireInside(dir, file, 'trainer state');
  const bytes = readBoundedFile(file, 'trainer state', TRAINER_STATE_MAX_BYTES);
  // A long run's log history holds millions of values: allow one per four bytes of the cap.
  const state: unknown = parseJsonBytes(bytes, file, { what: 'trainer state', code: 'TRAJECTORY_INVALID', duplicates: 'last', maxValues: TRAINER_STATE_MAX_BYTES / 4 });
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw invalid(`${file} is not a JSON object`, file);
  const step = (state as Record<string, unknown>).global_step;
  if (!Number.isSafeInteger(step) || (step as number) < 0)
    throw invalid(`${file}: global_step is ${typeof step === 'number' ? step : typeof step}, not a non-negative integer`, file);
  return step as number;
}

/** One checkpoint: its kind, and its step from trainer_state.json or its name. */
async function describe(p: string): Promise<TrajectoryCheckpoint> {
  const directory = await isDirectory(p);
  if (!directory && !(await exists(p))) throw new ParamscopeError(`no such checkpoint: ${p}`, { code: 'FILE_NOT_FOUND', file: p });
  let adapter = false;
  if (directory) for (const f of ADAPTER_FILES) if (await exists(path.join(p, f))) adapter = true;
  const name = path.basename(path.resolve(p));
  const fromState = directory ? await trainerStep(p) : null;
  const step = fromState ?? stepFromName(name);
  if (step === null)
    throw invalid(`${p}: no step number (a name like checkpoint-500 or step-500, or a trainer_state.json with global_step)`, p);
  return { step, stepSource: fromState === null ? 'name' : 'trainer_state.json', path: p, name, kind: adapter ? 'adapter' : 'full' };
}

/** A run directory's `checkpoint-N/` directories, or null when `p` is not one. */
async function runCheckpoints(p: string): Promise<string[] | null> {
  if (!(await isDirectory(p))) return null;
  const names = (await fs.readdir(p, { withFileTypes: true })).filter((e) => e.isDirectory() && CHECKPOINT_DIR.test(e.name)).map((e) => e.name);
  return names.length ? names.map((n) => path.join(p, n)) : null;
}

/**
 * The checkpoints the arguments name, sorted by step. TRAJECTORY_INVALID for none, a missing step, a
 * duplicated one, or full checkpoints mixed with adapters.
 */
export async function trajectoryCheckpoints(args: readonly string[]): Promise<TrajectoryCheckpoint[]> {
  if (!Array.isArray(args) || args.length === 0) throw invalid('a trajectory needs at least one checkpoint');
  const found: TrajectoryCheckpoint[] = [];
  for (const arg of args) {
    const inRun = await runCheckpoints(arg);
    for (const p of inRun ?? [arg]) found.push(await describe(p));
  }
  const kinds = new Set(found.map((c) => c.kind));
  if (kinds.size > 1) {
    const adapter = found.find((c) => c.kind === 'adapter') as TrajectoryCheckpoint;
    const full = found.find((c) => c.kind === 'full') as TrajectoryCheckpoint;
    throw invalid(`the checkpoints mix LoRA adapters (${adapter.path}) and full checkpoints (${full.path}): a trajectory is one or the other`, adapter.path);
  }
  found.sort((a, b) => a.step - b.step);
  for (let i = 1; i < found.length; i++) {
    const [a, b] = [found[i - 1] as TrajectoryCheckpoint, found[i] as TrajectoryCheckpoint];
    if (a.step === b.step) throw invalid(`two checkpoints have step ${a.step}: ${a.path} and ${b.path}`, b.path);
  }
  return found;
}
