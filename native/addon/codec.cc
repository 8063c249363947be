// encodeF32(Float32Array, dtype) -> Uint8Array of BF16/F16; decodeToF32(Uint8Array, dtype) -> Float32Array.
// Synchronous by design: they serve the writer and test-data generators on buffers the caller holds.
#include "addon.hpp"
#include "paramscope/dtype.hpp"

namespace paramscope::addon {

namespace {
DType dtype_argument(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  Napi::Env env = info.Env();
  if (!info[index].IsString()) throw argument_error(env, std::string(fn) + ": dtype must be a string");
  std::string name = info[index].As<Napi::String>();
  auto dtype = dtype_from_name(name);
  if (!dtype) throw argument_error(env, std::string(fn) + ": unknown dtype \"" + name + "\"");
  return *dtype;
}
}  // namespace

Napi::Value encode_f32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw argument_error(env, "encodeF32: values must be a Float32Array");
  DType dtype = dtype_argument(info, 1, "encodeF32");
  if (dtype != DType::BF16 && dtype != DType::F16)
    throw argument_error(env, "encodeF32: only BF16 and F16 are encoded natively");
  auto values = info[0].As<Napi::Float32Array>();
  auto out = Napi::Uint8Array::New(env, values.ElementLength() * 2);
  encode_from_f32(dtype, values.Data(), values.ElementLength(), out.Data());
  return out;
}

Napi::Value decode_to_f32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw argument_error(env, "decodeToF32: bytes must be a typed array");
  DType dtype = dtype_argument(info, 1, "decodeToF32");
  const DTypeInfo& dt = dtype_info(dtype);
  if (!dt.decodable) throw argument_error(env, "decodeToF32: dtype " + std::string(dt.name) + " cannot be decoded");
  auto bytes = info[0].As<Napi::TypedArray>();
  size_t byte_length = bytes.ByteLength();
  size_t element_bytes = dt.bits / 8;
  if (byte_length % element_bytes != 0)
    throw argument_error(env, "decodeToF32: " + std::to_string(byte_length) + " bytes are not a whole number of " + std::string(dt.name) + " elements");
  const auto* data = static_cast<const unsigned char*>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset();
  auto out = Napi::Float32Array::New(env, byte_length / element_bytes);
  decode_to_f32(dtype, data, byte_length / element_bytes, out.Data());
  return out;
}

}  // namespace paramscope::addon
