// The quantized-layout kernels and stored matrices against scalar references written here from the
// formats' bit definitions (docs/formats.md): every FP8 code of every variant on both the vector and the
// tail paths, scaled decodes with their grid spacing, packed FP4 at either nibble, the fused subtract
// kernel's counts, and StoredMatrix reading FP8 block scales with partial blocks, MXFP4 with an odd block
// count, expert slices, transposition, row selection, and refusing scales that do not fit.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "internal/kernels.hpp"
#include "internal/quantized.hpp"
#include "paramscope/checkpoint.hpp"
#include "paramscope/jobs.hpp"
#include "paramscope/linop.hpp"
#include "paramscope/stored_matrix.hpp"
#include "test_files.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

struct Fp8Definition {
  DType dtype;
  int mantissa, bias;
  enum { Fn, Ieee, Fnuz } special;
};

const Fp8Definition kFp8[] = {
    {DType::F8_E4M3, 3, 7, Fp8Definition::Fn},
    {DType::F8_E5M2, 2, 15, Fp8Definition::Ieee},
    {DType::F8_E4M3FNUZ, 3, 8, Fp8Definition::Fnuz},
    {DType::F8_E5M2FNUZ, 2, 16, Fp8Definition::Fnuz},
};

// Value and ulp of one code, straight from the definition: s · 2^(e − bias) · (1 + m/2^M), subnormals at
// e = 0 as s · 2^(1 − bias) · m/2^M.
double reference_value(const Fp8Definition& f, unsigned b) {
  const int e_bits = 7 - f.mantissa, e = int((b >> f.mantissa) & ((1u << e_bits) - 1)), m = int(b & ((1u << f.mantissa) - 1));
  const double sign = (b & 0x80) ? -1.0 : 1.0;
  if (f.special == Fp8Definition::Fnuz && b == 0x80) return std::numeric_limits<double>::quiet_NaN();
  if (f.special == Fp8Definition::Fn && (b & 0x7F) == 0x7F) return std::numeric_limits<double>::quiet_NaN();
  if (f.special == Fp8Definition::Ieee && e == (1 << e_bits) - 1) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(double(m), 1 - f.bias - f.mantissa);
  return sign * std::ldexp(1.0 + std::ldexp(double(m), -f.mantissa), e - f.bias);
}

double reference_ulp(const Fp8Definition& f, unsigned b) {
  const int e = int(((b & 0x7F) >> f.mantissa));
  return std::ldexp(1.0, std::max(e, 1) - f.bias - f.mantissa);
}

const double kFp4[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
double fp4_ulp(double q) { return std::fabs(q) < 2 ? 0.5 : std::fabs(q) < 4 ? 1 : 2; }

bool same_value(double expected, float got) { return std::isnan(expected) ? std::isnan(got) : float(expected) == got && std::signbit(expected) == std::signbit(got); }

std::string bytes_of(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

std::shared_ptr<Checkpoint> open_file(const std::string& name, const std::vector<test_files::TensorBytes>& tensors) {
  return Checkpoint::open(test_files::temp().write(name, test_files::safetensors_file(tensors)), {});
}

TensorRef ref_to(std::shared_ptr<Checkpoint> checkpoint, const std::string& tensor) {
  TensorRef ref;
  ref.checkpoint = std::move(checkpoint);
  ref.tensor = tensor;
  return ref;
}

}  // namespace

TEST_CASE(every_fp8_code_decodes_as_its_definition_on_vector_and_tail_paths) {
  for (const Fp8Definition& f : kFp8) {
    // 256 codes at two offsets (so codes fall both in 8-wide vector blocks and in the scalar tail).
    for (size_t shift : {size_t(0), size_t(3)}) {
      std::vector<unsigned char> codes(256 + shift);
      for (unsigned b = 0; b < 256; ++b) codes[shift + b] = static_cast<unsigned char>(b);
      std::vector<float> plain(codes.size()), values(codes.size()), spacing(codes.size());
      decode_to_f32(f.dtype, codes.data(), codes.size(), plain.data());
      const float scale = -0.3717f;
      quantized::decode_fp8_scaled(f.dtype, codes.data(), codes.size(), scale, values.data(), spacing.data());
      bool ok = true;
      for (unsigned b = 0; b < 256; ++b) {
        const double v = reference_value(f, b);
        ok = ok && same_value(v, plain[shift + b]);
        if (!std::isnan(v) && !std::isinf(v)) {
          ok = ok && values[shift + b] == float(v) * scale;
          ok = ok && spacing[shift + b] == float(reference_ulp(f, b) * std::fabs(double(scale)));
        }
        if (!ok) {
          std::printf("  %s code 0x%02x: %g vs %g / %g\n", dtype_info(f.dtype).name.data(), b, v, plain[shift + b], values[shift + b]);
          break;
        }
      }
      CHECK(ok);
    }
  }
}

TEST_CASE(fp4_codes_decode_from_either_nibble_with_their_spacing) {
  std::mt19937 rng(7);
  std::vector<unsigned char> bytes(64);
  for (auto& b : bytes) b = static_cast<unsigned char>(rng());
  for (unsigned first : {0u, 1u})
    for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(31), size_t(32), size_t(33), size_t(64), size_t(95), size_t(127 - first)}) {
      std::vector<float> values(n), spacing(n);
      const float scale = std::ldexp(1.0f, -5);
      quantized::decode_fp4_scaled(bytes.data(), first, n, scale, values.data(), spacing.data());
      bool ok = true;
      for (size_t i = 0; i < n; ++i) {
        const size_t nibble = first + i;
        const double q = kFp4[(bytes[nibble / 2] >> (4 * (nibble % 2))) & 0xF];
        ok = ok && same_value(q * scale, values[i]) && spacing[i] == float(fp4_ulp(q) * scale);
      }
      CHECK(ok);
    }
}

TEST_CASE(scales_decode_as_exponents_never_as_integers) {
  const unsigned char e8m0[] = {127, 120, 0, 255};
  CHECK(quantized::decode_scale(DType::F8_E8M0, e8m0) == 1.0f);
  CHECK(quantized::decode_scale(DType::U8, e8m0 + 1) == std::ldexp(1.0f, -7));  // 2^-7, not 120
  CHECK(quantized::decode_scale(DType::U8, e8m0 + 2) == std::ldexp(1.0f, -127));
  CHECK(std::isnan(quantized::decode_scale(DType::F8_E8M0, e8m0 + 3)));
  const uint16_t bf16 = 0x3E80;  // 0.25
  CHECK(quantized::decode_scale(DType::BF16, reinterpret_cast<const unsigned char*>(&bf16)) == 0.25f);
}

TEST_CASE(subtract_counting_matches_a_scalar_count) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  for (size_t n : {size_t(0), size_t(1), size_t(5), size_t(8), size_t(1001)}) {
    std::vector<float> t(n), b(n), st(n), sb(n), out(n);
    std::vector<double> out64(n);
    for (size_t i = 0; i < n; ++i) {
      b[i] = normal(rng);
      t[i] = i % 3 == 0 ? b[i] : i % 3 == 1 ? b[i] + std::ldexp(1.0f, -12) * normal(rng) : b[i] + normal(rng);
      if (i % 7 == 0) t[i] = -0.0f, b[i] = 0.0f;  // different bits, equal values: not identical
      if (i % 11 == 5) t[i] = std::ldexp(1.0f, -130), b[i] = std::ldexp(1.0f, -140);  // below both formats' smallest binade
    }
    kernels::grid_spacing(t.data(), n, storage_format(DType::F32), st.data());
    kernels::grid_spacing(b.data(), n, storage_format(DType::BF16), sb.data());
    uint64_t identical = 0, below = 0;
    double sst = 0, ssb = 0, dd = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t x, y;
      std::memcpy(&x, &t[i], 4);
      std::memcpy(&y, &b[i], 4);
      identical += x == y;
      const double d = double(t[i]) - double(b[i]);
      below += std::fabs(d) < (1.0 - std::ldexp(1.0, -16)) * std::max<double>(st[i], sb[i]);  // kernels.hpp's definition
      sst += double(st[i]) * st[i];
      ssb += double(sb[i]) * sb[i];
      dd += d * d;
    }
    kernels::DifferenceSums sums;
    kernels::subtract_counting(t.data(), b.data(), st.data(), sb.data(), out.data(), out64.data(), n, sums);
    CHECK(sums.identical == identical);
    CHECK(sums.below_spacing == below);
    CHECK_NEAR(sums.tuned_spacing_squared, sst, 1e-12 * sst);
    CHECK_NEAR(sums.base_spacing_squared, ssb, 1e-12 * ssb);
    CHECK_NEAR(sums.difference_squared, dd, 1e-12 * (dd + 1e-300));
    CHECK_NEAR(sums.base_spacing_squared / 12, kernels::rounding_energy(b.data(), n, storage_format(DType::BF16)), 1e-12 * ssb);
    bool exact = true;
    for (size_t i = 0; i < n; ++i) exact = exact && out64[i] == double(t[i]) - double(b[i]) && out[i] == float(out64[i]);
    CHECK(exact);
    kernels::DifferenceSums no_spacing;
    kernels::subtract_counting(t.data(), b.data(), nullptr, nullptr, nullptr, out64.data(), n, no_spacing);
    CHECK(no_spacing.identical == identical && no_spacing.below_spacing == 0);
    // Spacings made from the values and formats: the same counts and the same sums, bit for bit.
    kernels::DifferenceSums on_grids;
    std::vector<float> out_grids(n);
    kernels::subtract_counting_on_grids(t.data(), b.data(), storage_format(DType::F32), storage_format(DType::BF16), out_grids.data(), nullptr, n, on_grids);
    CHECK(on_grids.identical == sums.identical && on_grids.below_spacing == sums.below_spacing);
    CHECK(on_grids.tuned_spacing_squared == sums.tuned_spacing_squared && on_grids.base_spacing_squared == sums.base_spacing_squared);
    CHECK(on_grids.difference_squared == sums.difference_squared && on_grids.tuned_squared == sums.tuned_squared);
    CHECK(std::memcmp(out_grids.data(), out.data(), n * sizeof(float)) == 0);
  }
}

TEST_CASE(fp8_block_scales_with_partial_blocks_decode_exactly) {
  // 130 × 260 codes in 128 × 128 blocks: scales 2 × 3, the last row block 2 rows, the last column block 4.
  const uint64_t m = 130, n = 260;
  std::vector<unsigned char> codes(m * n);
  std::mt19937 rng(11);
  for (auto& c : codes) {
    c = static_cast<unsigned char>(rng());
    if ((c & 0x7F) == 0x7F) c = 0x3A;  // no NaN codes in a weight
  }
  const std::vector<float> scales = {0.5f, 0.001953125f, 3.1f, -0.25f, 1e-3f, 7.0f};
  auto ckpt = open_file("fp8_block.safetensors", {{"w", "F8_E4M3", "[130,260]", bytes_of(codes.data(), codes.size())},
                                                  {"w_scale_inv", "F32", "[2,3]", bytes_of(scales.data(), 4 * scales.size())},
                                                  {"bad_scale", "F32", "[3,2]", bytes_of(scales.data(), 4 * scales.size())}});
  TensorRef ref = ref_to(ckpt, "w");
  ref.encoding = Encoding::Scaled;
  ref.scale = "w_scale_inv";
  ref.block_rows = ref.block_cols = 128;
  auto matrix = StoredMatrix::resolve(ref, "fp8");
  CHECK(matrix->rows() == m && matrix->cols() == n);
  std::vector<float> values(m * n), spacing(m * n);
  matrix->read_rows(0, m, values.data(), spacing.data());
  bool ok = true;
  for (uint64_t r = 0; r < m && ok; ++r)
    for (uint64_t c = 0; c < n && ok; ++c) {
      const float s = scales[(r / 128) * 3 + c / 128];
      ok = values[r * n + c] == float(reference_value(kFp8[0], codes[r * n + c])) * s &&
           spacing[r * n + c] == float(reference_ulp(kFp8[0], codes[r * n + c]) * std::fabs(double(s)));
    }
  CHECK(ok);
  // A few rows in the middle read the same as the whole.
  std::vector<float> part(3 * n);
  matrix->read_rows(127, 130, part.data(), nullptr);
  CHECK(std::equal(part.begin(), part.end(), values.begin() + 127 * n));

  ref.scale = "bad_scale";
  CHECK_THROWS_CODE(StoredMatrix::resolve(ref, "fp8"), INVALID_QUANTIZATION);
  ref.scale = "w_scale_inv";
  ref.block_rows = 64;  // 3 × 3 scales needed
  CHECK_THROWS_CODE(StoredMatrix::resolve(ref, "fp8"), INVALID_QUANTIZATION);
  ref.tensor = "w_scale_inv";  // F32 codes are not FP8
  CHECK_THROWS_CODE(StoredMatrix::resolve(ref, "fp8"), UNSUPPORTED_DTYPE);
  ref = ref_to(ckpt, "w");
  ref.encoding = Encoding::Scaled;
  CHECK_THROWS_CODE(StoredMatrix::resolve(ref, "fp8"), INVALID_QUANTIZATION);  // no scale given
}

TEST_CASE(expert_slices_transposed_and_strided_rows_of_plain_and_mxfp4_tensors) {
  // Plain BF16 experts [3, 4, 6]: expert 1 transposed (6 × 4), rows 1, 3, 5 (the odd rows).
  std::vector<float> source(3 * 4 * 6);
  for (size_t i = 0; i < source.size(); ++i) source[i] = float(i) - 20.0f;
  std::vector<uint16_t> bf16(source.size());
  encode_from_f32(DType::BF16, source.data(), source.size(), bf16.data());
  // MXFP4 [2 experts, 5 rows, 3 blocks, 16 bytes] + scales [2, 5, 3]: 96 codes per row, an odd block count.
  std::vector<unsigned char> blocks(2 * 5 * 3 * 16), exponents(2 * 5 * 3);
  std::mt19937 rng(5);
  for (auto& b : blocks) b = static_cast<unsigned char>(rng());
  for (auto& e : exponents) e = static_cast<unsigned char>(118 + rng() % 16);
  auto ckpt = open_file("experts.safetensors", {{"gate_up", "BF16", "[3,4,6]", bytes_of(bf16.data(), 2 * bf16.size())},
                                               {"blocks", "U8", "[2,5,3,16]", bytes_of(blocks.data(), blocks.size())},
                                               {"scales", "U8", "[2,5,3]", bytes_of(exponents.data(), exponents.size())}});
  TensorRef plain = ref_to(ckpt, "gate_up");
  plain.expert = 1;
  plain.transpose = true;
  plain.row_offset = 1;
  plain.row_stride = 2;
  auto odd = StoredMatrix::resolve(plain, "plain");
  CHECK(odd->rows() == 3 && odd->cols() == 4);
  std::vector<float> got(12), spacing(12);
  odd->read_rows(0, 3, got.data(), spacing.data());
  bool ok = true;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) ok = ok && got[r * 4 + c] == source[24 + c * 6 + (1 + 2 * r)];
  CHECK(ok);
  plain.expert = 3;
  CHECK_THROWS_CODE(StoredMatrix::resolve(plain, "plain"), SLICE_OUT_OF_RANGE);

  TensorRef mx = ref_to(ckpt, "blocks");
  mx.encoding = Encoding::Mxfp4;
  mx.scale = "scales";
  mx.block_rows = 1;
  mx.block_cols = 32;
  mx.expert = 1;
  auto expert = StoredMatrix::resolve(mx, "mxfp4");
  CHECK(expert->rows() == 5 && expert->cols() == 96);
  auto reference = [&](int r, int k) {
    const size_t byte = ((1 * 5 + r) * 3 + k / 32) * 16 + (k % 32) / 2;
    const double q = kFp4[(blocks[byte] >> (4 * (k % 2))) & 0xF];
    return q * std::ldexp(1.0, int(exponents[(1 * 5 + r) * 3 + k / 32]) - 127);
  };
  std::vector<float> rows(5 * 96);
  expert->read_rows(0, 5, rows.data(), nullptr);
  ok = true;
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < 96; ++k) ok = ok && same_value(reference(r, k), rows[r * 96 + k]);
  CHECK(ok);
  // Transposed, odd columns only (an interleaved layout read as [in, out]): starts on a high nibble.
  mx.transpose = true;
  mx.row_offset = 1;
  mx.row_stride = 2;
  auto odd_columns = StoredMatrix::resolve(mx, "mxfp4");
  CHECK(odd_columns->rows() == 48 && odd_columns->cols() == 5);
  std::vector<float> columns(48 * 5);
  odd_columns->read_rows(0, 48, columns.data(), nullptr);
  ok = true;
  for (int j = 0; j < 48; ++j)
    for (int r = 0; r < 5; ++r) ok = ok && same_value(reference(r, 1 + 2 * j), columns[j * 5 + r]);
  CHECK(ok);
}

TEST_CASE(difference_of_an_fp8_release_and_its_original_counts_the_update_sparsity) {
  // Tuned: FP8 per-tensor (scale 2^-4); base: the same values in BF16 except for 5 entries.
  const uint64_t m = 16, n = 24;
  std::vector<unsigned char> codes(m * n);
  std::vector<float> base(m * n);
  for (uint64_t i = 0; i < m * n; ++i) {
    codes[i] = static_cast<unsigned char>(0x30 + i % 40);
    base[i] = float(reference_value(kFp8[0], codes[i])) * 0.0625f;
  }
  for (uint64_t i : {uint64_t(3), uint64_t(50), uint64_t(51), uint64_t(200), uint64_t(383)}) base[i] *= 1.5f;
  std::vector<uint16_t> base_bf16(m * n);
  encode_from_f32(DType::BF16, base.data(), base.size(), base_bf16.data());
  const float scale = 0.0625f;
  auto ckpt = open_file("mixed.safetensors", {{"t", "F8_E4M3", "[16,24]", bytes_of(codes.data(), codes.size())},
                                             {"t_scale", "F32", "[]", bytes_of(&scale, 4)},
                                             {"b", "BF16", "[16,24]", bytes_of(base_bf16.data(), 2 * base_bf16.size())}});
  DifferenceJobSpec spec;
  spec.name = "mixed";
  spec.tuned = ref_to(ckpt, "t");
  spec.tuned.encoding = Encoding::Scaled;
  spec.tuned.scale = "t_scale";
  spec.tuned.block_rows = m;
  spec.tuned.block_cols = n;
  spec.base = ref_to(ckpt, "b");
  std::vector<MatrixJob> jobs{difference_job(spec)};
  std::vector<JobResult> results;
  EngineCallbacks callbacks;
  callbacks.on_result = [&](JobResult&& r) { results.push_back(std::move(r)); };
  std::atomic<bool> cancel{false};
  run_engine(jobs, EngineOptions{}, callbacks, cancel);
  CHECK(results.size() == 1 && !results[0].error);
  CHECK(results[0].identical_entries == int64_t(m * n - 5));
  CHECK(results[0].below_spacing_entries == int64_t(m * n - 5));  // ×1.5 moves a value by half of itself
  // Rounding energy: Σ (ulp(q)·s)²/12 for the tuned side plus the BF16 base's.
  double expected = 0;
  for (uint64_t i = 0; i < m * n; ++i) expected += std::pow(reference_ulp(kFp8[0], codes[i]) * 0.0625, 2) / 12;
  expected += kernels::rounding_energy(base.data(), base.size(), storage_format(DType::BF16));
  CHECK_NEAR(results[0].rounding_energy, expected, 1e-12 * expected);
  CHECK(results[0].metrics.complete);
}

TEST_MAIN()
