#pragma once
// The few heavy operations of the spectral solvers behind one seam, so that a device can take them:
// dense products (f64, and f32 for the truncated solver's resident matrix), the Gram update (syrk), the
// eigenvalues of a Gram matrix, and orthonormalisation. The CPU backend is the OpenBLAS/LAPACK route
// loaded at run time, with Eigen where OpenBLAS is absent; a device backend is an optional plugin
// loaded with dlopen (native/cuda/, C ABI in paramscope/plugin_abi.h), so no binary links a device
// library. All matrices are column-major with explicit leading dimensions, in host memory.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace paramscope {

// How the eigenvalues of a Gram matrix are found (values only) on the CPU. Measured for n = 4096 (Gram
// of a 4096×11008 matrix) on the 2-core EPYC dev box, OpenBLAS 0.3.21, best of interleaved rounds on a
// shared host: dsyevd 3.3–4.5 s, dsyevd_2stage 4.2–5.7 s, dsyevr 4.4 s, band reduction 3.1–3.6 s; under
// load from other jobs band reduction held at 5.4–7.1 s while dsyevd varied 6–14 s (its Householder
// tridiagonalisation is half BLAS-2, memory-bound; the band route is BLAS-3 but for an O(n²·64) band
// sweep). Auto therefore picks BandReduction, and dsyevd where the band routines are missing or n ≤ 128.
enum class GramEigensolver {
  Auto,
  Dsyevd,        // LAPACK dsyevd, JOBZ='N' (Householder tridiagonalisation + dsterf)
  Dsyevd2Stage,  // LAPACK dsyevd_2stage, JOBZ='N' (dense → band → tridiagonal)
  BandReduction, // dsytrd_sy2sb (BLAS-3 dense → band, bandwidth 64) + our bulge chasing + dsterf
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", or the plugin's name ("cuda").
  virtual std::string name() const = 0;

  // C = alpha·op(A)·op(B) + beta·C with C m×n and inner dimension k (beta == 0 overwrites C).
  virtual void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
                    const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) const = 0;
  // C = op(A)·op(B) in single precision (the truncated solver's products with its resident f32 copy).
  virtual void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                     uint64_t ldb, float* c, uint64_t ldc) const = 0;
  // Lower triangle of C = alpha·op(A)·op(A)ᵀ + beta·C, C n×n, op(A) n×k (trans: A is k×n).
  virtual void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                          uint64_t ldc) const = 0;
  // Eigenvalues, ascending, of the symmetric g×g matrix whose lower triangle `gram` holds (leading
  // dimension g); destroys it. `method` names the route taken (reported as the spectrum's method).
  virtual std::vector<double> gram_eigenvalues(uint64_t g, double* gram, GramEigensolver choice, std::string& method) const = 0;
  // Whether gram_eigenvalues needs a second g×g copy of its input (counted against the memory budget).
  virtual bool gram_eigenvalues_copy_input() const = 0;
  // Overwrites the m×n matrix A (m ≥ n) with the n orthonormal columns of its thin QR factor Q. With
  // `well_conditioned_is_enough` (intermediate power-iteration blocks, where only the span matters) the
  // columns may be orthonormal only to about u·cond(A)².
  virtual void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool well_conditioned_is_enough) const = 0;
};

// The CPU backend (OpenBLAS when loaded, else Eigen).
const Backend& cpu_backend();

// The backend the solvers use on the calling thread: the one a BackendScope installed, else the CPU's.
const Backend& current_backend();

// Installs `backend` for the calling thread while it lives (nestable; restores the previous one).
class BackendScope {
 public:
  explicit BackendScope(std::shared_ptr<const Backend> backend);
  ~BackendScope();
  BackendScope(const BackendScope&) = delete;
  BackendScope& operator=(const BackendScope&) = delete;

 private:
  std::shared_ptr<const Backend> backend_;
  const Backend* previous_;
};

enum class BackendChoice { Auto, Cpu, Cuda };

// What the device plugin offers here: whether it loaded and found a device, and why not.
struct DeviceStatus {
  bool available = false;
  std::string plugin_path;  // the file loaded, or the places looked in
  std::string why;          // when not available: no plugin, wrong ABI version, no driver, no device, …
  std::string device;       // the device's name
  uint64_t memory_bytes = 0;
  std::string driver_version, runtime_version, libraries;
};

// Loads the CUDA plugin once (PARAMSCOPE_CUDA_PLUGIN names the file; else paramscope_cuda.so beside
// the addon, then the library search path), checks its ABI version and asks it for a device.
const DeviceStatus& cuda_status();

// The backend for `choice`: Cpu always works; Cuda throws BACKEND_UNAVAILABLE saying why when the
// plugin or a device is missing; Auto takes CUDA when it is available, else the CPU.
// `device_memory_budget` bounds what a device backend may allocate (0: its own default).
std::shared_ptr<const Backend> select_backend(BackendChoice choice, uint64_t device_memory_budget = 0);

}  // namespace paramscope
