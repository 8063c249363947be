/**
 * Opens the HTML report in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) and checks that it
 * renders: every plot has a non-zero bounding box and the expected number of plotted elements, the page
 * logs no console errors or exceptions (a Content-Security-Policy violation would be one), it requests
 * nothing but itself, hostile tensor names execute nothing, and the table sorter works.
 *
 * Chromium is driven over the DevTools protocol on a pipe (test/helpers/chromium.ts): no npm packages.
 * Skipped, with a visible message, when Chromium is not installed (`apt-get install -y chromium`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff } from '../../lib/diff';
import type { DiffReport, PairResult } from '../../lib/report/model';
import { ensureExample } from '../../lib/example';
import { toHtml } from '../../lib/report/html/index';
import { type Browser, findChromium, launchChromium, type Page } from '../helpers/chromium';
import { temporaryDirectory } from '../helpers/paths';

const chromium = findChromium();
if (!chromium) console.warn('[skip] html-browser: chromium not found (/usr/bin/chromium or $CHROMIUM); install it with `apt-get install -y chromium`');

interface PlotInfo {
  plot: string;
  width: number;
  height: number;
  series: number;
  seriesWithLength: number;
  cells: number;
  bars: number;
  points: number;
}

const PROBE = `(() => [...document.querySelectorAll('svg.plot')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const series = [...svg.querySelectorAll('path.series')];
  return {
    plot: svg.dataset.plot, width: box.width, height: box.height,
    series: series.length,
    seriesWithLength: series.filter((p) => { const b = p.getBBox(); return p.getTotalLength() > 0 && (b.width > 0 || b.height > 0); }).length,
    cells: [...svg.querySelectorAll('rect.cell')].filter((r) => r.getBoundingClientRect().width > 0).length,
    bars: [...svg.querySelectorAll('rect.bar')].filter((r) => r.getBoundingClientRect().height > 0).length,
    points: svg.querySelectorAll('circle.point').length,
  };
}))()`;

describe.skipIf(!chromium)('HTML report in headless Chromium', () => {
  const tmp = temporaryDirectory('paramscope-html-');
  let browser: Browser;
  let report: DiffReport;
  let page: Page;
  let fileUrl: string;

  beforeAll(async () => {
    const example = ensureExample(path.join(tmp.dir, 'example'));
    // Truncated mode with a small rank: bounds, whiskers and score ranges all appear.
    report = await diff(example.base, example.dispersed, { mode: 'truncated', rank: 8 });
    // A hostile name: if escaping failed, the image's onerror would log an error and request a file.
    const hostile = structuredClone(report);
    (hostile.pairs[1] as PairResult).name = 'model.layers.0.<img src=x onerror="console.error(\'xss\')">.q_proj.weight';
    const file = path.join(tmp.dir, 'report.html');
    fs.writeFileSync(file, toHtml(hostile));
    fileUrl = pathToFileURL(file).href;
    browser = await launchChromium(chromium);
    page = await browser.open(fileUrl, { width: 1280, height: 900 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  it('renders every plot with a non-zero box and its plotted elements', async () => {
    const plots = await page.evaluate<PlotInfo[]>(PROBE);
    const kinds = plots.map((p) => p.plot);
    for (const kind of ['score', 'components', 'spectrum', 'heatmap-energy', 'heatmap-effrank', 'depth-energy', 'depth-effrank']) expect(kinds).toContain(kind);
    for (const p of plots) {
      expect(p.width, p.plot).toBeGreaterThan(50);
      expect(p.height, p.plot).toBeGreaterThan(40);
    }
    const drawn = report.pairs.filter((p) => p.spectrum && (p.spectrum.values[0] ?? 0) > 0);
    const groups = new Set(drawn.map((p) => p.module.group));
    const spectra = plots.filter((p) => p.plot === 'spectrum');
    expect(spectra.length).toBe(groups.size);
    expect(spectra.reduce((s, p) => s + p.series, 0)).toBe(drawn.length);
    expect(spectra.reduce((s, p) => s + p.seriesWithLength, 0)).toBe(drawn.length);
    const inLayers = report.pairs.filter((p) => p.module.layer !== null).length;
    expect(plots.find((p) => p.plot === 'heatmap-energy')?.cells).toBe(inLayers);
    expect(plots.find((p) => p.plot === 'heatmap-effrank')?.cells).toBe(inLayers);
    expect(plots.find((p) => p.plot === 'depth-energy')?.bars).toBeGreaterThan(0);
    expect(plots.find((p) => p.plot === 'depth-effrank')?.points).toBeGreaterThan(0);
    expect(plots.find((p) => p.plot === 'components')?.bars).toBe(3);
  });

  it('shows the verdict and the diagnostic sentence as text', async () => {
    const text = await page.evaluate<string>('document.querySelector("#verdict").innerText');
    expect(text.toLowerCase()).toContain(report.verdict.label);
    expect(text).toContain(report.verdict.score.toFixed(3));
    expect(text).toContain('This is a diagnostic of the update\'s shape, not a benchmark score');
  });

  it('sorts the per-matrix table when a header is clicked', async () => {
    const names = await page.evaluate<string[]>(`(() => {
      const table = document.querySelector('#matrices-table');
      table.tHead.rows[0].cells[0].querySelector('button').click();
      return [...table.tBodies[0].rows].map((r) => r.cells[0].textContent);
    })()`);
    expect(names.length).toBe(report.pairs.length);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    expect(await page.evaluate<string>('document.querySelector("#matrices-table th").getAttribute("aria-sort")')).toBe('ascending');
  });

  it('logs no console error or exception, and loads nothing but itself', async () => {
    await new Promise((r) => setTimeout(r, 200)); // let late events arrive
    const problems = page.events.filter((e) =>
      e.method === 'Runtime.exceptionThrown'
      || (e.method === 'Runtime.consoleAPICalled' && ['error', 'assert', 'warning'].includes(String(e.params.type)))
      || (e.method === 'Log.entryAdded' && ['error', 'warning'].includes(String((e.params.entry as { level?: string })?.level))));
    expect(problems.map((e) => JSON.stringify(e.params).slice(0, 300))).toEqual([]);
    const requests = page.events.filter((e) => e.method === 'Network.requestWillBeSent').map((e) => (e.params.request as { url: string }).url);
    expect(requests.filter((u) => u !== fileUrl && !u.startsWith('data:'))).toEqual([]);
    expect(await page.evaluate<number>('document.images.length')).toBe(0); // the hostile <img> stayed text
  });
});
