#pragma once
// Typed reading of a JS object's fields for the specs the core takes. No silent fallbacks: a required
// field that is missing or of the wrong type is INVALID_ARGUMENT naming the field ("jobs[3].rows");
// optional fields may be undefined. lib/engine/ sends complete, validated objects, so these errors mean
// a caller went around it.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include "addon.hpp"

namespace paramscope::addon {

class Fields {
 public:
  // INVALID_ARGUMENT unless `value` is an object.
  Fields(Napi::Env env, Napi::Value value, std::string what);

  Napi::Value raw(const char* key) const { return object_.Get(key); }
  std::string text(const char* key) const;
  // One of `allowed`.
  std::string choice(const char* key, std::initializer_list<const char*> allowed) const;
  bool flag(const char* key) const;
  double number(const char* key) const;  // any number (the core rejects non-finite values where they matter)
  uint64_t count(const char* key) const;  // a non-negative safe integer
  std::optional<bool> optional_flag(const char* key) const;
  std::optional<uint64_t> optional_count(const char* key) const;
  Fields object(const char* key) const;
  // INVALID_ARGUMENT naming this object: "<what>: <message>".
  Napi::Error error(const std::string& message) const;

 private:
  std::string name(const char* key) const { return what_ + "." + key; }
  Napi::Env env_;
  Napi::Object object_;
  std::string what_;
};

}  // namespace paramscope::addon
