/**
 * Loads the compiled addon with node-gyp-build (a matching binary in prebuilds/ first, else
 * build/Release) and explains a failed load with the fixes that usually apply.
 */
import * as path from 'node:path';
import type { EngineProgress, SpectrumOutcome } from './types';
import { ParamscopeError } from '../errors';

export interface NativeTensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  bytes: number;
  shard: number;
  offset: number;
}

export interface NativeShard {
  path: string;
  bytes: number;
  headerBytes: number;
  mapped: boolean;
  metadata: Record<string, string>;
}

export interface NativeDescription {
  path: string;
  kind: 'file' | 'directory' | 'index';
  shards: NativeShard[];
  tensors: NativeTensorEntry[];
  warnings: string[];
  indexMetadata: string;
}

export interface NativeReadResult {
  buffer: ArrayBuffer;
  byteOffset: number;
  zeroCopy: boolean;
  nonFinite: number;
  dtype: string;
}

export interface NativeCheckpoint {
  describe(): NativeDescription;
  read(name: string, mode: 'f32' | 'raw', rowBegin?: number, rowEnd?: number, into?: Float32Array, zeroCopy?: boolean): Promise<NativeReadResult>;
  readSync(name: string, mode: 'f32' | 'raw', rowBegin?: number, rowEnd?: number, into?: Float32Array, zeroCopy?: boolean): NativeReadResult;
  close(): void;
}

export interface NativeBuildInfo {
  napiVersion: number;
  blasBuild: 'runtime-openblas' | 'eigen-only';
  backend: 'openblas' | 'eigen';
  blasLibrary: string;
  blasConfig: string;
  blasCore: string;
  lapack: boolean;
  lapackProvider: 'openblas' | 'eigen';
  whyEigen: string;
  threads: number;
  hardwareThreads: number;
  eigenVersion: string;
  simd: string;
  cpuFlags: Record<string, boolean>;
  /** Who computes the randomized solver's thin products A·X and Aᵀ·Q (≤ 80 columns): the core's AVX-512 kernel, or the BLAS. */
  thinProducts: 'avx512' | 'blas';
  /** Who computes the exact route's large Grams (≥ 256 rows): the core's AVX-512 kernel where the BLAS runs without AVX-512, else the BLAS. */
  gramProduct: 'avx512' | 'blas';
  compiler: string;
  engine: {
    /** EngineOptions{} of the core: the defaults of every engine option. */
    defaults: NativeEngineOptions;
    /** Matrices computed at once by a run of many matrices with the defaults. */
    defaultLanes: number;
    /** The smallest share of the memory budget a lane is given when the engine picks the lane count. */
    minLaneBytes: number;
  };
  /** The optional CUDA plugin (native/include/paramscope/plugin_abi.h): whether it loaded and found a device, and why not. */
  cuda: {
    available: boolean;
    plugin: string;
    why: string;
    device: string;
    memoryBytes: number;
    driverVersion: string;
    runtimeVersion: string;
    libraries: string;
  };
}

/** The engine's options as the addon takes them: every field present (native/addon/analyze.cc reads them strictly). */
export interface NativeEngineOptions {
  mode: 'exact' | 'truncated';
  rank: number;
  oversampling: number;
  powerIterations: number;
  tolerance: number;
  maxIterations: number;
  seed: number;
  precision: 'f32' | 'f64';
  vectors: boolean;
  exactRoute: 'auto' | 'gram' | 'direct';
  memoryBudget: number;
  threads: number;
  parallelMatrices: number;
  /** Where the heavy operations run: 'auto' takes the CUDA plugin when it loads and finds a device. */
  backend: 'auto' | 'cpu' | 'cuda';
  /** Bytes a device backend may allocate (0: the plugin's default). */
  deviceMemoryBudget: number;
}

/** A stored matrix as the addon takes it (native/include/paramscope/stored_matrix.hpp: TensorRef). */
interface NativeTensorRef {
  checkpoint: NativeCheckpoint;
  tensor: string;
  encoding?: 'plain' | 'scaled' | 'mxfp4';
  scale?: string;
  blockRows?: number;
  blockCols?: number;
  expert?: number;
  transpose?: boolean;
  rowOffset?: number;
  rowStride?: number;
  rowCount?: number;
}

/** One job as the addon takes it (native/include/paramscope/jobs.hpp: DenseJobSpec, DifferenceJobSpec, LowRankJobSpec). */
export type NativeJobSpec = { name: string; vectors?: boolean } & (
  | { kind: 'dense'; source: NativeTensorRef }
  | { kind: 'diff'; tuned: NativeTensorRef; base: NativeTensorRef; rows?: number }
  | { kind: 'lowrank'; rows: number; cols: number; rank: number; b: Float32Array; a: Float32Array; scale: number }
);

/** One row of the core's dtype table (native/src/dtype.cpp). */
export interface NativeDtypeRow {
  name: string;
  bits: number;
  isFloat: boolean;
  decodable: boolean;
  /** Significand bits, implicit bit included; 0 for formats without a rounding grid. */
  precision: number;
  minExponent: number;
}

export type NativeEngineEvent =
  | { type: 'result'; result: SpectrumOutcome }
  | ({ type: 'progress' } & EngineProgress)
  | { type: 'done'; error?: Error };

export interface NativeOpenOptions {
  mmap: boolean;
  followLinks: boolean;
}

export interface NativeBinding {
  setErrorClass(cls: typeof ParamscopeError): void;
  errorCodes(): string[];
  buildInfo(): NativeBuildInfo;
  engineDefaults(): NativeEngineOptions;
  dtypeTable(): NativeDtypeRow[];
  encodeF32(values: Float32Array, dtype: 'BF16' | 'F16'): Uint8Array;
  decodeToF32(bytes: ArrayBufferView, dtype: string): Float32Array;
  openCheckpoint(path: string, options: NativeOpenOptions): Promise<NativeCheckpoint>;
  startAnalysis(jobs: NativeJobSpec[], options: NativeEngineOptions, onEvent: (event: NativeEngineEvent) => void): { cancel(): void };
  /** How many matrices the engine computes at once for `jobs` jobs with these options (its lane policy). */
  laneCount(options: NativeEngineOptions, jobs: number): number;
  openCheckpointSync(path: string, options: NativeOpenOptions): NativeCheckpoint;
}

let binding: NativeBinding | undefined;
let loadedFrom: string | undefined;

/** The .node file the addon was loaded from (after native() ran), or undefined for PARAMSCOPE_NATIVE_PATH. */
export function addonPath(): string | undefined {
  return loadedFrom;
}

/** Root of the installed package (holds binding.gyp, build/ and prebuilds/). */
export const packageRoot = path.join(__dirname, '..', '..');

export function native(): NativeBinding {
  if (binding) return binding;
  let loaded: NativeBinding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    // PARAMSCOPE_NATIVE_PATH names one .node file explicitly (CI uses it to test the Eigen-only build).
    const explicit = process.env.PARAMSCOPE_NATIVE_PATH;
    if (explicit) {
      loaded = require(path.resolve(explicit)) as NativeBinding;
    } else {
      const load = require('node-gyp-build') as { path(dir: string): string };
      loadedFrom = load.path(packageRoot);
      loaded = require(loadedFrom) as NativeBinding;
    }
  } catch (error) {
    throw new ParamscopeError(explainLoadFailure(error), { code: 'INTERNAL', cause: error });
  }
  loaded.setErrorClass(ParamscopeError);
  binding = loaded;
  return loaded;
}

function explainLoadFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const fixes = [
    'paramscope could not load its native addon.',
    `  cause: ${message.split('\n')[0]}`,
    'Possible fixes:',
  ];
  if (/No native build was found/.test(message)) {
    fixes.push('  - build it: `npm rebuild paramscope` (needs python3, make and a C++20 compiler: g++ >= 10)');
    fixes.push('  - or install a release that ships a prebuilt binary for ' + `${process.platform}-${process.arch}`);
  } else if (/GLIBC|GLIBCXX|CXXABI/.test(message)) {
    fixes.push('  - the prebuilt binary needs a newer C/C++ runtime than this system has: `npm rebuild paramscope --build-from-source`');
  } else {
    fixes.push('  - rebuild for this Node.js version and platform: `npm rebuild paramscope`');
  }
  fixes.push('  - run `npx paramscope doctor` for details');
  // One line (the CLI's error line): the parts joined.
  return fixes.map((f) => f.trim()).join(' ');
}
