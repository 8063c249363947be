#include "paramscope/runtime.hpp"

#include <Eigen/Core>
#include <limits>
#include <thread>

#include "internal/blas.hpp"
#include "internal/gram_syrk.hpp"
#include "internal/skinny_sgemm.hpp"
#include "paramscope/config.hpp"

namespace paramscope {

RuntimeInfo runtime_info() {
  const blas::Backend& backend = blas::backend();
  RuntimeInfo info;
  info.runtime_blas = PARAMSCOPE_WITH_BLAS;
  info.backend = backend.name;
  info.blas_library = backend.library_path;
  info.blas_config = backend.config;
  info.blas_core = backend.corename;
  info.why_eigen = backend.why_eigen;
  info.lapack = backend.is_openblas() && backend.lapack;
  info.blas_threads = blas::threads();
  info.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  info.eigen_version = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION);
#if defined(__clang__)
  info.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  info.compiler = std::string("gcc ") + __VERSION__;
#else
  info.compiler = "unknown";
#endif
  info.cpu = cpu_features();
  info.thin_products = cpu::skinny_sgemm_available() ? "avx512" : "blas";
  info.gram_product = cpu::gram_syrk_preferred() ? "avx512" : "blas";
  info.default_lanes = lane_count(info.engine_defaults, std::numeric_limits<size_t>::max());
  info.min_lane_bytes = config::kMinLaneBytes;
  return info;
}

}  // namespace paramscope
