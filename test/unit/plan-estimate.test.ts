/**
 * Plans from headers alone (issue 10, item 6): `paramscope plan` / `--dry-run` / estimate() on a
 * header-only 70B-shaped pair (80 layers, hidden 8192, MLP 28672, vocabulary 128256, GQA with 8 KV heads
 * of 128), written sparse on the fly: 2 × 141 GB declared, nothing but the headers on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimate } from '../../lib/estimate';
import { spectrumFlops } from '../../lib/plan/cost';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-plan-');
afterAll(() => tmp.cleanup());

const D = 8192, FF = 28672, V = 128256, KV = 8 * 128, LAYERS = 80;

function tensorList(): Array<[string, number[]]> {
  const list: Array<[string, number[]]> = [['model.embed_tokens.weight', [V, D]]];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}.`;
    list.push([`${p}self_attn.q_proj.weight`, [D, D]], [`${p}self_attn.k_proj.weight`, [KV, D]], [`${p}self_attn.v_proj.weight`, [KV, D]],
      [`${p}self_attn.o_proj.weight`, [D, D]], [`${p}mlp.gate_proj.weight`, [FF, D]], [`${p}mlp.up_proj.weight`, [FF, D]],
      [`${p}mlp.down_proj.weight`, [D, FF]], [`${p}input_layernorm.weight`, [D]], [`${p}post_attention_layernorm.weight`, [D]]);
  }
  list.push(['model.norm.weight', [D]], ['lm_head.weight', [V, D]]);
  return list;
}

/** A BF16 safetensors file holding only its header; the data are a hole (a sparse file). */
function headerOnly(file: string): number {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of tensorList()) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(json)]));
  fs.truncateSync(file, 8 + json.length + offset);
  return offset;
}

let base: string, tuned: string, dataBytes: number;
beforeAll(() => {
  base = path.join(tmp.dir, 'base.safetensors');
  tuned = path.join(tmp.dir, 'tuned.safetensors');
  dataBytes = headerOnly(base);
  headerOnly(tuned);
});

describe('plans of a 70B-shaped pair from its headers', () => {
  it('states bytes, flops and memory per matrix and in total, within the memory budget', async () => {
    const e = await estimate([base, tuned], { mode: 'truncated', rank: 64, calibrate: false });
    expect(e.kind).toBe('diff');
    expect(e.totals.matrices).toBe(LAYERS * 7 + 2);  // the base is > 1 GB: no direction analysis by default
    expect(e.totals.bytes).toBe(2 * (dataBytes - LAYERS * 2 * D * 2 - D * 2));  // both sides, matrices only
    expect(e.totals.seconds).toBeNull();
    const head = e.jobs.find((j) => j.name === 'lm_head.weight');
    expect(head).toMatchObject({ rows: V, cols: D, bytes: 2 * V * D * 2 });
    expect(head?.flops).toBe(spectrumFlops(V, D, { mode: 'truncated', rank: 64, oversampling: 10, powerIterations: 2, vectors: false, exactRoute: 'auto' }));
    // The largest tensor does not fit a lane's share in f32 (4.2 GB): it is streamed, holding its work
    // arrays and a panel — well under 2 GiB.
    expect(head!.memoryBytes).toBeLessThan(2 ** 30);
    expect(head!.memoryBytes).toBeGreaterThan((3 * V + 4 * D) * 74 * 8);
    expect(e.totals.memoryBytes).toBeLessThanOrEqual(2 * 2 ** 30);
    const q = e.jobs.find((j) => j.name === 'model.layers.0.self_attn.q_proj.weight');
    expect(q?.memoryBytes).toBe(D * D * 4 + (3 * D + 4 * D) * 74 * 8);  // resident in f32 beside its work arrays
  });

  it('`paramscope plan` and `diff --dry-run` print it with a time estimate from a calibration, exit 0', () => {
    const plan = runCli(['plan', base, tuned, '--mode', 'truncated', '--rank', '64', '--json']);
    expect(plan.status).toBe(0);
    const e = JSON.parse(plan.stdout) as { totals: { seconds: number; matrices: number }; calibration: { flopsPerLaneSecond: number } };
    expect(e.totals.matrices).toBe(562);
    expect(e.totals.seconds).toBeGreaterThan(0);
    expect(e.calibration.flopsPerLaneSecond).toBeGreaterThan(1e8);
    const dry = runCli(['diff', base, tuned, '--dry-run', '--no-calibration']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^diff of .*: 562 spectra \(truncated, top 64\)/);
    expect(dry.stdout).toMatch(/total: 28\d\.\d+ GB to read, \d+\.\d+ TFLOP, at most \d+ MiB/);
    expect(dry.stdout).toContain('lm_head.weight');
  });
});
