#include "internal/json.hpp"

#include <unordered_set>

#include "paramscope/config.hpp"

namespace paramscope::json {

const Value* Value::find(std::string_view key) const {
  for (const auto& member : members)
    if (member.first == key) return &member.second;
  return nullptr;
}

std::string Value::describe() const {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return boolean ? "true" : "false";
    case Kind::Number: return number_text;
    case Kind::String: return "\"" + (string.size() > 40 ? string.substr(0, 40) + "..." : string) + "\"";
    case Kind::Array: return "an array of " + std::to_string(items.size());
    case Kind::Object: return "an object";
  }
  return "?";
}

size_t find_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, ErrorCode code, ErrorCode size_code, const std::string& file)
      : text_(text), code_(code), size_code_(size_code), file_(file) {}

  Value parse_document() {
    Value v = parse_value(0, nullptr);
    skip_ws();
    if (pos_ != text_.size()) fail("unexpected bytes after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(code_, "invalid JSON in " + file_ + " at byte " + std::to_string(pos_) + ": " + what,
                file_);
  }

  void skip_ws() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') ++pos_;
      else break;
    }
  }

  bool consume_literal(std::string_view lit) {
    if (text_.substr(pos_, lit.size()) == lit) { pos_ += lit.size(); return true; }
    return false;
  }

  // `owner` is the key whose value this is (nullptr at the top level and in arrays), for messages.
  Value parse_value(int depth, const std::string* owner) {
    if (depth > config::kMaxJsonDepth) fail("nesting deeper than " + std::to_string(config::kMaxJsonDepth));
    if (++values_ > config::kMaxJsonValues)
      throw Error(size_code_, file_ + ": JSON holds more than " + std::to_string(config::kMaxJsonValues) +
                                  " values (at byte " + std::to_string(pos_) + "), more than any real checkpoint header",
                  file_);
    skip_ws();
    if (pos_ >= text_.size()) fail("unexpected end of input");
    Value v;
    char c = text_[pos_];
    if (c == '{') { parse_object(v, depth, owner); }
    else if (c == '[') { parse_array(v, depth); }
    else if (c == '"') { v.kind = Kind::String; v.string = parse_string(); }
    else if (c == '-' || (c >= '0' && c <= '9')) { parse_number(v); }
    else if (consume_literal("true")) { v.kind = Kind::Bool; v.boolean = true; }
    else if (consume_literal("false")) { v.kind = Kind::Bool; v.boolean = false; }
    else if (consume_literal("null")) { v.kind = Kind::Null; }
    // The character is not shown: a file that is not JSON at all (a key, a password file through a link)
    // would have its bytes echoed one error at a time.
    else fail("expected a JSON value (object, array, string, number, true, false or null)");
    return v;
  }

  void parse_object(Value& v, int depth, const std::string* owner) {
    v.kind = Kind::Object;
    ++pos_;
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == '}') { ++pos_; return; }
    // Duplicate keys: a linear scan for the usual small objects, a hash set once an object is large
    // (a header may hold a million keys; a scan per key would make parsing quadratic).
    constexpr size_t kLinearScanLimit = 32;
    std::unordered_set<std::string> seen;
    for (;;) {
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string key");
      std::string key = parse_string();
      bool duplicate = false;
      if (seen.empty() && v.members.size() < kLinearScanLimit) {
        for (const auto& m : v.members) duplicate = duplicate || m.first == key;
      } else {
        if (seen.empty())
          for (const auto& m : v.members) seen.insert(m.first);
        duplicate = !seen.insert(key).second;
      }
      // In a safetensors header the owner of a nested object is the tensor it describes.
      if (duplicate)
        throw Error(ErrorCode::DUPLICATE_KEY,
                    "duplicate key \"" + key + "\"" + (owner ? " inside \"" + *owner + "\"" : std::string()) + " in " + file_,
                    file_, owner ? *owner : key);
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':' after key \"" + key + "\"");
      ++pos_;
      Value item = parse_value(depth + 1, &key);
      v.members.emplace_back(std::move(key), std::move(item));
      skip_ws();
      if (pos_ >= text_.size()) fail("unterminated object");
      if (text_[pos_] == ',') { ++pos_; continue; }
      if (text_[pos_] == '}') { ++pos_; return; }
      fail("expected ',' or '}' in object");
    }
  }

  void parse_array(Value& v, int depth) {
    v.kind = Kind::Array;
    ++pos_;
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == ']') { ++pos_; return; }
    for (;;) {
      v.items.push_back(parse_value(depth + 1, nullptr));
      skip_ws();
      if (pos_ >= text_.size()) fail("unterminated array");
      if (text_[pos_] == ',') { ++pos_; continue; }
      if (text_[pos_] == ']') { ++pos_; return; }
      fail("expected ',' or ']' in array");
    }
  }

  void parse_number(Value& v) {
    v.kind = Kind::Number;
    size_t start = pos_;
    bool negative = false, integral = true;
    if (text_[pos_] == '-') { negative = true; ++pos_; }
    if (pos_ >= text_.size() || !isdigit(text_[pos_])) fail("malformed number");
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && isdigit(text_[pos_ + 1])) fail("leading zero in number");
    while (pos_ < text_.size() && isdigit(text_[pos_])) ++pos_;
    size_t int_end = pos_;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (pos_ >= text_.size() || !isdigit(text_[pos_])) fail("malformed fraction");
      while (pos_ < text_.size() && isdigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ >= text_.size() || !isdigit(text_[pos_])) fail("malformed exponent");
      while (pos_ < text_.size() && isdigit(text_[pos_])) ++pos_;
    }
    v.number_text = std::string(text_.substr(start, pos_ - start));
    if (negative || !integral) return;
    v.is_uint = true;
    uint64_t value = 0;
    for (size_t i = start; i < int_end; ++i) {
      uint64_t digit = static_cast<uint64_t>(text_[i] - '0');
      if (value > (UINT64_MAX - digit) / 10) { v.uint_overflow = true; return; }
      value = value * 10 + digit;
    }
    v.uint_value = value;
  }

  static bool isdigit(char c) { return c >= '0' && c <= '9'; }

  unsigned parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') value |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= unsigned(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return value;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') { out += c; continue; }
      if (pos_ >= text_.size()) fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(consume_literal("\\u"))) fail("unpaired surrogate in \\u escape");
            uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  std::string_view text_;
  ErrorCode code_;
  ErrorCode size_code_;
  const std::string& file_;
  size_t pos_ = 0;
  uint64_t values_ = 0;
};

}  // namespace

Value parse(std::string_view text, ErrorCode syntax_code, const std::string& file) {
  return Parser(text, syntax_code, syntax_code, file).parse_document();
}

Value parse(std::string_view text, ErrorCode syntax_code, ErrorCode size_code, const std::string& file) {
  return Parser(text, syntax_code, size_code, file).parse_document();
}

}  // namespace paramscope::json
