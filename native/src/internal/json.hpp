#pragma once
// A small strict JSON parser for safetensors headers and index files. Strict where the format needs it:
// duplicate keys are an error (the reference reader misreports them), integers are kept exactly up to
// 2^64-1 with overflow flagged rather than rounded through double, nesting depth is bounded, and
// trailing bytes other than whitespace are refused.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "paramscope/error.hpp"

namespace paramscope::json {

enum class Kind { Null, Bool, Number, String, Array, Object };

struct Value {
  Kind kind = Kind::Null;
  bool boolean = false;
  // Numbers: the literal text, and its value when it is a non-negative integer without fraction or
  // exponent (is_uint). uint_overflow marks such an integer that does not fit in 64 bits.
  std::string number_text;
  bool is_uint = false;
  bool uint_overflow = false;
  uint64_t uint_value = 0;
  std::string string;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;  // in document order

  const Value* find(std::string_view key) const;
  std::string describe() const;  // short human description for messages: "a string", "-1", ...
};

// Parses `text` as one JSON value. Syntax errors throw Error(syntax_code) naming `file` and the byte
// offset; a repeated key in one object throws Error(DUPLICATE_KEY) naming the key; more than
// config::kMaxJsonValues values throw Error(size_code) (default: syntax_code).
Value parse(std::string_view text, ErrorCode syntax_code, const std::string& file);
Value parse(std::string_view text, ErrorCode syntax_code, ErrorCode size_code, const std::string& file);

// Validates UTF-8 (no overlongs, no surrogates, max U+10FFFF). Returns the offset of the first bad
// byte, or npos when valid.
size_t find_invalid_utf8(std::string_view text) noexcept;

}  // namespace paramscope::json
