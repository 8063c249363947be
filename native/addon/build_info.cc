// buildInfo(): what this binary is and what it uses at run time (BLAS backend, ISA, threads).
#include <Eigen/Core>
#include <thread>

#include "addon.hpp"
#include "paramscope/blas.hpp"
#include "paramscope/config.hpp"
#include "paramscope/dtype.hpp"

namespace paramscope::addon {

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const blas::Backend& backend = blas::backend();
  const CpuFeatures& cpu = cpu_features();
  Napi::Object out = Napi::Object::New(env);
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("blasBuild", PARAMSCOPE_WITH_BLAS ? "runtime-openblas" : "eigen-only");
  out.Set("backend", backend.name);
  out.Set("blasLibrary", backend.library_path);
  out.Set("blasConfig", backend.config);
  out.Set("blasCore", backend.corename);
  out.Set("lapack", backend.is_openblas() ? backend.lapack : true);
  out.Set("lapackProvider", backend.is_openblas() && backend.lapack ? "openblas" : "eigen");
  out.Set("whyEigen", backend.why_eigen);
  out.Set("threads", blas::threads());
  out.Set("hardwareThreads", std::thread::hardware_concurrency());
  out.Set("eigenVersion", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                               std::to_string(EIGEN_MINOR_VERSION));
  out.Set("simd", cpu.best_level());
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("sse4_2", cpu.sse42);
  flags.Set("avx", cpu.avx);
  flags.Set("avx2", cpu.avx2);
  flags.Set("fma", cpu.fma);
  flags.Set("f16c", cpu.f16c);
  flags.Set("avx512f", cpu.avx512f);
  flags.Set("avx512bf16", cpu.avx512bf16);
  out.Set("cpuFlags", flags);
#if defined(__clang__)
  out.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  out.Set("compiler", std::string("gcc ") + __VERSION__);
#endif
  return out;
}

}  // namespace paramscope::addon
