// The strict JSON parser of headers and index files: duplicate keys (small and hashed objects), the
// depth and value-count limits, exact 64-bit integers, escapes and surrogates, strict syntax, and the
// UTF-8 validator's offsets.
#include <cstdint>
#include <string>

#include "internal/json.hpp"
#include "paramscope/config.hpp"
#include "paramscope/safetensors.hpp"
#include "test_support.hpp"

using namespace paramscope;

TEST_CASE(json_duplicate_keys_in_small_and_large_objects) {
  CHECK_THROWS_CODE(json::parse("{\"a\":1,\"a\":2}", ErrorCode::HEADER_INVALID_JSON, "f"), DUPLICATE_KEY);
  CHECK_THROWS_CODE(json::parse("{\"o\":{\"x\":1,\"y\":2,\"x\":3}}", ErrorCode::HEADER_INVALID_JSON, "f"), DUPLICATE_KEY);
  CHECK_THROWS_CODE(json::parse("[{\"x\":1},{\"x\":1,\"x\":1}]", ErrorCode::HEADER_INVALID_JSON, "f"), DUPLICATE_KEY);
  // Same keys in sibling objects are fine.
  json::Value v = json::parse("{\"a\":{\"x\":1},\"b\":{\"x\":2}}", ErrorCode::HEADER_INVALID_JSON, "f");
  CHECK(v.members.size() == 2);
  // Large objects: every key found, in order; a duplicate far apart still caught (the hashed path).
  const int n = 200000;
  std::string big = "{";
  for (int i = 0; i < n; ++i) big += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  json::Value parsed = json::parse(big + "}", ErrorCode::HEADER_INVALID_JSON, "f");
  CHECK(parsed.members.size() == static_cast<size_t>(n));
  CHECK(parsed.members.back().first == "k199999" && parsed.members.back().second.uint_value == 199999);
  CHECK_THROWS_CODE(json::parse(big + ",\"k3\":0}", ErrorCode::HEADER_INVALID_JSON, "f"), DUPLICATE_KEY);
  // Around the switch from scanning to hashing: a repeat of the first key as the 20th, 32nd and 40th key.
  for (int position : {20, 32, 40}) {
    std::string text = "{";
    for (int i = 0; i < position; ++i) text += "\"k" + std::to_string(i) + "\":0,";
    CHECK_THROWS_CODE(json::parse(text + "\"k0\":1}", ErrorCode::HEADER_INVALID_JSON, "f"), DUPLICATE_KEY);
    CHECK(json::parse(text + "\"new\":1}", ErrorCode::HEADER_INVALID_JSON, "f").members.size() == static_cast<size_t>(position + 1));
  }
}

TEST_CASE(json_depth_limit) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(json::parse(nested(65), ErrorCode::HEADER_INVALID_JSON, "f").kind == json::Kind::Array);
  CHECK_THROWS_CODE(json::parse(nested(66), ErrorCode::HEADER_INVALID_JSON, "f"), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(json::parse(nested(1000000), ErrorCode::HEADER_INVALID_JSON, "f"), HEADER_INVALID_JSON);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK_THROWS_CODE(json::parse(objects, ErrorCode::INDEX_INVALID, "f"), INDEX_INVALID);  // the caller's code
}

TEST_CASE(json_big_integers_are_exact_or_flagged) {
  auto number = [](const std::string& text) { return json::parse(text, ErrorCode::HEADER_INVALID_JSON, "f"); };
  json::Value v = number("18446744073709551615");
  CHECK(v.is_uint && !v.uint_overflow && v.uint_value == UINT64_MAX);
  v = number("18446744073709551616");
  CHECK(v.is_uint && v.uint_overflow);
  v = number("9007199254740993");  // 2^53 + 1: not representable in a double, kept exactly
  CHECK(v.is_uint && v.uint_value == 9007199254740993ULL);
  v = number("100000000000000000000000000000000000000000");
  CHECK(v.uint_overflow && v.number_text.size() == 42);
  CHECK(!number("-1").is_uint);
  CHECK(!number("1.0").is_uint);
  CHECK(!number("1e3").is_uint);
  CHECK(!number("-0").is_uint);
  CHECK(number("0").is_uint && number("0").uint_value == 0);
  for (const char* bad : {"01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity", "1e+"})
    CHECK_THROWS_CODE(number(bad), HEADER_INVALID_JSON);
}

TEST_CASE(json_strings_escapes_and_surrogates) {
  auto str = [](const std::string& text) { return json::parse(text, ErrorCode::HEADER_INVALID_JSON, "f").string; };
  CHECK(str("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"") == "\"\\/\b\f\n\r\t");
  CHECK(str("\"\\u00e9\"") == "\xc3\xa9");
  CHECK(str("\"\\u20ac\"") == "\xe2\x82\xac");
  CHECK(str("\"\\ud83d\\ude00\"") == "\xf0\x9f\x98\x80");  // U+1F600 from a surrogate pair
  CHECK(str("\"\\u0000\"") == std::string(1, '\0'));
  CHECK(str("\"\xe6\xa8\xa1\"") == "\xe6\xa8\xa1");         // raw UTF-8 passes through
  for (const char* bad : {"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\\ud83d\\ud83d\"", "\"\\u12\"",
                          "\"\\uzzzz\"", "\"\\x41\"", "\"a", "\"a\nb\"", "\"\t\""})
    CHECK_THROWS_CODE(str(bad), HEADER_INVALID_JSON);
}

TEST_CASE(json_syntax_is_strict) {
  for (const char* bad : {"", " ", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "tru", "nul", "{} {}", "[]]", "{\"a\":1}}",
                          "// c\n{}", "\xef\xbb\xbf{}"})
    CHECK_THROWS_CODE(json::parse(bad, ErrorCode::HEADER_INVALID_JSON, "f"), HEADER_INVALID_JSON);
  json::Value v = json::parse(" \t\r\n{ \"a\" : [ true , false , null ] }\n ", ErrorCode::HEADER_INVALID_JSON, "f");
  const json::Value* a = v.find("a");
  CHECK(a && a->items.size() == 3 && a->items[0].boolean && a->items[2].kind == json::Kind::Null);
  CHECK(v.find("b") == nullptr);
}

TEST_CASE(utf8_validation_offsets) {
  using json::find_invalid_utf8;
  constexpr size_t ok = std::string_view::npos;
  CHECK(find_invalid_utf8("plain ascii") == ok);
  CHECK(find_invalid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") == ok);   // 2-, 3- and 4-byte forms
  CHECK(find_invalid_utf8("\xf4\x8f\xbf\xbf") == ok);                       // U+10FFFF
  CHECK(find_invalid_utf8("\xee\x80\x80") == ok);                           // U+E000, just past the surrogates
  CHECK(find_invalid_utf8("ab\x80") == 2);                                  // lone continuation
  CHECK(find_invalid_utf8("a\xc0\x80") == 1);                               // overlong NUL
  CHECK(find_invalid_utf8("a\xe0\x80\xaf") == 1);                           // overlong 3-byte
  CHECK(find_invalid_utf8("a\xf0\x80\x80\xaf") == 1);                       // overlong 4-byte
  CHECK(find_invalid_utf8("a\xed\xbf\xbf") == 1);                           // U+DFFF
  CHECK(find_invalid_utf8("a\xf4\x90\x80\x80") == 1);                       // U+110000
  CHECK(find_invalid_utf8("a\xf8\x88\x80\x80\x80") == 1);                   // 5-byte form
  CHECK(find_invalid_utf8("abc\xe2\x82") == 3);                             // cut at the end
  CHECK(find_invalid_utf8("\xc3\x28") == 0);                                // bad continuation
  CHECK(find_invalid_utf8(std::string_view("a\0b", 3)) == ok);              // NUL is valid UTF-8
}

// A header of millions of tiny values would cost gigabytes as a parsed tree: refused by count.
TEST_CASE(json_value_count_is_bounded) {
  std::string many = "[";
  for (uint64_t i = 0; i <= config::kMaxJsonValues; ++i) many += i ? ",0" : "0";
  many += "]";
  CHECK_THROWS_CODE(json::parse(many, ErrorCode::HEADER_INVALID_JSON, ErrorCode::HEADER_TOO_LARGE, "f"), HEADER_TOO_LARGE);
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":" + many + ",\"data_offsets\":[0,0]}}";
  CHECK_THROWS_CODE(parse_safetensors_header(header, 8 + header.size(), "f"), HEADER_TOO_LARGE);
}

TEST_MAIN()
