/**
 * The symbolic-link rule for files paramscope finds itself (not the ones it is given by name): a file
 * found in a checkpoint's or adapter's directory — a side file such as config.json or adapter_config.json,
 * an adapter's weights — must resolve, through every link, to a file inside that directory, or, for a
 * Hugging Face cache snapshot (`<repo>/snapshots/<revision>/`), inside that repo's `blobs/`. The core
 * applies the same rule to the shards it lists (native/src/checkpoint.cpp, link_target_allowed).
 * Otherwise a directory from an untrusted source could make paramscope read, and quote in its messages,
 * any file the user can read. docs/security.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParamscopeError } from '../errors';

const within = (dir: string, target: string) => target.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** Whether `file` (which exists) resolves inside `directory` or its Hugging Face cache repo's blobs/. */
export function resolvesInside(directory: string, file: string): boolean {
  let root: string;
  let target: string;
  try {
    root = fs.realpathSync(directory);
    target = fs.realpathSync(file);
  } catch {
    return false;
  }
  if (within(root, target)) return true;
  const snapshots = path.dirname(root);
  return path.basename(snapshots) === 'snapshots' && within(path.join(path.dirname(snapshots), 'blobs'), target);
}

/** LINK_OUTSIDE_CHECKPOINT unless `file`, found in `directory`, obeys the rule above. */
export function requireInside(directory: string, file: string, what: string): void {
  if (resolvesInside(directory, file)) return;
  throw new ParamscopeError(
    `${what} ${file} leads through a symbolic link to a file outside ${directory}; name the file itself if that is intended`,
    { code: 'LINK_OUTSIDE_CHECKPOINT', file },
  );
}
