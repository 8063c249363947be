#pragma once
// Loading a device plugin (paramscope/plugin_abi.h) and wrapping it as a Backend. select_backend uses
// these with the candidates of cuda_status(); tests call them with explicit files.
#include <memory>
#include <string>
#include <vector>

#include "paramscope/backend.hpp"
#include "paramscope/plugin_abi.h"

namespace paramscope {

struct LoadedPlugin {
  const paramscope_plugin* table = nullptr;  // set when the plugin loaded, its ABI checked and a device found
  DeviceStatus status;
};

// Tries `candidates` in order; the first that dlopens is checked (entry symbol, ABI version, table size)
// and probed. Never throws: what went wrong is in status.why.
LoadedPlugin load_plugin(const std::vector<std::string>& candidates);

// A Backend calling `table` (opened with `device_memory_budget`); BACKEND_UNAVAILABLE when its context
// cannot be opened.
std::shared_ptr<const Backend> plugin_backend(const paramscope_plugin* table, uint64_t device_memory_budget);

}  // namespace paramscope
