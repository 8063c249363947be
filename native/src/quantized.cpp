#include "internal/quantized.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PARAMSCOPE_X86 1
#endif

namespace paramscope::quantized {

namespace {

// The four 8-bit float formats by their bit definitions: `mantissa` fraction bits, exponent `bias`, and
// how they spend their special codes.
enum class Special { FiniteOnly7F, Ieee, Fnuz };
struct Fp8Spec {
  int mantissa, bias;
  Special special;
};

constexpr Fp8Spec spec_of(DType dtype) noexcept {
  switch (dtype) {
    case DType::F8_E5M2: return {2, 15, Special::Ieee};         // S.EEEEE.MM: infinities and NaNs
    case DType::F8_E4M3FNUZ: return {3, 8, Special::Fnuz};      // 0x80 is the only NaN, no −0
    case DType::F8_E5M2FNUZ: return {2, 16, Special::Fnuz};
    default: return {3, 7, Special::FiniteOnly7F};             // E4M3 "FN": S.1111.111 is NaN, no infinity
  }
}

float fp8_scalar(Fp8Spec f, unsigned b) noexcept {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const unsigned mag = b & 0x7F, exponent = mag >> f.mantissa, fraction = mag & ((1u << f.mantissa) - 1);
  const int max_exponent = (1 << (7 - f.mantissa)) - 1;
  if (f.special == Special::Fnuz && b == 0x80) return nan;
  if (f.special == Special::FiniteOnly7F && mag == 0x7F) return nan;
  if (f.special == Special::Ieee && int(exponent) == max_exponent) return fraction ? nan : ((b & 0x80) ? -INFINITY : INFINITY);
  const float v = exponent == 0 ? std::ldexp(float(fraction), 1 - f.bias - f.mantissa)
                                : std::ldexp(1.0f + std::ldexp(float(fraction), -f.mantissa), int(exponent) - f.bias);
  return (b & 0x80) ? -v : v;
}

struct Table {
  float value[256];
};

Table make_table(DType dtype) noexcept {
  Table t{};
  for (unsigned b = 0; b < 256; ++b) t.value[b] = fp8_scalar(spec_of(dtype), b);
  return t;
}

const float* table_for(DType dtype) noexcept {
  static const Table e4m3 = make_table(DType::F8_E4M3), e5m2 = make_table(DType::F8_E5M2),
                     e4m3fnuz = make_table(DType::F8_E4M3FNUZ), e5m2fnuz = make_table(DType::F8_E5M2FNUZ);
  switch (dtype) {
    case DType::F8_E5M2: return e5m2.value;
    case DType::F8_E4M3FNUZ: return e4m3fnuz.value;
    case DType::F8_E5M2FNUZ: return e5m2fnuz.value;
    default: return e4m3.value;
  }
}

constexpr float kFp4Table[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f, -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// ulp of `format`'s grid at x, read from the exponent of x (exact for values decoded from that grid).
inline float grid_ulp(float x, StorageFormat format) noexcept {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits &= 0x7F800000u;
  float binade;
  std::memcpy(&binade, &bits, 4);
  const float lowest = std::ldexp(1.0f, format.min_exponent);
  return std::ldexp(binade > lowest ? binade : lowest, 1 - format.precision);
}

void fp8_scaled_portable(DType dtype, const unsigned char* codes, size_t n, float scale, float* values, float* spacing) noexcept {
  const float* table = table_for(dtype);
  const StorageFormat grid = storage_format(dtype);
  const float magnitude = std::fabs(scale);
  for (size_t i = 0; i < n; ++i) {
    const float q = table[codes[i]];
    if (spacing) spacing[i] = grid_ulp(q, grid) * magnitude;
    values[i] = q * scale;
  }
}

void fp4_scaled_portable(const unsigned char* bytes, unsigned first, size_t n, float scale, float* values, float* spacing) noexcept {
  const float magnitude = std::fabs(scale);
  for (size_t i = 0; i < n; ++i) {
    const size_t nibble = first + i;
    const unsigned code = (bytes[nibble >> 1] >> ((nibble & 1) * 4)) & 0xF;
    const float q = kFp4Table[code];
    if (spacing) spacing[i] = grid_ulp(q, kFp4Grid) * magnitude;
    values[i] = q * scale;
  }
}

#ifdef PARAMSCOPE_X86
// Eight codes (the low 8 bytes of `bytes8`) to f32 from their bit definitions: the exponent and fraction
// moved into f32's fields and the bias corrected by an integer add; subnormals (exponent field 0) as
// fraction · 2^(1 − bias − mantissa); then each format's special codes.
template <int M, int Bias, Special S>
__attribute__((target("avx2"))) inline __m256 fp8x8(__m128i bytes8) noexcept {
  const __m256i b = _mm256_cvtepu8_epi32(bytes8);
  const __m256i mag = _mm256_and_si256(b, _mm256_set1_epi32(0x7F));
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x80)), 24);
  const __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(mag, 23 - M), _mm256_set1_epi32((127 - Bias) << 23));
  const __m256 subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_set1_ps(std::ldexp(1.0f, 1 - Bias - M)));
  const __m256 is_subnormal = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(1 << M), mag));
  __m256 v = _mm256_blendv_ps(_mm256_castsi256_ps(normal), subnormal, is_subnormal);
  const __m256 nan = _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN());
  if constexpr (S == Special::FiniteOnly7F) {
    v = _mm256_blendv_ps(v, nan, _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F))));
  } else if constexpr (S == Special::Ieee) {
    const __m256i top = _mm256_or_si256(_mm256_slli_epi32(mag, 23 - M), _mm256_set1_epi32(0x7F800000));
    v = _mm256_blendv_ps(v, _mm256_castsi256_ps(top), _mm256_castsi256_ps(_mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7B))));
  } else {
    v = _mm256_blendv_ps(v, nan, _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, _mm256_set1_epi32(0x80))));
  }
  return _mm256_or_ps(v, _mm256_castsi256_ps(sign));
}

// |q|'s binade raised to the grid's smallest normal, times c = 2^(1 − p)·|scale|: the spacing at q·scale.
__attribute__((target("avx2"))) inline __m256 spacing_of(__m256 q, __m256 lowest, __m256 c) noexcept {
  const __m256 binade = _mm256_and_ps(q, _mm256_castsi256_ps(_mm256_set1_epi32(0x7F800000)));
  return _mm256_mul_ps(_mm256_max_ps(binade, lowest), c);
}

template <int M, int Bias, Special S>
__attribute__((target("avx2"))) void fp8_scaled_avx2(DType dtype, const unsigned char* codes, size_t n, float scale, float* values,
                                                    float* spacing) noexcept {
  const StorageFormat grid = storage_format(dtype);
  const __m256 s = _mm256_set1_ps(scale), lowest = _mm256_set1_ps(std::ldexp(1.0f, grid.min_exponent));
  const __m256 c = _mm256_set1_ps(std::ldexp(std::fabs(scale), 1 - grid.precision));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i bytes;
    std::memcpy(&bytes, codes + i, 8);
    const __m256 q = fp8x8<M, Bias, S>(bytes);
    if (spacing) _mm256_storeu_ps(spacing + i, spacing_of(q, lowest, c));
    _mm256_storeu_ps(values + i, _mm256_mul_ps(q, s));
  }
  fp8_scaled_portable(dtype, codes + i, n - i, scale, values + i, spacing ? spacing + i : nullptr);
}

// 16 bytes = 32 codes: nibbles split and interleaved (low first), magnitudes ×2 looked up as integers
// (0, 1, 2, 3, 4, 6, 8, 12), converted, halved and scaled; the sign (bit 3) applied last, so −0 stays −0.
__attribute__((target("avx2"))) void fp4_scaled_avx2(const unsigned char* bytes, unsigned first, size_t n, float scale, float* values,
                                                    float* spacing) noexcept {
  size_t i = 0;
  if (first == 1 && n > 0) {
    fp4_scaled_portable(bytes, 1, 1, scale, values, spacing);
    i = 1;
  }
  const unsigned char* src = bytes + (first + i) / 2;  // now at a low nibble
  const __m128i low_mask = _mm_set1_epi8(0x0F);
  const __m128i doubled = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, 1, 2, 3, 4, 6, 8, 12);
  const __m256 half_scale = _mm256_set1_ps(0.5f * scale), lowest = _mm256_set1_ps(1.0f);
  const __m256 c = _mm256_set1_ps(0.5f * std::fabs(scale)), half = _mm256_set1_ps(0.5f);
  for (; i + 32 <= n; i += 32, src += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i lo = _mm_and_si128(b, low_mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), low_mask);
    const __m128i nibbles[2] = {_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi)};
    for (int part = 0; part < 2; ++part) {
      const __m128i magnitudes = _mm_shuffle_epi8(doubled, nibbles[part]);
      for (int eighth = 0; eighth < 2; ++eighth) {
        const __m128i m8 = eighth ? _mm_srli_si128(magnitudes, 8) : magnitudes;
        const __m128i n8 = eighth ? _mm_srli_si128(nibbles[part], 8) : nibbles[part];
        const __m256 magnitude = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8));
        const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(_mm256_cvtepu8_epi32(n8), _mm256_set1_epi32(8)), 28));
        const size_t at = i + 16 * part + 8 * eighth;
        if (spacing) _mm256_storeu_ps(spacing + at, spacing_of(_mm256_mul_ps(magnitude, half), lowest, c));
        _mm256_storeu_ps(values + at, _mm256_xor_ps(_mm256_mul_ps(magnitude, half_scale), sign));
      }
    }
  }
  const size_t done_nibbles = first + i;
  fp4_scaled_portable(bytes + done_nibbles / 2, unsigned(done_nibbles % 2), n - i, scale, values + i, spacing ? spacing + i : nullptr);
}
#endif

bool use_avx2() noexcept {
#ifdef PARAMSCOPE_X86
  return cpu_features().avx2;
#else
  return false;
#endif
}

}  // namespace

bool is_fp8(DType dtype) noexcept {
  return dtype == DType::F8_E4M3 || dtype == DType::F8_E5M2 || dtype == DType::F8_E4M3FNUZ || dtype == DType::F8_E5M2FNUZ;
}

float fp4_value(unsigned code) noexcept { return kFp4Table[code & 0xF]; }

void decode_fp8_scaled(DType dtype, const unsigned char* codes, size_t n, float scale, float* values, float* spacing) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) {
    switch (dtype) {
      case DType::F8_E5M2: return fp8_scaled_avx2<2, 15, Special::Ieee>(dtype, codes, n, scale, values, spacing);
      case DType::F8_E4M3FNUZ: return fp8_scaled_avx2<3, 8, Special::Fnuz>(dtype, codes, n, scale, values, spacing);
      case DType::F8_E5M2FNUZ: return fp8_scaled_avx2<2, 16, Special::Fnuz>(dtype, codes, n, scale, values, spacing);
      default: return fp8_scaled_avx2<3, 7, Special::FiniteOnly7F>(dtype, codes, n, scale, values, spacing);
    }
  }
#endif
  fp8_scaled_portable(dtype, codes, n, scale, values, spacing);
}

void decode_fp8(DType dtype, const unsigned char* codes, size_t n, float* dst) noexcept {
  // Times 1 is exact, so this is the scaled kernel with nothing to scale.
  decode_fp8_scaled(dtype, codes, n, 1.0f, dst, nullptr);
}

void decode_fp4_scaled(const unsigned char* bytes, unsigned first, size_t n, float scale, float* values, float* spacing) noexcept {
#ifdef PARAMSCOPE_X86
  if (use_avx2()) return fp4_scaled_avx2(bytes, first & 1, n, scale, values, spacing);
#endif
  fp4_scaled_portable(bytes, first & 1, n, scale, values, spacing);
}

bool is_scale_dtype(DType dtype) noexcept {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16 || dtype == DType::F8_E8M0 || dtype == DType::U8;
}

float decode_scale(DType dtype, const unsigned char* element) noexcept {
  switch (dtype) {
    case DType::F32: {
      float v;
      std::memcpy(&v, element, 4);
      return v;
    }
    case DType::BF16:
    case DType::F16: {
      float v;
      decode_to_f32(dtype, element, 1, &v);
      return v;
    }
    default:  // F8_E8M0, or U8 read as E8M0: an exponent byte; 255 is NaN (reported, never 2^128)
      return element[0] == 0xFF ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, int(element[0]) - 127);
  }
}

}  // namespace paramscope::quantized
