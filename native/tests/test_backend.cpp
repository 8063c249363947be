// The backend seam (paramscope/backend.hpp): the CPU backend through it gives the results of before the
// seam bit for bit (recorded hashes on the machine they were recorded on; the same bits whichever way
// the CPU backend is selected everywhere); the plugin loader's failure paths (missing file, not a
// plugin, wrong ABI version, no device) and the error for an unavailable backend; and the plugin path end
// to end with a stub plugin whose "device" is the host, against the CPU within rounding.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "internal/blas.hpp"
#include "internal/plugin.hpp"
#include "paramscope/backend.hpp"
#include "paramscope/dtype.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/linop.hpp"
#include "paramscope/spectrum.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

const std::string kPlugins = STUB_PLUGIN_DIR;

std::vector<float> matrix(uint64_t m, uint64_t n, uint64_t seed) {
  std::vector<float> v(m * n);
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = float(int64_t(s >> 33) % 2001 - 1000) / 1000.0f;
  }
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t j = 0; j < n; ++j) v[i * n + j] += 3.0f * std::sin(0.01f * float(i * 7 + j * 3));
  return v;
}

// FNV-1a over every double a spectrum holds.
uint64_t spectrum_hash(const Spectrum& s) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](double d) {
    uint64_t b;
    std::memcpy(&b, &d, 8);
    h = (h ^ b) * 1099511628211ULL;
  };
  for (double v : s.values) mix(v);
  for (double v : s.error_bounds) mix(v);
  mix(s.frobenius_squared);
  for (double v : s.u) mix(v);
  for (double v : s.v) mix(v);
  return h;
}

struct Case {
  const char* name;
  Spectrum (*run)();
};

const std::vector<float>& a() { static auto m = matrix(300, 200, 1); return m; }
const std::vector<float>& b() { static auto m = matrix(300, 200, 2); return m; }
const std::vector<float>& w() { static auto m = matrix(180, 420, 3); return m; }

DiffOp difference() {
  return DiffOp(300, 200, [](uint64_t r0, uint64_t r1, float* d) { std::memcpy(d, a().data() + r0 * 200, (r1 - r0) * 200 * 4); },
                [](uint64_t r0, uint64_t r1, float* d) { std::memcpy(d, b().data() + r0 * 200, (r1 - r0) * 200 * 4); });
}

LowRankOp low_rank() {
  static std::vector<float> lb, la;
  if (lb.empty()) {
    lb.resize(300 * 5);
    la.resize(5 * 200);
    for (size_t i = 0; i < lb.size(); ++i) lb[i] = std::cos(0.3f * i);
    for (size_t i = 0; i < la.size(); ++i) la[i] = std::sin(0.2f * i);
  }
  return LowRankOp(300, 200, 5, lb.data(), la.data(), 0.5);
}

// The spectra whose hashes were recorded before the seam existed (session 3, same inputs).
const Case kCases[] = {
    {"exact_gram_tall", [] { return exact_spectrum(DenseOp(300, 200, a().data()), {}); }},
    {"exact_gram_wide", [] { return exact_spectrum(DenseOp(180, 420, w().data()), {}); }},
    {"exact_direct_vectors", [] { ExactOptions o; o.route = ExactRoute::Direct; o.vectors = true; return exact_spectrum(DenseOp(300, 200, a().data()), o); }},
    {"truncated_f64", [] { TruncatedOptions t; t.rank = 16; return truncated_spectrum(DenseOp(300, 200, a().data()), t); }},
    {"truncated_f64_diff", [] { TruncatedOptions t; t.rank = 16; return truncated_spectrum(difference(), t); }},
    {"truncated_f32_vectors", [] { TruncatedOptions t; t.rank = 16; t.single_precision = true; t.vectors = true; return truncated_spectrum(DenseOp(180, 420, w().data()), t); }},
    {"truncated_f32_tolerance", [] { TruncatedOptions t; t.rank = 16; t.single_precision = true; t.tolerance = 1e-6; return truncated_spectrum(difference(), t); }},
    {"low_rank_exact", [] { return exact_spectrum(low_rank(), {}); }},
    {"low_rank_truncated", [] { TruncatedOptions t; t.rank = 4; return truncated_spectrum(low_rank(), t); }},
};

// Recorded on the dev VM (x86-64, gcc 12.2, Debian 12): OpenBLAS 0.3.21 on its Cooperlake kernels, and
// the Eigen fallback (PARAMSCOPE_BLAS=eigen or an Eigen-only build), on a CPU without AVX-512F. The f32
// truncated cases of the OpenBLAS row are those of the skinny kernels (Cooperlake implies AVX-512F); the
// two exact Gram cases were re-recorded when the band stage became the core's own (session 6), on a
// Zen 5 with OPENBLAS_CORETYPE=Cooperlake (which reproduces the other seven recorded values there).
// Both exact Gram cases' ‖A‖_F² is summed per row block since a matrix that fits is copied in on all
// the job's threads (session 8); re-recorded then on an Intel Xeon with AVX512-BF16 (its other cases
// matched the rows). ‖A‖_F² comes from the AVX2 kernel on AVX2 and AVX-512 CPUs alike, and these Grams
// (< 256 rows) are Eigen's product on both, so the two Eigen rows share those values.
const uint64_t kOpenBlasCooperlake[] = {0xee67dc4f1e6cde5dULL, 0x10b00bad4af24279ULL, 0xc4d6819e880384aeULL,
                                        0x22d3ebad91ef7528ULL, 0x2474c3ffc9e3aed9ULL, 0xcd727124d50b217bULL,
                                        0x751201da1d8ef0a2ULL, 0x9fb7ebaaba5e677dULL, 0x3d9bade0e91b6c69ULL};
const uint64_t kEigen[] = {0x8050253384922f1aULL, 0x1ea98ef5a2e55f1eULL, 0x08b33be4577f3314ULL, 0xcf87bd8c28a4a406ULL,
                           0xc7e75fe1390d5c99ULL, 0x780ab08f8eb57ab2ULL, 0x7d466b45d444265cULL, 0x9fb872aaba5f4ce2ULL,
                           0xd89b95d4c90cb851ULL};
// With AVX-512F the f32 thin products A·X and Aᵀ·Q take the skinny kernels (internal/skinny_sgemm.hpp)
// whatever the BLAS, so the two f32 truncated cases differ from the Eigen ones above (recorded the same
// way; re-recorded when Aᵀ·Q got its kernel, session 7).
const uint64_t kEigenAvx512[] = {0x8050253384922f1aULL, 0x1ea98ef5a2e55f1eULL, 0x08b33be4577f3314ULL, 0xcf87bd8c28a4a406ULL,
                                 0xc7e75fe1390d5c99ULL, 0x1496dd4d251b9ad2ULL, 0xcb3e131075e75244ULL, 0x9fb872aaba5f4ce2ULL,
                                 0xd89b95d4c90cb851ULL};

// Eigen's BDCSVD with vectors (exact_direct_vectors) gives other bits on the session-6 Intel Xeon VM
// (AVX-512, AMX) than on the EPYC where the rows above were recorded, already before the band stage
// changed (checked on 0b36057); every other case matches there. Recorded the same way.
constexpr size_t kDirectVectorsCase = 2;
constexpr uint64_t kEigenDirectVectorsXeon = 0x3c1b351fb66771e8ULL;

bool matches_recorded(const uint64_t* recorded, size_t i, uint64_t hash, bool eigen) {
  return hash == recorded[i] || (eigen && i == kDirectVectorsCase && hash == kEigenDirectVectorsXeon);
}

std::shared_ptr<const Backend> host_stub() {
  LoadedPlugin plugin = load_plugin({kPlugins + "/paramscope_stub_host.so"});
  if (!plugin.table) {
    std::printf("  stub plugin did not load: %s\n", plugin.status.why.c_str());
    return nullptr;
  }
  return plugin_backend(plugin.table, 0);
}

}  // namespace

TEST_CASE(the_cpu_backend_gives_the_bits_of_before_the_seam) {
  // The OpenBLAS row holds for its Cooperlake kernels, which any CPU with AVX512-BF16 runs: ask for them
  // before the library is loaded, so the check runs on more hosts than the one it was recorded on (also
  // over a coretype the environment sets: some hosts here export OPENBLAS_CORETYPE=Haswell).
  if (cpu_features().avx512bf16) setenv("OPENBLAS_CORETYPE", "Cooperlake", 1);
  const blas::Backend& blas = blas::backend();
  const uint64_t* recorded = nullptr;
  if (!blas.is_openblas()) recorded = cpu_features().avx512f ? kEigenAvx512 : kEigen;
  else if (blas.corename == "Cooperlake" && blas.config.rfind("OpenBLAS 0.3.21 ", 0) == 0) recorded = kOpenBlasCooperlake;
  if (!recorded) std::printf("  [skip] recorded hashes are for OpenBLAS 0.3.21 Cooperlake or Eigen; this is %s %s\n", blas.config.c_str(), blas.corename.c_str());
  const std::shared_ptr<const Backend> cpu = select_backend(BackendChoice::Cpu);
  for (size_t i = 0; i < std::size(kCases); ++i) {
    const uint64_t plain = spectrum_hash(kCases[i].run());
    uint64_t selected;
    {
      BackendScope scope(cpu);
      selected = spectrum_hash(kCases[i].run());
    }
    CHECK(plain == selected);
    if (!recorded) continue;
    const bool matches = matches_recorded(recorded, i, plain, !blas.is_openblas());
    if (!matches) std::printf("  %s: 0x%016llx, recorded 0x%016llx\n", kCases[i].name, (unsigned long long)plain, (unsigned long long)recorded[i]);
    CHECK(matches);
  }
}

TEST_CASE(the_plugin_loader_says_why_a_plugin_cannot_be_used) {
  LoadedPlugin missing = load_plugin({kPlugins + "/no-such-plugin.so"});
  CHECK(!missing.table && missing.status.why.find("no CUDA plugin") != std::string::npos);
  CHECK(missing.status.why.find("no-such-plugin.so") != std::string::npos);
  LoadedPlugin not_plugin = load_plugin({"libm.so.6"});
  CHECK(!not_plugin.table && not_plugin.status.why.find("not a paramscope plugin") != std::string::npos);
  LoadedPlugin wrong = load_plugin({kPlugins + "/paramscope_stub_wrong_abi.so"});
  CHECK(!wrong.table && wrong.status.why.find("ABI version 99") != std::string::npos);
  LoadedPlugin no_device = load_plugin({kPlugins + "/paramscope_stub_no_device.so"});
  CHECK(!no_device.table && no_device.status.why.find("no CUDA device") != std::string::npos);
  LoadedPlugin host = load_plugin({kPlugins + "/no-such-plugin.so", kPlugins + "/paramscope_stub_host.so"});
  CHECK(host.table && host.status.available && host.status.device == "stub host device" && host.status.memory_bytes == (1ull << 30));
}

TEST_CASE(asking_for_an_unavailable_backend_is_a_coded_error) {
  // No plugin beside this program and PARAMSCOPE_CUDA_PLUGIN unset (ctest's environment).
  if (cuda_status().available) {
    std::printf("  [skip] a CUDA plugin is available here\n");
    return;
  }
  CHECK_THROWS_CODE(select_backend(BackendChoice::Cuda), BACKEND_UNAVAILABLE);
  CHECK(select_backend(BackendChoice::Auto)->name() == "cpu");
  try {
    select_backend(BackendChoice::Cuda);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(cuda_status().why) != std::string::npos);
  }
}

TEST_CASE(a_plugin_backend_computes_the_same_spectra_within_rounding) {
  const std::shared_ptr<const Backend> stub = host_stub();
  CHECK(stub != nullptr);
  if (!stub) return;
  for (const Case& c : kCases) {
    const Spectrum cpu = c.run();
    Spectrum device;
    {
      BackendScope scope(stub);
      device = c.run();
    }
    CHECK(device.values.size() == cpu.values.size());
    const double sigma1 = cpu.values.empty() ? 0 : cpu.values[0];
    for (size_t i = 0; i < std::min(cpu.values.size(), device.values.size()); ++i)
      CHECK_NEAR(device.values[i], cpu.values[i], 1e-6 * sigma1 + cpu.error_bounds[i] + device.error_bounds[i]);
    if (std::string(c.name).rfind("exact_gram", 0) == 0) CHECK(device.method == "gram-stub");
  }
}

TEST_CASE(the_engine_refuses_an_unavailable_backend_before_any_job) {
  std::vector<MatrixJob> jobs;
  for (int i = 0; i < 3; ++i) {
    MatrixJob job;
    job.name = "m" + std::to_string(i);
    job.make_operator = [] { return std::make_unique<DenseOp>(180, 420, w().data()); };
    jobs.push_back(std::move(job));
  }
  std::vector<JobResult> results;
  EngineCallbacks callbacks;
  callbacks.on_result = [&](JobResult&& r) { results.push_back(std::move(r)); };
  std::atomic<bool> cancel{false};
  EngineOptions options;
  if (!cuda_status().available) {
    options.backend = BackendChoice::Cuda;
    CHECK_THROWS_CODE(run_engine(jobs, options, callbacks, cancel), BACKEND_UNAVAILABLE);
    CHECK(results.empty());
  }
  options.backend = BackendChoice::Cpu;
  run_engine(jobs, options, callbacks, cancel);
  CHECK(results.size() == 3);
  for (const JobResult& r : results) CHECK(!r.error && r.spectrum.method.rfind("gram-", 0) == 0 && r.spectrum.method != "gram-stub");
}

TEST_MAIN()
