/**
 * Checks on a pairing before anything is computed — a different architecture, strict shapes — and the
 * include / exclude filter that turns left-out entries into `excluded` ones.
 */
import type { Checkpoint } from '../read/checkpoint';
import { ParamscopeError } from '../errors';
import { nameFilter } from './glob';
import type { ModelContext } from './layouts/experts';
import { type ClassifyContext, classifyTensor, type Component } from './modules';
import { joinNotes, type PairingEntry, type PairingOptions, shapeText } from './pairing-entry';

/** How many mismatches an error message names. */
const FIRST_FEW = 5;

function describeMismatches(entries: readonly PairingEntry[]): string {
  const shown = entries.slice(0, FIRST_FEW).map((e) => `${e.name} ${shapeText(e.base?.shape ?? [])} vs ${shapeText(e.tuned?.shape ?? [])}`);
  const more = entries.length > FIRST_FEW ? `, and ${entries.length - FIRST_FEW} more` : '';
  return shown.join('; ') + more;
}

/** More than half of the shared names with incompatible shapes: not a fine-tune of this base. */
export function checkArchitecture(entries: readonly PairingEntry[], base: Checkpoint, tuned: Checkpoint): void {
  const shared = entries.filter((e) => e.fate !== 'missing-in-tuned' && e.fate !== 'extra-in-tuned' && e.fate !== 'tied');
  const mismatched = shared.filter((e) => e.fate === 'shape-mismatch');
  if (shared.length === 0 || mismatched.length * 2 <= shared.length) return;
  throw new ParamscopeError(
    `${base.path} and ${tuned.path} look like different architectures: ${mismatched.length} of the ${shared.length} tensor names ` +
      `they share differ in shape (base vs tuned): ${describeMismatches(mismatched)}`,
    { code: 'ARCHITECTURE_MISMATCH', file: tuned.path, tensor: mismatched[0]?.name as string },
  );
}

export function rejectShapeMismatches(entries: readonly PairingEntry[]): void {
  const mismatched = entries.filter((e) => e.fate === 'shape-mismatch');
  if (mismatched.length === 0) return;
  throw new ParamscopeError(`${mismatched.length} tensors differ in shape between base and tuned: ${describeMismatches(mismatched)}`, {
    code: 'SHAPE_MISMATCH',
    tensor: mismatched[0]?.name as string,
  });
}

/** The components a `component` option selects (all when unset). */
export function componentFilter(component: Component | readonly Component[] | undefined, context: ClassifyContext = {}): ((name: string) => boolean) | null {
  if (component === undefined || (Array.isArray(component) && component.length === 0)) return null;
  const wanted = new Set<string>(typeof component === 'string' ? [component] : component);
  return (name) => wanted.has(classifyTensor(name, context).component);
}

/** Entries whose pair would have been analysed or listed, but that the filter leaves out, become `excluded`. */
export function applyFilter(entries: readonly PairingEntry[], options: PairingOptions, context: Partial<ModelContext> = {}): PairingEntry[] {
  const byName = options.include?.length || options.exclude?.length ? nameFilter(options.include ?? [], options.exclude ?? []) : null;
  const byComponent = componentFilter(options.component, context);
  if (!byName && !byComponent) return [...entries];
  return entries.map((e) => {
    if (byName && !byName(e.name)) return { ...e, fate: 'excluded' as const, note: joinNotes(`excluded by include/exclude (was ${e.fate})`, e.note) as string };
    if (byComponent && !byComponent(e.name)) return { ...e, fate: 'excluded' as const, note: joinNotes(`excluded by component (was ${e.fate})`, e.note) as string };
    return e;
  });
}
