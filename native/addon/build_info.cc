// buildInfo(), engineDefaults(), dtypeTable(): what this binary is and uses at run time, the engine's
// defaults and the dtype table, converted from the core (paramscope/runtime.hpp, dtype.hpp).
#include "addon.hpp"
#include "paramscope/backend.hpp"
#include "paramscope/config.hpp"
#include "paramscope/dtype.hpp"
#include "paramscope/runtime.hpp"

namespace paramscope::addon {

namespace {

Napi::Object engine_options_to_js(Napi::Env env, const EngineOptions& o) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", o.mode == SpectrumMode::Truncated ? "truncated" : "exact");
  out.Set("rank", static_cast<double>(o.truncated.rank));
  out.Set("oversampling", static_cast<double>(o.truncated.oversampling));
  out.Set("powerIterations", o.truncated.power_iterations);
  out.Set("tolerance", o.truncated.tolerance);
  out.Set("maxIterations", o.truncated.max_iterations);
  out.Set("seed", static_cast<double>(o.truncated.seed));
  out.Set("precision", o.truncated.single_precision ? "f32" : "f64");
  out.Set("vectors", o.truncated.vectors);
  out.Set("exactRoute", o.exact.route == ExactRoute::Gram ? "gram" : o.exact.route == ExactRoute::Direct ? "direct" : "auto");
  out.Set("memoryBudget", static_cast<double>(o.memory_budget));
  out.Set("threads", o.threads);
  out.Set("parallelMatrices", o.lanes);
  out.Set("backend", o.backend == BackendChoice::Cpu ? "cpu" : o.backend == BackendChoice::Cuda ? "cuda" : "auto");
  out.Set("deviceMemoryBudget", static_cast<double>(o.device_memory_budget));
  return out;
}

}  // namespace

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const RuntimeInfo runtime = runtime_info();
  const CpuFeatures& cpu = runtime.cpu;
  const bool openblas = runtime.backend == "openblas";
  Napi::Object out = Napi::Object::New(env);
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("blasBuild", runtime.runtime_blas ? "runtime-openblas" : "eigen-only");
  out.Set("backend", runtime.backend);
  out.Set("blasLibrary", runtime.blas_library);
  out.Set("blasConfig", runtime.blas_config);
  out.Set("blasCore", runtime.blas_core);
  out.Set("lapack", openblas ? runtime.lapack : true);  // Eigen's solvers stand in for LAPACK
  out.Set("lapackProvider", runtime.lapack ? "openblas" : "eigen");
  out.Set("whyEigen", runtime.why_eigen);
  out.Set("threads", runtime.blas_threads);
  out.Set("hardwareThreads", runtime.hardware_threads);
  out.Set("eigenVersion", runtime.eigen_version);
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
  out.Set("thinProducts", runtime.thin_products);
  out.Set("gramProduct", runtime.gram_product);
  out.Set("compiler", runtime.compiler);
  Napi::Object engine = Napi::Object::New(env);
  engine.Set("defaults", engine_options_to_js(env, runtime.engine_defaults));
  engine.Set("defaultLanes", runtime.default_lanes);
  engine.Set("minLaneBytes", static_cast<double>(runtime.min_lane_bytes));
  out.Set("engine", engine);
  const DeviceStatus& cuda = cuda_status();
  Napi::Object device = Napi::Object::New(env);
  device.Set("available", cuda.available);
  device.Set("plugin", cuda.plugin_path);
  device.Set("why", cuda.why);
  device.Set("device", cuda.device);
  device.Set("memoryBytes", static_cast<double>(cuda.memory_bytes));
  device.Set("driverVersion", cuda.driver_version);
  device.Set("runtimeVersion", cuda.runtime_version);
  device.Set("libraries", cuda.libraries);
  out.Set("cuda", device);
  return out;
}

Napi::Value engine_defaults(const Napi::CallbackInfo& info) { return engine_options_to_js(info.Env(), EngineOptions{}); }

Napi::Value dtype_table(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t count = 0;
  const DTypeInfo* rows = paramscope::dtype_table(count);
  Napi::Array out = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; ++i) {
    Napi::Object row = Napi::Object::New(env);
    row.Set("name", std::string(rows[i].name));
    row.Set("bits", rows[i].bits);
    row.Set("isFloat", rows[i].is_float);
    row.Set("decodable", rows[i].decodable);
    row.Set("precision", rows[i].precision);
    row.Set("minExponent", rows[i].min_exponent);
    out.Set(static_cast<uint32_t>(i), row);
  }
  return out;
}

}  // namespace paramscope::addon
