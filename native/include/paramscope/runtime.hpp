#pragma once
// What this build of the core is and what it uses at run time: the BLAS/LAPACK backend it found, the
// SIMD level of this CPU, threads, and the engine's defaults and lane policy (for buildInfo / doctor).
#include <cstdint>
#include <string>

#include "paramscope/dtype.hpp"
#include "paramscope/engine.hpp"

namespace paramscope {

struct RuntimeInfo {
  bool runtime_blas = false;      // built to look for OpenBLAS at run time (false: Eigen-only build)
  std::string backend;            // "openblas" or "eigen"
  std::string blas_library;       // the file loaded ("" for Eigen)
  std::string blas_config, blas_core;
  std::string why_eigen;          // why OpenBLAS is not in use, when it is not
  bool lapack = false;            // LAPACK routines available (from OpenBLAS; else Eigen's solvers)
  int blas_threads = 1, hardware_threads = 1;
  std::string eigen_version, compiler;
  CpuFeatures cpu;
  std::string thin_products;      // who computes the solver's thin products A·X and Aᵀ·Q: "avx512" (cpu::skinny_sgemm) or "blas"
  std::string gram_product;       // who computes the exact route's large Grams: "avx512" (cpu::gram_syrk) or "blas"
  EngineOptions engine_defaults;  // EngineOptions{}: the defaults JavaScript fills options from
  int default_lanes = 1;          // matrices computed at once by a run of many jobs with those defaults
  uint64_t min_lane_bytes = 0;    // config::kMinLaneBytes
};

RuntimeInfo runtime_info();

}  // namespace paramscope
