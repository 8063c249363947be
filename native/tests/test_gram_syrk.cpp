// The exact route's Gram kernel (internal/gram_syrk.hpp): C = A·Aᵀ and Aᵀ·A, lower triangle, against a
// long-double reference within the rigorous bound k·u·Σ|a||b| for every entry, over sizes around its
// tiles (8-row groups, 24-row tiles, 96-row blocks) and depth blocks (128), leading dimensions beyond the
// extents, beta 0 and 1; the upper triangle and the rows beyond n untouched; the same bits on 1, 2, 3 and
// 5 threads; the calls it declines, with C untouched.
#include <cmath>
#include <cstring>
#include <vector>

#include "internal/gram_syrk.hpp"
#include "paramscope/dtype.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

struct Case {
  bool trans;
  uint64_t n, k, pad_a, pad_c;
  double beta;
};

// A(i, κ) of the operand as the call sees it: trans, A is k×n (C's row i is column i); else n×k.
double operand(const Case& t, const std::vector<double>& a, uint64_t lda, uint64_t i, uint64_t kk) {
  return t.trans ? a[kk + i * lda] : a[i + kk * lda];
}

}  // namespace

TEST_CASE(grams_match_a_long_double_reference_within_the_f64_bound) {
  if (!cpu_features().avx512f) {
    std::printf("  [skip] no AVX-512F here: the kernel declines and the BLAS computes the Grams\n");
    CHECK(!cpu::gram_syrk(true, 300, 300, 1.0, nullptr, 300, 0.0, nullptr, 300, 1));
    return;
  }
  const Case cases[] = {{true, 256, 16, 0, 0, 0.0},  {false, 256, 129, 3, 1, 1.0}, {true, 263, 300, 5, 0, 1.0},
                        {false, 300, 513, 0, 7, 0.0}, {true, 389, 128, 0, 2, 0.0},  {false, 385, 257, 9, 0, 1.0}};
  constexpr double u = 0x1.0p-53;
  for (const Case& t : cases) {
    const uint64_t lda = (t.trans ? t.k : t.n) + t.pad_a, ldc = t.n + t.pad_c;
    const std::vector<double> a = test_support::normal_values<double>(lda * (t.trans ? t.n : t.k), uint32_t(t.n * 7 + t.k));
    const std::vector<double> before = test_support::normal_values<double>(ldc * t.n, uint32_t(t.n + 99));
    std::vector<double> c = before;
    CHECK(cpu::gram_syrk(t.trans, t.n, t.k, 1.0, a.data(), lda, t.beta, c.data(), ldc, 2));
    uint64_t outside = 0, upper_changed = 0, padding_changed = 0;
    for (uint64_t j = 0; j < t.n; ++j) {
      for (uint64_t i = 0; i < ldc; ++i) {
        const uint64_t at = i + j * ldc;
        if (i >= t.n) {
          padding_changed += c[at] != before[at];
          continue;
        }
        if (i < j) {
          upper_changed += c[at] != before[at];
          continue;
        }
        long double exact = t.beta * (long double)before[at], magnitude = std::fabs(t.beta * before[at]);
        for (uint64_t kk = 0; kk < t.k; ++kk) {
          const long double p = (long double)operand(t, a, lda, i, kk) * operand(t, a, lda, j, kk);
          exact += p;
          magnitude += std::fabs(p);
        }
        outside += std::fabs((long double)c[at] - exact) > (long double)(t.k + 1) * u * magnitude;
      }
    }
    CHECK(outside == 0);
    CHECK(upper_changed == 0);
    CHECK(padding_changed == 0);
  }
}

TEST_CASE(grams_give_the_same_bits_on_any_number_of_threads) {
  if (!cpu_features().avx512f) return;
  const uint64_t n = 500, k = 700;
  const std::vector<double> a = test_support::normal_values<double>(n * k, 3);
  std::vector<double> one(n * n, 0.0);
  CHECK(cpu::gram_syrk(true, n, k, 1.0, a.data(), k, 0.0, one.data(), n, 1));
  for (const int threads : {2, 3, 5}) {
    std::vector<double> many(n * n, 0.0);
    CHECK(cpu::gram_syrk(true, n, k, 1.0, a.data(), k, 0.0, many.data(), n, threads));
    CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(double)) == 0);
  }
}

TEST_CASE(grams_decline_what_they_do_not_handle_and_leave_c_untouched) {
  const std::vector<double> a = test_support::normal_values<double>(300 * 300, 1);
  std::vector<double> c(300 * 300, 3.0);
  CHECK(!cpu::gram_syrk(true, 300, 300, 2.0, a.data(), 300, 0.0, c.data(), 300, 2));  // alpha ≠ 1
  CHECK(!cpu::gram_syrk(true, 300, 300, 1.0, a.data(), 300, 0.5, c.data(), 300, 2));  // beta not 0 or 1
  CHECK(!cpu::gram_syrk(true, 255, 300, 1.0, a.data(), 300, 0.0, c.data(), 300, 2));  // a small Gram: the BLAS's
  CHECK(!cpu::gram_syrk(false, 300, 8, 1.0, a.data(), 300, 0.0, c.data(), 300, 2));   // shallow
  bool untouched = true;
  for (double x : c) untouched = untouched && x == 3.0;
  CHECK(untouched);
}

int main() { return test_support::run_all(); }
