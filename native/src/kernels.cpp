#include "internal/kernels.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "paramscope/dtype.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PARAMSCOPE_X86 1
#endif

namespace paramscope::kernels {

namespace {

double sum_of_squares_portable(const float* v, size_t n) noexcept {
  double s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += double(v[i + j]) * double(v[i + j]);
  for (; i < n; ++i) s[0] += double(v[i]) * double(v[i]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void subtract_portable(const float* t, const float* b, float* out, size_t n, DifferenceSums& sums) noexcept {
  double tt = 0, bb = 0, dd = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = t[i], y = b[i], d = x - y;
    tt += x * x;
    bb += y * y;
    dd += d * d;
    out[i] = static_cast<float>(d);
  }
  sums.tuned_squared += tt;
  sums.base_squared += bb;
  sums.difference_squared += dd;
}

// ulp(x) = 2^(max(e, emin) − p + 1), so Σ ulp² = 2^(−2(p−1)) · Σ b², where b = 2^max(e, emin) is x with
// its sign and significand bits cleared, raised to at least 2^emin (this also covers zeros and
// subnormals). Every b is a normal f32 for the formats here (emin ≥ −126), so the kernels only mask,
// take a maximum and sum squares.
inline float binade_floor(StorageFormat f) noexcept { return std::ldexp(1.0f, f.min_exponent < -126 ? -126 : f.min_exponent); }
inline double rounding_scale(StorageFormat f) noexcept { return std::ldexp(1.0, -2 * (f.precision - 1)) / 12; }

double rounding_energy_portable(const float* v, size_t n, StorageFormat f) noexcept {
  const uint32_t* bits = reinterpret_cast<const uint32_t*>(v);
  const float lowest = binade_floor(f);
  double s[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const uint32_t exponent_bits = bits[i] & 0x7F800000u;
    float b;
    std::memcpy(&b, &exponent_bits, sizeof b);
    b = b > lowest ? b : lowest;
    s[i & 3] += double(b) * double(b);
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) * rounding_scale(f);
}

inline uint32_t bits_of(float x) noexcept {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

// An entry is below spacing when |Δ| < (1 − 2⁻¹⁶) · max spacing. Plain grids give a one-step move of
// exactly one spacing, but a quantized value is code × scale rounded to f32: with an F32 scale a one-step
// move can measure up to ~2⁻¹⁹ of a step short (|code| < 16 ulps for E4M3), and must still count as a move.
constexpr double kBelowSpacingFraction = 1.0 - 0x1.0p-16;

// Where the spacings of subtract_counting come from: none, two arrays, or the two sides' formats.
enum class Spacings { None, Given, FromFormats };

// The spacing constants of a format: its smallest binade and 2^(1 − p) (zero for an unknown format,
// which only the modes without spacings pass).
struct GridConstants {
  float lowest = 0, step = 0;
  explicit GridConstants(StorageFormat f) noexcept {
    if (f.known()) lowest = binade_floor(f), step = std::ldexp(1.0f, 1 - f.precision);
  }
};

// One storage step at v: 2^(max(e, emin) − p + 1) (grid_spacing's formula, one value).
inline float grid_step(float v, const GridConstants& g) noexcept {
  const uint32_t exponent_bits = bits_of(v) & 0x7F800000u;
  float b;
  std::memcpy(&b, &exponent_bits, sizeof b);
  return (b > g.lowest ? b : g.lowest) * g.step;
}

template <Spacings kMode>
void subtract_counting_portable(const float* t, const float* b, const float* st, const float* sb, StorageFormat ft, StorageFormat fb,
                                float* out32, double* out64, size_t n, DifferenceSums& sums) noexcept {
  double tt = 0, bb = 0, dd = 0, sst = 0, ssb = 0;
  uint64_t same = 0, below = 0;
  const GridConstants gt(ft), gb(fb);
  for (size_t i = 0; i < n; ++i) {
    const double x = t[i], y = b[i], d = x - y;
    tt += x * x;
    bb += y * y;
    dd += d * d;
    same += bits_of(t[i]) == bits_of(b[i]);
    if constexpr (kMode != Spacings::None) {
      const double a = kMode == Spacings::Given ? st[i] : grid_step(t[i], gt);
      const double c = kMode == Spacings::Given ? sb[i] : grid_step(b[i], gb);
      sst += a * a;
      ssb += c * c;
      below += std::fabs(d) < kBelowSpacingFraction * (a > c ? a : c);
    }
    if (out32) out32[i] = static_cast<float>(d);
    if (out64) out64[i] = d;
  }
  sums.tuned_squared += tt;
  sums.base_squared += bb;
  sums.difference_squared += dd;
  sums.tuned_spacing_squared += sst;
  sums.base_spacing_squared += ssb;
  sums.identical += same;
  sums.below_spacing += below;
}

void grid_spacing_portable(const float* v, size_t n, StorageFormat f, float* spacing) noexcept {
  const GridConstants g(f);
  for (size_t i = 0; i < n; ++i) spacing[i] = grid_step(v[i], g);
}

#ifdef PARAMSCOPE_X86
__attribute__((target("avx2,fma"))) inline double horizontal_sum(__m256d v) noexcept {
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

__attribute__((target("avx2,fma"))) double sum_of_squares_avx2(const float* v, size_t n) noexcept {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(v + i)), x1 = _mm256_cvtps_pd(_mm_loadu_ps(v + i + 4));
    const __m256d x2 = _mm256_cvtps_pd(_mm_loadu_ps(v + i + 8)), x3 = _mm256_cvtps_pd(_mm_loadu_ps(v + i + 12));
    a0 = _mm256_fmadd_pd(x0, x0, a0);
    a1 = _mm256_fmadd_pd(x1, x1, a1);
    a2 = _mm256_fmadd_pd(x2, x2, a2);
    a3 = _mm256_fmadd_pd(x3, x3, a3);
  }
  double total = horizontal_sum(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
  for (; i < n; ++i) total += double(v[i]) * double(v[i]);
  return total;
}

__attribute__((target("avx2,fma"))) void subtract_avx2(const float* t, const float* b, float* out, size_t n,
                                                        DifferenceSums& sums) noexcept {
  __m256d tt = _mm256_setzero_pd(), bb = _mm256_setzero_pd(), dd = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(t + i)), y = _mm256_cvtps_pd(_mm_loadu_ps(b + i));
    const __m256d d = _mm256_sub_pd(x, y);
    tt = _mm256_fmadd_pd(x, x, tt);
    bb = _mm256_fmadd_pd(y, y, bb);
    dd = _mm256_fmadd_pd(d, d, dd);
    _mm_storeu_ps(out + i, _mm256_cvtpd_ps(d));
  }
  DifferenceSums tail;
  subtract_portable(t + i, b + i, out + i, n - i, tail);
  sums.tuned_squared += horizontal_sum(tt) + tail.tuned_squared;
  sums.base_squared += horizontal_sum(bb) + tail.base_squared;
  sums.difference_squared += horizontal_sum(dd) + tail.difference_squared;
}
__attribute__((target("avx2,fma"))) double rounding_energy_avx2(const float* v, size_t n, StorageFormat f) noexcept {
  const __m256 exponent_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7F800000)), lowest = _mm256_set1_ps(binade_floor(f));
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 b = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(v + i), exponent_mask), lowest);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(b)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1));
    a0 = _mm256_fmadd_pd(lo, lo, a0);
    a1 = _mm256_fmadd_pd(hi, hi, a1);
  }
  return horizontal_sum(_mm256_add_pd(a0, a1)) * rounding_scale(f) + rounding_energy_portable(v + i, n - i, f);
}

// Four entries at a time in double: the difference is exact there, as are the comparisons. With
// FromFormats the spacings are made from the values as grid_spacing does (exact: powers of two).
template <Spacings kMode>
__attribute__((target("avx2,fma"))) void subtract_counting_avx2(const float* t, const float* b, const float* st, const float* sb, StorageFormat ft,
                                                                 StorageFormat fb, float* out32, double* out64, size_t n, DifferenceSums& sums) noexcept {
  __m256d tt = _mm256_setzero_pd(), bb = _mm256_setzero_pd(), dd = _mm256_setzero_pd(), sst = _mm256_setzero_pd(), ssb = _mm256_setzero_pd();
  const __m256d magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFll));
  const __m256d fraction = _mm256_set1_pd(kBelowSpacingFraction);
  const GridConstants gt(ft), gb(fb);
  const __m128 exponent_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7F800000));
  const __m128 lowest_t = _mm_set1_ps(gt.lowest), step_t = _mm_set1_ps(gt.step), lowest_b = _mm_set1_ps(gb.lowest), step_b = _mm_set1_ps(gb.step);
  uint64_t same = 0, below = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 tf = _mm_loadu_ps(t + i), bf = _mm_loadu_ps(b + i);
    same += static_cast<uint64_t>(__builtin_popcount(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_castps_si128(tf), _mm_castps_si128(bf))))));
    const __m256d x = _mm256_cvtps_pd(tf), y = _mm256_cvtps_pd(bf), d = _mm256_sub_pd(x, y);
    tt = _mm256_fmadd_pd(x, x, tt);
    bb = _mm256_fmadd_pd(y, y, bb);
    dd = _mm256_fmadd_pd(d, d, dd);
    if constexpr (kMode != Spacings::None) {
      __m128 spacing_t, spacing_b;
      if constexpr (kMode == Spacings::Given) {
        spacing_t = _mm_loadu_ps(st + i);
        spacing_b = _mm_loadu_ps(sb + i);
      } else {
        spacing_t = _mm_mul_ps(_mm_max_ps(_mm_and_ps(tf, exponent_mask), lowest_t), step_t);
        spacing_b = _mm_mul_ps(_mm_max_ps(_mm_and_ps(bf, exponent_mask), lowest_b), step_b);
      }
      const __m256d a = _mm256_cvtps_pd(spacing_t), c = _mm256_cvtps_pd(spacing_b);
      sst = _mm256_fmadd_pd(a, a, sst);
      ssb = _mm256_fmadd_pd(c, c, ssb);
      const __m256d lt = _mm256_cmp_pd(_mm256_and_pd(d, magnitude), _mm256_mul_pd(fraction, _mm256_max_pd(a, c)), _CMP_LT_OQ);
      below += static_cast<uint64_t>(__builtin_popcount(_mm256_movemask_pd(lt)));
    }
    if (out32) _mm_storeu_ps(out32 + i, _mm256_cvtpd_ps(d));
    if (out64) _mm256_storeu_pd(out64 + i, d);
  }
  DifferenceSums tail;
  constexpr bool kGiven = kMode == Spacings::Given;
  subtract_counting_portable<kMode>(t + i, b + i, kGiven ? st + i : nullptr, kGiven ? sb + i : nullptr, ft, fb, out32 ? out32 + i : nullptr,
                                    out64 ? out64 + i : nullptr, n - i, tail);
  sums.tuned_squared += horizontal_sum(tt) + tail.tuned_squared;
  sums.base_squared += horizontal_sum(bb) + tail.base_squared;
  sums.difference_squared += horizontal_sum(dd) + tail.difference_squared;
  sums.tuned_spacing_squared += horizontal_sum(sst) + tail.tuned_spacing_squared;
  sums.base_spacing_squared += horizontal_sum(ssb) + tail.base_spacing_squared;
  sums.identical += same + tail.identical;
  sums.below_spacing += below + tail.below_spacing;
}

__attribute__((target("avx2,fma"))) void grid_spacing_avx2(const float* v, size_t n, StorageFormat f, float* spacing) noexcept {
  const __m256 exponent_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7F800000)), lowest = _mm256_set1_ps(binade_floor(f));
  const __m256 step = _mm256_set1_ps(std::ldexp(1.0f, 1 - f.precision));
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(spacing + i, _mm256_mul_ps(_mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(v + i), exponent_mask), lowest), step));
  grid_spacing_portable(v + i, n - i, f, spacing + i);
}
#endif

#ifdef PARAMSCOPE_X86
bool use_avx2() noexcept {
  return cpu_features().avx2 && cpu_features().fma;
}
#endif

}  // namespace

double sum_of_squares(const float* values, size_t n) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return sum_of_squares_avx2(values, n);
#endif
  return sum_of_squares_portable(values, n);
}

double rounding_energy(const float* values, size_t n, StorageFormat format) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return rounding_energy_avx2(values, n, format);
#endif
  return rounding_energy_portable(values, n, format);
}

void subtract(const float* tuned, const float* base, float* out, size_t n, DifferenceSums& sums) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return subtract_avx2(tuned, base, out, n, sums);
#endif
  subtract_portable(tuned, base, out, n, sums);
}

namespace {
template <Spacings kMode>
void subtract_counting_dispatch(const float* tuned, const float* base, const float* st, const float* sb, StorageFormat ft, StorageFormat fb,
                                float* out_f32, double* out_f64, size_t n, DifferenceSums& sums) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return subtract_counting_avx2<kMode>(tuned, base, st, sb, ft, fb, out_f32, out_f64, n, sums);
#endif
  subtract_counting_portable<kMode>(tuned, base, st, sb, ft, fb, out_f32, out_f64, n, sums);
}
}  // namespace

void subtract_counting(const float* tuned, const float* base, const float* tuned_spacing, const float* base_spacing, float* out_f32,
                       double* out_f64, size_t n, DifferenceSums& sums) noexcept {
  if (tuned_spacing && base_spacing)
    return subtract_counting_dispatch<Spacings::Given>(tuned, base, tuned_spacing, base_spacing, {}, {}, out_f32, out_f64, n, sums);
  subtract_counting_dispatch<Spacings::None>(tuned, base, nullptr, nullptr, {}, {}, out_f32, out_f64, n, sums);
}

void subtract_counting_on_grids(const float* tuned, const float* base, StorageFormat tuned_format, StorageFormat base_format, float* out_f32,
                                double* out_f64, size_t n, DifferenceSums& sums) noexcept {
  subtract_counting_dispatch<Spacings::FromFormats>(tuned, base, nullptr, nullptr, tuned_format, base_format, out_f32, out_f64, n, sums);
}

void grid_spacing(const float* values, size_t n, StorageFormat format, float* spacing) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return grid_spacing_avx2(values, n, format, spacing);
#endif
  grid_spacing_portable(values, n, format, spacing);
}

}  // namespace paramscope::kernels
