/** What this installation is: package and N-API versions, BLAS backend, LAPACK, SIMD level, threads. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonPath, native, type NativeBuildInfo, packageRoot } from './binding';

export interface BuildInfo extends NativeBuildInfo {
  version: string;
  node: string;
  platform: string;
  /** Where the loaded addon came from: a prebuilt binary or a local build. */
  binary: 'prebuild' | 'local-build' | 'explicit';
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildInfo(): BuildInfo {
  const info = native().buildInfo();
  // The file node-gyp-build chose: under prebuilds/ for a prebuilt binary, else a local build.
  const loaded = addonPath();
  const prebuilt = loaded !== undefined && path.relative(path.join(packageRoot, 'prebuilds'), loaded).split(path.sep)[0] !== '..';
  return {
    version: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    binary: process.env.PARAMSCOPE_NATIVE_PATH ? 'explicit' : prebuilt ? 'prebuild' : 'local-build',
    ...info,
  };
}
