/** What this installation is: package and N-API versions, BLAS backend, LAPACK, SIMD level, threads. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, type NativeBuildInfo, packageRoot } from './binding';

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
  const hasLocalBuild = fs.existsSync(path.join(packageRoot, 'build', 'Release', 'paramscope.node'));
  return {
    version: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    binary: process.env.PARAMSCOPE_NATIVE_PATH ? 'explicit' : hasLocalBuild ? 'local-build' : 'prebuild',
    ...info,
  };
}
