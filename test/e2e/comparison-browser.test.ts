/**
 * Opens comparison.html in headless Chromium (test/helpers/chromium.ts; Debian's /usr/bin/chromium or
 * $CHROMIUM) for a 4-arm comparison made by the CLI from real diffs of the bundled example, a large
 * synthetic one (80 layers × 7 module types × 8 arms, records made directly, no engine), a trajectory and
 * a weights comparison: every plot renders with a non-zero box and its data drawn (paths with length,
 * points, cells), no attribute holds NaN or Infinity, the console stays clean, nothing but the page is
 * loaded, a hostile arm label stays text, and a full-page screenshot PNG is written to a temporary
 * directory (kept in $PARAMSCOPE_SCREENSHOTS when set, to look at).
 *
 * Skipped, with a visible message, when Chromium is not installed (`apt-get install -y chromium`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { buildComparison } from '../../lib/report/comparison/build';
import { comparisonToHtml } from '../../lib/report/comparison/html';
import type { ComparisonArm } from '../../lib/report/comparison/model';
import { type Browser, findChromium, launchChromium } from '../helpers/chromium';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';
import { syntheticAnalysisReport, syntheticDiffReport } from '../helpers/synthetic-arms';

const chromium = findChromium();
if (!chromium) console.warn('[skip] comparison-browser: chromium not found (/usr/bin/chromium or $CHROMIUM); install it with `apt-get install -y chromium`');

interface PlotInfo {
  plot: string;
  id: string;
  width: number;
  height: number;
  series: number;
  seriesWithLength: number;
  points: number;
  cells: number;
  intervals: number;
  /** Distinct arms with something drawn in the plot. */
  arms: number;
}

const PROBE = `(() => [...document.querySelectorAll('svg.plot')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const series = [...svg.querySelectorAll('path.series')];
  return {
    plot: svg.dataset.plot, id: svg.id, width: box.width, height: box.height,
    series: series.length,
    seriesWithLength: series.filter((p) => p.getTotalLength() > 0).length,
    points: svg.querySelectorAll('circle.point').length,
    cells: [...svg.querySelectorAll('rect.cell')].filter((r) => r.getBoundingClientRect().width > 0).length,
    intervals: svg.querySelectorAll('line.interval, path.band').length,
    arms: new Set([...svg.querySelectorAll('[data-arm]')].map((e) => e.dataset.arm)).size,
  };
}))()`;

/** Attributes of SVG elements that hold NaN or Infinity (a number that went wrong on the way to a coordinate). */
const BAD_ATTRIBUTES = `(() => { const bad = []; for (const el of document.querySelectorAll('svg *')) for (const a of el.attributes) if (/NaN|Infinity/.test(a.value)) bad.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 80)); return bad; })()`;

const shots = process.env.PARAMSCOPE_SCREENSHOTS;

describe.skipIf(!chromium)('comparison.html in headless Chromium', () => {
  const tmp = temporaryDirectory('paramscope-comparison-html-');
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium(chromium);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  /** Opens a page, checks it, writes a full-page screenshot; returns the plots. */
  async function check(file: string, name: string): Promise<PlotInfo[]> {
    const url = pathToFileURL(file).href;
    const page = await browser.open(url, { width: 1280, height: 900 });
    const plots = await page.evaluate<PlotInfo[]>(PROBE);
    expect(plots.length).toBeGreaterThan(3);
    for (const p of plots) {
      expect(p.width, p.id).toBeGreaterThan(50);
      expect(p.height, p.id).toBeGreaterThan(40);
      // Every plot shows data: lines of non-zero length, points, heatmap cells or intervals.
      expect(p.seriesWithLength + p.points + p.cells + p.intervals, p.id).toBeGreaterThan(0);
      expect(p.seriesWithLength, p.id).toBe(p.series);
    }
    expect(await page.evaluate<string[]>(BAD_ATTRIBUTES)).toEqual([]);
    await new Promise((r) => setTimeout(r, 200)); // let late events arrive
    const problems = page.events.filter((e) =>
      e.method === 'Runtime.exceptionThrown'
      || (e.method === 'Runtime.consoleAPICalled' && ['error', 'assert', 'warning'].includes(String(e.params.type)))
      || (e.method === 'Log.entryAdded' && ['error', 'warning'].includes(String((e.params.entry as { level?: string })?.level))));
    expect(problems.map((e) => JSON.stringify(e.params).slice(0, 300))).toEqual([]);
    const requests = page.events.filter((e) => e.method === 'Network.requestWillBeSent').map((e) => (e.params.request as { url: string }).url);
    expect(requests.filter((u) => u !== url && !u.startsWith('data:'))).toEqual([]);
    expect(await page.evaluate<number>('document.images.length')).toBe(0);
    const height = await page.evaluate<number>('Math.ceil(document.documentElement.scrollHeight)');
    await page.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: Math.min(height, 16000), deviceScaleFactor: 1, mobile: false });
    const { data } = (await page.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
    const png = Buffer.from(data, 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const target = path.join(shots ?? tmp.dir, `${name}.png`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, png);
    expect(fs.statSync(target).size).toBeGreaterThan(10_000);
    if (shots) {
      // One image per section as well, at full resolution, to look at.
      const boxes = await page.evaluate<Array<{ id: string; x: number; y: number; width: number; height: number }>>(`[...document.querySelectorAll('section')].map((s) => { const b = s.getBoundingClientRect(); return { id: s.id, x: b.x, y: b.y + window.scrollY, width: b.width, height: b.height }; })`);
      for (const b of boxes) {
        const shot = (await page.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: b.x, y: b.y, width: b.width, height: Math.min(b.height, 1600), scale: 1 } })) as { data: string };
        fs.writeFileSync(path.join(shots, `${name}-${b.id}.png`), Buffer.from(shot.data, 'base64'));
      }
    }
    return plots;
  }

  it('a 4-arm comparison written by `compare --out` from real diffs', async () => {
    const example = ensureExample(path.join(tmp.dir, 'example'));
    const out = path.join(tmp.dir, 'four');
    const arms = [example.concentrated, example.dispersed];
    // Four arms: the two fine-tunes, each twice under another name (the copies must come out "within").
    const copies = arms.map((a, i) => {
      const copy = path.join(tmp.dir, `copy-${i}.safetensors`);
      fs.copyFileSync(a, copy);
      return copy;
    });
    const r = runCli(['compare', example.base, ...arms, ...copies, '--out', out, '--mode', 'truncated', '--rank', '8', '--no-directions', '--bootstrap', '200', '--quiet'], {}, 120_000);
    expect(r.status, r.stderr).toBe(0);
    const plots = await check(path.join(out, 'comparison.html'), 'compare-4-arms');
    expect(plots.filter((p) => p.plot === 'interval').every((p) => p.points === 4)).toBe(true);
    for (const kind of ['depth-effrank', 'depth-energy', 'spectrum-normalised', 'spectrum-energy', 'heatmap-diff-energy', 'heatmap-diff-effrank']) expect(plots.map((p) => p.plot)).toContain(kind);
    // 4 layers × 7 module types in each heatmap.
    expect(plots.find((p) => p.plot === 'heatmap-diff-energy')?.cells).toBe(28);
    // Each depth panel overlays the arms that changed that module type: all 4 for q and v (both fine-tunes
    // touched them), the dispersed pair elsewhere.
    const depth = plots.filter((q) => q.plot === 'depth-effrank');
    expect(depth.length).toBe(7);
    expect(Math.max(...depth.map((p) => p.arms))).toBe(4);
    expect(Math.min(...depth.map((p) => p.arms))).toBe(2);
  }, 180_000);

  it('80 layers × 7 module types × 8 arms stays drawn: small multiples, every arm in every panel', async () => {
    const arms: ComparisonArm[] = Array.from({ length: 8 }, (_, i) => {
      const label = i === 3 ? 'arm-3 <img src=x onerror="console.error(1)">' : `arm-${i}`;
      return { label, kind: 'diff', report: syntheticDiffReport({ label, layers: 80, spread: 0.02 * 1.7 ** i, seed: i + 1, depthProfile: (d) => 1 + i * d, untouchedEvery: 9 + i }) };
    });
    const doc = await buildComparison({ arms }, { replicates: 100 });
    const file = path.join(tmp.dir, 'large.html');
    fs.writeFileSync(file, comparisonToHtml(doc));
    const plots = await check(file, 'compare-80x7x8');
    const depth = plots.filter((p) => p.plot === 'depth-effrank');
    expect(depth.length).toBe(7);
    for (const p of depth) expect(p.arms, p.id).toBe(8);
    expect(plots.filter((p) => p.plot === 'spectrum-energy').every((p) => p.series === 8 && p.arms === 8)).toBe(true);
    expect(plots.find((p) => p.plot === 'heatmap-diff-effrank')?.cells).toBe(560);
    expect(plots.filter((p) => p.plot === 'interval').every((p) => p.points === 8)).toBe(true);
  }, 120_000);

  it('a trajectory (step axis) and a weights comparison of two architectures', async () => {
    const steps = [100, 200, 400, 800, 1600];
    const trajectory = await buildComparison({
      axis: { name: 'step' },
      arms: steps.map((step, i) => ({ label: `checkpoint-${step}`, kind: 'lora' as const, step, report: syntheticDiffReport({ label: `s${step}`, layers: 12, spread: 0.05 + 0.05 * i, scale: 1e-5 * (i + 1), seed: i + 3 }) })),
    }, { replicates: 100 });
    const tFile = path.join(tmp.dir, 'trajectory.html');
    fs.writeFileSync(tFile, comparisonToHtml(trajectory));
    const tPlots = await check(tFile, 'trajectory-5-steps');
    expect(tPlots.filter((p) => p.plot === 'interval').every((p) => p.series === 1 && p.points === 5)).toBe(true);

    const weights = await buildComparison({ arms: [
      { label: 'family-a', kind: 'weights', report: syntheticAnalysisReport({ label: 'a', layers: 24, spread: 0.5, seed: 1 }) },
      { label: 'family-b', kind: 'weights', report: syntheticAnalysisReport({ label: 'b', layers: 32, spread: 0.3, seed: 2, without: ['gate'] }) },
    ] }, { replicates: 100 });
    expect(weights.heatmap).toBeNull();
    const wFile = path.join(tmp.dir, 'weights.html');
    fs.writeFileSync(wFile, comparisonToHtml(weights));
    const wPlots = await check(wFile, 'weights-2-families');
    expect(wPlots.some((p) => p.plot.startsWith('heatmap'))).toBe(false);
    expect(wPlots.filter((p) => p.plot === 'depth-effrank').length).toBe(7);
  }, 120_000);
});
