/**
 * The comparison document and its files (lib/report/comparison/): the statistics are the single reports'
 * own numbers (same aggregate code), comparison.json validates against its committed, generated schema,
 * the CSV parses back with formula-leading cells neutralised, HTML and Markdown escape every input string,
 * bad inputs are refused with INVALID_ARGUMENT, and the CLI writes the family for compare --weights and
 * analyze --out (and refuses a bad --bootstrap with exit code 2).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { buildComparison } from '../../lib/report/comparison/build';
import { COMPARISON_CSV_HEADER, comparisonToCsv } from '../../lib/report/comparison/csv';
import { comparisonToHtml } from '../../lib/report/comparison/html';
import { comparisonToMarkdown } from '../../lib/report/comparison/markdown';
import type { ComparisonArm, ComparisonDocument } from '../../lib/report/comparison/model';
import { COMPARISON_JSON_SCHEMA, comparisonSchemaText, serializeComparison } from '../../lib/report/comparison/schema';
import { updateComparisonDoc } from '../../lib/report/schema-doc';
import { runCli } from '../helpers/cli';
import { validate } from '../helpers/json-schema';
import { repoRoot, temporaryDirectory } from '../helpers/paths';
import { syntheticAnalysisReport, syntheticDiffReport } from '../helpers/synthetic-arms';

const tmp = temporaryDirectory('paramscope-comparison-');
afterAll(() => tmp.cleanup());

const EVIL = '=HYPERLINK("http://x")<img src=x onerror=alert(1)>|*_`';

function updateArms(): ComparisonArm[] {
  return [
    { label: 'narrow', kind: 'diff', report: syntheticDiffReport({ label: 'narrow', layers: 6, spread: 0.02, seed: 1, untouchedEvery: 5 }) },
    { label: EVIL, kind: 'diff', report: syntheticDiffReport({ label: 'evil', layers: 6, spread: 0.4, seed: 2 }) },
    { label: 'broad', kind: 'lora', report: syntheticDiffReport({ label: 'broad', layers: 6, spread: 0.9, seed: 3 }) },
  ];
}

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
    else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

describe('the comparison document', () => {
  it('states each arm\'s statistics as its own report does (the same aggregate code)', async () => {
    const arms = updateArms();
    const doc = await buildComparison({ arms }, { replicates: 50 });
    arms.forEach((arm, i) => {
      const report = arm.report as ReturnType<typeof syntheticDiffReport>;
      const s = doc.arms[i]!.statistics;
      expect(s.score?.estimate).toBeCloseTo(report.verdict.score, 12);
      expect(s.directionalSpread?.estimate).toBeCloseTo((report.verdict.components.directionalSpread[0] + report.verdict.components.directionalSpread[1]) / 2, 12);
      expect(s.layerSpread?.estimate).toBeCloseTo(report.verdict.components.layerSpread, 12);
      expect(s.coverage?.estimate).toBeCloseTo(report.verdict.components.coverage, 12);
      expect(s.relativeUpdate?.estimate).toBeCloseTo(report.aggregates.model.relativeUpdate, 12);
      expect(doc.arms[i]!.matrices).toBe(42);
      for (const v of Object.values(s)) expect(v.lo).toBeLessThanOrEqual(v.hi);
    });
    // Three arms: all three pairs; a depth curve per arm and module type; the heatmap of the first two.
    expect(doc.differences.map((d) => [d.a, d.b])).toEqual([['narrow', EVIL], ['narrow', 'broad'], [EVIL, 'broad']]);
    expect(doc.depth.length).toBe(21);
    expect(doc.heatmap?.a).toBe('narrow');
    expect(doc.heatmap?.cells.length).toBe(42);
  });

  it('validates against the committed schema (closed: every field documented), which is generated and current', async () => {
    expect(fs.readFileSync(path.join(repoRoot, 'docs', 'comparison.schema.json'), 'utf8')).toBe(comparisonSchemaText());
    const page = fs.readFileSync(path.join(repoRoot, 'docs', 'comparison.md'), 'utf8');
    expect(updateComparisonDoc(page)).toBe(page);
    const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'comparison.schema.json'), 'utf8'));
    const docs: ComparisonDocument[] = [
      await buildComparison({ arms: updateArms() }, { replicates: 30 }),
      await buildComparison({ arms: [0, 1].map((i) => ({ label: `w${i}`, kind: 'weights' as const, report: syntheticAnalysisReport({ label: `w${i}`, layers: 3 + i, spread: 0.5, seed: i }) })) }, { replicates: 0 }),
      await buildComparison({ axis: { name: 'step' }, arms: [300, 100, 200].map((step) => ({ label: `checkpoint-${step}`, kind: 'lora' as const, step, report: syntheticDiffReport({ label: 's', layers: 2, spread: 0.1, seed: step }) })) }, { replicates: 20 }),
    ];
    for (const doc of docs) {
      const json = JSON.parse(serializeComparison(doc));
      expect(validate(json, committed, { closed: true })).toEqual([]);
      expect(validate(json, COMPARISON_JSON_SCHEMA)).toEqual([]);
    }
    // Weights of different depths: no heatmap, and no intervals with B = 0 (written as "NaN").
    expect(docs[1]!.heatmap).toBeNull();
    expect(JSON.parse(serializeComparison(docs[1]!)).arms[0].statistics.energyEffectiveRankRatio.lo).toBe('NaN');
    // A trajectory is put in step order and differences only neighbours.
    expect(docs[2]!.arms.map((a) => a.step)).toEqual([100, 200, 300]);
    expect(docs[2]!.differences.map((d) => d.b)).toEqual(['checkpoint-200', 'checkpoint-300']);
    // A document that breaks the schema is caught (the validator is not vacuous).
    const broken = JSON.parse(serializeComparison(docs[0]!));
    broken.differences[0].pairing = 'sometimes';
    expect(validate(broken, committed).length).toBeGreaterThan(0);
  });

  it('refuses mixed families, repeated labels and unknown heatmap arms', async () => {
    const [a, b] = updateArms();
    const w: ComparisonArm = { label: 'w', kind: 'weights', report: syntheticAnalysisReport({ label: 'w', layers: 2, spread: 0.5 }) };
    await expect(buildComparison({ arms: [a!, w] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildComparison({ arms: [a!, { ...b!, label: a!.label }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildComparison({ arms: [a!, b!] }, { heatmapArms: ['narrow', 'nope'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildComparison({ arms: [a!] }, { replicates: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildComparison({ arms: [a!] }, { level: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const controller = new AbortController();
    controller.abort();
    await expect(buildComparison({ arms: [a!, b!] }, { replicates: 500, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('the comparison files', () => {
  it('CSV: one row per arm statistic and per difference statistic, formula starts neutralised', async () => {
    const doc = await buildComparison({ arms: updateArms() }, { replicates: 30 });
    const rows = parseCsv(comparisonToCsv(doc));
    expect(rows[0]).toEqual([...COMPARISON_CSV_HEADER]);
    const body = rows.slice(1);
    expect(body.filter((r) => r[0] === 'arm').length).toBe(3 * 5);
    expect(body.filter((r) => r[0] === 'difference').length).toBe(3 * 5);
    for (const r of body) expect(r.length).toBe(COMPARISON_CSV_HEADER.length);
    const evil = body.filter((r) => r[1] === `'${EVIL}` || r[2] === `'${EVIL}`);
    expect(evil.length).toBe(5 + 2 * 5);
    expect(body.some((r) => r.some((c) => c.startsWith('=')))).toBe(false);
    // Numbers stay numbers: a negative difference is not neutralised.
    expect(body.some((r) => r[0] === 'difference' && /^-\d/.test(r[5] as string))).toBe(true);
  });

  it('HTML and Markdown escape every input string', async () => {
    const doc = await buildComparison({ arms: updateArms() }, { replicates: 30 });
    const html = comparisonToHtml(doc, { armLinks: { narrow: 'narrow.report.html" onclick="x' } });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('" onclick="x');
    expect(html).not.toMatch(/NaN|Infinity/);
    const md = comparisonToMarkdown(doc);
    expect(md).not.toMatch(/(^|[^\\])<img/); // only as \<img
    expect(md).toContain('\\<img src=x onerror=alert\\(1\\)\\>\\|\\*\\_\\`');
  });
});

describe('the CLI', () => {
  const example = ensureExample(path.join(tmp.dir, 'example'));

  it('compare --weights and analyze --out write each analysis and the comparison family', () => {
    for (const [name, args] of [
      ['weights', ['compare', '--weights', example.base, example.dispersed]],
      ['analyze', ['analyze', example.base, example.dispersed]],
    ] as const) {
      const out = path.join(tmp.dir, name);
      const r = runCli([...args, '--out', out, '--mode', 'truncated', '--rank', '8', '--bootstrap', '50', '--seed', '3']);
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(['base.analysis.json', 'base.tensors.csv', 'comparison.csv', 'comparison.html', 'comparison.json', 'comparison.md', 'tuned-dispersed.analysis.json', 'tuned-dispersed.tensors.csv']);
      const doc = JSON.parse(fs.readFileSync(path.join(out, 'comparison.json'), 'utf8'));
      expect(validate(doc, COMPARISON_JSON_SCHEMA, { closed: true })).toEqual([]);
      expect(doc.family).toBe('weights');
      expect(doc.bootstrap).toMatchObject({ replicates: 50, seed: 3 });
      // Same architecture: the heatmap is drawn.
      expect(doc.heatmap?.cells.length).toBe(28);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'base.analysis.json'), 'utf8')).schema).toBe('paramscope.analysis');
    }
  }, 120_000);

  it('a bad --bootstrap, --ci or --heatmap-arms is bad input (exit 2), and no comparison is written', () => {
    for (const bad of [['--bootstrap', 'many'], ['--ci', '2'], ['--heatmap-arms', 'one']]) {
      const out = path.join(tmp.dir, `bad-${bad[0]?.slice(2)}`);
      const r = runCli(['compare', '--weights', example.base, example.concentrated, '--out', out, '--mode', 'truncated', '--rank', '4', ...(bad as string[])]);
      expect(r.status, `${bad.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/INVALID_ARGUMENT/);
      expect(fs.existsSync(path.join(out, 'comparison.html'))).toBe(false);
    }
    const r = runCli(['compare', '--weights', example.base, example.concentrated]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  }, 120_000);
});
