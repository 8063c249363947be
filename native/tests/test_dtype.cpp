// Decode kernels against hand-computed values, including the formats' special encodings.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "paramscope/dtype.hpp"
#include "test_support.hpp"

using namespace paramscope;

TEST_CASE(bf16_decodes_by_shift) {
  const uint16_t raw[] = {0x3F80, 0xC000, 0x0000, 0x7F80, 0x7FC0, 0x0001};
  float out[6];
  size_t bad = decode_to_f32(DType::BF16, raw, 6, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.0f);
  CHECK(out[2] == 0.0f);
  CHECK(std::isinf(out[3]));
  CHECK(std::isnan(out[4]));
  CHECK(out[5] > 0 && out[5] < 1e-38f);
  CHECK(bad == 2);
}

TEST_CASE(f16_decodes_normals_subnormals_and_specials_on_every_path) {
  // More than 8 values so the F16C path handles a vector block and a scalar tail.
  const uint16_t raw[] = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x8000, 0x3555, 0x4248};
  float out[11];
  size_t bad = decode_to_f32(DType::F16, raw, 11, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.0f);
  CHECK(out[2] == std::ldexp(1.0f, -24));
  CHECK(out[3] == std::ldexp(1023.0f, -24));
  CHECK(out[4] == 65504.0f);
  CHECK(std::isinf(out[5]) && out[5] > 0);
  CHECK(std::isinf(out[6]) && out[6] < 0);
  CHECK(std::isnan(out[7]));
  CHECK(out[8] == 0.0f && std::signbit(out[8]));
  CHECK_NEAR(out[9], 0.33325195f, 1e-7);
  CHECK_NEAR(out[10], 3.140625f, 1e-7);
  CHECK(bad == 3);
}

TEST_CASE(f8_formats_follow_their_specs) {
  const uint8_t e4m3[] = {0x38, 0x7E, 0x7F, 0xFF, 0x01, 0xB8};
  float out[6];
  size_t bad = decode_to_f32(DType::F8_E4M3, e4m3, 6, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == 448.0f);  // largest finite E4M3FN
  CHECK(std::isnan(out[2]) && std::isnan(out[3]));
  CHECK(out[4] == std::ldexp(1.0f, -9));
  CHECK(out[5] == -1.0f);
  CHECK(bad == 2);
  const uint8_t e5m2[] = {0x3C, 0x7B, 0x7C, 0x7D, 0x01};
  bad = decode_to_f32(DType::F8_E5M2, e5m2, 5, out);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == 57344.0f);
  CHECK(std::isinf(out[2]));
  CHECK(std::isnan(out[3]));
  CHECK(out[4] == std::ldexp(1.0f, -16));
  CHECK(bad == 2);
}

TEST_CASE(encode_round_trips_and_rounds_to_nearest_even) {
  std::vector<float> values = {1.0f, -0.5f, 3.14159f, 1e-6f, 65504.0f, 0.0f, -1e30f};
  for (DType dtype : {DType::BF16, DType::F16}) {
    std::vector<uint16_t> encoded(values.size());
    std::vector<float> decoded(values.size());
    encode_from_f32(dtype, values.data(), values.size(), encoded.data());
    decode_to_f32(dtype, encoded.data(), values.size(), decoded.data());
    double eps = dtype == DType::BF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
    for (size_t i = 0; i < 5; ++i) CHECK_NEAR(decoded[i], values[i], std::fabs(values[i]) * eps + 1e-7);
  }
  // 1 + 2^-8 is exactly half-way between two BF16 values: ties go to the even mantissa (1.0).
  float tie = 1.0f + std::ldexp(1.0f, -8);
  uint16_t out;
  encode_from_f32(DType::BF16, &tie, 1, &out);
  CHECK(out == 0x3F80);
  float big = 1e6f;
  encode_from_f32(DType::F16, &big, 1, &out);
  CHECK(out == 0x7C00);  // overflow to infinity
}

TEST_CASE(unaligned_sources_decode_correctly) {
  std::vector<unsigned char> buffer(1 + 4 * 17);
  for (int i = 0; i < 17; ++i) {
    float v = float(i) * 0.25f;
    std::memcpy(buffer.data() + 1 + 4 * i, &v, 4);
  }
  std::vector<float> out(17);
  decode_to_f32(DType::F32, buffer.data() + 1, 17, out.data());
  for (int i = 0; i < 17; ++i) CHECK(out[i] == float(i) * 0.25f);
}

// Large outputs take the streaming-store path (unaligned head, vector body, scalar tail); every value
// and the fused non-finite count must match a bit-level scalar reference.
TEST_CASE(large_16bit_decodes_match_scalar_reference_on_every_path) {
  const size_t n = (9u << 20) / 4 + 13;  // > 8 MiB of output, odd length
  std::vector<uint16_t> storage(n + 1);
  uint64_t state = 12345;
  for (auto& v : storage) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = uint16_t(state >> 48);
  }
  for (size_t offset : {size_t(0), size_t(1)}) {  // offset 1: unaligned output start
    std::vector<float> out(n + 8);
    for (DType dtype : {DType::BF16, DType::F16}) {
      const uint16_t* src = storage.data();
      float* dst = out.data() + offset;
      size_t bad = decode_to_f32(dtype, src, n, dst);
      size_t expected_bad = 0, mismatches = 0;
      for (size_t i = 0; i < n; ++i) {
        float reference;
        decode_to_f32(dtype, src + i, 1, &reference);  // n = 1 takes the scalar path
        uint32_t a, b;
        std::memcpy(&a, &reference, 4);
        std::memcpy(&b, dst + i, 4);
        mismatches += !(a == b || (std::isnan(reference) && std::isnan(dst[i])));
        expected_bad += !std::isfinite(reference);
      }
      CHECK(mismatches == 0);
      CHECK(bad == expected_bad);
      CHECK(expected_bad > 0);
    }
  }
}

TEST_MAIN()
