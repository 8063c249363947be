#include <new>

#include "addon.hpp"
#include "paramscope/error.hpp"

namespace paramscope::addon {

void CapturedError::capture(const std::exception_ptr& error) {
  set = true;
  try {
    std::rethrow_exception(error);
  } catch (const paramscope::Error& e) {
    code = e.code();
    message = e.what();
    file = e.file();
    tensor = e.tensor();
  } catch (const std::bad_alloc&) {
    code = ErrorCode::OUT_OF_MEMORY;
    message = "out of memory";
  } catch (const std::exception& e) {
    code = ErrorCode::INTERNAL;
    message = std::string("internal error: ") + e.what();
  } catch (...) {
    code = ErrorCode::INTERNAL;
    message = "internal error: unknown exception";
  }
}

Napi::Error CapturedError::to_js(Napi::Env env) const {
  Napi::Error error;
  InstanceData& data = instance(env);
  if (!data.error_class.IsEmpty()) {
    Napi::Object options = Napi::Object::New(env);
    options.Set("code", error_code_name(code));
    if (!file.empty()) options.Set("file", file);
    if (!tensor.empty()) options.Set("tensor", tensor);
    Napi::Value made = data.error_class.New({Napi::String::New(env, message), options});
    error = Napi::Error(env, made);
  } else {
    error = Napi::Error::New(env, message);
    error.Set("code", error_code_name(code));
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

Napi::Error coded_error(Napi::Env env, ErrorCode code, const std::string& message, const std::string& file,
                        const std::string& tensor) {
  CapturedError captured;
  captured.set = true;
  captured.code = code;
  captured.message = message;
  captured.file = file;
  captured.tensor = tensor;
  return captured.to_js(env);
}

Napi::Error argument_error(Napi::Env env, const std::string& message) {
  return coded_error(env, ErrorCode::INVALID_ARGUMENT, message);
}

}  // namespace paramscope::addon
