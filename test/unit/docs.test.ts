import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../lib/errors';
import { repoRoot } from '../helpers/paths';

describe('documentation stays in step with the code', () => {
  it('docs/errors.md is generated from error_codes.def and lists every code', () => {
    const page = path.join(repoRoot, 'docs', 'errors.md');
    const before = fs.readFileSync(page, 'utf8');
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'gen-error-docs.js')]);
    const after = fs.readFileSync(page, 'utf8');
    expect(after).toBe(before); // committed page is up to date
    for (const code of ERROR_CODES) expect(after).toContain(`\`${code}\``);
  });
});
