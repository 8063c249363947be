#pragma once
// Shared declarations of the N-API glue. Only files under native/addon include napi.h.
#include <napi.h>

#include <exception>
#include <string>

#include "paramscope/error.hpp"

namespace paramscope::addon {

// Per-environment state (one per main thread or worker_thread that loads the addon).
struct InstanceData {
  Napi::FunctionReference error_class;  // ParamscopeError, handed over by lib/native.ts
  Napi::FunctionReference checkpoint_constructor;
  Napi::FunctionReference analysis_constructor;
};

InstanceData& instance(Napi::Env env);

// The JS error for a caught exception: a ParamscopeError with code/file/tensor when the class was
// registered, else a plain Error with the same properties.
Napi::Error to_js_error(Napi::Env env, const std::exception_ptr& error);

// A captured failure that crosses from a worker thread back to the JS thread.
struct CapturedError {
  bool set = false;
  ErrorCode code = ErrorCode::INTERNAL;
  std::string message, file, tensor;
  void capture(const std::exception_ptr& error);
  Napi::Error to_js(Napi::Env env) const;
};

// Runs `body`, turning any C++ exception into a thrown JS ParamscopeError.
template <typename F>
auto guarded(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw to_js_error(env, std::current_exception());
  }
}

// A ParamscopeError with `code` (file and tensor as given), and INVALID_ARGUMENT for a malformed argument.
Napi::Error coded_error(Napi::Env env, ErrorCode code, const std::string& message, const std::string& file = {},
                        const std::string& tensor = {});
Napi::Error argument_error(Napi::Env env, const std::string& message);

void register_checkpoint(Napi::Env env, Napi::Object exports);
void register_analysis(Napi::Env env, Napi::Object exports);
Napi::Value build_info(const Napi::CallbackInfo& info);
Napi::Value engine_defaults(const Napi::CallbackInfo& info);
Napi::Value dtype_table(const Napi::CallbackInfo& info);
Napi::Value encode_f32(const Napi::CallbackInfo& info);
Napi::Value decode_to_f32(const Napi::CallbackInfo& info);

}  // namespace paramscope::addon
