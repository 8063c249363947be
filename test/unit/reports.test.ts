/**
 * Reports built from real diffs of the bundled example (a concentrated fine-tune in truncated mode, a
 * dispersed one in exact mode): the JSON validates against the committed JSON Schema, the CSV parses back
 * to one row per pair, the Markdown and HTML carry the verdict, tables and plots, nothing external is
 * referenced, checkpoint strings are escaped, and writeReports is all-or-nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff } from '../../lib/diff';
import { REPORT_SCHEMA_VERSION } from '../../lib/report/header';
import type { DiffReport, PairResult } from '../../lib/report/model';
import { ParamscopeError } from '../../lib/errors';
import { ensureExample } from '../../lib/example';
import { bounds } from '../../lib/results/metrics';
import { DIAGNOSTIC_SENTENCE } from '../../lib/report/common';
import { DIFF_CSV_COLUMNS, diffToCsv } from '../../lib/report/diff-csv';
import { toHtml } from '../../lib/report/html/index';
import { mdEscape, toMarkdown } from '../../lib/report/markdown';
import { REPORT_JSON_SCHEMA, reportDocument, reportSchemaText, serializeReport } from '../../lib/report/schema';
import { updateSchemaDoc } from '../../lib/report/schema-doc';
import { renderReport, writeReports } from '../../lib/report/write';
import { validate } from '../helpers/json-schema';
import { analyzeAdapter } from '../../lib/lora';
import { noteSkippedWithoutShared, realFixturesDir, repoRoot, temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-reports-');
let concentrated: DiffReport;
let dispersed: DiffReport;

beforeAll(async () => {
  const example = ensureExample(path.join(tmp.dir, 'example'));
  concentrated = await diff(example.base, example.concentrated, { mode: 'truncated', rank: 16 });
  dispersed = await diff(example.base, example.dispersed, { mode: 'exact' });
}, 120_000);
afterAll(() => tmp.cleanup());

/** RFC 4180 parser (quoted cells with "", commas and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

/** A copy of a report whose first pair (and paths, notes) carry hostile text. */
function hostile(report: DiffReport): DiffReport {
  const evil = 'model.layers.0.<script>alert(1)</script>:q_proj,"x"|`y`*_z_\nweight';
  const copy = structuredClone(report);
  const first = copy.pairs.find((p) => p.module.layer !== null && (p.spectrum?.frobeniusSquared ?? 0) > 0) as PairResult;
  first.name = evil;
  copy.verdict.drivers.unshift({ name: evil, energyShare: 0.5, directionalSpread: [0.1, 0.2] });
  copy.pairing.entries.push({ name: '<img src=x onerror=alert(2)>', fate: 'missing-in-tuned', base: '<img src=x onerror=alert(2)>', tuned: null, note: '<b>note</b>' });
  copy.pairing.notes.push('note with <iframe src="https://example.com">');
  copy.tuned.path = '/tmp/<tuned>&"quoted".safetensors';
  return copy;
}

/** An adapter-kind report without base, as the LoRA route produces: no norms of W_base, no noise floor, no intruders. */
function adapterLike(report: DiffReport): DiffReport {
  const copy = structuredClone(report);
  copy.kind = 'adapter';
  copy.base = null;
  copy.adapter = { layout: 'peft', modules: copy.pairs.length, needsBase: false, notes: ['scale alpha/r = 2'], fullTensors: [{ tensor: 'lm_head.weight', kind: 'modules_to_save', note: 'full weight' }] };
  copy.pairs = copy.pairs.map((p) => {
    const { noise: _n, directions: _d, baseNorm: _b, tunedNorm: _t, relativeUpdate: _r, ...rest } = p;
    return { ...rest, baseDtype: '', rankCap: 8 };
  });
  copy.vectors = [];
  return copy;
}

describe('JSON report and its schema', () => {
  it('docs/report.schema.json and the field reference in docs/schema.md are generated from lib/report/schema.ts', () => {
    // Out of date? `npm run build:ts && node scripts/gen-report-schema.js`
    expect(fs.readFileSync(path.join(repoRoot, 'docs', 'report.schema.json'), 'utf8')).toBe(reportSchemaText());
    const page = fs.readFileSync(path.join(repoRoot, 'docs', 'schema.md'), 'utf8');
    expect(updateSchemaDoc(page)).toBe(page);
    expect(fs.existsSync(path.join(repoRoot, 'scripts', 'gen-report-schema.js'))).toBe(true);
    expect(page).toMatch(/diagnostic, not a benchmark score/);
  });

  it('real reports (exact and truncated) validate against the committed schema, with no undocumented field', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'report.schema.json'), 'utf8'));
    for (const report of [concentrated, dispersed]) {
      const doc = JSON.parse(serializeReport(report));
      expect(validate(doc, schema, { closed: true })).toEqual([]);
      expect(doc.schema).toBe('paramscope.diff');
      expect(doc.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
      expect(Array.isArray(doc.pairs[0].spectrum.values)).toBe(true); // typed arrays became arrays
    }
  });

  it('truncated reports carry {lo, hi} bounds and exact ones plain numbers, both valid', () => {
    const doc = reportDocument(concentrated) as { pairs: Array<{ metrics?: Record<string, unknown> }> };
    const boundedCount = doc.pairs.filter((p) => typeof p.metrics?.energyEffectiveRank === 'object').length;
    expect(boundedCount).toBeGreaterThan(0);
    const exact = reportDocument(dispersed) as typeof doc;
    expect(exact.pairs.every((p) => typeof p.metrics?.energyEffectiveRank === 'number')).toBe(true);
  });

  it('adapter-kind reports and non-finite numbers validate too', () => {
    const adapter = adapterLike(concentrated);
    (adapter.pairs[0] as PairResult).relativeUpdate = Infinity;
    (adapter.pairs[1] as PairResult).baseNorm = NaN;
    const doc = reportDocument(adapter) as { pairs: Array<Record<string, unknown>> };
    expect(doc.pairs[0]?.relativeUpdate).toBe('Infinity');
    expect(doc.pairs[1]?.baseNorm).toBe('NaN');
    expect(validate(doc, REPORT_JSON_SCHEMA, { closed: true })).toEqual([]);
  });

  it('the validator rejects documents that break the schema', () => {
    const doc = reportDocument(concentrated) as Record<string, any>;
    const broken = structuredClone(doc);
    delete broken.verdict;
    broken.schemaVersion = REPORT_SCHEMA_VERSION + 1;
    broken.pairs[0].metrics.energyEffectiveRankRatio = { lo: 0.1 };
    broken.pairs[0].rows = -1;
    broken.pairs[1].module.type = 'attention';
    broken.pairs[2].surprise = true;
    const errors = validate(broken, REPORT_JSON_SCHEMA, { closed: true });
    expect(errors.some((e) => /missing required property verdict/.test(e))).toBe(true);
    expect(errors.some((e) => e.startsWith('$.schemaVersion'))).toBe(true);
    expect(errors.some((e) => e.startsWith('$.pairs[0].metrics.energyEffectiveRankRatio'))).toBe(true);
    expect(errors.some((e) => e.startsWith('$.pairs[0].rows'))).toBe(true);
    expect(errors.some((e) => e.startsWith('$.pairs[1].module.type'))).toBe(true);
    expect(errors.some((e) => /surprise is not documented/.test(e))).toBe(true);
    // The published schema is open: unknown fields pass without `closed`.
    const extra = structuredClone(doc);
    extra.pairs[0].futureField = 1;
    expect(validate(extra, REPORT_JSON_SCHEMA)).toEqual([]);
  });
});

describe('CSV report', () => {
  it('has one row per pair, parses back, and carries the values of the report', () => {
    for (const report of [concentrated, dispersed]) {
      const rows = parseCsv(diffToCsv(report));
      const header = rows[0] as string[];
      expect(header).toEqual(DIFF_CSV_COLUMNS.map((c) => c.header));
      for (const col of ['name', 'layer', 'module', 'rows', 'cols', 'base_dtype', 'tuned_dtype', 'relative_update', 'stable_rank', 'energy_eff_rank_ratio_lo', 'energy_eff_rank_ratio_hi', 'energy_rank_90', 'top_k_energy_share', 'noise_floor_share', 'directions_above_noise', 'subspace_similarity_inputs', 'intruders', 'error_code'])
        expect(header).toContain(col);
      expect(rows.length - 1).toBe(report.pairs.length);
      const at = (row: string[], col: string) => row[header.indexOf(col)] as string;
      report.pairs.forEach((p, i) => {
        const row = rows[i + 1] as string[];
        expect(row.length).toBe(header.length);
        expect(at(row, 'name')).toBe(p.name);
        expect(Number(at(row, 'rows'))).toBe(p.rows);
        expect(at(row, 'layer')).toBe(p.module.layer === null ? '' : String(p.module.layer));
        expect(Number(at(row, 'relative_update'))).toBe(p.relativeUpdate);
        const [lo, hi] = bounds(p.metrics!.energyEffectiveRankRatio);
        expect(Number(at(row, 'energy_eff_rank_ratio_lo'))).toBe(lo);
        expect(Number(at(row, 'energy_eff_rank_ratio_hi'))).toBe(hi);
        expect(Number(at(row, 'energy_eff_rank_ratio'))).toBeGreaterThanOrEqual(lo);
        expect(Number(at(row, 'energy_eff_rank_ratio'))).toBeLessThanOrEqual(hi);
        expect(at(row, 'error_code')).toBe('');
      });
    }
  });

  it('quotes names with commas, quotes and line breaks so they parse back exactly', () => {
    const report = hostile(concentrated);
    const rows = parseCsv(diffToCsv(report));
    expect(rows.length - 1).toBe(report.pairs.length);
    expect(rows.slice(1).map((r) => r[0])).toEqual(report.pairs.map((p) => p.name));
  });
});

/** Every Markdown table row has as many cells as its header (an unescaped | in a name would add one). */
function expectWellFormedTables(md: string): void {
  const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
  expect(tables.length).toBeGreaterThan(3);
  for (const t of tables) {
    const lines = t.split('\n');
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    for (const l of lines) expect(cells(l)).toBe(cells(lines[0] as string));
  }
}

describe('Markdown report', () => {
  it('carries the verdict, its evidence, the pairing and the tables', () => {
    for (const report of [concentrated, dispersed]) {
      const md = toMarkdown(report);
      const v = report.verdict;
      expect(md).toContain(`**${v.label}**`);
      expect(md).toContain(v.score.toFixed(3));
      expect(md).toContain(`confidence **${v.confidence}**`);
      expect(md).toContain(DIAGNOSTIC_SENTENCE);
      for (const e of v.evidence) expect(md).toContain(mdEscape(e.text));
      for (const heading of ['## Regime verdict', '## Pairing', '## Model summary', '## Largest updates', '## Per module type', '## Per layer'])
        expect(md).toContain(heading);
      expect(md).toMatch(/^\| module \| matrices \|/m);
      expect(md).toMatch(/^\| layer \| matrices \|/m);
      const top = [...report.pairs].sort((a, b) => (b.spectrum?.frobeniusSquared ?? 0) - (a.spectrum?.frobeniusSquared ?? 0))[0] as PairResult;
      expect(md).toContain(mdEscape(top.name));
      expectWellFormedTables(md);
    }
  });

  it('escapes checkpoint strings (no raw HTML, no broken tables)', () => {
    const md = toMarkdown(hostile(concentrated));
    expect(md.match(/(^|[^\\])<(script|img|iframe|b>)/m)?.[0]).toBeUndefined(); // only backslash-escaped
    expect(md).toContain('\\<script\\>');
    expect(md).toContain('\\<img src=x onerror=alert\\(2\\)\\>');
    expectWellFormedTables(md);
  });
});

describe('HTML report', () => {
  const drawnCount = (r: DiffReport) => r.pairs.filter((p) => p.spectrum && (p.spectrum.values[0] ?? 0) > 0).length;

  it('is self-contained: inline SVG plots, no external resource, a CSP that forbids loading any', () => {
    for (const report of [concentrated, dispersed]) {
      const html = toHtml(report);
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(html).toContain('Content-Security-Policy');
      expect(html).toContain("default-src 'none'");
      // (match() rather than toMatch() so a failure shows the offending snippet, not the whole page)
      expect(html.match(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\/[^"'\s>]*/i)?.[0]).toBeUndefined();
      expect(html.match(/.{0,40}https?:\/\/.{0,40}/i)?.[0]).toBeUndefined();
      expect(html.match(/.{0,40}(<link\b|@import|@font-face|<iframe|<img\b).{0,40}/i)?.[0]).toBeUndefined();
      expect(html.match(/<script\b/g)?.length).toBe(1); // the inline table sorter only
      expect(html).not.toMatch(/<script[^>]+src=/);
    }
  });

  it('shows the verdict, the diagnostic sentence, the plots and complete tables', () => {
    for (const report of [concentrated, dispersed]) {
      const html = toHtml(report);
      const v = report.verdict;
      expect(html).toContain(DIAGNOSTIC_SENTENCE.replace(/'/g, '&#39;'));
      expect(html).toContain(`class="verdict-label" style="color:`);
      expect(html).toContain(`>${v.label}</span>`);
      expect(html).toContain(v.score.toFixed(3));
      expect(html).toContain(report.base!.path);
      expect(html).toContain(report.tuned.path);
      const plots = [...html.matchAll(/<svg[^>]*data-plot="([\w-]+)"/g)].map((m) => m[1]);
      const groups = new Set(report.pairs.filter((p) => p.spectrum && (p.spectrum.values[0] ?? 0) > 0).map((p) => p.module.group));
      expect(plots.filter((p) => p === 'spectrum').length).toBe(groups.size);
      for (const kind of ['score', 'components', 'heatmap-energy', 'heatmap-effrank', 'depth-energy', 'depth-effrank']) expect(plots).toContain(kind);
      const spectrumPaths = (html.match(/<path class="series"/g) ?? []).length;
      expect(spectrumPaths).toBeGreaterThanOrEqual(drawnCount(report));
      expect(html).toContain('class="noise-edge"');
      expect((html.match(/<rect class="cell"/g) ?? []).length).toBe(2 * report.pairs.filter((p) => p.module.layer !== null).length);
      // Every matrix is in the per-matrix table, and every svg has an accessible title.
      const table = html.slice(html.indexOf('id="matrices-table"'));
      expect((table.slice(0, table.indexOf('</table>')).match(/<tr>/g) ?? []).length).toBe(report.pairs.length + 1);
      for (const p of report.pairs) expect(html).toContain(p.name);
      expect((html.match(/<svg /g) ?? []).length).toBe((html.match(/role="img" aria-labelledby=/g) ?? []).length);
      for (const e of v.evidence) expect(html).toContain(e.text.replace(/'/g, '&#39;'));
      for (const d of v.drivers) expect(html).toContain(d.name);
    }
  });

  it('renders bounds as ranges in truncated mode', () => {
    const html = toHtml(concentrated);
    const bounded = concentrated.pairs.find((p) => p.metrics && typeof p.metrics.energyEffectiveRank !== 'number');
    expect(bounded).toBeDefined();
    expect(html).toMatch(/truncated \(top 16 singular values/);
  });

  it('escapes every string from the checkpoint', () => {
    const html = toHtml(hostile(concentrated));
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>note</b>');
    expect(html).not.toContain('<iframe');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('/tmp/&lt;tuned&gt;&amp;&quot;quoted&quot;.safetensors');
    expect(html.match(/<script\b/g)?.length).toBe(1);
  });

  it('handles an adapter report without base (no noise floor, no directions)', () => {
    const report = adapterLike(dispersed);
    const html = toHtml(report);
    expect(html).toContain('none (adapter analysed on its own)');
    expect(html).toContain('data-plot="spectrum"');
    expect(toMarkdown(report)).toContain('**Base:** none');
    expect(parseCsv(diffToCsv(report)).length - 1).toBe(report.pairs.length);
  });
});

describe('writeReports', () => {
  const paths = (dir: string) => ({ json: path.join(dir, 'r.json'), csv: path.join(dir, 'r.csv'), markdown: path.join(dir, 'r.md'), html: path.join(dir, 'r.html') });

  it('writes every requested format and leaves no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'ok-'));
    const p = paths(dir);
    const written = await writeReports(concentrated, p);
    expect(written).toEqual(p);
    for (const format of ['json', 'csv', 'markdown', 'html'] as const) expect(fs.readFileSync(p[format], 'utf8')).toBe(renderReport(concentrated, format));
    expect(fs.readdirSync(dir).sort()).toEqual(['r.csv', 'r.html', 'r.json', 'r.md']);
    // Overwriting works and again leaves nothing else.
    await writeReports(dispersed, { json: p.json });
    expect(JSON.parse(fs.readFileSync(p.json, 'utf8')).tuned.path).toBe(dispersed.tuned.path);
    expect(fs.readdirSync(dir).length).toBe(4);
  });

  it('all or nothing: when one report cannot be written, none of the new files remain and old ones are intact', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'fail-'));
    const p = paths(dir);
    fs.writeFileSync(p.csv, 'old csv\n');
    // A missing directory fails while writing the temporaries.
    const missing = { ...p, html: path.join(dir, 'no-such-dir', 'r.html') };
    const e1 = await writeReports(concentrated, missing).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ParamscopeError);
    expect((e1 as ParamscopeError).code).toBe('WRITE_FAILED');
    expect(fs.readdirSync(dir).sort()).toEqual(['r.csv']);
    expect(fs.readFileSync(p.csv, 'utf8')).toBe('old csv\n');
    // A directory in the way of the last target fails while renaming, after the others were placed.
    fs.mkdirSync(p.html);
    const e2 = await writeReports(concentrated, p).catch((e: unknown) => e);
    expect((e2 as ParamscopeError).code).toBe('WRITE_FAILED');
    expect(fs.readdirSync(dir).sort()).toEqual(['r.csv', 'r.html']);
    expect(fs.readFileSync(p.csv, 'utf8')).toBe('old csv\n');
    expect(fs.statSync(p.html).isDirectory()).toBe(true);
  });

  it('rejects the same path for two formats', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'dup-'));
    const e = await writeReports(concentrated, { json: path.join(dir, 'x'), csv: path.join(dir, 'x') }).catch((err: unknown) => err);
    expect((e as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

noteSkippedWithoutShared('reports of real LoRA adapters');
describe.skipIf(!realFixturesDir)('reports of real LoRA adapters (../shared/fixtures/real)', () => {
  for (const file of ['trl-kto-lora-gpt2/checkpoint-500/adapter_model.safetensors', 'peft-lora-roberta-mrpc/checkpoint-230/adapter_model.safetensors', 'mlx-lora-minicpm/adapters.safetensors']) {
    it(`${file}: the JSON validates and every format renders`, async () => {
      const report = await analyzeAdapter(path.join(realFixturesDir as string, file));
      expect(validate(reportDocument(report), REPORT_JSON_SCHEMA, { closed: true })).toEqual([]);
      expect(parseCsv(diffToCsv(report)).length - 1).toBe(report.pairs.length);
      expect(toMarkdown(report)).toContain(`**${report.verdict.label}**`);
      expect(toHtml(report)).toContain('data-plot="score"');
    });
  }
});
