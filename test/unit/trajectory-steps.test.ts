/**
 * The checkpoints of a trajectory in step order (lib/plan/trajectory-steps.ts): steps from names and
 * from trainer_state.json, run directories expanded, and TRAJECTORY_INVALID for no checkpoint, a missing
 * or duplicated step, adapters mixed with full checkpoints, full checkpoints without a base, and a
 * trainer_state.json that is not one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParamscopeError } from '../../lib/errors';
import { stepFromName, trajectoryCheckpoints } from '../../lib/plan/trajectory-steps';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { trajectory } from '../../lib/trajectory';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ParamscopeError ? `${error.code}: ${error.message}` : `not a ParamscopeError: ${String(error)}`;
  }
  return 'no error';
}

describe('trajectory checkpoints and their steps', () => {
  let dir: string;
  let cleanup: () => void;
  const full = (p: string) => {
    fs.mkdirSync(p, { recursive: true });
    writeSafetensorsSync(path.join(p, 'model.safetensors'), { w: { dtype: 'F32', shape: [4, 4], data: new Float32Array(16).fill(1) } });
    return p;
  };
  const adapter = (p: string) => {
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, 'adapter_config.json'), '{"peft_type":"LORA","r":1,"lora_alpha":1}');
    writeSafetensorsSync(path.join(p, 'adapter_model.safetensors'), {
      'base_model.model.w.lora_A.weight': { dtype: 'F32', shape: [1, 4], data: new Float32Array(4).fill(1) },
      'base_model.model.w.lora_B.weight': { dtype: 'F32', shape: [4, 1], data: new Float32Array(4).fill(1) },
    });
    return p;
  };

  beforeAll(() => ({ dir, cleanup } = temporaryDirectory()));
  afterAll(() => cleanup());

  it('reads the step a name ends with', () => {
    const cases: Array<[string, number | null]> = [
      ['checkpoint-500', 500], ['checkpoint-500/', 500], ['step-42', 42], ['step_42', 42], ['step42', 42], ['global_step7', 7],
      ['run-3-1000', 1000], ['model-250.safetensors', 250], ['ckpt_0', 0], ['1200', 1200],
      ['gpt2', null], ['llama-3-8b', null], ['final', null], ['ckpt_v2', null], ['model.safetensors', null],
    ];
    for (const [name, step] of cases) expect(stepFromName(name), name).toBe(step);
  });

  it('sorts by step, expands a run directory of checkpoint-N/, prefers trainer_state.json\'s global_step', async () => {
    const run = path.join(dir, 'run');
    for (const n of [1000, 50, 200]) full(path.join(run, `checkpoint-${n}`));
    full(path.join(run, 'final-model')); // not a checkpoint-N directory: left out of the run
    const renamed = full(path.join(dir, 'best-checkpoint-7'));
    fs.writeFileSync(path.join(renamed, 'trainer_state.json'), JSON.stringify({ global_step: 700, log_history: [{ loss: 1 }] }));
    const found = await trajectoryCheckpoints([run, renamed]);
    expect(found.map((c) => [c.step, c.name, c.stepSource, c.kind])).toEqual([
      [50, 'checkpoint-50', 'name', 'full'], [200, 'checkpoint-200', 'name', 'full'], [700, 'best-checkpoint-7', 'trainer_state.json', 'full'],
      [1000, 'checkpoint-1000', 'name', 'full'],
    ]);
    const adapters = await trajectoryCheckpoints([adapter(path.join(dir, 'a', 'step-20')), adapter(path.join(dir, 'a', 'step-10'))]);
    expect(adapters.map((c) => [c.step, c.kind])).toEqual([[10, 'adapter'], [20, 'adapter']]);
  });

  it('TRAJECTORY_INVALID: no checkpoint, a missing step, a duplicated step, adapters mixed with full checkpoints', async () => {
    expect(await codeOf(trajectoryCheckpoints([]))).toMatch(/^TRAJECTORY_INVALID: a trajectory needs at least one checkpoint/);
    const nostep = full(path.join(dir, 'bad', 'final'));
    expect(await codeOf(trajectoryCheckpoints([nostep]))).toMatch(/^TRAJECTORY_INVALID: .*final: no step number/);
    const a = full(path.join(dir, 'dup', 'checkpoint-5'));
    const b = full(path.join(dir, 'dup2', 'step-5'));
    expect(await codeOf(trajectoryCheckpoints([a, b]))).toMatch(/^TRAJECTORY_INVALID: two checkpoints have step 5: .*checkpoint-5 and .*step-5/);
    const c = full(path.join(dir, 'dup3', 'checkpoint-9'));
    fs.writeFileSync(path.join(c, 'trainer_state.json'), JSON.stringify({ global_step: 5 }));
    expect(await codeOf(trajectoryCheckpoints([a, c]))).toMatch(/^TRAJECTORY_INVALID: two checkpoints have step 5/);
    const ad = adapter(path.join(dir, 'mix', 'checkpoint-3'));
    expect(await codeOf(trajectoryCheckpoints([a, ad]))).toMatch(/^TRAJECTORY_INVALID: the checkpoints mix LoRA adapters .* and full checkpoints/);
    expect(await codeOf(trajectoryCheckpoints([path.join(dir, 'nowhere', 'checkpoint-1')]))).toMatch(/^FILE_NOT_FOUND/);
  });

  it('TRAJECTORY_INVALID for a trainer_state.json that is not JSON, or whose global_step is not a step; its bytes are not echoed', async () => {
    const p = full(path.join(dir, 'state', 'checkpoint-1'));
    fs.writeFileSync(path.join(p, 'trainer_state.json'), 'SECRET-BYTES{{{');
    const message = await codeOf(trajectoryCheckpoints([p]));
    expect(message).toMatch(/^TRAJECTORY_INVALID: .*trainer_state.json is not valid JSON/);
    expect(message).not.toContain('SECRET');
    fs.writeFileSync(path.join(p, 'trainer_state.json'), JSON.stringify({ global_step: 'SECRET' }));
    expect(await codeOf(trajectoryCheckpoints([p]))).toMatch(/^TRAJECTORY_INVALID: .*global_step is string, not a non-negative integer$/);
    fs.writeFileSync(path.join(p, 'trainer_state.json'), JSON.stringify({ global_step: -3 }));
    expect(await codeOf(trajectoryCheckpoints([p]))).toMatch(/global_step is -3/);
  });

  it('full checkpoints need their base; the CLI exits 2 with the code', async () => {
    const a = full(path.join(dir, 'nobase', 'checkpoint-1'));
    expect(await codeOf(trajectory(null, [a]))).toMatch(/^TRAJECTORY_INVALID: a trajectory of full checkpoints needs their base/);
    const cli = runCli(['trajectory', '--no-base', a]);
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/^paramscope trajectory: TRAJECTORY_INVALID: /);
    const dup = runCli(['trajectory', full(path.join(dir, 'nobase', 'base')), a, a]);
    expect(dup.status).toBe(2);
    expect(dup.stderr).toMatch(/TRAJECTORY_INVALID: two checkpoints have step 1/);
    const usage = runCli(['trajectory', a]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/takes a base and at least one checkpoint/);
  });
});
