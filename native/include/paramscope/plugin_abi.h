/* The C ABI between the core and a device plugin (native/cuda/, loaded with dlopen). Plain C so a
 * plugin can be built with any compiler and toolkit; versioned, and checked at load: the core refuses a
 * plugin whose abi_version differs from PARAMSCOPE_PLUGIN_ABI_VERSION or whose table is shorter than the
 * core expects. Every matrix argument is in host memory, column-major with explicit leading dimensions
 * (paramscope/backend.hpp gives the meaning of each operation); a plugin moves data to its device and
 * back as it sees fit, within the device memory budget given to open().
 *
 * A plugin exports one symbol, PARAMSCOPE_PLUGIN_ENTRY, a function returning its table. Functions return
 * 0 on success; otherwise last_error(context) says why. */
#ifndef PARAMSCOPE_PLUGIN_ABI_H
#define PARAMSCOPE_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARAMSCOPE_PLUGIN_ABI_VERSION 1u
#define PARAMSCOPE_PLUGIN_ENTRY "paramscope_plugin_v1"

typedef struct paramscope_device_info {
  char device[256];         /* e.g. "NVIDIA H200" */
  uint64_t memory_bytes;    /* device memory */
  char driver_version[64];  /* e.g. "570.86.15" */
  char runtime_version[64]; /* e.g. "CUDA runtime 12.8" */
  char libraries[256];      /* e.g. "cuBLAS 12.8.3, cuSOLVER 11.7.2" */
} paramscope_device_info;

typedef struct paramscope_plugin {
  uint32_t abi_version; /* PARAMSCOPE_PLUGIN_ABI_VERSION the plugin was built for */
  uint32_t table_size;  /* sizeof(paramscope_plugin) as the plugin was built */
  const char* name;     /* "cuda" */

  /* 0 when a device is usable, filling *info; else a reason in why[0..why_size) (no driver, no device,
   * which library failed to load). Cheap: called by doctor and by automatic backend selection. */
  int (*probe)(paramscope_device_info* info, char* why, size_t why_size);
  /* A context for one analysis; NULL with a reason in why on failure. */
  void* (*open)(uint64_t device_memory_budget, char* why, size_t why_size);
  void (*close)(void* context);
  const char* (*last_error)(void* context);

  int (*dgemm)(void* context, int trans_a, int trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a,
               uint64_t lda, const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc);
  int (*sgemm)(void* context, int trans_a, int trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda,
               const float* b, uint64_t ldb, float* c, uint64_t ldc);
  int (*dsyrk_lower)(void* context, int trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta,
                     double* c, uint64_t ldc);
  /* Eigenvalues, ascending, of the symmetric n×n matrix whose lower triangle a holds; a is destroyed. */
  int (*symmetric_eigenvalues)(void* context, uint64_t n, double* a, uint64_t lda, double* w);
  /* The thin QR factor Q of the m×n matrix a (m ≥ n), in place. */
  int (*orthonormalize_columns)(void* context, uint64_t m, uint64_t n, double* a, uint64_t lda);
} paramscope_plugin;

typedef const paramscope_plugin* (*paramscope_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PARAMSCOPE_PLUGIN_ABI_H */
