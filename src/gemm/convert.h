// Element conversions feeding the oneDNN matmuls: activation rows to bf16 and weight rows of any
// file type to f32. Internal to src/gemm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gguf/types.h"

namespace dllm {
namespace gemm {

// Round to nearest even, as oneDNN and PyTorch round f32 to bf16. NaNs stay (quiet) NaNs.
inline uint16_t F32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// dst[r × cols + c] = bf16(x[r × ldx + c]) for r < rows, c < cols. Runs on the calling thread's
// OpenMP team.
void ConvertRowsToBf16(const float* x, int64_t rows, int64_t cols, int64_t ldx, uint16_t* dst);

// dst[r × cols + c] = x[r × ldx + c] rounded to bf16 and widened back to f32 (the value a bf16
// matmul multiplies; dst may equal x when ldx == cols). For CPUs without bf16 matmuls, which
// multiply these values in f32 instead: the products are the same (exact in f32).
void RoundRowsToBf16Values(const float* x, int64_t rows, int64_t cols, int64_t ldx, float* dst);

// dst[r × cols + c] = the f32 value of bf16 src[r × ld + c] (exact). Runs on the calling thread's
// OpenMP team.
void WidenBf16Rows(const uint16_t* src, int64_t rows, int64_t cols, int64_t ld, float* dst);

// Whether DequantizeRows can decode `type` (F16 and the GGUF block types of src/quant).
bool CanDequantize(GgmlType type);

// Decodes `rows` weight rows of `k` values, row r at data + r * row_bytes, into dst[r × k + c].
// Runs on the calling thread's OpenMP team. Throws dllm::Error if a row cannot be decoded.
void DequantizeRows(GgmlType type, const uint8_t* data, size_t row_bytes, int64_t rows,
                    int64_t k, float* dst);

}  // namespace gemm
}  // namespace dllm
