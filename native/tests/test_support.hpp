#pragma once
// A minimal test harness for the core's ctest programs: CHECK records a failure and goes on; main()
// returns non-zero when any check failed. Deliberately tiny so the core has no test dependency.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "paramscope/error.hpp"

namespace test_support {

// `count` standard-normal values from a fixed seed (the kernels' tests' random operands).
template <typename T>
std::vector<T> normal_values(uint64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<T> normal(0, 1);
  std::vector<T> v(count);
  for (auto& x : v) x = normal(rng);
  return v;
}

inline int& failures() {
  static int count = 0;
  return count;
}

inline std::vector<std::pair<std::string, std::function<void()>>>& registry() {
  static std::vector<std::pair<std::string, std::function<void()>>> tests;
  return tests;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().emplace_back(name, std::move(fn)); }
};

inline int run_all() {
  for (auto& [name, fn] : registry()) {
    int before = failures();
    try {
      fn();
    } catch (const paramscope::Error& e) {
      std::printf("  unexpected paramscope::Error %s: %s\n", paramscope::error_code_name(e.code()), e.what());
      ++failures();
    } catch (const std::exception& e) {
      std::printf("  unexpected exception: %s\n", e.what());
      ++failures();
    }
    std::printf("%s %s\n", failures() == before ? "ok  " : "FAIL", name.c_str());
  }
  std::printf("%d failure(s)\n", failures());
  return failures() == 0 ? 0 : 1;
}

}  // namespace test_support

#define TEST_CASE(name)                                                     \
  static void name();                                                       \
  static test_support::Registrar name##_registrar(#name, name);            \
  static void name()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);         \
      ++test_support::failures();                                                    \
    }                                                                                \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                        \
  do {                                                                                               \
    double _a = (a), _b = (b), _t = (tol);                                                           \
    if (!(std::fabs(_a - _b) <= _t)) {                                                               \
      std::printf("  %s:%d: |%s - %s| = |%.10g - %.10g| > %.3g\n", __FILE__, __LINE__, #a, #b, _a, _b, _t); \
      ++test_support::failures();                                                                    \
    }                                                                                                \
  } while (0)

// Expects `expr` to throw paramscope::Error with the given code.
#define CHECK_THROWS_CODE(expr, expected_code)                                                    \
  do {                                                                                            \
    bool _thrown = false;                                                                         \
    try {                                                                                         \
      (void)(expr);                                                                               \
    } catch (const paramscope::Error& _e) {                                                       \
      _thrown = true;                                                                             \
      if (_e.code() != paramscope::ErrorCode::expected_code) {                                    \
        std::printf("  %s:%d: expected %s, got %s: %s\n", __FILE__, __LINE__, #expected_code,    \
                    paramscope::error_code_name(_e.code()), _e.what());                           \
        ++test_support::failures();                                                               \
      }                                                                                           \
    }                                                                                             \
    if (!_thrown) {                                                                               \
      std::printf("  %s:%d: expected %s, nothing thrown\n", __FILE__, __LINE__, #expected_code); \
      ++test_support::failures();                                                                 \
    }                                                                                             \
  } while (0)

#define TEST_MAIN() \
  int main() { return test_support::run_all(); }
