#pragma once
// Converts an engine result (spectrum and metrics of one matrix) to a plain JS object with
// Float64Arrays for the value lists.
#include "addon.hpp"
#include "paramscope/engine.hpp"

namespace paramscope::addon {

Napi::Object result_to_js(Napi::Env env, const JobResult& result);

}  // namespace paramscope::addon
