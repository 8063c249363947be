/**
 * writeReportSet (lib/report/report-set.ts) step by step: a failure at each rename undoes what was done
 * (the old set back in place, no temporary left), an abort between steps does the same, the interrupt
 * hook restores synchronously, and what a killed writer left beside the target is cleaned up next time.
 */
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParamscopeError } from '../../lib/errors';
import { checkReportDirectory } from '../../lib/report/output-directory';
import { writeReportSet } from '../../lib/report/report-set';
import { temporaryDirectory } from '../helpers/paths';

const oldSet = [{ name: 'report.json', text: '{"old":1}\n' }, { name: 'pairs.csv', text: 'old\n' }];
const newSet = [{ name: 'report.json', text: '{"new":1}\n' }, { name: 'pairs.csv', text: 'new\n' }, { name: 'summary.md', text: '# new\n' }];

function contents(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
}
const asRecord = (set: ReadonlyArray<{ name: string; text: string }>) => Object.fromEntries([...set].sort((a, b) => a.name.localeCompare(b.name)).map((f) => [f.name, f.text]));

describe('writeReportSet', () => {
  let root: string;
  let cleanup: () => void;
  let target: string;

  beforeEach(async () => {
    ({ dir: root, cleanup } = temporaryDirectory());
    target = path.join(root, 'out');
    await writeReportSet(target, oldSet);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    cleanup();
  });

  it('replaces the set as a whole and leaves nothing beside it', async () => {
    expect(contents(target)).toEqual(asRecord(oldSet));
    const written = await writeReportSet(target, newSet);
    expect(written).toEqual(newSet.map((f) => path.join(target, f.name)));
    expect(contents(target)).toEqual(asRecord(newSet)); // old pairs.csv replaced, no leftover of the old set
    expect(fs.readdirSync(root)).toEqual(['out']);
  });

  it('carries the result cache (<out>/cache) into the new set, and puts it back when the switch fails', async () => {
    fs.mkdirSync(path.join(target, 'cache'));
    fs.writeFileSync(path.join(target, 'cache', 'entry'), 'kept');
    await writeReportSet(target, newSet);
    expect(fs.readFileSync(path.join(target, 'cache', 'entry'), 'utf8')).toBe('kept');
    expect(fs.readdirSync(target).filter((n) => n !== 'cache').sort()).toEqual(newSet.map((f) => f.name).sort());
    // Renames: 1 the cache into the new directory, 2 the old set aside, 3 the new set into place.
    for (const failing of [2, 3]) {
      const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
      const rename = nodeFs.renameSync;
      let calls = 0;
      nodeFs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
        calls += 1;
        if (calls === failing) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
        rename(from, to);
      };
      syncBuiltinESMExports();
      try {
        const error = await writeReportSet(target, oldSet).catch((e: unknown) => e);
        expect((error as ParamscopeError).code).toBe('WRITE_FAILED');
      } finally {
        nodeFs.renameSync = rename;
        syncBuiltinESMExports();
      }
      expect(fs.readFileSync(path.join(target, 'cache', 'entry'), 'utf8')).toBe('kept');
      expect(fs.readdirSync(target).filter((n) => n !== 'cache').sort()).toEqual(newSet.map((f) => f.name).sort());
      expect(fs.readdirSync(root)).toEqual(['out']);
    }
  });

  for (const failing of [1, 2]) {
    it(`a failure of rename ${failing} (${failing === 1 ? 'the old set aside' : 'the new set into place'}) is WRITE_FAILED and leaves the old set`, async () => {
      // The fs module object (ES module namespaces cannot be patched; syncBuiltinESMExports carries the patch to them).
      const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
      const rename = nodeFs.renameSync;
      let calls = 0;
      nodeFs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
        calls += 1;
        if (calls === failing) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
        rename(from, to);
      };
      syncBuiltinESMExports();
      let error: unknown;
      try {
        error = await writeReportSet(target, newSet).catch((e: unknown) => e);
      } finally {
        nodeFs.renameSync = rename;
        syncBuiltinESMExports();
      }
      expect(calls).toBeGreaterThanOrEqual(failing);
      expect(error).toBeInstanceOf(ParamscopeError);
      expect((error as ParamscopeError).code).toBe('WRITE_FAILED');
      expect((error as ParamscopeError).message).toMatch(/EIO: simulated; no report was written and an earlier one is unchanged/);
      expect(contents(target)).toEqual(asRecord(oldSet));
      expect(fs.readdirSync(root)).toEqual(['out']);
    });
  }

  it('an abort between steps undoes them and throws the abort reason', async () => {
    // The writer looks at the signal after each step (directory, each file, the move aside, the move in):
    // a signal that turns aborted at the n-th look stops it there.
    for (const after of [1, 2, 4, 5]) {
      const reason = new Error('stop');
      let looks = 0;
      const signal = { get aborted() { return ++looks >= after; }, reason } as unknown as AbortSignal;
      const error = await writeReportSet(target, newSet, { signal }).catch((e: unknown) => e);
      expect(error, `aborted at look ${after}`).toBe(reason);
      expect(contents(target)).toEqual(asRecord(oldSet));
      expect(fs.readdirSync(root)).toEqual(['out']);
    }
    // Aborted after the switch: the new set is whole and in place, so it stays.
    let looks = 0;
    const late = { get aborted() { return ++looks >= 6; }, reason: new Error('late') } as unknown as AbortSignal;
    await writeReportSet(target, newSet, { signal: late });
    expect(contents(target)).toEqual(asRecord(newSet));
    expect(fs.readdirSync(root)).toEqual(['out']);
  });

  it('cleans up after a killed writer: a .new removed, an .old put back when the target is gone', async () => {
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    const leftNew = path.join(root, `.out.paramscope-${deadPid}-00000000.new`);
    fs.mkdirSync(leftNew);
    fs.writeFileSync(path.join(leftNew, 'report.json'), 'half');
    const leftOld = path.join(root, `.out.paramscope-${deadPid}-11111111.old`);
    fs.renameSync(target, leftOld); // killed between moving the old set aside and moving the new one in
    await writeReportSet(target, newSet);
    expect(contents(target)).toEqual(asRecord(newSet));
    expect(fs.readdirSync(root)).toEqual(['out']);
  });

  it('refuses names that are not report files and directories holding other files', async () => {
    for (const name of ['../x.report.json', 'notes.txt', '']) {
      const error = await writeReportSet(target, [{ name, text: '' }]).catch((e: unknown) => e);
      expect((error as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    }
    fs.writeFileSync(path.join(target, 'notes.txt'), 'mine');
    expect(() => checkReportDirectory(target)).toThrow(/OUTPUT_INVALID|not part of a paramscope report/);
    const error = await writeReportSet(target, newSet).catch((e: unknown) => e);
    expect((error as ParamscopeError).code).toBe('OUTPUT_INVALID');
    expect(fs.readFileSync(path.join(target, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
