// Backend selection: the thread's current backend, and the optional device plugin, found and checked
// at run time (dlopen), so no binary of the core links a device library.
#include "paramscope/backend.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "internal/plugin.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

namespace {

thread_local const Backend* t_current = nullptr;

// The directory of the binary this code is in (the addon, or a ctest program), for the plugin beside it.
std::string own_directory() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&own_directory), &info) || !info.dli_fname) return {};
  std::string path = info.dli_fname;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string trimmed(const char* text, size_t size) {
  size_t n = 0;
  while (n < size && text[n]) ++n;
  return std::string(text, n);
}

std::vector<std::string> cuda_plugin_candidates() {
  if (const char* explicit_path = std::getenv("PARAMSCOPE_CUDA_PLUGIN"); explicit_path && *explicit_path)
    return {explicit_path};  // only this one: the user said which file
  std::vector<std::string> candidates;
  if (std::string dir = own_directory(); !dir.empty()) candidates.push_back(dir + "/paramscope_cuda.so");
  candidates.push_back("paramscope_cuda.so");  // the library search path
  return candidates;
}

}  // namespace

LoadedPlugin load_plugin(const std::vector<std::string>& candidates) {
  LoadedPlugin plugin;
  DeviceStatus& status = plugin.status;
  void* handle = nullptr;
  std::string failures;
  for (const auto& path : candidates) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      status.plugin_path = path;
      break;
    }
    const char* error = dlerror();
    failures += (failures.empty() ? "" : "; ") + std::string(error ? error : path + ": cannot load");
  }
  if (!handle) {
    status.plugin_path = candidates.front();
    status.why = "no CUDA plugin (" + failures + ")";
    return plugin;
  }
  auto entry = reinterpret_cast<paramscope_plugin_entry_fn>(dlsym(handle, PARAMSCOPE_PLUGIN_ENTRY));
  const paramscope_plugin* table = entry ? entry() : nullptr;
  if (!table) {
    status.why = status.plugin_path + " is not a paramscope plugin (no " + PARAMSCOPE_PLUGIN_ENTRY + ")";
  } else if (table->abi_version != PARAMSCOPE_PLUGIN_ABI_VERSION) {
    status.why = status.plugin_path + " speaks plugin ABI version " + std::to_string(table->abi_version) + ", this build speaks " +
                 std::to_string(PARAMSCOPE_PLUGIN_ABI_VERSION) + ": rebuild the plugin";
  } else if (table->table_size < sizeof(paramscope_plugin)) {
    status.why = status.plugin_path + " has a function table of " + std::to_string(table->table_size) + " bytes, " +
                 std::to_string(sizeof(paramscope_plugin)) + " expected: rebuild the plugin";
  } else {
    paramscope_device_info info{};
    char why[512] = {0};
    if (table->probe(&info, why, sizeof why) != 0) {
      status.why = trimmed(why, sizeof why);
      if (status.why.empty()) status.why = "the plugin found no usable device";
    } else {
      status.available = true;
      status.device = trimmed(info.device, sizeof info.device);
      status.memory_bytes = info.memory_bytes;
      status.driver_version = trimmed(info.driver_version, sizeof info.driver_version);
      status.runtime_version = trimmed(info.runtime_version, sizeof info.runtime_version);
      status.libraries = trimmed(info.libraries, sizeof info.libraries);
      plugin.table = table;
      return plugin;  // the handle stays open for the life of the process
    }
  }
  dlclose(handle);
  return plugin;
}

namespace {

const LoadedPlugin& cuda_plugin() {
  static const LoadedPlugin plugin = load_plugin(cuda_plugin_candidates());
  return plugin;
}

// A device plugin behind the Backend interface: one context per selection, errors as paramscope::Error.
class PluginBackend final : public Backend {
 public:
  PluginBackend(const paramscope_plugin* table, uint64_t budget) : table_(table) {
    char why[512] = {0};
    context_ = table_->open(budget, why, sizeof why);
    if (!context_) throw Error(ErrorCode::BACKEND_UNAVAILABLE, std::string(table_->name) + " backend: " + trimmed(why, sizeof why));
  }
  ~PluginBackend() override { table_->close(context_); }
  PluginBackend(const PluginBackend&) = delete;
  PluginBackend& operator=(const PluginBackend&) = delete;

  std::string name() const override { return table_->name; }
  void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
            const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) const override {
    check(table_->dgemm(context_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "dgemm");
  }
  void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
             uint64_t ldb, float* c, uint64_t ldc) const override {
    check(table_->sgemm(context_, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc), "sgemm");
  }
  void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                  uint64_t ldc) const override {
    check(table_->dsyrk_lower(context_, trans, n, k, alpha, a, lda, beta, c, ldc), "dsyrk");
  }
  std::vector<double> gram_eigenvalues(uint64_t g, double* gram, GramEigensolver, std::string& method) const override {
    std::vector<double> w(g);
    check(table_->symmetric_eigenvalues(context_, g, gram, g, w.data()), "symmetric eigensolver");
    method = "gram-" + name();
    return w;
  }
  bool gram_eigenvalues_copy_input() const override { return false; }
  void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool) const override {
    check(table_->orthonormalize_columns(context_, m, n, a, lda), "orthonormalisation");
  }

 private:
  void check(int status, const char* what) const {
    if (status == 0) return;
    const char* why = table_->last_error(context_);
    throw Error(ErrorCode::INTERNAL, name() + " backend: " + what + " failed: " + (why ? why : "no reason given"));
  }
  const paramscope_plugin* table_;
  void* context_ = nullptr;
};

}  // namespace

std::shared_ptr<const Backend> plugin_backend(const paramscope_plugin* table, uint64_t device_memory_budget) {
  return std::make_shared<PluginBackend>(table, device_memory_budget);
}

const Backend& current_backend() { return t_current ? *t_current : cpu_backend(); }

BackendScope::BackendScope(std::shared_ptr<const Backend> backend) : backend_(std::move(backend)), previous_(t_current) {
  t_current = backend_.get();
}

BackendScope::~BackendScope() { t_current = previous_; }

const DeviceStatus& cuda_status() { return cuda_plugin().status; }

std::shared_ptr<const Backend> select_backend(BackendChoice choice, uint64_t device_memory_budget) {
  // The CPU backend is a static; the shared_ptr does not own it.
  const std::shared_ptr<const Backend> cpu(&cpu_backend(), [](const Backend*) {});
  if (choice == BackendChoice::Cpu) return cpu;
  const LoadedPlugin& plugin = cuda_plugin();
  if (!plugin.table) {
    if (choice == BackendChoice::Auto) return cpu;
    throw Error(ErrorCode::BACKEND_UNAVAILABLE, "the CUDA backend is not available: " + plugin.status.why);
  }
  try {
    return plugin_backend(plugin.table, device_memory_budget);
  } catch (const Error&) {
    if (choice == BackendChoice::Auto) return cpu;  // a device that cannot open a context: the CPU it is
    throw;
  }
}

}  // namespace paramscope
