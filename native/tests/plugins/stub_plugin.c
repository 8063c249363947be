/* Stub device plugins for the backend tests (test_backend.cpp, test/unit/backend.test.ts): the plugin
 * loader's failure paths and the plugin path end to end, on machines without a GPU. One source, built
 * in three variants:
 *   STUB_NO_DEVICE   probe reports that no device is present;
 *   STUB_WRONG_ABI   a table of another ABI version;
 *   (neither)        a "device" that is the host: plain loops for every operation, so results can be
 *                    checked against the CPU backend within rounding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paramscope/plugin_abi.h"

static const char* no_error(void* context) {
  (void)context;
  return "stub: no error";
}

static int probe(paramscope_device_info* info, char* why, size_t why_size) {
#ifdef STUB_NO_DEVICE
  (void)info;
  snprintf(why, why_size, "stub plugin: no CUDA device is present (cudaGetDeviceCount returned 0)");
  return 1;
#else
  (void)why;
  (void)why_size;
  snprintf(info->device, sizeof info->device, "stub host device");
  info->memory_bytes = 1ull << 30;
  snprintf(info->driver_version, sizeof info->driver_version, "stub driver 1.0");
  snprintf(info->runtime_version, sizeof info->runtime_version, "stub runtime 1.0");
  snprintf(info->libraries, sizeof info->libraries, "none");
  return 0;
#endif
}

static int open_count = 0;

static void* open_context(uint64_t budget, char* why, size_t why_size) {
  (void)budget;
  (void)why;
  (void)why_size;
  ++open_count;
  return &open_count;
}

static void close_context(void* context) { (void)context; }

#define AT(a, lda, i, j) (a)[(size_t)(i) + (size_t)(j) * (size_t)(lda)]

static int dgemm(void* ctx, int ta, int tb, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
                 const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) {
  (void)ctx;
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) {
      double s = 0;
      for (uint64_t p = 0; p < k; ++p) s += (ta ? AT(a, lda, p, i) : AT(a, lda, i, p)) * (tb ? AT(b, ldb, j, p) : AT(b, ldb, p, j));
      AT(c, ldc, i, j) = alpha * s + (beta == 0 ? 0 : beta * AT(c, ldc, i, j));
    }
  return 0;
}

static int sgemm(void* ctx, int ta, int tb, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                 uint64_t ldb, float* c, uint64_t ldc) {
  (void)ctx;
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) {
      double s = 0;
      for (uint64_t p = 0; p < k; ++p) s += (double)(ta ? AT(a, lda, p, i) : AT(a, lda, i, p)) * (tb ? AT(b, ldb, j, p) : AT(b, ldb, p, j));
      AT(c, ldc, i, j) = (float)s;
    }
  return 0;
}

static int dsyrk_lower(void* ctx, int trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta,
                       double* c, uint64_t ldc) {
  (void)ctx;
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = j; i < n; ++i) {
      double s = 0;
      for (uint64_t p = 0; p < k; ++p) s += (trans ? AT(a, lda, p, i) * AT(a, lda, p, j) : AT(a, lda, i, p) * AT(a, lda, j, p));
      AT(c, ldc, i, j) = alpha * s + (beta == 0 ? 0 : beta * AT(c, ldc, i, j));
    }
  return 0;
}

static int compare_doubles(const void* x, const void* y) {
  const double a = *(const double*)x, b = *(const double*)y;
  return a < b ? -1 : a > b;
}

/* Cyclic Jacobi on the full symmetric matrix (mirrored from its lower triangle). */
static int symmetric_eigenvalues(void* ctx, uint64_t n, double* a, uint64_t lda, double* w) {
  (void)ctx;
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = j + 1; i < n; ++i) AT(a, lda, j, i) = AT(a, lda, i, j);
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (uint64_t q = 0; q < n; ++q)
      for (uint64_t p = q + 1; p < n; ++p) off += AT(a, lda, p, q) * AT(a, lda, p, q);
    if (off < 1e-30) break;
    for (uint64_t p = 0; p < n; ++p)
      for (uint64_t q = p + 1; q < n; ++q) {
        const double apq = AT(a, lda, p, q);
        if (fabs(apq) < 1e-300) continue;
        const double theta = (AT(a, lda, q, q) - AT(a, lda, p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        const double cs = 1 / sqrt(t * t + 1), sn = t * cs;
        for (uint64_t r = 0; r < n; ++r) {
          const double arp = AT(a, lda, r, p), arq = AT(a, lda, r, q);
          AT(a, lda, r, p) = cs * arp - sn * arq;
          AT(a, lda, r, q) = sn * arp + cs * arq;
        }
        for (uint64_t r = 0; r < n; ++r) {
          const double apr = AT(a, lda, p, r), aqr = AT(a, lda, q, r);
          AT(a, lda, p, r) = cs * apr - sn * aqr;
          AT(a, lda, q, r) = sn * apr + cs * aqr;
        }
      }
  }
  for (uint64_t i = 0; i < n; ++i) w[i] = AT(a, lda, i, i);
  qsort(w, n, sizeof(double), compare_doubles);
  return 0;
}

/* Modified Gram–Schmidt, twice ("twice is enough"). */
static int orthonormalize_columns(void* ctx, uint64_t m, uint64_t n, double* a, uint64_t lda) {
  (void)ctx;
  for (int pass = 0; pass < 2; ++pass)
    for (uint64_t j = 0; j < n; ++j) {
      for (uint64_t p = 0; p < j; ++p) {
        double d = 0;
        for (uint64_t i = 0; i < m; ++i) d += AT(a, lda, i, p) * AT(a, lda, i, j);
        for (uint64_t i = 0; i < m; ++i) AT(a, lda, i, j) -= d * AT(a, lda, i, p);
      }
      double norm = 0;
      for (uint64_t i = 0; i < m; ++i) norm += AT(a, lda, i, j) * AT(a, lda, i, j);
      norm = sqrt(norm);
      for (uint64_t i = 0; i < m; ++i) AT(a, lda, i, j) = norm > 0 ? AT(a, lda, i, j) / norm : (i == j ? 1.0 : 0.0);
    }
  return 0;
}

static const paramscope_plugin table = {
#ifdef STUB_WRONG_ABI
    PARAMSCOPE_PLUGIN_ABI_VERSION + 98,
#else
    PARAMSCOPE_PLUGIN_ABI_VERSION,
#endif
    sizeof(paramscope_plugin),
    "stub",
    probe,
    open_context,
    close_context,
    no_error,
    dgemm,
    sgemm,
    dsyrk_lower,
    symmetric_eigenvalues,
    orthonormalize_columns,
};

__attribute__((visibility("default"))) const paramscope_plugin* paramscope_plugin_v1(void) { return &table; }
