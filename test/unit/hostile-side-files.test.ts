/**
 * Side files from hostile paths (docs/security.md, "Side files"): adapter_config.json and config.json
 * that are FIFOs, devices, links to them, directories, huge, not JSON, not UTF-8, nested without end,
 * with duplicate keys or prototype keys. Each attack is generated on the fly and run through the CLI
 * in a child process with a time limit; the JSON reader's own rules are checked in process.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAdapter } from '../../lib/plan/lora/open-adapter';
import { parseJson } from '../../lib/read/json';
import { MAX_CONFIG_BYTES, readJsonFile } from '../../lib/read/json-file';
import { seededRandom } from '../../lib/results/random';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { writeAdapter } from '../fixtures/adapters';
import { expectRefused, expectSucceeded, runAttack } from '../helpers/attack';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-side-files-');
afterAll(() => tmp.cleanup());
let count = 0;
const fresh = (name: string) => path.join(tmp.dir, `${++count}-${name}`);

/** A PEFT adapter whose adapter_config.json is replaced by `make(configPath)`. */
function adapterWithConfig(name: string, make: (config: string) => void): string {
  const dir = writeAdapter(fresh(name), { layout: 'peft', rank: 2 });
  const config = path.join(dir, 'adapter_config.json');
  fs.rmSync(config);
  make(config);
  return dir;
}

const SECRET = 'root:x:0:0:hunter2';

describe('adapter_config.json attacks, through the CLI', () => {
  it('a FIFO is refused without waiting for a writer', () => {
    const dir = adapterWithConfig('fifo', (config) => execFileSync('mkfifo', [config]));
    expect(expectRefused(runAttack(['lora', dir]), 'NOT_A_REGULAR_FILE')).toContain('a FIFO');
  });

  it('a link to /dev/zero is refused as a link out of the directory; /dev/zero named with --config, or a link to a FIFO inside, without reading', () => {
    const dir = adapterWithConfig('zero', (config) => fs.symlinkSync('/dev/zero', config));
    expectRefused(runAttack(['lora', dir]), 'LINK_OUTSIDE_CHECKPOINT');
    const plain = writeAdapter(fresh('plain'), { layout: 'peft', rank: 2 });
    expect(expectRefused(runAttack(['lora', plain, '--config', '/dev/zero']), 'NOT_A_REGULAR_FILE')).toContain('a character device');
    const inside = adapterWithConfig('fifo-link', (config) => {
      execFileSync('mkfifo', [path.join(path.dirname(config), 'pipe')]);
      fs.symlinkSync('pipe', config);
    });
    expect(expectRefused(runAttack(['lora', inside]), 'NOT_A_REGULAR_FILE')).toContain('a FIFO');
  });

  it('an adapter_config.json or weights file linking out of the adapter directory is refused, its content never read or quoted', () => {
    const outside = fresh('victim.json');
    fs.writeFileSync(outside, `{"r": "${SECRET}"}`);
    const dir = adapterWithConfig('config-out', (config) => fs.symlinkSync(outside, config));
    expectRefused(runAttack(['lora', dir]), 'LINK_OUTSIDE_CHECKPOINT', ['hunter2']);
    const weightsOut = writeAdapter(fresh('weights-out'), { layout: 'peft', rank: 2 });
    const moved = fresh('elsewhere.safetensors');
    fs.renameSync(path.join(weightsOut, 'adapter_model.safetensors'), moved);
    fs.symlinkSync(moved, path.join(weightsOut, 'adapter_model.safetensors'));
    expectRefused(runAttack(['lora', weightsOut]), 'LINK_OUTSIDE_CHECKPOINT');
    // Named, rather than found, the file is used: the user chose it.
    expectSucceeded(runAttack(['lora', moved, '--config', path.join(dir, '..', path.basename(weightsOut), 'adapter_config.json'), '--json', '--quiet']));
  });

  it('an adapter in a Hugging Face cache snapshot (files linking into the repo blobs/) opens', () => {
    const repo = fresh('models--org--adapter');
    const snapshot = path.join(repo, 'snapshots', 'rev1');
    const source = writeAdapter(fresh('source'), { layout: 'peft', rank: 2 });
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(snapshot, { recursive: true });
    for (const [name, blob] of [['adapter_model.safetensors', 'b1'], ['adapter_config.json', 'b2']] as const) {
      fs.copyFileSync(path.join(source, name), path.join(repo, 'blobs', blob));
      fs.symlinkSync(`../../blobs/${blob}`, path.join(snapshot, name));
    }
    expectSucceeded(runAttack(['lora', snapshot, '--json', '--quiet']));
  });

  it('a directory in its place is refused', () => {
    const dir = adapterWithConfig('directory', (config) => fs.mkdirSync(config));
    expect(expectRefused(runAttack(['lora', dir]), 'NOT_A_REGULAR_FILE')).toContain('a directory');
  });

  it('a file above the cap is refused by its size, before it is read; the message names the size and the cap', () => {
    const size = MAX_CONFIG_BYTES + 1;
    const dir = adapterWithConfig('huge', (config) => {
      fs.writeFileSync(config, '{"r": 2, "pad": "');
      fs.truncateSync(config, size); // sparse: no disk used
    });
    const line = expectRefused(runAttack(['lora', dir]), 'INPUT_TOO_LARGE');
    expect(line).toContain(String(size));
    expect(line).toContain(String(MAX_CONFIG_BYTES));
  });

  it('text that is not JSON is refused with its position only, never quoted', () => {
    const dir = adapterWithConfig('passwd', (config) => fs.writeFileSync(config, `${SECRET}:/root:/bin/bash\n`));
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID', [SECRET, 'root:x', 'hunter2']);
    expect(line).toMatch(/at character 0 \(line 1, column 1\)/);
  });

  it('JSON broken late in the file is refused with the line and column', () => {
    const dir = adapterWithConfig('late', (config) => fs.writeFileSync(config, `{\n  "r": 2,\n  "lora_alpha": 16,\n  "note": "${SECRET}" oops\n}`));
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID', [SECRET, 'oops']);
    expect(line).toContain('line 4');
  });

  it('bytes that are not UTF-8 are refused with their offset', () => {
    const dir = adapterWithConfig('latin1', (config) => fs.writeFileSync(config, Buffer.concat([Buffer.from('{"r": 2, "x": "'), Buffer.from([0xe9, 0xff]), Buffer.from('"}')])));
    expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('byte 15');
  });

  it('nesting a hundred thousand levels deep is refused, not a stack overflow', () => {
    const dir = adapterWithConfig('deep', (config) => fs.writeFileSync(config, `{"r": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`));
    expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('nesting deeper than 64');
  });

  it('a duplicate key (two ranks) is refused: readers disagree on which one counts', () => {
    const dir = adapterWithConfig('duplicate', (config) => fs.writeFileSync(config, '{"peft_type": "LORA", "r": 2, "lora_alpha": 16, "r": 64}'));
    expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('duplicate key "r"');
  });

  it('a valid config still works, and one Python wrote with NaN parses (the value check refuses it)', () => {
    expectSucceeded(runAttack(['lora', writeAdapter(fresh('fine'), { layout: 'peft', rank: 2 }), '--json', '--quiet']));
    const dir = adapterWithConfig('nan', (config) => fs.writeFileSync(config, '{"peft_type": "LORA", "r": 2, "lora_alpha": NaN}'));
    expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('lora_alpha');
  });
});

describe('config.json beside a checkpoint, through the CLI', () => {
  function checkpointWithConfig(name: string, make: (config: string) => void): string {
    const dir = fresh(name);
    fs.mkdirSync(dir);
    writeSafetensorsSync(path.join(dir, 'model.safetensors'), [['layers.0.w', { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) }]]);
    make(path.join(dir, 'config.json'));
    return dir;
  }

  it('a FIFO, a directory, a link out (to /dev/zero) and an oversized file are refused; unparsable text stays "absent", as documented', () => {
    expectRefused(runAttack(['inspect', checkpointWithConfig('fifo', (c) => execFileSync('mkfifo', [c]))]), 'NOT_A_REGULAR_FILE');
    expectRefused(runAttack(['inspect', checkpointWithConfig('zero', (c) => fs.symlinkSync('/dev/zero', c))]), 'LINK_OUTSIDE_CHECKPOINT');
    expectRefused(runAttack(['inspect', checkpointWithConfig('dir', (c) => fs.mkdirSync(c))]), 'NOT_A_REGULAR_FILE');
    const huge = checkpointWithConfig('huge', (c) => {
      fs.writeFileSync(c, '{');
      fs.truncateSync(c, MAX_CONFIG_BYTES + 1);
    });
    expectRefused(runAttack(['inspect', huge]), 'INPUT_TOO_LARGE');
    const garbage = runAttack(['inspect', checkpointWithConfig('garbage', (c) => fs.writeFileSync(c, SECRET))]);
    expectSucceeded(garbage);
    expect(garbage.stdout + garbage.stderr).not.toContain('hunter2');
  });
});

describe('trainer_state.json of a trajectory step, through the CLI', () => {
  function steps(name: string, make: (state: string) => void): string[] {
    const base = fresh(`${name}-base.safetensors`);
    writeSafetensorsSync(base, [['layers.0.w', { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) }]]);
    const dirs = ['run-a', 'run-b'].map((d, i) => {
      const dir = fresh(`${name}-${d}`);
      fs.mkdirSync(dir);
      writeSafetensorsSync(path.join(dir, 'model.safetensors'), [['layers.0.w', { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 7 + i]) }]]);
      return dir;
    });
    make(path.join(dirs[0] as string, 'trainer_state.json'));
    return [base, ...dirs];
  }

  it('a FIFO, a link to /dev/zero and text that is not JSON are refused, promptly and without quoting it', () => {
    expectRefused(runAttack(['trajectory', ...steps('fifo', (f) => execFileSync('mkfifo', [f]))]), 'NOT_A_REGULAR_FILE');
    expectRefused(runAttack(['trajectory', ...steps('zero', (f) => fs.symlinkSync('/dev/zero', f))]), 'LINK_OUTSIDE_CHECKPOINT');
    expectRefused(runAttack(['trajectory', ...steps('garbage', (f) => fs.writeFileSync(f, SECRET))]), 'TRAJECTORY_INVALID', ['hunter2', 'root:x']);
  });
});

describe('prototype keys are plain data', () => {
  it('__proto__ and constructor in adapter_config.json neither pollute Object.prototype nor stand in for inherited members', async () => {
    const dir = writeAdapter(fresh('proto'), {
      layout: 'peft',
      rank: 2,
      config: '{"peft_type": "LORA", "r": 2, "lora_alpha": 16, "__proto__": {"polluted": true, "r": 99}, "constructor": {"prototype": {"polluted": true}}, "rank_pattern": {"__proto__": 4}}',
    });
    const adapter = await openAdapter(dir);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(adapter.config)).toBeNull();
    expect(Object.keys(adapter.config ?? {})).toEqual(['peft_type', 'r', 'lora_alpha', '__proto__', 'constructor', 'rank_pattern']);
    expect((adapter.config as Record<string, unknown>)['__proto__']).toEqual({ polluted: true, r: 99 });
    expect(adapter.modules[0]?.scale).toBe(16 / 2);
  });

  it('a config without a "constructor" key has none (no inherited function is found by a lookup)', async () => {
    const file = fresh('plain.json');
    fs.writeFileSync(file, '{"a": {"b": 1}}');
    const value = readJsonFile(file, { what: 'test config', code: 'ADAPTER_INVALID' }) as Record<string, Record<string, unknown>>;
    expect(value.constructor).toBeUndefined();
    expect(value.a?.toString).toBeUndefined();
  });
});

describe('prototype names in headers', () => {
  it('tensors named __proto__, constructor, toString … are analysed and paired like any other', () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'model.layers.0.__proto__.weight'];
    const write = (file: string, bump: number) =>
      writeSafetensorsSync(file, names.map((name, i) => [name, { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6 + i + bump]) }]));
    const a = fresh('proto-a.safetensors');
    const b = fresh('proto-b.safetensors');
    write(a, 0);
    write(b, 1);
    const analysed = runAttack(['analyze', a, '--json', '--quiet']);
    expectSucceeded(analysed);
    expect(JSON.parse(analysed.stdout).tensors.map((t: { name: string }) => t.name)).toEqual(names);
    const diffed = runAttack(['diff', a, b, '--json', '--quiet']);
    expectSucceeded(diffed);
    const report = JSON.parse(diffed.stdout);
    expect(report.pairs.map((p: { name: string; fate: string }) => `${p.name}:${p.fate}`)).toEqual(names.map((n) => `${n}:paired`));
    expect(report.aggregates.byModule.map((m: { key: string }) => m.key)).toContain('__proto__');
  });
});

describe('the JSON reader', () => {
  const parse = (text: string, duplicates: 'refuse' | 'last' = 'refuse') => parseJson(text, { file: 'f.json', what: 'test config', code: 'ADAPTER_INVALID', duplicates });

  it('agrees with JSON.parse on random valid documents (seeded)', () => {
    const random = seededRandom(9);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    const strings = ['', 'a', 'é', '\u{1F600}', '"q"', 'back\\slash', 'tab\tnew\nline', '\u0001', '\ud800', '__proto__', 'constructor'];
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 4 ? 4 : 6));
      if (kind === 0) return pick([null, true, false]);
      if (kind === 1) return pick([0, -0.5, 1e-7, 123456789012, 1.5e300, -3, 2 ** 53 + 2]);
      if (kind === 2) return pick(strings);
      if (kind === 3) return pick(strings) + String(Math.floor(random() * 100));
      if (kind === 4) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let k = Math.floor(random() * 4); k > 0; --k) Object.defineProperty(out, pick(strings) + k, { value: value(depth + 1), enumerable: true });
      return out;
    };
    for (let i = 0; i < 500; ++i) {
      const text = JSON.stringify(value(0), null, random() < 0.5 ? undefined : 2);
      expect(JSON.stringify(parse(text))).toBe(JSON.stringify(JSON.parse(text)));
    }
  });

  it('refuses what JSON refuses, naming the position; reads Python NaN / Infinity', async () => {
    for (const [text, at] of [['', 0], ['{', 1], ['[1,]', 3], ['{"a" 1}', 5], ['01', 1], ['"\u0001"', 1], ['"\\x"', 1], ['[1] 2', 4], ['tru', 0], ['-', 1], ['1.', 2], ['"abc', 0]] as const) {
      const error = await failure(() => parse(text));
      expect(error.code, text).toBe('ADAPTER_INVALID');
      expect(error.message, text).toContain(`at character ${at} `);
    }
    expect(parse('[NaN, Infinity, -Infinity, 1e400]')).toEqual([NaN, Infinity, -Infinity, Infinity]);
  });

  it('duplicate keys: refused, or the last wins as in Python', async () => {
    expect((await failure(() => parse('{"a": 1, "a": 2}'))).message).toContain('duplicate key "a" at character 9');
    expect(parse('{"a": 1, "a": 2}', 'last')).toEqual({ a: 2 });
  });

  it('refuses more values than the cap with INPUT_TOO_LARGE', async () => {
    const error = await failure(() => parse(`[${'0,'.repeat(1_000_001)}0]`));
    expect(error.code).toBe('INPUT_TOO_LARGE');
  });
});
