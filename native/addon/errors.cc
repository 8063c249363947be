#include <new>

#include "addon.hpp"
#include "paramscope/error.hpp"

namespace paramscope::addon {

void CapturedError::capture(const std::exception_ptr& error) {
  set = true;
  try {
    std::rethrow_exception(error);
  } catch (const paramscope::Error& e) {
    code = error_code_name(e.code());
    message = e.what();
    file = e.file();
    tensor = e.tensor();
  } catch (const std::bad_alloc&) {
    code = "OUT_OF_MEMORY";
    message = "out of memory";
  } catch (const std::exception& e) {
    code = "INTERNAL";
    message = std::string("internal error: ") + e.what();
  } catch (...) {
    code = "INTERNAL";
    message = "internal error: unknown exception";
  }
}

Napi::Error CapturedError::to_js(Napi::Env env) const {
  Napi::Error error;
  InstanceData& data = instance(env);
  if (!data.error_class.IsEmpty()) {
    Napi::Object options = Napi::Object::New(env);
    options.Set("code", code);
    if (!file.empty()) options.Set("file", file);
    if (!tensor.empty()) options.Set("tensor", tensor);
    Napi::Value made = data.error_class.New({Napi::String::New(env, message), options});
    error = Napi::Error(env, made);
  } else {
    error = Napi::Error::New(env, message);
    error.Set("code", code);
    if (!file.empty()) error.Set("file", file);
    if (!tensor.empty()) error.Set("tensor", tensor);
  }
  return error;
}

Napi::Error to_js_error(Napi::Env env, const std::exception_ptr& error) {
  CapturedError captured;
  captured.capture(error);
  return captured.to_js(env);
}

Napi::Error argument_error(Napi::Env env, const std::string& message) {
  CapturedError captured;
  captured.set = true;
  captured.code = "INVALID_ARGUMENT";
  captured.message = message;
  return captured.to_js(env);
}

}  // namespace paramscope::addon
