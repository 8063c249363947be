// The solver's thin-product kernels (internal/skinny_sgemm.hpp): C = Aᵀ·B and C = A·B against a double-precision
// reference within the rigorous f32 bound k·u·Σ|a||b| for every entry, over shapes that exercise every
// remainder (rows not a multiple of the tile, columns below the padded width, depths across block
// boundaries, leading dimensions larger than the extents); the same bits whatever the row split; and the
// shapes it declines, with C untouched.
#include <cmath>
#include <cstring>
#include <vector>

#include "internal/skinny_sgemm.hpp"
#include "paramscope/dtype.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

struct Case {
  uint64_t m, n, k, pad_a, pad_b, pad_c;
};

}  // namespace

TEST_CASE(thin_products_match_a_double_reference_within_the_f32_bound) {
  if (!cpu_features().avx512f) {
    std::printf("  [skip] no AVX-512F here: the kernels decline and the BLAS computes these products\n");
    CHECK(!cpu::skinny_sgemm(true, false, 128, 8, 128, nullptr, 128, nullptr, 128, nullptr, 128));
    CHECK(!cpu::skinny_sgemm(false, false, 128, 8, 128, nullptr, 128, nullptr, 128, nullptr, 128));
    return;
  }
  // Rows of C around the tiles (4 of A·B's 16-row vectors, Aᵀ·B's 4 rows), columns around B's groups,
  // depths across both kernels' blocks (256, 512), leading dimensions beyond the extents.
  const Case cases[] = {{64, 74, 64, 0, 0, 0},     {67, 1, 100, 3, 0, 5},   {130, 8, 511, 0, 2, 0},  {65, 17, 512, 1, 1, 1},
                        {66, 80, 513, 0, 0, 0},    {203, 74, 1500, 7, 9, 3}, {4099, 74, 300, 0, 0, 0}, {79, 6, 257, 16, 0, 1},
                        {113, 13, 255, 0, 4, 16}, {192, 79, 256, 5, 0, 0}};
  constexpr double u = 0x1.0p-24;
  for (const bool trans_a : {true, false}) {
    for (const Case& t : cases) {
      // Aᵀ·B: A is k × m; A·B: A is m × k; both column-major with their padding.
      const uint64_t lda = (trans_a ? t.k : t.m) + t.pad_a, ldb = t.k + t.pad_b, ldc = t.m + t.pad_c;
      const std::vector<float> a = test_support::normal_values<float>(lda * (trans_a ? t.m : t.k), uint32_t(t.m * 31 + t.k)),
                               b = test_support::normal_values<float>(ldb * t.n, uint32_t(t.n * 17 + t.k));
      const auto a_at = [&](uint64_t i, uint64_t kk) { return double(trans_a ? a[i * lda + kk] : a[i + kk * lda]); };
      std::vector<float> c(ldc * t.n, -7.0f);
      CHECK(cpu::skinny_sgemm(trans_a, false, t.m, t.n, t.k, a.data(), lda, b.data(), ldb, c.data(), ldc));
      uint64_t outside = 0;
      for (uint64_t j = 0; j < t.n; ++j)
        for (uint64_t i = 0; i < t.m; ++i) {
          double exact = 0, magnitude = 0;
          for (uint64_t kk = 0; kk < t.k; ++kk) {
            exact += a_at(i, kk) * double(b[j * ldb + kk]);
            magnitude += std::fabs(a_at(i, kk) * double(b[j * ldb + kk]));
          }
          outside += std::fabs(double(c[i + j * ldc]) - exact) > double(t.k) * u * magnitude;
        }
      CHECK(outside == 0);
      // The rows of C beyond m within ldc are not written.
      bool padding_kept = true;
      for (uint64_t j = 0; j < t.n; ++j)
        for (uint64_t i = t.m; i < ldc; ++i) padding_kept = padding_kept && c[i + j * ldc] == -7.0f;
      CHECK(padding_kept);
    }
  }
}

TEST_CASE(thin_products_give_the_same_bits_whatever_the_row_split) {
  if (!cpu_features().avx512f) return;
  const uint64_t m = 300, n = 74, k = 1100;
  const std::vector<float> a = test_support::normal_values<float>(m * k, 5), b = test_support::normal_values<float>(k * n, 6);
  for (const bool trans_a : {true, false}) {
    // Aᵀ·B: A k × m (lda k), part p starts at column r0 of A; A·B: A m × k (lda m), at row r0.
    const uint64_t lda = trans_a ? k : m, step = trans_a ? k : 1;
    std::vector<float> whole(m * n), split(m * n);
    CHECK(cpu::skinny_sgemm(trans_a, false, m, n, k, a.data(), lda, b.data(), k, whole.data(), m));
    // Rows [0, 131) and [131, 300): what cpu::sgemm's row split hands each thread.
    CHECK(cpu::skinny_sgemm(trans_a, false, 131, n, k, a.data(), lda, b.data(), k, split.data(), m));
    CHECK(cpu::skinny_sgemm(trans_a, false, m - 131, n, k, a.data() + 131 * step, lda, b.data(), k, split.data() + 131, m));
    CHECK(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)) == 0);
  }
}

TEST_CASE(thin_products_decline_what_they_do_not_handle_and_leave_c_untouched) {
  const std::vector<float> a = test_support::normal_values<float>(256 * 256, 1), b = test_support::normal_values<float>(256 * 96, 2);
  std::vector<float> c(256 * 96, 3.0f);
  CHECK(!cpu::skinny_sgemm(true, false, 256, cpu::kSkinnyMaxColumns + 1, 256, a.data(), 256, b.data(), 256, c.data(), 256));
  CHECK(!cpu::skinny_sgemm(false, true, 256, 8, 256, a.data(), 256, b.data(), 8, c.data(), 256));  // A·Bᵀ: the BLAS's
  CHECK(!cpu::skinny_sgemm(false, false, 8, 8, 256, a.data(), 8, b.data(), 256, c.data(), 8));      // A·B, few rows
  CHECK(!cpu::skinny_sgemm(true, true, 256, 8, 256, a.data(), 256, b.data(), 8, c.data(), 256));
  CHECK(!cpu::skinny_sgemm(true, false, 8, 8, 256, a.data(), 256, b.data(), 256, c.data(), 256));  // few rows
  CHECK(!cpu::skinny_sgemm(true, false, 256, 8, 8, a.data(), 8, b.data(), 8, c.data(), 256));      // shallow
  CHECK(!cpu::skinny_sgemm(true, false, 256, 0, 256, a.data(), 256, b.data(), 256, c.data(), 256));
  bool untouched = true;
  for (float x : c) untouched = untouched && x == 3.0f;
  CHECK(untouched);
}

int main() { return test_support::run_all(); }
