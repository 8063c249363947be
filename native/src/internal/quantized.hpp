#pragma once
// Decode kernels for quantized codes: 8-bit float codes (F8_E4M3, F8_E5M2 and their FNUZ variants) and
// 4-bit E2M1 codes packed two per byte, each optionally times one scale, with the spacing of the code's
// grid at each value (the code's ulp times the scale: what one storage step is worth there). AVX2
// versions are chosen at run time; the portable versions read the same 256-entry tables as
// decode_to_f32. Bit definitions: docs/formats.md.
#include <cstddef>
#include <cstdint>

#include "paramscope/dtype.hpp"

namespace paramscope::quantized {

// True for the 8-bit float code formats decode_fp8 takes.
bool is_fp8(DType dtype) noexcept;

// The rounding grid of E2M1 (FP4) codes: two significand bits, smallest normal 1 (spacing 0.5 below 2,
// 1 in [2, 4), 2 in [4, 6]).
constexpr StorageFormat kFp4Grid{2, 0};

// The value of each E2M1 code (bit 3 is the sign): 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives.
float fp4_value(unsigned code) noexcept;

// dst[i] = the value of 8-bit float code codes[i]. Precondition: is_fp8(dtype).
void decode_fp8(DType dtype, const unsigned char* codes, size_t n, float* dst) noexcept;

// values[i] = fp8(codes[i]) · scale, rounded once to f32 (exact when scale has at most 20 significant
// bits: BF16, F16 and E8M0 scales); spacing[i] (when spacing is not null) = ulp of the code grid at
// fp8(codes[i]) times scale. Precondition: is_fp8(dtype).
void decode_fp8_scaled(DType dtype, const unsigned char* codes, size_t n, float scale, float* values, float* spacing) noexcept;

// The same for E2M1 codes packed two per byte, low nibble first: n values starting at nibble `first`
// (0: the low nibble of bytes[0], 1: its high nibble). Every product is exact (E2M1 has 2 significant bits).
void decode_fp4_scaled(const unsigned char* bytes, unsigned first, size_t n, float scale, float* values, float* spacing) noexcept;

// One element of a scale tensor: F32, BF16, F16, F8_E8M0 (2^(b − 127), 255 is NaN), or U8 read as E8M0
// (gpt-oss stores its MXFP4 scales as U8). Precondition: is_scale_dtype(dtype).
float decode_scale(DType dtype, const unsigned char* element) noexcept;
bool is_scale_dtype(DType dtype) noexcept;

}  // namespace paramscope::quantized
