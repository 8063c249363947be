#pragma once
// BLAS/LAPACK chosen at run time. The binary never links OpenBLAS: when built with
// PARAMSCOPE_WITH_BLAS it looks for the system's libopenblas with dlopen on first use and takes the
// functions it needs from it; without it (or with PARAMSCOPE_BLAS=eigen in the environment) every
// routine falls back to Eigen. So one prebuilt binary runs on machines with and without OpenBLAS and
// uses it where it is installed.
#include <string>

namespace paramscope::blas {

enum CblasOrder { RowMajor = 101, ColMajor = 102 };
enum CblasTranspose { NoTrans = 111, Trans = 112 };
enum CblasUplo { Upper = 121, Lower = 122 };

struct Functions {
  void (*sgemm)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int) = nullptr;
  void (*dgemm)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int) = nullptr;
  void (*ssyrk)(int, int, int, int, int, float, const float*, int, float, float*, int) = nullptr;
  void (*dsyrk)(int, int, int, int, int, double, const double*, int, double, double*, int) = nullptr;
  // LAPACK, Fortran calling convention (all arguments by pointer, trailing string lengths).
  void (*dsyevd)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*, int*, const int*, int*, size_t, size_t) = nullptr;
  void (*dsyevd_2stage)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*, int*, const int*, int*, size_t, size_t) = nullptr;
  void (*sgesdd)(const char*, const int*, const int*, float*, const int*, float*, float*, const int*, float*, const int*, float*, const int*, int*, int*, size_t) = nullptr;
  void (*dgesdd)(const char*, const int*, const int*, double*, const int*, double*, double*, const int*, double*, const int*, double*, const int*, int*, int*, size_t) = nullptr;
  void (*dgeqrf)(const int*, const int*, double*, const int*, double*, double*, const int*, int*) = nullptr;
  void (*dorgqr)(const int*, const int*, const int*, double*, const int*, const double*, double*, const int*, int*) = nullptr;
  void (*sgeqrf)(const int*, const int*, float*, const int*, float*, float*, const int*, int*) = nullptr;
  void (*sorgqr)(const int*, const int*, const int*, float*, const int*, const float*, float*, const int*, int*) = nullptr;
  // Optional pieces of the symmetric eigensolver, for values-only routes (may be null with LAPACK).
  void (*dsytrd_sy2sb)(const char*, const int*, const int*, double*, const int*, double*, const int*, double*, double*, const int*, int*, size_t) = nullptr;
  void (*dsterf)(const int*, double*, double*, int*) = nullptr;
  void (*set_num_threads)(int) = nullptr;
  int (*get_num_threads)() = nullptr;
  char* (*get_config)() = nullptr;
  char* (*get_corename)() = nullptr;
};

struct Backend {
  std::string name;          // "openblas" or "eigen"
  std::string library_path;  // the file dlopen'ed ("" for eigen)
  std::string config;        // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  std::string corename;      // the kernel OpenBLAS picked for this CPU
  bool avx512_kernels = false;  // corename is one of OpenBLAS's AVX-512 families (SkylakeX, Cooperlake, SapphireRapids)
  std::string why_eigen;     // when name == "eigen": why OpenBLAS is not in use
  bool lapack = false;       // dsyevd/gesdd available from the library
  Functions fn;
  bool is_openblas() const noexcept { return name == "openblas"; }
};

// Loaded once, thread-safe.
const Backend& backend();

// The number of threads BLAS uses inside one call (1 when the engine parallelises across jobs).
void set_threads(int threads);
int threads();

}  // namespace paramscope::blas
