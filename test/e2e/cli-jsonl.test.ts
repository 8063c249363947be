/**
 * --jsonl, --quiet and the exit codes end to end (docs/events.md): the stream is read line by line while
 * the command runs and a matrix line arrives before the process ends; SIGINT and SIGTERM end it with an
 * ABORTED error line and exit 130 / 143; stdout holds nothing but JSON lines (human text on stderr, or
 * none with --quiet); every event validates against docs/events.schema.json; the matrix records and the
 * summary are the report written beside them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { writeSafetensorsSync } from '../../lib/read/writer';
import type { ErrorEvent, MatrixEvent, PlanEvent, ProgressEvent, RunEvent, SummaryEvent } from '../../lib/report/events';
import { runCli } from '../helpers/cli';
import { grammarErrors, schemaErrors, streamCli } from '../helpers/event-stream';
import { temporaryDirectory } from '../helpers/paths';

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) => events.filter((e) => e.type === type) as Array<Extract<RunEvent, { type: T }>>;

/** Every stdout line parses as JSON, validates, and the stream's grammar holds. */
function expectValidStream(run: { lines: string[]; events: RunEvent[] }): void {
  expect(run.lines.length).toBeGreaterThan(0);
  expect(run.events).toHaveLength(run.lines.length);
  expect(schemaErrors(run.events)).toEqual([]);
  expect(grammarErrors(run.events)).toEqual([]);
}

describe('paramscope --jsonl', () => {
  let dir: string;
  let cleanup: () => void;
  let example: ReturnType<typeof ensureExample>;
  let slow: string;
  // Dense 1024×1024 matrices, one at a time on one thread: a few hundred milliseconds each, so a run
  // lasts seconds after its first matrix and the child is certainly alive when that line is read.
  const slowArgs = () => ['analyze', slow, '--jsonl', '--mode', 'exact', '--threads', '1', '--parallel-matrices', '1'];

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    example = ensureExample(path.join(dir, 'example'));
    slow = path.join(dir, 'slow.safetensors');
    let s = 12345;
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < 12; i++) {
      const data = new Float32Array(1024 * 1024);
      for (let j = 0; j < data.length; j++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        data[j] = s / 2 ** 32 - 0.5;
      }
      tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [1024, 1024], data };
    }
    writeSafetensorsSync(slow, tensors);
  });
  afterAll(() => cleanup());

  it('streams while the command runs: the first matrix line is read before the process ends', async () => {
    let aliveAtFirstMatrix: boolean | undefined;
    const run = await streamCli(slowArgs(), (event, child) => {
      if (event.type === 'matrix' && aliveAtFirstMatrix === undefined) aliveAtFirstMatrix = child.exitCode === null && child.signalCode === null;
    });
    expect(run.status).toBe(0);
    expect(aliveAtFirstMatrix).toBe(true);
    expectValidStream(run);
    const plan = run.events[0] as PlanEvent;
    expect(plan).toMatchObject({ type: 'plan', command: 'analyze', mode: 'exact', rank: null, matrices: 12, bytes: 12 * 4 * 1024 * 1024 });
    expect(plan.phases).toEqual([{ name: 'spectra', jobs: 12, bytes: plan.bytes, flops: plan.flops }]);
    const matrices = ofType(run.events, 'matrix');
    expect(matrices.map((m) => m.index)).toEqual([...Array(12).keys()]);
    expect(matrices.every((m) => m.kind === 'tensor' && m.of === 12)).toBe(true);
    // The first matrix came out well before the end: streamed, not printed at the end.
    const summary = run.events.at(-1) as SummaryEvent;
    expect(summary.t - (matrices[0] as MatrixEvent).t).toBeGreaterThan(0);
    const progress = ofType(run.events, 'progress');
    expect(progress.at(-1)).toMatchObject({ phase: 'spectra', jobsDone: 12, jobsTotal: 12, bytesTotal: plan.bytes, fraction: 1 });
    for (let i = 1; i < progress.length; i++) expect((progress[i] as ProgressEvent).fraction).toBeGreaterThanOrEqual((progress[i - 1] as ProgressEvent).fraction);
    expect(summary.report).toMatchObject({ schema: 'paramscope.analysis', totals: { matrices: 12, failed: 0 } });
    expect(run.stderr).toBe(''); // analyze --jsonl, like --json, prints no human text
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`survives ${signal}: the last line is an ABORTED error naming the signal, exit ${code}`, async () => {
      let sent = false;
      const run = await streamCli(slowArgs(), (event, child) => {
        if (event.type === 'matrix' && !sent) {
          sent = true;
          child.kill(signal);
        }
      });
      expect(sent).toBe(true);
      expect(run.status).toBe(code);
      expect(run.signal).toBeNull(); // it exited by itself, after writing its last line
      expectValidStream(run);
      const last = run.events.at(-1) as ErrorEvent;
      expect(last).toMatchObject({ type: 'error', scope: 'run', code: 'ABORTED', signal });
      expect(last.message).toContain(signal);
      expect(ofType(run.events, 'matrix').length).toBeLessThan(12);
      expect(run.stderr).toContain(`interrupted by ${signal}`);
    });
  }

  it('never puts human text on stdout: the summary and "report written" go to stderr; records and summary are the report', async () => {
    const out = path.join(dir, 'out-jsonl');
    const run = await streamCli(['diff', example.base, example.concentrated, '--mode', 'exact', '--jsonl', '--out', out]);
    expect(run.status).toBe(0);
    expectValidStream(run);
    expect(run.stderr).toContain('verdict: CONCENTRATED');
    expect(run.stderr).toContain('report written:');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const matrices = ofType(run.events, 'matrix');
    expect(matrices.map((m) => m.record)).toEqual(report.pairs);
    const summary = run.events.at(-1) as SummaryEvent;
    expect({ ...summary.report, pairs: report.pairs }).toEqual(report);
    const plan = run.events[0] as PlanEvent;
    expect(plan).toMatchObject({ command: 'diff', matrices: 29, skipped: 9, directions: { enabled: true } });
    expect(plan.phases.map((p) => p.name)).toEqual(['spectra', 'directions']);
    expect(plan.inputs).toEqual([{ role: 'base', path: example.base }, { role: 'tuned', path: example.concentrated }]);
    // The plan's bytes are what the engine's progress counts, phase by phase.
    for (const phase of plan.phases) {
      const last = ofType(run.events, 'progress').filter((p) => p.phase === phase.name).at(-1);
      expect(last).toMatchObject({ jobsDone: phase.jobs, jobsTotal: phase.jobs, bytesTotal: phase.bytes });
    }
    expect(ofType(run.events, 'warning').map((w) => w.code)).toContain('PAIRING_NOTE');
  });

  it('--quiet prints nothing but the requested machine output', () => {
    const quiet = runCli(['diff', example.base, example.concentrated, '--mode', 'exact', '--jsonl', '--quiet']);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout.trim().split('\n').every((l) => JSON.parse(l).v === 1)).toBe(true);

    const out = path.join(dir, 'out-quiet');
    const files = runCli(['diff', example.base, example.concentrated, '--out', out, '--quiet']);
    expect([files.status, files.stdout, files.stderr]).toEqual([0, '', '']);
    expect(fs.readdirSync(out).sort()).toEqual(['pairs.csv', 'report.html', 'report.json', 'summary.md']);

    const json = runCli(['diff', example.base, example.concentrated, '--json', '--quiet']);
    expect(json.status).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).schema).toBe('paramscope.diff');

    const analyze = runCli(['analyze', example.base, '--quiet']);
    expect([analyze.status, analyze.stdout, analyze.stderr]).toEqual([0, '', '']);
  });

  it('without --jsonl the output is what it was: the human summary on stdout, no JSON lines', () => {
    const r = runCli(['diff', example.base, example.concentrated, '--mode', 'exact']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^.* → .*\npairing: 29 paired/);
    expect(r.stdout).not.toContain('"type"');
  });

  it('bad input is one error event and exit 2; a usage error too, even before the command could start', async () => {
    const missing = await streamCli(['diff', example.base, path.join(dir, 'nope.safetensors'), '--jsonl']);
    expect(missing.status).toBe(2);
    expectValidStream(missing);
    expect(missing.events).toHaveLength(1);
    expect(missing.events[0]).toMatchObject({ type: 'error', scope: 'run', code: 'FILE_NOT_FOUND', seq: 0 });
    expect(missing.stderr).toContain('FILE_NOT_FOUND'); // the one line on stderr, as without --jsonl

    for (const args of [['--rank', 'abc'], ['--bogus'], ['--json']]) {
      const usage = await streamCli(['diff', example.base, example.concentrated, '--jsonl', '--quiet', ...args]);
      expect(usage.status).toBe(2);
      expectValidStream(usage);
      expect(usage.events).toEqual([expect.objectContaining({ type: 'error', scope: 'run', code: 'INVALID_ARGUMENT' })]);
      expect(usage.stderr).toBe('');
    }
    const noPath = await streamCli(['analyze', '--jsonl']);
    expect(noPath.status).toBe(2);
    expect(noPath.events).toEqual([expect.objectContaining({ type: 'error', code: 'INVALID_ARGUMENT', message: 'analyze takes exactly one checkpoint path' })]);
  });

  it('a failed matrix is an error event (code, file, tensor) beside its record; analyze still ends with the summary, exit 2', async () => {
    const bad = path.join(dir, 'bad.safetensors');
    const nan = new Float32Array(64).fill(0.5);
    nan[9] = NaN;
    writeSafetensorsSync(bad, {
      'a.weight': { dtype: 'F32', shape: [8, 8], data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)) },
      'bad.weight': { dtype: 'F32', shape: [8, 8], data: nan },
    });
    const run = await streamCli(['analyze', bad, '--jsonl']);
    expect(run.status).toBe(2);
    expectValidStream(run);
    const errors = ofType(run.events, 'error');
    expect(errors).toEqual([expect.objectContaining({ scope: 'matrix', code: 'NON_FINITE_INPUT', tensor: 'bad.weight', file: bad })]);
    const record = ofType(run.events, 'matrix')[1] as MatrixEvent;
    expect(record.record.error?.code).toBe('NON_FINITE_INPUT');
    expect(run.events.indexOf(errors[0] as RunEvent)).toBe(run.events.indexOf(record) + 1);
    expect((run.events.at(-1) as SummaryEvent).report).toMatchObject({ totals: { failed: 1 } });
  });

  it('a report directory refused before the run is the stream\'s only event; one that changes during the run replaces the summary, exit 2', async () => {
    const blocked = path.join(dir, 'out-blocked');
    fs.mkdirSync(path.join(blocked, 'report.json'), { recursive: true }); // a directory where the file goes
    const refused = await streamCli(['diff', example.base, example.concentrated, '--jsonl', '--out', blocked]);
    expect(refused.status).toBe(2);
    expectValidStream(refused);
    expect(refused.events).toEqual([expect.objectContaining({ type: 'error', scope: 'run', code: 'OUTPUT_INVALID' })]);

    // Someone else's file appears in the directory while the run computes: the write refuses it then.
    const out = path.join(dir, 'out-changed');
    fs.mkdirSync(out);
    process.env.PARAMSCOPE_TEST_PAUSE_WRITE = '200'; // the write checks the directory again after its files
    try {
      const run = await streamCli(['diff', example.base, example.concentrated, '--jsonl', '--out', out], (event) => {
        if (event.type === 'plan') fs.writeFileSync(path.join(out, 'notes.txt'), 'mine\n');
      });
      expect(run.status).toBe(2);
      expectValidStream(run);
      expect(ofType(run.events, 'summary')).toEqual([]);
      expect(run.events.at(-1)).toMatchObject({ type: 'error', scope: 'run', code: 'OUTPUT_INVALID' });
      expect(fs.readdirSync(out)).toEqual(['notes.txt']);
      expect(fs.readdirSync(dir).filter((n) => n.includes('.paramscope-'))).toEqual([]);
    } finally {
      delete process.env.PARAMSCOPE_TEST_PAUSE_WRITE;
    }
  });

  it('lora and compare stream too: compare tags each fine-tune\'s events with its run and ends with the ranking', async () => {
    const adapterDir = path.join(dir, 'adapter');
    fs.mkdirSync(adapterDir);
    const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
    for (const [m, rows] of [['q_proj', 256], ['v_proj', 64]] as const) {
      const key = `base_model.model.model.layers.1.self_attn.${m}`;
      tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [4, 256], data: Float32Array.from({ length: 1024 }, (_, i) => Math.sin(0.3 * i)) };
      tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(0.7 * i)) };
    }
    writeSafetensorsSync(path.join(adapterDir, 'adapter_model.safetensors'), tensors);
    fs.writeFileSync(path.join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 6 }));
    const lora = await streamCli(['lora', adapterDir, '--base', example.base, '--jsonl']);
    expect(lora.status).toBe(0);
    expectValidStream(lora);
    expect(lora.events[0]).toMatchObject({ command: 'lora', matrices: 2 });
    expect((lora.events[0] as PlanEvent).phases.map((p) => p.name)).toEqual(['spectra', 'base', 'vectors']);
    expect(ofType(lora.events, 'matrix').map((m) => m.record.name)).toEqual(['model.layers.1.self_attn.q_proj.weight', 'model.layers.1.self_attn.v_proj.weight']);
    expect(ofType(lora.events, 'matrix').every((m) => m.kind === 'pair' && m.record.directions !== undefined)).toBe(true);

    const compare = await streamCli(['compare', example.base, example.dispersed, example.concentrated, '--mode', 'exact', '--jsonl']);
    expect(compare.status).toBe(0);
    expectValidStream(compare);
    const plans = ofType(compare.events, 'plan');
    expect(plans.map((p) => [p.command, p.run])).toEqual([['compare', undefined], ['diff', 'tuned-dispersed'], ['diff', 'tuned-concentrated']]);
    expect((plans[0] as PlanEvent).runs?.map((r) => [r.run, r.matrices])).toEqual([['tuned-dispersed', 29], ['tuned-concentrated', 29]]);
    expect((plans[0] as PlanEvent).matrices).toBe(58);
    const summaries = ofType(compare.events, 'summary');
    expect(summaries.map((s) => s.run)).toEqual(['tuned-dispersed', 'tuned-concentrated', undefined]);
    const ranking = (summaries[2] as SummaryEvent).report as { schema: string; ranking: Array<{ name: string; verdict: { label: string } }> };
    expect(ranking.schema).toBe('paramscope.compare');
    expect(ranking.ranking.map((r) => [r.name, r.verdict.label])).toEqual([['tuned-concentrated', 'concentrated'], ['tuned-dispersed', 'dispersed']]);
    for (const run of ['tuned-dispersed', 'tuned-concentrated'])
      expect(ofType(compare.events, 'matrix').filter((m) => m.run === run).map((m) => m.index)).toEqual([...Array(29).keys()]);
    const fractions = ofType(compare.events, 'progress').map((p) => p.fraction);
    fractions.forEach((f, i) => expect(f).toBeGreaterThanOrEqual(fractions[i - 1] ?? 0));
  });
});
