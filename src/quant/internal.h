// Per-format kernels behind quant.h. Each takes a whole number of blocks (`nb`) and trusts its
// caller (quant.cc) to have validated the type, the count and the pointers.
//
// Block layouts (byte offsets; fp16 fields little-endian, read with memcpy since blocks are only
// byte-aligned inside a row):
//   Q4_0 (32 values, 18 B): d 0-1, qs 2-17 (value j in the low nibble of qs[j], j+16 in the high)
//   Q4_1 (32, 20): d 0-1, m 2-3, qs 4-19
//   Q5_0 (32, 22): d 0-1, qh 2-5 (bit j = 5th bit of value j), qs 6-21
//   Q5_1 (32, 24): d 0-1, m 2-3, qh 4-7, qs 8-23
//   Q8_0 (32, 34): d 0-1, int8 qs 2-33
//   Q2_K (256, 84): scales 0-15 (low nibble scale, high nibble min), qs 16-79, d 80-81, dmin 82-83
//   Q3_K (256, 110): hmask 0-31, qs 32-95, scales 96-107 (16 packed 6-bit values), d 108-109
//   Q4_K (256, 144): d 0-1, dmin 2-3, scales 4-15 (8 scales + 8 mins, 6 bits each), qs 16-143
//   Q5_K (256, 176): d 0-1, dmin 2-3, scales 4-15, qh 16-47, qs 48-175
//   Q6_K (256, 210): ql 0-127, qh 128-191, int8 scales 192-207, d 208-209
#pragma once

#include <cstdint>
#include <cstring>

#include "quant/fp16.h"

namespace dllm {
namespace quant {
namespace internal {

constexpr int kQK = 32;    // values per block of the simple formats
constexpr int kQKK = 256;  // values per super-block of the K-quants

inline float LoadF16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return F16ToF32(h);
}

inline void StoreF16(uint8_t* p, float f) {
  const uint16_t h = F32ToF16(f);
  std::memcpy(p, &h, sizeof(h));
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block's 12 scale bytes.
inline void ScaleMinK4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The 6-bit scale (0..63, bias 32 not removed) of sub-block j (0..15) of a Q3_K block.
inline int ScaleQ3K(int j, const uint8_t* s) {
  const int low = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// Dequantizers: nb blocks at src -> nb * block_size floats at dst.
void DequantizeF16(const uint8_t* src, float* dst, int64_t n);
void DequantizeBf16(const uint8_t* src, float* dst, int64_t n);
void DequantizeQ4_0(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ4_1(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ5_0(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ5_1(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ8_0(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ2_K(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ3_K(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ4_K(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ5_K(const uint8_t* src, float* dst, int64_t nb);
void DequantizeQ6_K(const uint8_t* src, float* dst, int64_t nb);

// Quantizers: nb * block_size floats at src -> nb blocks at dst.
void QuantizeF16(const float* src, uint8_t* dst, int64_t n);
void QuantizeBf16(const float* src, uint8_t* dst, int64_t n);
void QuantizeQ4_0(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ4_1(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ5_0(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ5_1(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ8_0(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ2_K(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ3_K(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ4_K(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ5_K(const float* src, uint8_t* dst, int64_t nb);
void QuantizeQ6_K(const float* src, uint8_t* dst, int64_t nb);

}  // namespace internal
}  // namespace quant
}  // namespace dllm
