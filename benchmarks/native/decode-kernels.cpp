// Kernel-level look at the BF16/F16 → f32 decode, beside memcpy of the same output bytes, without the
// N-API allocation in the way. Links the shipped native/src/dtype.cpp, built with binding.gyp's flags
// (-O3, baseline x86-64 ISA), and compares it with candidate kernels (decode fused with the non-finite
// count, streaming stores) and with the cost of faulting in a fresh output buffer (4 KiB vs 2 MiB pages).
//
//   g++ -O3 -std=c++20 -Inative/include benchmarks/native/decode-kernels.cpp native/src/dtype.cpp \
//       -o benchmarks/data/decode-kernels && benchmarks/data/decode-kernels [GiB of BF16 input, default 1]
//
// Not part of `npm run bench` (it needs a compiler and is about the kernel, not the API); the numbers it
// printed on the reference machine are in benchmarks/README.md.
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "paramscope/dtype.hpp"

using paramscope::DType;

namespace {

double seconds_of(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median_seconds(const std::function<void()>& f, int repeats = 5) {
  f();  // warmup
  std::vector<double> s;
  for (int i = 0; i < repeats; ++i) s.push_back(seconds_of(f));
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

void* map_anonymous(size_t bytes, bool huge) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); std::exit(1); }
  if (huge) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

// Candidate: AVX2 BF16 decode, non-finite count fused in the same pass, streaming (non-temporal) stores so
// the 2 GiB output is not read for ownership. dst must be 32-byte aligned (page-aligned outputs are).
__attribute__((target("avx2"))) size_t decode_bf16_avx2_stream(const uint16_t* src, size_t n, float* dst) {
  const __m256i exp_mask = _mm256_set1_epi32(0x7F800000);
  __m256i bad = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i a = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    __m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8)));
    a = _mm256_slli_epi32(a, 16);
    b = _mm256_slli_epi32(b, 16);
    bad = _mm256_sub_epi32(bad, _mm256_cmpeq_epi32(_mm256_and_si256(a, exp_mask), exp_mask));
    bad = _mm256_sub_epi32(bad, _mm256_cmpeq_epi32(_mm256_and_si256(b, exp_mask), exp_mask));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i), a);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i + 8), b);
  }
  _mm_sfence();
  alignas(32) uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), bad);
  size_t count = 0;
  for (uint32_t v : lanes) count += v;  // lane counters: fine below 2^32 per lane (chunk n < 2^35)
  for (; i < n; ++i) {
    uint32_t u = uint32_t(src[i]) << 16;
    std::memcpy(dst + i, &u, 4);
    count += (u & 0x7F800000u) == 0x7F800000u;
  }
  return count;
}

// Candidate: same with normal stores (shows what the streaming stores buy).
__attribute__((target("avx2"))) size_t decode_bf16_avx2_store(const uint16_t* src, size_t n, float* dst) {
  const __m256i exp_mask = _mm256_set1_epi32(0x7F800000);
  __m256i bad = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i a = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))), 16);
    bad = _mm256_sub_epi32(bad, _mm256_cmpeq_epi32(_mm256_and_si256(a, exp_mask), exp_mask));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), a);
  }
  alignas(32) uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), bad);
  size_t count = 0;
  for (uint32_t v : lanes) count += v;
  if (i < n) count += paramscope::decode_to_f32(DType::BF16, src + i, n - i, dst + i);
  return count;
}

// Candidate: F16C decode with the count fused and streaming stores.
__attribute__((target("avx2,f16c"))) size_t decode_f16_f16c_stream(const uint16_t* src, size_t n, float* dst) {
  const __m256i exp_mask = _mm256_set1_epi32(0x7F800000);
  __m256i bad = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    __m256 b = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8)));
    bad = _mm256_sub_epi32(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(a), exp_mask), exp_mask));
    bad = _mm256_sub_epi32(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(b), exp_mask), exp_mask));
    _mm256_stream_ps(dst + i, a);
    _mm256_stream_ps(dst + i + 8, b);
  }
  _mm_sfence();
  alignas(32) uint32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), bad);
  size_t count = 0;
  for (uint32_t v : lanes) count += v;
  if (i < n) count += paramscope::decode_to_f32(DType::F16, src + i, n - i, dst + i);
  return count;
}

// The shipped kernel called on cache-sized blocks: the count pass then reads L2, not DRAM.
size_t decode_blocked(DType dtype, const uint16_t* src, size_t n, float* dst, size_t block) {
  size_t count = 0;
  for (size_t i = 0; i < n; i += block) count += paramscope::decode_to_f32(dtype, src + i, std::min(block, n - i), dst + i);
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  const double gib = argc > 1 ? std::atof(argv[1]) : 1.0;
  const size_t n = size_t(gib * (1ull << 30)) / 2;  // 16-bit elements
  const size_t out_bytes = n * 4;
  std::printf("n = %zu elements: %.2f GiB stored (16-bit), %.2f GiB f32 output; one thread; GB = 1e9 B of output\n", n,
              n * 2.0 / (1ull << 30), out_bytes / double(1ull << 30));

  auto* src = static_cast<uint16_t*>(map_anonymous(n * 2, false));
  uint32_t s = 12345;  // finite BF16 / F16 bit patterns (exponent field never all-ones)
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    src[i] = uint16_t((s & 0x3FFF) | 0x3000 | (s >> 31 << 15));
  }
  auto* copy_src = static_cast<float*>(map_anonymous(out_bytes, false));
  std::memset(copy_src, 1, out_bytes);
  auto* out = static_cast<float*>(map_anonymous(out_bytes, false));
  std::memset(out, 0, out_bytes);  // faulted in: every trial below writes to resident pages

  struct Row { const char* name; double sec; };
  std::vector<Row> rows;
  auto run = [&](const char* name, const std::function<void()>& f) {
    double sec = median_seconds(f);
    rows.push_back({name, sec});
    std::printf("%-58s %8.1f ms %7.2f GB/s\n", name, sec * 1e3, out_bytes / sec / 1e9);
    std::fflush(stdout);
  };
  volatile size_t sink = 0;
  run("memcpy 2 GiB f32 into resident buffer (glibc)", [&] { std::memcpy(out, copy_src, out_bytes); });
  run("shipped decode_to_f32 BF16 (decode + count pass)", [&] { sink = paramscope::decode_to_f32(DType::BF16, src, n, out); });
  run("  of which count_non_finite pass alone", [&] { sink = paramscope::count_non_finite(out, n); });
  run("shipped decode_to_f32 BF16 in 16 Ki-element blocks", [&] { sink = decode_blocked(DType::BF16, src, n, out, 16384); });
  run("candidate BF16 AVX2 fused count, normal stores", [&] { sink = decode_bf16_avx2_store(src, n, out); });
  run("candidate BF16 AVX2 fused count, streaming stores", [&] { sink = decode_bf16_avx2_stream(src, n, out); });
  run("shipped decode_to_f32 F16 (F16C + count pass)", [&] { sink = paramscope::decode_to_f32(DType::F16, src, n, out); });
  run("shipped decode_to_f32 F16 in 16 Ki-element blocks", [&] { sink = decode_blocked(DType::F16, src, n, out, 16384); });
  run("candidate F16 F16C fused count, streaming stores", [&] { sink = decode_f16_f16c_stream(src, n, out); });

  // Fresh output buffers, as readSync returns: the page faults are part of the cost.
  auto fresh = [&](bool huge, const std::function<void(float*)>& body) {
    return [&, huge, body] {
      auto* p = static_cast<float*>(map_anonymous(out_bytes, huge));
      body(p);
      munmap(p, out_bytes);
    };
  };
  run("fresh 4K-page buffer: first touch only (memset)", fresh(false, [&](float* p) { std::memset(p, 0, out_bytes); }));
  run("fresh 2M-page buffer (MADV_HUGEPAGE): first touch only", fresh(true, [&](float* p) { std::memset(p, 0, out_bytes); }));
  run("fresh 4K-page buffer: memcpy", fresh(false, [&](float* p) { std::memcpy(p, copy_src, out_bytes); }));
  run("fresh 4K-page buffer: shipped BF16 decode", fresh(false, [&](float* p) { sink = paramscope::decode_to_f32(DType::BF16, src, n, p); }));
  run("fresh 2M-page buffer: memcpy", fresh(true, [&](float* p) { std::memcpy(p, copy_src, out_bytes); }));
  run("fresh 2M-page buffer: shipped BF16 decode", fresh(true, [&](float* p) { sink = paramscope::decode_to_f32(DType::BF16, src, n, p); }));
  run("fresh 2M-page buffer: candidate BF16 streaming", fresh(true, [&](float* p) { sink = decode_bf16_avx2_stream(src, n, p); }));
  run("fresh 2M-page buffer: shipped F16 decode", fresh(true, [&](float* p) { sink = paramscope::decode_to_f32(DType::F16, src, n, p); }));
  run("fresh 2M-page buffer: candidate F16 streaming", fresh(true, [&](float* p) { sink = decode_f16_f16c_stream(src, n, p); }));
  (void)sink;
  return 0;
}
