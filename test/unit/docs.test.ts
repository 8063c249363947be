import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../lib/errors';
import { repoRoot } from '../helpers/paths';

/** Source files that may point at the docs: lib/, native/ (without the vendored third_party/), scripts/, bin/, test/. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'third_party' && entry.name !== 'node_modules') walk(at);
      } else if (/\.(ts|js|mjs|cjs|cc|cpp|hpp|h|def)$/.test(entry.name) && at !== __filename) out.push(at);
    }
  };
  for (const top of ['lib', 'native', 'scripts', 'bin', 'test']) if (fs.existsSync(path.join(repoRoot, top))) walk(path.join(repoRoot, top));
  return out;
}

/** The headings of a Markdown page (outside code fences), without their #s. */
function headings(page: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of fs.readFileSync(page, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) out.push(m[1] as string);
  }
  return out;
}

/** `docs/page.md, "Section"` and `docs/page.md ("Section")` in source comments. */
const SECTION_REFERENCE = /docs\/([\w-]+\.md)(?:, *| *\()"([^"]+)"/g;

describe('documentation stays in step with the code', () => {
  it('docs/errors.md is generated from error_codes.def and lists every code', () => {
    const page = path.join(repoRoot, 'docs', 'errors.md');
    const before = fs.readFileSync(page, 'utf8');
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'gen-error-docs.js')]);
    const after = fs.readFileSync(page, 'utf8');
    expect(after).toBe(before); // committed page is up to date
    for (const code of ERROR_CODES) expect(after).toContain(`\`${code}\``);
  });

  it('every "docs/<page>.md, \\"Section\\"" reference in the sources names a heading of that page', () => {
    const references: Array<{ file: string; page: string; section: string }> = [];
    for (const file of sourceFiles())
      for (const m of fs.readFileSync(file, 'utf8').matchAll(SECTION_REFERENCE))
        references.push({ file: path.relative(repoRoot, file), page: m[1] as string, section: m[2] as string });
    // The scan finds the references the formats code makes (so an empty scan cannot pass).
    const formats = new Set(references.filter((r) => r.page === 'formats.md').map((r) => r.section));
    for (const section of ['Fused experts', 'Refused', 'Multimodal naming']) expect(formats).toContain(section);
    expect(references.some((r) => r.page === 'metrics.md' && r.section === 'Update sparsity')).toBe(true);
    const missing = references.filter((r) => {
      const page = path.join(repoRoot, 'docs', r.page);
      return !fs.existsSync(page) || !headings(page).includes(r.section);
    });
    expect(missing.map((r) => `${r.file}: docs/${r.page} has no heading "${r.section}"`)).toEqual([]);
  });

  it('README.md and docs/*.md link only to files that exist, and README links every docs page', () => {
    const docs = fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md') || f.endsWith('.json'));
    const pages = ['README.md', ...docs.filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];
    const broken: string[] = [];
    for (const page of pages) {
      const text = fs.readFileSync(path.join(repoRoot, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split('#')[0] as string;
        if (!target || /^[a-z]+:/.test(target)) continue; // an anchor in the page, or a URL
        if (!fs.existsSync(path.join(repoRoot, path.dirname(page), target))) broken.push(`${page} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const unlinked = docs.filter((f) => f.endsWith('.md') && !readme.includes(`](docs/${f})`));
    expect(unlinked).toEqual([]);
  });
});
