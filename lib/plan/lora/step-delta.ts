/**
 * What a LoRA training step changed: ΔW_k − ΔW_{k−1} = s_k·B_k·A_k − s_{k−1}·B_{k−1}·A_{k−1} per module,
 * itself a low-rank product — [s_k·B_k, −s_{k−1}·B_{k−1}] · [A_k; A_{k−1}], of rank r_k + r_{k−1} — so the
 * engine takes it from the factors like any adapter module, and no m×n matrix is formed.
 */
import type { Adapter, LoraModule } from './types';

/** The step from `previous` to `current` as an adapter of rank-(r_k + r_{k−1}) modules with scale 1. */
export function adapterStepDelta(previous: Adapter, current: Adapter): Adapter {
  const before = new Map(previous.modules.map((m) => [m.name, m]));
  const modules: LoraModule[] = [];
  const notes: string[] = [];
  for (const m of current.modules) {
    const p = before.get(m.name);
    if (!p) {
      notes.push(`${m.name}: not in ${previous.path}; left out of the step's update`);
      continue;
    }
    if (p.rows !== m.rows || p.cols !== m.cols) {
      notes.push(`${m.name}: ${p.rows}×${p.cols} in ${previous.path} but ${m.rows}×${m.cols} here; left out of the step's update`);
      continue;
    }
    modules.push(moduleDelta(p, m));
  }
  for (const p of previous.modules) if (!current.modules.some((m) => m.name === p.name)) notes.push(`${p.name}: only in ${previous.path}; left out of the step's update`);
  return {
    ...current,
    modules,
    fullTensors: [],
    needsBase: previous.needsBase || current.needsBase,
    notes: [`the step's update ΔW_k − ΔW_{k−1} from ${previous.path}, as one low-rank product of the two adapters' factors`, ...notes],
  };
}

function moduleDelta(p: LoraModule, m: LoraModule): LoraModule {
  const rank = m.rank + p.rank;
  const b = new Float32Array(m.rows * rank);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.rank; j++) b[i * rank + j] = m.scale * (m.b[i * m.rank + j] as number);
    for (let j = 0; j < p.rank; j++) b[i * rank + m.rank + j] = -p.scale * (p.b[i * p.rank + j] as number);
  }
  const a = new Float32Array(rank * m.cols);
  a.set(m.a, 0);
  a.set(p.a, m.rank * m.cols);
  return {
    ...m, rank, scale: 1, b, a,
    scaleSource: `s_k·B_k·A_k − s_{k−1}·B_{k−1}·A_{k−1} (${m.scaleSource}; before: ${p.scaleSource})`,
    tensors: [...m.tensors, ...p.tensors],
  };
}
