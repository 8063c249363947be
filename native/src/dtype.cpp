#include "paramscope/dtype.hpp"

#include "internal/quantized.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#define PARAMSCOPE_X86 1
#endif

namespace paramscope {

namespace {
constexpr DTypeInfo kTable[] = {
    // dtype               name           bits float  decode precision min_exponent
    {DType::BOOL,        "BOOL",        8,  false, true,  0,  0},
    {DType::U8,          "U8",          8,  false, true,  0,  0},
    {DType::I8,          "I8",          8,  false, true,  0,  0},
    {DType::U16,         "U16",         16, false, true,  0,  0},
    {DType::I16,         "I16",         16, false, true,  0,  0},
    {DType::U32,         "U32",         32, false, true,  0,  0},
    {DType::I32,         "I32",         32, false, true,  0,  0},
    {DType::U64,         "U64",         64, false, true,  0,  0},
    {DType::I64,         "I64",         64, false, true,  0,  0},
    {DType::F16,         "F16",         16, true,  true,  11, -14},
    {DType::BF16,        "BF16",        16, true,  true,  8,  -126},
    {DType::F32,         "F32",         32, true,  true,  24, -126},
    {DType::F64,         "F64",         64, true,  true,  53, -1022},
    {DType::F8_E4M3,     "F8_E4M3",     8,  true,  true,  4,  -6},
    {DType::F8_E5M2,     "F8_E5M2",     8,  true,  true,  3,  -14},
    // Powers of two only: one significand bit, so the spacing at 2^e is 2^e.
    {DType::F8_E8M0,     "F8_E8M0",     8,  true,  true,  1,  -127},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8,  true,  true,  4,  -7},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8,  true,  true,  3,  -15},
    // Sub-byte and complex formats are parsed and validated but not decoded (packing conventions differ
    // between producers); reading them as f32 reports UNSUPPORTED_DTYPE.
    {DType::F4,          "F4",          4,  true,  false, 0,  0},
    {DType::F6_E2M3,     "F6_E2M3",     6,  true,  false, 0,  0},
    {DType::F6_E3M2,     "F6_E3M2",     6,  true,  false, 0,  0},
    {DType::C64,         "C64",         64, false, false, 0,  0},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == size_t(DType::C64) + 1, "one row per DType, in order");

template <typename T>
inline T load(const unsigned char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline float bits_to_float(uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint32_t float_to_bits(float f) noexcept {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float half_to_float(uint16_t h) noexcept {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (exp == 0x1F) return bits_to_float(sign | 0x7F800000 | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return bits_to_float(sign);
    // Subnormal: value = mant * 2^-24.
    float v = float(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t float_to_half(float f) noexcept {
  uint32_t x = float_to_bits(f);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7FFFFFFF;
  if (absx >= 0x7F800000) return uint16_t(sign | 0x7C00 | (absx > 0x7F800000 ? 0x200 : 0));
  if (absx >= 0x477FF000) return uint16_t(sign | 0x7C00);  // rounds to beyond max half: inf
  if (absx < 0x38800000) {
    // Subnormal half (or zero): round absx * 2^24 to nearest even integer.
    float scaled = bits_to_float(absx) * 16777216.0f;
    return uint16_t(sign | uint32_t(std::nearbyint(scaled)));
  }
  uint32_t rounded = absx + 0xFFF + ((absx >> 13) & 1);
  return uint16_t(sign | ((rounded - 0x38000000) >> 13));
}

// F8_E8M0 (an exponent byte): 2^(b − 127), 0xFF is NaN; unsigned. The 8-bit float formats with a sign
// and a fraction are decoded by quantized::decode_fp8 (vectorised from their bit definitions).
const float* e8m0_table() noexcept {
  static const auto table = [] {
    struct {
      float value[256];
    } t{};
    for (int b = 0; b < 256; ++b) t.value[b] = b == 0xFF ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, b - 127);
    return t;
  }();
  return table.value;
}

// 16-bit formats are decoded and checked for NaN/Inf in one pass over the source: a value is
// non-finite exactly when its exponent bits are all ones (BF16: 0x7F80, F16: 0x7C00).
size_t count_exponent_all_ones(const unsigned char* src, size_t n, uint16_t mask) noexcept {
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += (load<uint16_t>(src + 2 * i) & mask) == mask;
  return bad;
}

size_t decode_bf16_scalar(const unsigned char* src, size_t n, float* dst) noexcept {
  uint32_t* out = reinterpret_cast<uint32_t*>(dst);
  for (size_t i = 0; i < n; ++i) out[i] = uint32_t(load<uint16_t>(src + 2 * i)) << 16;
  return count_exponent_all_ones(src, n, 0x7F80);
}

size_t decode_f16_scalar(const unsigned char* src, size_t n, float* dst) noexcept {
  for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(load<uint16_t>(src + 2 * i));
  return count_exponent_all_ones(src, n, 0x7C00);
}

#ifdef PARAMSCOPE_X86
// Outputs larger than this bypass the cache with streaming stores: a big decoded tensor is not read
// back soon, and write-allocate would double the memory traffic. Smaller outputs (engine panels) stay
// in cache for the consumer that reads them next.
constexpr size_t kStreamingBytes = 8u << 20;
// The source is usually a mapped file the disk has just filled: not in any CPU cache, and the hardware
// prefetchers stop at each 4 KiB page. Asking for the line this far ahead keeps the loads from waiting
// on memory at every page (a prefetch never faults, so reading past the end is harmless).
constexpr size_t kPrefetchBytes = 4096;

struct Bf16ToF32 {
  static constexpr uint16_t kExponentMask = 0x7F80;
  __attribute__((target("avx2"))) static inline __m256 convert(__m128i h) noexcept {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};

struct F16ToF32 {
  static constexpr uint16_t kExponentMask = 0x7C00;
  __attribute__((target("avx2,f16c"))) static inline __m256 convert(__m128i h) noexcept { return _mm256_cvtph_ps(h); }
};

// Decodes 8 values at a time (Format::convert: 8 halves in a __m128i -> 8 floats), counting the values
// whose exponent bits are all ones; aligned streaming stores when the output is large.
template <typename Format>
__attribute__((target("avx2,f16c"))) size_t decode16_avx2(const unsigned char* src, size_t n, float* dst) noexcept {
  constexpr uint16_t mask = Format::kExponentMask;
  const bool stream = n * sizeof(float) >= kStreamingBytes;
  size_t i = 0, bad = 0;
  if (stream) {
    // Scalar head until the output is 32-byte aligned, as streaming stores require.
    while (i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31) != 0) {
      __m128i one = _mm_cvtsi32_si128(load<uint16_t>(src + 2 * i));
      dst[i] = _mm256_cvtss_f32(Format::convert(one));
      bad += (load<uint16_t>(src + 2 * i) & mask) == mask;
      ++i;
    }
  }
  const __m128i m = _mm_set1_epi16(static_cast<short>(mask));
  __m128i bad_lanes = _mm_setzero_si128();
  for (; i + 8 <= n; i += 8) {
    if ((i & 31) == 0) _mm_prefetch(reinterpret_cast<const char*>(src + 2 * i) + kPrefetchBytes, _MM_HINT_T0);
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    // Each all-ones lane of the compare is -1: subtracting accumulates counts (16-bit lanes, so flush
    // before they could wrap).
    bad_lanes = _mm_sub_epi16(bad_lanes, _mm_cmpeq_epi16(_mm_and_si128(h, m), m));
    __m256 f = Format::convert(h);
    if (stream) _mm256_stream_ps(dst + i, f);
    else _mm256_storeu_ps(dst + i, f);
    if ((i & ((1u << 17) - 8)) == 0) {
      alignas(16) uint16_t lanes[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(lanes), bad_lanes);
      for (uint16_t c : lanes) bad += c;
      bad_lanes = _mm_setzero_si128();
    }
  }
  if (stream) _mm_sfence();
  alignas(16) uint16_t lanes[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), bad_lanes);
  for (uint16_t c : lanes) bad += c;
  for (; i < n; ++i) {
    __m128i one = _mm_cvtsi32_si128(load<uint16_t>(src + 2 * i));
    dst[i] = _mm256_cvtss_f32(Format::convert(one));
    bad += (load<uint16_t>(src + 2 * i) & mask) == mask;
  }
  return bad;
}

#endif

size_t decode_bf16(const unsigned char* src, size_t n, float* dst) noexcept {
#ifdef PARAMSCOPE_X86
  if (cpu_features().avx2) return decode16_avx2<Bf16ToF32>(src, n, dst);
#endif
  return decode_bf16_scalar(src, n, dst);
}

size_t decode_f16(const unsigned char* src, size_t n, float* dst) noexcept {
#ifdef PARAMSCOPE_X86
  if (cpu_features().avx2 && cpu_features().f16c) return decode16_avx2<F16ToF32>(src, n, dst);
#endif
  return decode_f16_scalar(src, n, dst);
}

template <typename T>
void decode_cast(const unsigned char* src, size_t n, float* dst) noexcept {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src + sizeof(T) * i));
}

}  // namespace

// Counting non-finite values is a separate pass over the (cache-hot) output: it keeps the decode loops
// simple enough for the compiler to vectorise.
size_t count_non_finite(const float* v, size_t n) noexcept {
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += (float_to_bits(v[i]) & 0x7F800000u) == 0x7F800000u;
  return bad;
}

StorageFormat storage_format(DType dtype) noexcept {
  const DTypeInfo& info = dtype_info(dtype);
  return {info.precision, info.min_exponent};
}

double dtype_epsilon(DType dtype) noexcept {
  const int precision = dtype_info(dtype).precision;
  return std::ldexp(1.0, 1 - (precision > 0 ? precision : 24));
}

const DTypeInfo* dtype_table(size_t& count) noexcept {
  count = sizeof(kTable) / sizeof(kTable[0]);
  return kTable;
}

const DTypeInfo& dtype_info(DType dtype) noexcept { return kTable[static_cast<size_t>(dtype)]; }

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  for (const auto& info : kTable)
    if (info.name == name) return info.dtype;
  return std::nullopt;
}

size_t decode_to_f32(DType dtype, const void* source, size_t n, float* dst) noexcept {
  const auto* src = static_cast<const unsigned char*>(source);
  switch (dtype) {
    case DType::BF16: return decode_bf16(src, n, dst);
    case DType::F16: return decode_f16(src, n, dst);
    case DType::F32: std::memcpy(dst, src, n * 4); break;
    case DType::F64: decode_cast<double>(src, n, dst); break;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
    case DType::F8_E4M3FNUZ:
    case DType::F8_E5M2FNUZ: quantized::decode_fp8(dtype, src, n, dst); break;
    case DType::F8_E8M0: {
      const float* table = e8m0_table();
      for (size_t i = 0; i < n; ++i) dst[i] = table[src[i]];
      break;
    }
    case DType::BOOL:
      for (size_t i = 0; i < n; ++i) dst[i] = src[i] ? 1.0f : 0.0f;
      return 0;
    case DType::U8: decode_cast<uint8_t>(src, n, dst); return 0;
    case DType::I8: decode_cast<int8_t>(src, n, dst); return 0;
    case DType::U16: decode_cast<uint16_t>(src, n, dst); return 0;
    case DType::I16: decode_cast<int16_t>(src, n, dst); return 0;
    case DType::U32: decode_cast<uint32_t>(src, n, dst); return 0;
    case DType::I32: decode_cast<int32_t>(src, n, dst); return 0;
    case DType::U64: decode_cast<uint64_t>(src, n, dst); return 0;
    case DType::I64: decode_cast<int64_t>(src, n, dst); return 0;
    default: return 0;
  }
  return count_non_finite(dst, n);
}

void encode_from_f32(DType dtype, const float* src, size_t n, void* destination) noexcept {
  auto* dst = static_cast<unsigned char*>(destination);
  if (dtype == DType::BF16) {
    for (size_t i = 0; i < n; ++i) {
      uint32_t x = float_to_bits(src[i]);
      uint16_t out;
      if ((x & 0x7FFFFFFF) > 0x7F800000) out = uint16_t((x >> 16) | 0x40);  // keep NaN a NaN
      else out = uint16_t((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
      std::memcpy(dst + 2 * i, &out, 2);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint16_t out = float_to_half(src[i]);
      std::memcpy(dst + 2 * i, &out, 2);
    }
  }
}

const char* CpuFeatures::best_level() const noexcept {
  if (avx512f) return "avx512";
  if (avx2 && fma) return "avx2";
  if (sse42) return "sse4.2";
  return "baseline";
}

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures features = [] {
    CpuFeatures f;
    // PARAMSCOPE_SIMD=off selects the portable kernels everywhere (the ctest programs run both ways).
    if (const char* simd = std::getenv("PARAMSCOPE_SIMD"); simd && std::string_view(simd) == "off") return f;
#ifdef PARAMSCOPE_X86
    __builtin_cpu_init();
    f.sse42 = __builtin_cpu_supports("sse4.2");
    f.avx = __builtin_cpu_supports("avx");
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) f.f16c = f.avx && (ecx & bit_F16C);
#endif
    return f;
  }();
  return features;
}

}  // namespace paramscope
