/**
 * Seeded mutation fuzzing of adapters (adapter_config.json and factor files) and of sharded index
 * checkpoints (model.safetensors.index.json and its shards): inputs from test/fixtures/mutate-adapters.ts,
 * opened and analysed or read in CHILD processes (test/fixtures/fuzz-adapter-child.ts), many per child.
 * Fails when a child dies on a signal, stops making progress, or reports an outcome other than success
 * or a ParamscopeError with a known code (never INTERNAL); the message names the iteration, the
 * mutations, and how to rerun it.
 *
 *   PARAMSCOPE_FUZZ_ADAPTER_ITERATIONS  inputs of each kind (default 600)
 *   PARAMSCOPE_FUZZ_SEED                master seed (default 1)
 *   PARAMSCOPE_FUZZ_ONLY                comma-separated iterations to run alone
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdapterChildResult } from '../fixtures/fuzz-adapter-child';
import { mutatedAdapter, mutatedIndex } from '../fixtures/mutate-adapters';
import { addonPath, bundleChild, Rng, runChild, tallyOutcomes } from '../helpers/fuzz-harness';
import { temporaryDirectory } from '../helpers/paths';

const ITERATIONS = Number(process.env.PARAMSCOPE_FUZZ_ADAPTER_ITERATIONS ?? 600);
const SEED = Number(process.env.PARAMSCOPE_FUZZ_SEED ?? 1);
const ONLY = process.env.PARAMSCOPE_FUZZ_ONLY?.split(',').map(Number);
const BATCH = 150;

describe('mutation fuzzing of adapters and index files in child processes', () => {
  const tmp = temporaryDirectory('paramscope-fuzz-adapters-');
  let childScript = '';
  beforeAll(async () => {
    childScript = path.join(tmp.dir, 'fuzz-adapter-child.cjs');
    await bundleChild('test/fixtures/fuzz-adapter-child.ts', childScript);
  });
  afterAll(() => tmp.cleanup());

  it.each(['adapter', 'index'] as const)(`%s: ${ONLY ? `iterations ${ONLY.join(',')}` : `${ITERATIONS} mutated inputs`} (seed ${SEED}): no crash, no hang, only known errors`, async (kind) => {
    const iterations = ONLY ?? Array.from({ length: ITERATIONS }, (_, i) => i);
    const ops = new Map<number, string[]>();
    const inputs = iterations.map((index) => {
      // Adapters and indexes draw from generators of their own (the index ones offset by a constant).
      const rng = new Rng(SEED, kind === 'adapter' ? index : index + 1_000_003);
      const dir = path.join(tmp.dir, kind, String(index));
      if (kind === 'adapter') {
        ops.set(index, mutatedAdapter(dir, rng));
        return { index, kind, path: dir };
      }
      const made = mutatedIndex(dir, rng);
      ops.set(index, made.ops);
      return { index, kind, path: made.target };
    });

    const env = { ...process.env, PARAMSCOPE_NATIVE_PATH: addonPath() };
    const results = new Map<number, AdapterChildResult>();
    const failures: string[] = [];
    const queue: (typeof inputs)[] = [];
    for (let k = 0; k < inputs.length; k += BATCH) queue.push(inputs.slice(k, k + BATCH));
    const describeFailure = (iteration: number, what: string) =>
      `${what} on iteration ${iteration} [${ops.get(iteration)?.join('; ')}]\n    rerun: PARAMSCOPE_FUZZ_SEED=${SEED} PARAMSCOPE_FUZZ_ONLY=${iteration} npx vitest run test/unit/fuzz-adapters.test.ts -t ${kind}`;
    let batchNumber = 0;
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const list = path.join(tmp.dir, `${kind}-batch-${batchNumber++}.json`);
      fs.writeFileSync(list, JSON.stringify(batch));
      const run = await runChild<AdapterChildResult>(childScript, list, env);
      for (const r of run.results) results.set(r.index, r);
      if (run.failure) {
        failures.push(run.inFlight === undefined ? `${run.failure}: ${run.detail}` : describeFailure(run.inFlight, `${run.failure}: ${run.detail}`));
        const rest = batch.filter((input) => !results.has(input.index) && input.index !== run.inFlight);
        if (run.inFlight !== undefined && rest.length) queue.push(rest);
      }
    }
    for (const i of iterations) {
      const r = results.get(i);
      if (r?.outcome === 'bad') failures.push(describeFailure(i, `bad outcome: ${r.detail}`));
    }
    expect(failures, `\n${failures.join('\n')}`).toEqual([]);
    expect(results.size).toBe(iterations.length);

    const { ok, codes, byCode } = tallyOutcomes(results.values());
    console.log(`fuzz ${kind}: ${results.size} inputs, ${ok} ok, errors by code: ${byCode}`);
    if (!ONLY && ITERATIONS >= 300) {
      // The mutations reach past the first checks: some inputs still work, many distinct rules fire.
      expect(ok).toBeGreaterThan(ITERATIONS * 0.05);
      expect(codes.size).toBeGreaterThanOrEqual(6);
    }
  }, 600_000);
});
