/**
 * The event stream from the library (lib/report/events.ts, docs/events.md): onEvent, onProgress and the
 * *Events iterators carry the same objects; every event validates against the committed schema; the
 * matrix records and the summary are the report; the library and the CLI give the same events for the
 * same run (apart from timings); the schema and its documentation are generated; the plan's cost model;
 * the interruption module.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, analyzeCheckpoint } from '../../lib/analyze';
import { compare } from '../../lib/compare';
import { diff } from '../../lib/diff';
import {
  installInterruptHandlers, interruptExitCode, interruptSignal, interruption, InterruptedError, onInterrupt, resetInterruptHandlers, runInterruptHooks,
} from '../../lib/engine/interrupt';
import { adapterEvents, analyzeEvents, diffEvents } from '../../lib/events';
import { ensureExample } from '../../lib/example';
import { openCheckpoint } from '../../lib/read/checkpoint';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { diffJobs } from '../../lib/plan/jobs';
import { pairCheckpoints } from '../../lib/plan/pairing';
import { jobsCost, spectrumFlops } from '../../lib/plan/cost';
import { EVENT_STREAM_VERSION, type MatrixEvent, type ProgressEvent, type RunEvent, serializeEvent, type SummaryEvent } from '../../lib/report/events';
import { eventsSchemaText } from '../../lib/report/events-schema';
import { analysisDocument } from '../../lib/report/header';
import { reportDocument } from '../../lib/report/schema';
import { updateEventsDoc } from '../../lib/report/schema-doc';
import { runCli } from '../helpers/cli';
import { grammarErrors, schemaErrors, withoutTimings } from '../helpers/event-stream';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

/** An event as a --jsonl consumer sees it. */
const wire = (e: RunEvent) => JSON.parse(serializeEvent(e)) as RunEvent;

describe('event stream (library)', () => {
  let dir: string;
  let cleanup: () => void;
  let example: ReturnType<typeof ensureExample>;
  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    example = ensureExample(path.join(dir, 'example'));
  });
  afterAll(() => cleanup());

  it('diff: onEvent and onProgress get the same objects; every event validates; records and summary are the report', async () => {
    const events: RunEvent[] = [];
    const progress: ProgressEvent[] = [];
    const report = await diff(example.base, example.concentrated, { mode: 'exact', onEvent: (e) => events.push(e), onProgress: (p) => progress.push(p) });
    const lines = events.map(wire);
    expect(schemaErrors(lines)).toEqual([]);
    expect(grammarErrors(events)).toEqual([]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual(events.filter((e) => e.type === 'progress'));
    progress.forEach((p) => expect(events).toContain(p)); // the very same objects
    // Matrix events carry the report's own records, and serialise exactly as the report does.
    const matrices = events.filter((e): e is MatrixEvent => e.type === 'matrix');
    expect(matrices.map((m) => m.record)).toEqual(report.pairs);
    matrices.forEach((m, i) => expect(m.record).toBe(report.pairs[i]));
    const document = reportDocument(report);
    const summary = lines.at(-1) as SummaryEvent;
    expect({ ...summary.report, pairs: lines.filter((e): e is MatrixEvent => e.type === 'matrix').map((m) => m.record) }).toEqual(document);
    expect(EVENT_STREAM_VERSION).toBe(1);
  });

  it('diffEvents yields the stream and ends after the summary; a failure is its last event, not a throw', async () => {
    const seen: RunEvent[] = [];
    for await (const e of diffEvents(example.base, example.dispersed, { rank: 8 })) seen.push(e);
    expect(grammarErrors(seen)).toEqual([]);
    expect(seen.at(-1)?.type).toBe('summary');
    expect(seen.filter((e) => e.type === 'matrix')).toHaveLength(29);

    const failed: RunEvent[] = [];
    for await (const e of diffEvents(example.base, path.join(dir, 'missing.safetensors'))) failed.push(e);
    expect(failed).toEqual([expect.objectContaining({ type: 'error', scope: 'run', code: 'FILE_NOT_FOUND', seq: 0 })]);
  });

  it('leaving the loop early stops the run', async () => {
    const start = Date.now();
    let matrices = 0;
    for await (const e of diffEvents(example.base, example.dispersed, { mode: 'exact', directions: true })) {
      if (e.type === 'matrix' && ++matrices === 1) break;
    }
    expect(matrices).toBe(1);
    expect(Date.now() - start).toBeLessThan(30_000);
  });

  it('analyze: tensor records are the report\'s tensors, the summary the rest of its document', async () => {
    const events: RunEvent[] = [];
    const report = await analyzeCheckpoint(example.base, { mode: 'truncated', rank: 8, include: ['*.mlp.*'], onEvent: (e) => events.push(e) });
    const lines = events.map(wire);
    expect(schemaErrors(lines)).toEqual([]);
    expect(grammarErrors(events)).toEqual([]);
    expect(lines[0]).toMatchObject({ type: 'plan', command: 'analyze', mode: 'truncated', rank: 8, matrices: 12, skipped: 26 });
    const document = JSON.parse(JSON.stringify(analysisDocument(report), (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));
    const summary = lines.at(-1) as SummaryEvent;
    expect({ ...summary.report, tensors: lines.filter((e): e is MatrixEvent => e.type === 'matrix').map((m) => m.record) }).toEqual(document);
    // The iterator gives the same events (timings aside).
    const iterated: RunEvent[] = [];
    for await (const e of analyzeEvents(example.base, { mode: 'truncated', rank: 8, include: ['*.mlp.*'] })) iterated.push(e);
    expect(withoutTimings(iterated.map(wire))).toEqual(withoutTimings(lines));
  });

  it('analyze(): the generator emits the same stream, its summary once the iteration is complete', async () => {
    const events: RunEvent[] = [];
    const names: string[] = [];
    for await (const t of analyze(example.base, { mode: 'truncated', rank: 4, include: ['*.q_proj.*'], onEvent: (e) => events.push(e) })) names.push(t.name);
    expect(names).toHaveLength(4);
    expect(grammarErrors(events)).toEqual([]);
    expect(schemaErrors(events.map(wire))).toEqual([]);
    expect(events.filter((e): e is MatrixEvent => e.type === 'matrix').map((m) => m.record.name)).toEqual(names);
  });

  it('adapterEvents: plan, the three phases\' progress, a pair per module, summary', async () => {
    const adapterDir = path.join(dir, 'adapter');
    fs.mkdirSync(adapterDir, { recursive: true });
    const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
    for (const [m, rows] of [['q_proj', 256], ['v_proj', 64]] as const) {
      const key = `base_model.model.model.layers.1.self_attn.${m}`;
      tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [4, 256], data: Float32Array.from({ length: 1024 }, (_, i) => Math.sin(0.3 * i)) };
      tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(0.7 * i)) };
    }
    writeSafetensorsSync(path.join(adapterDir, 'adapter_model.safetensors'), tensors);
    fs.writeFileSync(path.join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 6 }));
    const events: RunEvent[] = [];
    for await (const e of adapterEvents(adapterDir, { base: example.base })) events.push(e);
    expect(grammarErrors(events)).toEqual([]);
    expect(schemaErrors(events.map(wire))).toEqual([]);
    expect(events[0]).toMatchObject({ command: 'lora', matrices: 2, directions: { enabled: true } });
    expect(new Set(events.filter((e): e is ProgressEvent => e.type === 'progress').map((p) => p.phase))).toEqual(new Set(['spectra', 'base', 'vectors']));
    expect(events.filter((e) => e.type === 'matrix')).toHaveLength(2);
  });

  it('the library and the CLI give the same events for the same run, apart from timings', async () => {
    const events: RunEvent[] = [];
    // Both with a fresh result cache (the CLI's default is one): the same matrix events, `cached: false`, and the same counts.
    await diff(example.base, example.concentrated, { mode: 'exact', cache: path.join(dir, 'library-cache'), onEvent: (e) => events.push(e) });
    const cli = runCli(['diff', example.base, example.concentrated, '--mode', 'exact', '--jsonl', '--cache', path.join(dir, 'cli-cache')]);
    expect(cli.status).toBe(0);
    const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    expect(withoutTimings(lines)).toEqual(withoutTimings(events.map(wire)));

    const compareEvents: RunEvent[] = [];
    await compare(example.base, [example.dispersed, example.concentrated], { mode: 'exact', cache: path.join(dir, 'library-compare-cache'), onEvent: (e) => compareEvents.push(e) });
    const cliCompare = runCli(['compare', example.base, example.dispersed, example.concentrated, '--mode', 'exact', '--jsonl', '--cache', path.join(dir, 'cli-compare-cache')]);
    expect(cliCompare.status).toBe(0);
    expect(withoutTimings(cliCompare.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent))).toEqual(withoutTimings(compareEvents.map(wire)));
  });

  it('the plan states the engine\'s bytes and flops estimated from the shapes', async () => {
    const base = await openCheckpoint(example.base);
    const tuned = await openCheckpoint(example.concentrated);
    try {
      const jobs = diffJobs(pairCheckpoints(base, tuned));
      const settings = { mode: 'exact' as const, rank: 64, oversampling: 10, powerIterations: 2, vectors: false, exactRoute: 'auto' as const };
      const cost = jobsCost(jobs, settings);
      const stored = jobs.reduce((s, j) => s + (j.kind === 'diff' ? base.tensor(j.base.tensor).bytes + tuned.tensor(j.tuned.tensor).bytes : 0), 0);
      expect(cost.bytes).toBe(stored);
      expect(cost.flops).toBeGreaterThan(0);
    } finally {
      base.close();
      tuned.close();
    }
    expect(spectrumFlops(100, 300, { mode: 'exact', rank: 8, oversampling: 2, powerIterations: 1, vectors: false, exactRoute: 'auto' })).toBeCloseTo(100 * 100 * 300 + (4 / 3) * 1e6);
    expect(spectrumFlops(100, 300, { mode: 'exact', rank: 8, oversampling: 2, powerIterations: 1, vectors: true, exactRoute: 'auto' })).toBe(4 * 100 * 100 * 300 + 8 * 1e6);
    expect(spectrumFlops(100, 300, { mode: 'truncated', rank: 8, oversampling: 2, powerIterations: 1, vectors: false, exactRoute: 'auto' })).toBe(4 * (2 * 100 * 300 * 10 + 4 * 400 * 100) + 2 * 100 * 300 * 8);
  });

  it('docs/events.schema.json and the field reference in docs/events.md are generated from lib/report/events-schema.ts', () => {
    // Out of date? `npm run build:ts && node scripts/gen-report-schema.js`
    expect(fs.readFileSync(path.join(repoRoot, 'docs', 'events.schema.json'), 'utf8')).toBe(eventsSchemaText());
    const page = fs.readFileSync(path.join(repoRoot, 'docs', 'events.md'), 'utf8');
    expect(updateEventsDoc(page)).toBe(page);
  });

  it('the schema rejects what breaks it', () => {
    const plan = { type: 'plan', v: 1, seq: 0, t: 0, command: 'diff', startedAt: '2026-01-01T00:00:00Z', inputs: [], mode: 'exact', rank: null, matrices: 0, skipped: 0, bytes: 0, flops: 0, phases: [] };
    expect(schemaErrors([plan])).toEqual([]);
    expect(schemaErrors([{ ...plan, v: 2 }]).length).toBeGreaterThan(0);
    expect(schemaErrors([{ ...plan, type: 'plan?' }]).length).toBeGreaterThan(0);
    expect(schemaErrors([{ ...plan, undocumented: 1 }]).length).toBeGreaterThan(0);
    const error = { type: 'error', v: 1, seq: 1, t: 1, scope: 'run', code: 'NOT_A_CODE', message: 'x' };
    expect(schemaErrors([error]).length).toBeGreaterThan(0);
    expect(schemaErrors([{ ...error, code: 'ABORTED', signal: 'SIGINT' }])).toEqual([]);
  });
});

describe('interruption (lib/engine/interrupt.ts)', () => {
  afterAll(() => resetInterruptHandlers());

  it('turns the first SIGINT into an aborted signal and an exit code, and runs the cleanup hooks once', () => {
    resetInterruptHandlers();
    expect(interruptSignal()).toBeUndefined();
    const signal = installInterruptHandlers();
    expect(installInterruptHandlers()).toBe(signal);
    const ran: string[] = [];
    onInterrupt((s) => ran.push(`a:${s}`));
    const unhook = onInterrupt(() => ran.push('b'));
    onInterrupt(() => {
      throw new Error('a failing hook does not stop the others');
    });
    unhook();
    runInterruptHooks(); // nothing received yet: nothing runs
    expect(ran).toEqual([]);
    process.emit('SIGINT', 'SIGINT');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(InterruptedError);
    expect(interruption()).toBe('SIGINT');
    expect(interruptExitCode()).toBe(130);
    runInterruptHooks();
    runInterruptHooks();
    expect(ran).toEqual(['a:SIGINT']);
    resetInterruptHandlers();
    expect(interruption()).toBeNull();
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('SIGTERM exits 143', () => {
    installInterruptHandlers();
    process.emit('SIGTERM', 'SIGTERM');
    expect(interruptExitCode()).toBe(143);
    resetInterruptHandlers();
  });
});
