#include "fields.hpp"

#include <cmath>

namespace paramscope::addon {

namespace {
constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 − 1
}  // namespace

Fields::Fields(Napi::Env env, Napi::Value value, std::string what) : env_(env), what_(std::move(what)) {
  if (!value.IsObject()) throw argument_error(env, what_ + " must be an object");
  object_ = value.As<Napi::Object>();
}

Napi::Error Fields::error(const std::string& message) const { return argument_error(env_, what_ + ": " + message); }

std::string Fields::text(const char* key) const {
  Napi::Value v = object_.Get(key);
  if (!v.IsString()) throw argument_error(env_, name(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string Fields::choice(const char* key, std::initializer_list<const char*> allowed) const {
  const std::string value = text(key);
  std::string list;
  for (const char* option : allowed) {
    if (value == option) return value;
    list += (list.empty() ? "'" : ", '") + std::string(option) + "'";
  }
  throw argument_error(env_, name(key) + " must be one of " + list);
}

bool Fields::flag(const char* key) const {
  Napi::Value v = object_.Get(key);
  if (!v.IsBoolean()) throw argument_error(env_, name(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

double Fields::number(const char* key) const {
  Napi::Value v = object_.Get(key);
  if (!v.IsNumber()) throw argument_error(env_, name(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t Fields::count(const char* key) const {
  Napi::Value v = object_.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= kMaxSafeInteger && std::floor(d) == d)) throw argument_error(env_, name(key) + " must be a non-negative integer");
  return static_cast<uint64_t>(d);
}

std::optional<bool> Fields::optional_flag(const char* key) const {
  if (object_.Get(key).IsUndefined()) return std::nullopt;
  return flag(key);
}

std::optional<uint64_t> Fields::optional_count(const char* key) const {
  if (object_.Get(key).IsUndefined()) return std::nullopt;
  return count(key);
}

Fields Fields::object(const char* key) const { return Fields(env_, object_.Get(key), name(key)); }

}  // namespace paramscope::addon
