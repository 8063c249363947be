#pragma once
// The core Checkpoint behind a JS NativeCheckpoint object, for operations that take checkpoints as
// arguments (analysis jobs). Throws CLOSED for a closed checkpoint, INVALID_ARGUMENT for anything else.
#include <memory>

#include "addon.hpp"
#include "paramscope/checkpoint.hpp"

namespace paramscope::addon {

std::shared_ptr<const Checkpoint> checkpoint_of(Napi::Env env, Napi::Value value);

}  // namespace paramscope::addon
