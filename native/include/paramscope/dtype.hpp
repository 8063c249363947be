#pragma once
// The safetensors dtype table and the decode kernels that turn stored elements into f32. Kernels read
// through memcpy so the source may sit at any alignment (MLX and older LoRA files are unaligned).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace paramscope {

enum class DType : uint8_t {
  BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2,
  F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F4, F6_E2M3, F6_E3M2, C64
};

// One row per dtype: everything the core knows about a format is here. A float format's rounding grid
// is given by its significand bits (`precision`, implicit bit included) and the exponent of its
// smallest normal number (`min_exponent`); below that the spacing stays 2^(min_exponent − precision + 1).
// precision 0 for formats without a rounding grid (integers, BOOL, the undecoded ones).
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  unsigned bits;       // storage bits per element (sub-byte for F4 / F6)
  bool is_float;       // a real floating-point format (spectra are computed on these)
  bool decodable;      // decode_to_f32 supports it
  int precision;       // significand bits, implicit bit included; 0: no rounding grid
  int min_exponent;    // exponent of the smallest normal number
};

const DTypeInfo& dtype_info(DType dtype) noexcept;
// Every row, in DType order (for the addon's dtypeTable() and its consistency test with lib/read/dtypes.ts).
const DTypeInfo* dtype_table(size_t& count) noexcept;

// The rounding grid of a format, from its row of the table.
struct StorageFormat {
  int precision = 0;
  int min_exponent = 0;
  bool known() const noexcept { return precision > 0; }
};
StorageFormat storage_format(DType dtype) noexcept;

// Machine epsilon 2^(1 − precision) of a stored format: the relative precision the numerical-rank
// threshold is scaled by. Formats without a grid are decoded to f32, so theirs is f32's, 2⁻²³.
double dtype_epsilon(DType dtype) noexcept;

std::optional<DType> dtype_from_name(std::string_view name) noexcept;

// Decodes `count` elements starting at `src` into `dst`. Returns the number of NaN/Inf values seen in
// float formats (integers are never non-finite). Precondition: dtype_info(dtype).decodable.
size_t decode_to_f32(DType dtype, const void* src, size_t count, float* dst) noexcept;

// Number of NaN and infinite values among n floats (src may be unaligned only if it is a float*).
size_t count_non_finite(const float* values, size_t n) noexcept;

// Encodes f32 values as BF16 or F16 with round-to-nearest-even (used by the writer and test data
// generators). Precondition: dtype is BF16 or F16.
void encode_from_f32(DType dtype, const float* src, size_t count, void* dst) noexcept;

// Runtime CPU features used to pick kernels; the binary itself targets baseline x86-64.
struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, avx512f = false,
       avx512bf16 = false;
  const char* best_level() const noexcept;  // "avx512", "avx2", "sse4.2", "baseline"
};
const CpuFeatures& cpu_features() noexcept;

}  // namespace paramscope
