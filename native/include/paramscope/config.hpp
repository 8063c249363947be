#pragma once
// The one configuration header shared by the node-gyp build (binding.gyp) and the CMake build. Build
// systems only set the PARAMSCOPE_WITH_* switches; every default and limit lives here.

// Runtime BLAS/LAPACK: when 1 the core looks for OpenBLAS with dlopen at run time and falls back to
// Eigen when it is absent. When 0 the binary is Eigen-only (no dlopen code at all).
#ifndef PARAMSCOPE_WITH_BLAS
#define PARAMSCOPE_WITH_BLAS 1
#endif

// Where the build found OpenBLAS through pkg-config; tried first at run time (may be empty).
#ifndef PARAMSCOPE_BLAS_LIBDIR
#define PARAMSCOPE_BLAS_LIBDIR ""
#endif

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

namespace paramscope::config {
// SAFETENSORS.md rule 2: the reference reader's limit on header size.
inline constexpr unsigned long long kMaxHeaderBytes = 100'000'000ULL;
// An index.json is small; anything larger than this is not one.
inline constexpr unsigned long long kMaxIndexBytes = 64ULL << 20;
// Nesting limit of the header JSON parser, so hostile input cannot exhaust the stack.
inline constexpr int kMaxJsonDepth = 64;
// Most JSON values one header may hold. The parsed tree costs ~100 bytes a value, so a 100 MB header of
// one-digit numbers would otherwise take gigabytes; 2 M values (~200 MB) is ten times what a shard
// header with 100,000 tensors needs.
inline constexpr uint64_t kMaxJsonValues = 2'000'000;
// Largest row panel a streaming pass decodes at once, whatever the budget: small enough that a panel
// takes tens of milliseconds (cancellation is checked between panels) and stays near the caches.
inline constexpr unsigned long long kMaxPanelBytes = 64ULL << 20;
// Default memory budget of one analysis (bytes), shared by the matrices it computes at once.
inline constexpr unsigned long long kDefaultMemoryBudget = 2ULL << 30;
// The smallest share of the budget the engine gives a lane when it chooses how many matrices to compute
// at once: a 4096×14336 matrix in f32 with the randomized solver's work arrays takes ~0.3 GiB.
inline constexpr unsigned long long kMinLaneBytes = 512ULL << 20;
// How far the engine's read-ahead thread reads beyond the next job to be taken, in stored bytes: enough
// to keep the disk busy while the lanes compute a job or two, little against the memory of a machine
// that cannot hold both sides of a 7B pair.
inline constexpr unsigned long long kReadAheadBytes = 2ULL << 30;
}  // namespace paramscope::config
