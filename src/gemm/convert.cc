#include "gemm/convert.h"

#include <cstring>
#include <exception>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "quant/fp16.h"
#include "quant/quant.h"
#include "gemm/gemm.h"
#include "util/error.h"

namespace dllm {
namespace gemm {
namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// Scalar row kernels: the portable fallback and the reference the SIMD versions match bit for bit.
void RowToBf16Scalar(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = F32ToBf16(src[i]);
}

// IEEE binary16 to f32, exact for every input (quant::F16ToF32, the bit-exact reference).
void F16RowToF32Scalar(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, sizeof(h));  // rows may be only 2-byte aligned
    dst[i] = quant::F16ToF32(h);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DLLM_GEMM_X86 1

// AVX2: the same round-to-nearest-even as F32ToBf16 on 8 values (results in the low 16 bits).
__attribute__((target("avx2"))) inline __m256i RoundToBf16x8(__m256i u) {
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
  const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                            _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rounded, nan, is_nan);
}

__attribute__((target("avx2"))) void RowToBf16Avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = RoundToBf16x8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    const __m256i b =
        RoundToBf16x8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 8)));
    // packus works per 128-bit lane: [a0-3 b0-3 | a4-7 b4-7] -> reorder the 64-bit quarters.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), packed);
  }
  RowToBf16Scalar(src + i, dst + i, n - i);
}

// F16C converts exactly (subnormals included); NaNs stay NaNs.
__attribute__((target("avx2,f16c"))) void F16RowToF32F16c(const uint8_t* src, float* dst,
                                                          int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  F16RowToF32Scalar(src + 2 * i, dst + i, n - i);
}

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
}
bool HaveF16c() {
  // CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports has no "f16c"); the OS's AVX
  // state support, which F16C's VEX encoding needs too, comes with the avx2 check.
  static const bool have = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx2") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
           (ecx & (1u << 29)) != 0;
  }();
  return have;
}
#endif

void RowToBf16(const float* src, uint16_t* dst, int64_t n) {
#if defined(DLLM_GEMM_X86)
  if (HaveAvx2()) return RowToBf16Avx2(src, dst, n);
#endif
  RowToBf16Scalar(src, dst, n);
}

void F16RowToF32(const uint8_t* src, float* dst, int64_t n) {
#if defined(DLLM_GEMM_X86)
  if (HaveF16c()) return F16RowToF32F16c(src, dst, n);
#endif
  F16RowToF32Scalar(src, dst, n);
}

void DequantizeRow(GgmlType type, const uint8_t* src, float* dst, int64_t k) {
  // F16 uses the vectorized F16C decoder; block types come from src/quant.
  if (type == GgmlType::kF16) {
    F16RowToF32(src, dst, k);
    return;
  }
  quant::DequantizeRow(type, src, dst, k);
}

}  // namespace

void RoundToBf16(const float* x, int64_t rows, int64_t cols, int64_t ldx, uint16_t* dst,
                 int64_t ld_dst) {
  if (rows < 0 || cols < 0 || ldx < cols || ld_dst < cols) {
    Throw(ErrorCode::kInvalidArgument,
          "RoundToBf16: bad sizes rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
              " ldx=" + std::to_string(ldx) + " ld_dst=" + std::to_string(ld_dst));
  }
  for (int64_t r = 0; r < rows; ++r) RowToBf16(x + r * ldx, dst + r * ld_dst, cols);
}

void ConvertRowsToBf16(const float* x, int64_t rows, int64_t cols, int64_t ldx, uint16_t* dst) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) RowToBf16(x + r * ldx, dst + r * cols, cols);
}

void RoundRowsToBf16Values(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* dst) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      dst[r * cols + c] = quant::Bf16ToF32(F32ToBf16(x[r * ldx + c]));
    }
  }
}

void WidenBf16Rows(const uint16_t* src, int64_t rows, int64_t cols, int64_t ld, float* dst) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = quant::Bf16ToF32(src[r * ld + c]);
  }
}

bool CanDequantize(GgmlType type) {
  return type == GgmlType::kF16 || quant::CanDequantize(type);
}

void DequantizeRows(GgmlType type, const uint8_t* data, size_t row_bytes, int64_t rows,
                    int64_t k, float* dst) {
  if (rows <= 0) return;
  // Decode the first row serially: an unsupported type or bad block throws here, on the
  // caller's thread, rather than inside the parallel region.
  DequantizeRow(type, data, dst, k);
  std::exception_ptr error;
#pragma omp parallel for schedule(static) if ((rows - 1) * k >= kParallelMin)
  for (int64_t r = 1; r < rows; ++r) {
    try {
      DequantizeRow(type, data + static_cast<size_t>(r) * row_bytes, dst + r * k, k);
    } catch (...) {
#pragma omp critical(dllm_gemm_dequant_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace gemm
}  // namespace dllm
