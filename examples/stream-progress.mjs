// A progress bar and a live table from paramscope's event stream (docs/events.md).
//
//   node examples/stream-progress.mjs <base> <tuned>          the library: diffEvents(base, tuned)
//   paramscope diff <base> <tuned> --jsonl | node examples/stream-progress.mjs -
//                                                             the command line's --jsonl, read from stdin
//
// Both give the same events. On a terminal the bar redraws in place below the table; in a pipe each
// progress event is a line of its own.
import * as readline from 'node:readline';
import { diffEvents } from 'paramscope';

const [source, tuned] = process.argv.slice(2);
if (!source || (source !== '-' && !tuned)) {
  console.error('usage: node examples/stream-progress.mjs <base> <tuned>   or   … --jsonl | node examples/stream-progress.mjs -');
  process.exit(2);
}

/** Events from the library, or parsed from JSON lines on stdin. */
async function* events() {
  if (source !== '-') {
    yield* diffEvents(source, tuned, { mode: 'exact' });
    return;
  }
  for await (const line of readline.createInterface({ input: process.stdin })) if (line.trim()) yield JSON.parse(line);
}

const tty = Boolean(process.stdout.isTTY);
// A metric is a number, {lo, hi} in truncated mode, or "NaN" / "Infinity" in JSON.
const num = (x) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));
const fmt = (x) => (x === undefined || x === null ? '-' : typeof x === 'object' ? `${num(Number(x.lo))}–${num(Number(x.hi))}` : num(Number(x)));
const columns = [['matrix', 44], ['shape', 11], ['‖ΔW‖/‖W‖', 10], ['stable rank', 12], ['eff. rank ratio', 16]];
const row = (cells) => cells.map((c, i) => String(c).padEnd(columns[i][1])).join('').trimEnd();

let bar = '';
const drawBar = (text) => {
  bar = text;
  process.stdout.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
};
const print = (line) => process.stdout.write(tty && bar ? `\r\x1b[K${line}\n${bar}` : `${line}\n`);

let exitCode = 0;
for await (const e of events()) {
  switch (e.type) {
    case 'plan':
      print(`${e.command}: ${e.matrices} matrices, ${(e.bytes / 1e6).toFixed(1)} MB to read, ~${(e.flops / 1e9).toFixed(1)} GFLOP (${e.phases.map((p) => p.name).join(' + ')})`);
      print(row(columns.map(([h]) => h)));
      break;
    case 'progress': {
      const width = 30, filled = Math.round(e.fraction * width);
      const eta = e.etaSeconds === null ? '' : `  eta ${e.etaSeconds.toFixed(0)}s`;
      drawBar(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * e.fraction).toFixed(0).padStart(3)}%  ${e.matricesDone}/${e.matricesTotal} matrices  ${e.phase}${eta}`);
      break;
    }
    case 'matrix': {
      const r = e.record;
      print(row([r.name, `${r.rows}×${r.cols}`, r.error ? r.error.code : fmt(r.relativeUpdate), fmt(r.metrics?.stableRank), fmt(r.metrics?.energyEffectiveRankRatio)]));
      break;
    }
    case 'warning':
      print(`warning ${e.code}: ${e.message}`);
      break;
    case 'error':
      if (e.scope === 'matrix') break; // its matrix row shows the code
      print(`error ${e.code}: ${e.message}`);
      exitCode = e.signal ? 130 : 2;
      break;
    case 'summary': {
      const v = e.report.verdict;
      if (tty) process.stdout.write('\n');
      if (v) print(`verdict: ${v.label} (score ${v.score.toFixed(2)}, confidence ${v.confidence})`);
      break;
    }
  }
}
process.exitCode = exitCode;
