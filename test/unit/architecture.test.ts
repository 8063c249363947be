/**
 * The shape of the code base (docs/architecture.md): no import circles in lib/ — type-only imports
 * included, since they tie files together for a reader as much as value imports do —, code that only
 * calls earlier stages of the pipeline, and no source file in lib/ or native/ (vendored code aside)
 * longer than 500 lines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths';

const MAX_LINES = 500;

function filesUnder(dir: string, keep: (file: string) => boolean, skip: (dir: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip(full)) out.push(...filesUnder(full, keep, skip));
    } else if (entry.isFile() && keep(full)) out.push(full);
  }
  return out.sort();
}

const rel = (file: string) => path.relative(repoRoot, file).split(path.sep).join('/');

/** Every module specifier a file names: imports, `import type`, `export … from`, dynamic imports. */
export function moduleSpecifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The lib/ file a relative specifier names (X.ts or X/index.ts), or null for packages and node: modules. */
function resolve(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  throw new Error(`${rel(from)}: cannot resolve import "${specifier}"`);
}

/** Each cycle of a directed graph once, as the path a → b → … → a, starting at its smallest node. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components; every component with more than one node (or a self-edge)
  // holds a cycle, and one concrete cycle through it is reported.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0] as string;
    if (component.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    // Shortest way back to `start` inside the component (breadth first).
    const previous = new Map<string, string>();
    const queue = [start];
    let end: string | null = null;
    while (queue.length && end === null) {
      const v = queue.shift() as string;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const cycle = [start];
    for (let v = end as string; v !== start; v = previous.get(v) as string) cycle.splice(1, 0, v);
    cycles.push([...cycle, start]);
  }
  return cycles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

function importGraph(): Map<string, string[]> {
  const files = filesUnder(path.join(repoRoot, 'lib'), (f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = moduleSpecifiers(fs.readFileSync(file, 'utf8')).map((s) => resolve(file, s)).filter((t): t is string => t !== null);
    graph.set(rel(file), [...new Set(targets.map(rel))]);
  }
  return graph;
}

/**
 * The pipeline's order: a file may call (value-import) its own stage and earlier ones only. Types may be
 * named from any stage (report/model.ts is the vocabulary of the output, for every stage).
 */
const STAGES = ['errors.ts', 'engine/binding.ts', 'read', 'plan', 'engine', 'results', 'aggregate', 'report', '(verbs)', 'cli'];

function stageOf(file: string): number {
  const inLib = file.replace(/^lib\//, '');
  for (const exact of ['errors.ts', 'engine/binding.ts']) if (inLib === exact) return STAGES.indexOf(exact);
  const folder = inLib.includes('/') ? (inLib.split('/')[0] as string) : '(verbs)';
  const stage = STAGES.indexOf(folder);
  if (stage < 0) throw new Error(`${file}: lib/${folder}/ is not a stage of the pipeline; add it to STAGES (and docs/architecture.md)`);
  return stage;
}

/** The relative modules a file imports for their values (imports and re-exports that are not type-only). */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: string[] = [];
  for (const statement of source.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || !statement.moduleSpecifier) continue;
    let typeOnly: boolean;
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const bindings = clause?.namedBindings;
      typeOnly = clause !== undefined && (clause.isTypeOnly || (!clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.every((e) => e.isTypeOnly)));
    } else typeOnly = statement.isTypeOnly || (statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause) && statement.exportClause.elements.every((e) => e.isTypeOnly));
    const target = resolve(file, (statement.moduleSpecifier as ts.StringLiteral).text);
    if (!typeOnly && target) out.push(target);
  }
  return out;
}

function lineCount(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const text = fs.readFileSync(file, 'utf8');
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}


describe('architecture', () => {
  it('the import scanner sees type-only imports, re-exports and dynamic imports', () => {
    const source = "import type { A } from './a';\nimport { type B } from './b';\nexport * from './c';\nexport type { D } from './d';\nconst e = import('./e');\n// import { F } from './f';\n";
    expect(moduleSpecifiers(source)).toEqual(['./a', './b', './c', './d', './e']);
  });

  it('the cycle finder names every cycle and nothing else', () => {
    const graph = new Map([
      ['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']], ['f', ['d']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a'], ['e', 'e']]);
    expect(findCycles(new Map([['x', ['y']], ['y', []]]))).toEqual([]);
  });

  it('lib/ has no import cycles (type-only imports included)', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50);
    const cycles = findCycles(graph).map((c) => c.join(' → '));
    expect(cycles, `import cycles in lib/:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('code calls only its own stage of the pipeline and earlier ones (types may be named from any)', () => {
    const backwards: string[] = [];
    for (const file of filesUnder(path.join(repoRoot, 'lib'), (f) => f.endsWith('.ts'))) {
      const from = stageOf(rel(file));
      for (const target of valueImports(file)) {
        const to = stageOf(rel(target));
        if (to > from) backwards.push(`${rel(file)} (${STAGES[from]}) calls ${rel(target)} (${STAGES[to]})`);
      }
    }
    expect(backwards, `imports against the pipeline (${STAGES.join(' < ')}):\n${backwards.join('\n')}`).toEqual([]);
  });

  it(`no file in lib/ or native/ (native/third_party aside) is longer than ${MAX_LINES} lines`, () => {
    const files = [
      ...filesUnder(path.join(repoRoot, 'lib'), () => true),
      ...filesUnder(path.join(repoRoot, 'native'), () => true, (dir) => rel(dir) === 'native/third_party'),
    ];
    expect(files.length).toBeGreaterThan(50);
    const tooLong = files
      .map((f) => ({ file: rel(f), lines: lineCount(f) }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(tooLong, `files over ${MAX_LINES} lines:\n${tooLong.join('\n')}`).toEqual([]);
  });
});
