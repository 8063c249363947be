// Registers the addon's functions. Each exposed operation lives in its own file.
#include "addon.hpp"
#include "paramscope/error.hpp"

namespace paramscope::addon {

InstanceData& instance(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

namespace {

Napi::Value set_error_class(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
  instance(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value error_codes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array codes = Napi::Array::New(env);
  uint32_t i = 0;
#define X(code, description) codes.Set(i++, #code);
#include "paramscope/error_codes.def"
#undef X
  return codes;
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new InstanceData());
  exports.Set("setErrorClass", Napi::Function::New(env, set_error_class, "setErrorClass"));
  exports.Set("errorCodes", Napi::Function::New(env, error_codes, "errorCodes"));
  exports.Set("buildInfo", Napi::Function::New(env, build_info, "buildInfo"));
  exports.Set("engineDefaults", Napi::Function::New(env, engine_defaults, "engineDefaults"));
  exports.Set("dtypeTable", Napi::Function::New(env, dtype_table, "dtypeTable"));
  exports.Set("encodeF32", Napi::Function::New(env, encode_f32, "encodeF32"));
  exports.Set("decodeToF32", Napi::Function::New(env, decode_to_f32, "decodeToF32"));
  register_checkpoint(env, exports);
  register_analysis(env, exports);
  return exports;
}

}  // namespace paramscope::addon

static Napi::Object InitParamscope(Napi::Env env, Napi::Object exports) {
  return paramscope::addon::init(env, exports);
}

NODE_API_MODULE(paramscope, InitParamscope)
