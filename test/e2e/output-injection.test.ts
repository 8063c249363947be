/**
 * Injection through the outputs (issue 9): tensor names chosen by an attacker — spreadsheet formulas, and
 * a name with every class of terminal / renderer control character, markup, a Markdown cell break,
 * backticks, commas and quotes — run through the CLI in child processes with time limits. Asserts:
 *  - CSV (`analyze --csv`, `pairs.csv` of `--out`): every row has the header's cells (RFC 4180 quoting),
 *    every text cell a spreadsheet would evaluate starts with `'`, names round-trip otherwise, numbers
 *    stay numbers;
 *  - terminal (tables, summaries, warnings, the error line): no raw control, bidi or separator character,
 *    no forged line, the escaped form shown;
 *  - JSON (`--json`, `--jsonl`): the names exactly;
 *  - Markdown and HTML reports: no markup from a name, no broken table row, no raw control characters.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../lib/report/csv';
import { esc } from '../../lib/report/svg';
import { mdEscape } from '../../lib/report/markdown';
import { terminalLines, terminalText } from '../../lib/cli/output/terminal-text';
import { runCli } from '../helpers/cli';
import { parseCsv } from '../helpers/csv';
import { EVERY_CLASS_NAME, FORMULA_NAMES, HOSTILE_NAMES, RAW_CONTROL, writeHostilePair } from '../helpers/hostile-names';
import { temporaryDirectory } from '../helpers/paths';

const LIMIT_MS = 60_000;
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/** What a spreadsheet-safe cell of `name` is: the name, with `'` before it when it could start a formula. */
const neutralised = (name: string) => (FORMULA_START.test(name) ? `'${name}` : name);

describe('CSV cells (lib/report/csv.ts)', () => {
  it('neutralises text that starts a formula, quotes per RFC 4180, and keeps numbers numbers', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r', '\n', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']) expect(csvCell(`${start}1+1`).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(-Infinity)).toBe('-Infinity');
    expect(csvCell(NaN)).toBe('NaN');
    expect(csvCell('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvCell('plain.name')).toBe('plain.name');
    expect(csvCell(undefined)).toBe('');
    const rows = parseCsv(toCsv(['name', 'value'], [['=1+1', -2], ['x,"y"', 3]]));
    expect(rows).toEqual([['name', 'value'], ["'=1+1", '-2'], ['x,"y"', '3']]);
  });
});

describe('escapers per target', () => {
  it('terminal, Markdown and HTML escapes leave no raw control character and no markup', () => {
    for (const escaped of [terminalText(EVERY_CLASS_NAME), mdEscape(EVERY_CLASS_NAME), esc(EVERY_CLASS_NAME)]) {
      expect(escaped).not.toMatch(RAW_CONTROL);
      expect(escaped).not.toContain('\n');
      expect(escaped).toMatch(/\\u001b\\?\]0;pwned\\u0007/);
      expect(escaped).toContain('\\u202e');
    }
    expect(terminalLines('a\nb\x1b')).toBe('a\nb\\u001b');
    expect(esc(EVERY_CLASS_NAME)).not.toMatch(/<script/i);
    expect(mdEscape(EVERY_CLASS_NAME)).not.toMatch(/(^|[^\\])[|`<]/);
    // The terminal escape is JSON's: JSON text passing through it parses to the same values.
    const json = JSON.stringify({ name: EVERY_CLASS_NAME });
    expect(JSON.parse(terminalLines(json))).toEqual({ name: EVERY_CLASS_NAME });
  });
});

describe('hostile tensor names through the CLI', () => {
  let dir: string;
  let cleanup: () => void;
  let base: string;
  let tuned: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    base = path.join(dir, 'base.safetensors');
    tuned = path.join(dir, 'tuned.safetensors');
    writeHostilePair(base, tuned);
  });
  afterAll(() => cleanup());

  function expectCsvSafe(text: string): void {
    const rows = parseCsv(text);
    const header = rows[0] as string[];
    expect(rows.length).toBe(HOSTILE_NAMES.length + 1);
    for (const row of rows.slice(1)) expect(row.length).toBe(header.length);
    const names = rows.slice(1).map((r) => r[header.indexOf('name')]);
    expect(names.sort()).toEqual(HOSTILE_NAMES.map(neutralised).sort());
    for (const row of rows.slice(1)) {
      for (const cell of row) expect(cell, `cell ${JSON.stringify(cell)}`).not.toMatch(FORMULA_START);
      expect(row[header.indexOf('rows')]).toBe('8'); // a number, not text
    }
  }

  function expectTerminalSafe(text: string): void {
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).not.toMatch(/^forged row/m);
  }

  it('analyze --csv: formulas neutralised, rows intact', () => {
    const r = runCli(['analyze', base, '--mode', 'exact', '--csv'], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    expectCsvSafe(r.stdout);
  });

  it('diff --out: pairs.csv neutralised; summary.md and report.html without markup or control characters from names', () => {
    const out = path.join(dir, 'report');
    const r = runCli(['diff', base, tuned, '--mode', 'exact', '--out', out], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    expectCsvSafe(fs.readFileSync(path.join(out, 'pairs.csv'), 'utf8'));

    const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(md).not.toMatch(RAW_CONTROL);
    expect(md).not.toMatch(/(^|[^\\])<script/i); // `\<` is a literal `<` in Markdown
    // Every table row has as many unescaped cell breaks as its header.
    const lines = md.split('\n');
    const cellBreaks = (l: string) => (l.match(/(^|[^\\])\|/g) ?? []).length;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]?.startsWith('| ') || !lines[i + 1]?.startsWith('| ---')) continue;
      const width = cellBreaks(lines[i] as string);
      for (let j = i + 2; lines[j]?.startsWith('|'); j++) expect(cellBreaks(lines[j] as string), lines[j]).toBe(width);
    }
    expect(md).toContain('\\u001b\\]0;pwned'); // the escaped name is shown

    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html.match(/<script/gi)).toHaveLength(1); // the page's own sort script only
    expect(html).not.toMatch(RAW_CONTROL);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('\\u202egnp.exe');

    // The JSON report keeps the names exactly.
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(json.pairs.map((p: { name: string }) => p.name).sort()).toEqual([...HOSTILE_NAMES].sort());
    expectTerminalSafe(r.stdout + r.stderr);
  });

  it('analyze, inspect and diff tables: one row per matrix, names escaped; --json and --jsonl exact', () => {
    for (const args of [['analyze', base, '--mode', 'exact'], ['inspect', base], ['diff', base, tuned, '--mode', 'exact']]) {
      const r = runCli(args, {}, LIMIT_MS);
      expect(r.status, r.stderr).toBe(0);
      expectTerminalSafe(r.stdout + r.stderr);
      expect(r.stdout).toContain(terminalText(EVERY_CLASS_NAME));
      for (const name of FORMULA_NAMES) expect(r.stdout).toContain(terminalText(name));
    }
    const json = runCli(['analyze', base, '--mode', 'exact', '--json'], {}, LIMIT_MS);
    expect(JSON.parse(json.stdout).tensors.map((t: { name: string }) => t.name).sort()).toEqual([...HOSTILE_NAMES].sort());
    const inspect = runCli(['inspect', base, '--json'], {}, LIMIT_MS);
    expect(JSON.parse(inspect.stdout).tensors.map((t: { name: string }) => t.name).sort()).toEqual([...HOSTILE_NAMES].sort());
    const jsonl = runCli(['diff', base, tuned, '--mode', 'exact', '--jsonl'], {}, LIMIT_MS);
    const events = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const matrices = events.filter((e) => e.type === 'matrix').map((e) => e.record.name);
    expect(matrices.sort()).toEqual([...HOSTILE_NAMES].sort());
  });

  it('a failed matrix and an error line name the input escaped, on one line', () => {
    const nanBase = path.join(dir, 'nan-base.safetensors');
    const nanTuned = path.join(dir, 'nan-tuned.safetensors');
    writeHostilePair(nanBase, nanTuned, { nan: true });
    const analyzed = runCli(['analyze', nanTuned, '--mode', 'exact'], {}, LIMIT_MS);
    expect(analyzed.status).toBe(2);
    expectTerminalSafe(analyzed.stdout + analyzed.stderr);
    expect(analyzed.stderr).toContain(`${terminalText(EVERY_CLASS_NAME)}: NON_FINITE_INPUT`);

    const missing = runCli(['inspect', path.join(dir, `missing\x1b]0;title\x07\nforged row\u202e.safetensors`)], {}, LIMIT_MS);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expectTerminalSafe(missing.stderr);
    expect(missing.stderr).toContain('missing\\u001b]0;title\\u0007\\nforged row\\u202e');

    const usage = runCli(['analyze', base, '--mode', 'exact', `--bogus\x1b[2J`], {}, LIMIT_MS);
    expect(usage.status).toBe(2);
    expectTerminalSafe(usage.stderr);
  });
});
