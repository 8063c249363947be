/**
 * Before any test: make sure dist/ (used by the CLI and the examples) is at least as new as lib/, so
 * `npm test` after an edit never tests stale JavaScript.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const built = path.join(root, 'dist', 'index.mjs');
  const stale = !fs.existsSync(built) || fs.statSync(built).mtimeMs < newestMtime(path.join(root, 'lib'));
  if (stale) {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, [path.join(root, 'scripts', 'write-esm-wrapper.js')], { cwd: root, stdio: 'inherit' });
  }
}
