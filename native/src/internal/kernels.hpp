#pragma once
// Vector kernels for the passes that turn stored rows into a resident f32 matrix: sums of squares in
// double (the exact Frobenius norms) and the fused T − B of two decoded rows. AVX2 versions are chosen
// at run time (the binary targets baseline x86-64); the portable versions keep four partial sums so the
// result does not depend on a single long dependency chain either. A NaN or Inf anywhere makes the sums
// non-finite, which is how callers detect bad input without a separate counting pass (squares of f32
// values cannot overflow a double sum).
#include <cstddef>
#include <cstdint>

#include "paramscope/dtype.hpp"

namespace paramscope::kernels {

// Σ values[i]², accumulated in double.
double sum_of_squares(const float* values, size_t n) noexcept;

struct DifferenceSums {
  double tuned_squared = 0, base_squared = 0, difference_squared = 0;
  // Counted by subtract_counting: entries whose two values have the same bits, and (only when both
  // spacings are given) entries with |tuned − base| below the larger of the two grid spacings there
  // (less a 2⁻¹⁶ tolerance for the f32 rounding of code × scale: kernels.cpp).
  uint64_t identical = 0, below_spacing = 0;
  // Σ spacing² of each side (12 × its rounding energy), when both spacings are given.
  double tuned_spacing_squared = 0, base_spacing_squared = 0;
};

// out[i] = tuned[i] − base[i] (computed in double, rounded once to f32; `out` may alias `tuned`), and
// adds Σ tuned², Σ base² and Σ (tuned − base)² (the exact differences) to `sums`.
void subtract(const float* tuned, const float* base, float* out, size_t n, DifferenceSums& sums) noexcept;

// The same in one pass, also counting the entries that did not change (bit-identical values) and, with
// the spacings of both sides' storage grids at each entry (tuned_spacing, base_spacing; both or neither
// null), the entries that changed by less than one storage step (|Δ| < max of the two spacings), and
// summing the squared spacings. Either output may be null: f32 (may alias `tuned`) or exact double.
void subtract_counting(const float* tuned, const float* base, const float* tuned_spacing, const float* base_spacing, float* out_f32,
                       double* out_f64, size_t n, DifferenceSums& sums) noexcept;

// subtract_counting with each side's spacings made from its values and its (known) storage format, as
// grid_spacing would write them: the same sums and counts without two spacing arrays to write and read
// back (the common pair of two plain checkpoints, BF16 or F16). Precondition: both formats known().
void subtract_counting_on_grids(const float* tuned, const float* base, StorageFormat tuned_format, StorageFormat base_format, float* out_f32,
                                double* out_f64, size_t n, DifferenceSums& sums) noexcept;

// spacing[i] = the spacing of `format`'s grid at values[i], 2^(max(e, emin) − p + 1) with e the exponent of
// values[i]: one storage step there (exact for values decoded from that format). Σ spacing²/12 is
// rounding_energy. Precondition: format.known().
void grid_spacing(const float* values, size_t n, StorageFormat format, float* spacing) noexcept;

// Σ ulp(xᵢ)²/12, with ulp(x) the spacing of `format`'s grid at x (read from the exponent of x, which is
// exact for values decoded from that format): the variance of rounding a number to the nearest point of
// the grid, summed over the values. This is the expected energy of storage rounding in a tensor whose
// values were rounded from higher precision. Precondition: format.known().
double rounding_energy(const float* values, size_t n, StorageFormat format) noexcept;

}  // namespace paramscope::kernels
