#include "internal/blas.hpp"

#include <cctype>
#include <cstdlib>
#include <thread>
#include <vector>

#include "paramscope/config.hpp"

#if PARAMSCOPE_WITH_BLAS
#include <dlfcn.h>
#endif

namespace paramscope::blas {

namespace {

#if PARAMSCOPE_WITH_BLAS
template <typename F>
bool bind(void* handle, const char* symbol, F& slot) {
  slot = reinterpret_cast<F>(dlsym(handle, symbol));
  return slot != nullptr;
}

bool try_load(const std::string& path, Backend& b, std::string& why) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    why = err ? err : ("cannot load " + path);
    return false;
  }
  Functions& f = b.fn;
  bool blas3 = bind(handle, "cblas_sgemm", f.sgemm) && bind(handle, "cblas_dgemm", f.dgemm) &&
               bind(handle, "cblas_ssyrk", f.ssyrk) && bind(handle, "cblas_dsyrk", f.dsyrk);
  if (!blas3) {
    why = path + " lacks the CBLAS level-3 routines";
    b.fn = Functions{};
    dlclose(handle);
    return false;
  }
  bool lapack = bind(handle, "dsyevd_", f.dsyevd) && bind(handle, "sgesdd_", f.sgesdd) &&
                bind(handle, "dgesdd_", f.dgesdd) && bind(handle, "dgeqrf_", f.dgeqrf) &&
                bind(handle, "dorgqr_", f.dorgqr) && bind(handle, "sgeqrf_", f.sgeqrf) &&
                bind(handle, "sorgqr_", f.sorgqr);
  bind(handle, "dsyevd_2stage_", f.dsyevd_2stage);
  bind(handle, "dsytrd_sy2sb_", f.dsytrd_sy2sb);
  bind(handle, "dsterf_", f.dsterf);
  bind(handle, "openblas_set_num_threads", f.set_num_threads);
  bind(handle, "openblas_get_num_threads", f.get_num_threads);
  bind(handle, "openblas_get_config", f.get_config);
  bind(handle, "openblas_get_corename", f.get_corename);
  b.name = "openblas";
  b.library_path = path;
  b.lapack = lapack;
  if (f.get_config) b.config = f.get_config();
  if (f.get_corename) b.corename = f.get_corename();
  std::string core(b.corename);
  for (char& ch : core) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  b.avx512_kernels = core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
  return true;  // the handle stays open for the life of the process
}
#endif

Backend load_backend() {
  Backend b;
  b.name = "eigen";
#if !PARAMSCOPE_WITH_BLAS
  b.why_eigen = "built without BLAS support (Eigen-only build)";
  return b;
#else
  const char* choice = std::getenv("PARAMSCOPE_BLAS");
  if (choice && std::string(choice) == "eigen") {
    b.why_eigen = "PARAMSCOPE_BLAS=eigen";
    return b;
  }
  std::vector<std::string> candidates;
  if (const char* explicit_path = std::getenv("PARAMSCOPE_BLAS_LIBRARY")) {
    candidates.push_back(explicit_path);  // only this one: the user said which library
  } else {
    std::string build_dir = PARAMSCOPE_BLAS_LIBDIR;
    if (!build_dir.empty()) candidates.push_back(build_dir + "/libopenblas.so.0");
    candidates.push_back("libopenblas.so.0");
    candidates.push_back("libopenblas.so");
  }
  std::string why;
  for (const auto& path : candidates) {
    std::string reason;
    if (try_load(path, b, reason)) return b;
    if (why.empty()) why = reason;
  }
  b = Backend{};
  b.name = "eigen";
  b.why_eigen = "OpenBLAS not found (" + why + ")";
  return b;
#endif
}

int g_threads = 0;

}  // namespace

const Backend& backend() {
  static const Backend b = [] {
    Backend loaded = load_backend();
    g_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (loaded.fn.get_num_threads) g_threads = loaded.fn.get_num_threads();
    return loaded;
  }();
  return b;
}

void set_threads(int n) {
  const Backend& b = backend();
  if (n < 1) n = 1;
  g_threads = n;
  if (b.fn.set_num_threads) b.fn.set_num_threads(n);
}

int threads() {
  backend();
  return g_threads;
}

}  // namespace paramscope::blas
