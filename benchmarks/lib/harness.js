'use strict';
/**
 * Runs one suite: its trials in order, each measured with warmup and repeats, memory observed around
 * it, then ratios against named baselines (same bytes, so ratio = baseline time / trial time = throughput
 * ratio) and targets evaluated. See benchmarks/README.md ("Adding a suite") for the trial fields.
 */
const { measure, throughputGBps } = require('./timing');
const { settle, memoryStatus, memoryDelta, resetPeak, smapsRollup } = require('./memory');
const format = require('./format');

function evaluateTarget(target, result) {
  if (!target) return null;
  const value = target.metric === 'ratio' ? result.ratio : target.metric === 'gbps' ? result.gbps : result.medianMs;
  if (value == null) return { ...target, value: null, pass: null };
  const pass = (target.min == null || value >= target.min) && (target.max == null || value < target.max);
  return { ...target, value, pass };
}

async function runTrial(trial, ctx) {
  const state = trial.setup ? await trial.setup(ctx) : undefined;
  try {
    await settle();
    resetPeak();
    const start = memoryStatus();
    let atEnd = null;
    let rollup = null;
    const repeats = ctx.quick ? Math.min(trial.repeats ?? 5, trial.quickRepeats ?? 2) : trial.repeats ?? 5;
    const stats = await measure((i) => trial.run(state, i), {
      warmup: trial.warmup ?? 1,
      repeats,
      gc: trial.gc ?? true,
      before: trial.before ? (i) => trial.before(state, i) : undefined,
      after: async (result, i) => {
        if (i === repeats - 1) {
          // The last result is still alive here: what it holds shows in RssAnon / RssFile.
          atEnd = memoryStatus();
          rollup = smapsRollup();
        }
        if (trial.after) await trial.after(state, result, i);
      },
    });
    const bytes = typeof trial.bytes === 'function' ? trial.bytes(state) : trial.bytes;
    return {
      id: trial.id,
      label: trial.label,
      group: trial.group ?? null,
      size: trial.size ?? (bytes ? format.bytes(bytes) : ''),
      bytes: bytes ?? null,
      warmup: trial.warmup ?? 1,
      repeats,
      ...stats,
      gbps: bytes ? throughputGBps(bytes, stats.medianMs) : null,
      gbpsBest: bytes ? throughputGBps(bytes, stats.minMs) : null,
      memory: { start, end: atEnd, delta: memoryDelta(start, atEnd), smapsRollupEnd: rollup },
      baseline: trial.baseline ?? null,
      alsoCompare: trial.alsoCompare ?? [],
      targetSpec: trial.target ?? null,
      note: trial.note ?? null,
    };
  } finally {
    if (trial.teardown) await trial.teardown(state, ctx);
    await settle();
  }
}

/** Ratio of a trial to a baseline trial: baseline median / trial median (> 1: faster than the baseline). */
function ratioTo(results, result, baselineId) {
  const base = results.find((r) => r.id === baselineId);
  if (!base || !result.medianMs) return null;
  return base.medianMs / result.medianMs;
}

async function runSuite(suite, ctx) {
  const started = Date.now();
  const state = suite.setup ? await suite.setup(ctx) : undefined;
  const results = [];
  try {
    const trials = typeof suite.trials === 'function' ? await suite.trials(state, ctx) : suite.trials;
    for (const trial of trials) {
      if (ctx.filter && !ctx.filter.test(trial.id)) continue;
      ctx.log(`  ${trial.id} ...`);
      const result = await runTrial(trial, { ...ctx, suiteState: state });
      results.push(result);
      ctx.log(`    median ${format.duration(result.medianMs)}${result.gbps ? `, ${format.gbps(result.gbps)}` : ''}`);
    }
  } finally {
    if (suite.teardown) await suite.teardown(state, ctx);
  }
  for (const r of results) {
    r.ratio = r.baseline ? ratioTo(results, r, r.baseline) : null;
    r.otherRatios = Object.fromEntries(r.alsoCompare.map((id) => [id, ratioTo(results, r, id)]));
    r.target = evaluateTarget(r.targetSpec, r);
    delete r.targetSpec;
  }
  const notes = typeof suite.notes === 'function' ? suite.notes(state, results) : suite.notes ?? [];
  return { suite: suite.name, description: suite.description ?? '', seconds: (Date.now() - started) / 1000, notes, results };
}

function printSuite(report, print = console.log) {
  const extraIds = [...new Set(report.results.flatMap((r) => Object.keys(r.otherRatios ?? {})))];
  const headers = ['trial', 'size', 'median', 'min', 'throughput', 'ratio', ...extraIds.map((id) => `vs ${id}`), 'anon Δ', 'file Δ', 'target', 'result'];
  const rows = report.results.map((r) => [
    r.label,
    r.size,
    format.duration(r.medianMs),
    format.duration(r.minMs),
    format.gbps(r.gbps),
    r.ratio == null ? '' : `${r.ratio.toFixed(2)} × ${r.baseline}`,
    ...extraIds.map((id) => (r.otherRatios?.[id] == null ? '' : r.otherRatios[id].toFixed(2))),
    r.memory?.delta ? format.bytes(r.memory.delta.anon) : '',
    r.memory?.delta ? format.bytes(r.memory.delta.file) : '',
    r.target?.text ?? '',
    r.target ? (r.target.pass == null ? 'n/a' : r.target.pass ? 'PASS' : 'FAIL') : '',
  ]);
  const align = headers.map((h) => !['trial', 'size', 'target', 'result'].includes(h));
  print(`\n== ${report.suite}: ${report.description} (${report.seconds.toFixed(1)} s)\n`);
  print(format.table(headers, rows, { align }));
  for (const note of report.notes) print(`  * ${note}`);
}

module.exports = { runSuite, printSuite, evaluateTarget };
