// IEEE binary16 (F16) and bfloat16 (BF16) <-> float32 conversions, exact and portable.
//
// Widening (F16ToF32, Bf16ToF32) is exact for every 16-bit pattern: subnormals are converted, not
// flushed, ±0 keep their sign, Inf stays Inf and NaN stays NaN (payload shifted into place).
// Narrowing rounds to nearest, ties to even, exactly as ggml's reference converters do:
//   F32ToF16:  values at or above 65520 in magnitude become ±Inf, results below the smallest
//              normal become F16 subnormals (or ±0); NaN becomes the quiet NaN 0x7E00 with the
//              input's sign (what ggml_compute_fp32_to_fp16 produces).
//   F32ToBf16: NaN becomes the input's upper 16 bits with the quiet bit (0x0040) forced on, so
//              a NaN never rounds into Inf; everything else, subnormals included, is rounded
//              (ggml_compute_fp32_to_bf16 and the gguf package's numpy code agree on this).
// Only integer arithmetic is used, so the results do not depend on the FPU's FTZ/DAZ modes.
#pragma once

#include <cstdint>
#include <cstring>

namespace dllm {
namespace quant {

inline float BitsToF32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline uint32_t F32ToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = h & 0x7c00u;
  const uint32_t mant = h & 0x03ffu;
  if (exp != 0 && exp != 0x7c00u) {
    // Normal: rebias the exponent from 15 to 127 (add 112 << 23).
    return BitsToF32(sign | ((static_cast<uint32_t>(h & 0x7fffu) << 13) + 0x38000000u));
  }
  if (exp == 0x7c00u) return BitsToF32(sign | 0x7f800000u | (mant << 13));  // Inf / NaN
  if (mant == 0) return BitsToF32(sign);                                      // ±0
  // Subnormal: mant * 2^-24. Normalize so the leading 1 lands on bit 10; each shift lowers the
  // exponent by one. The result is a normal float32, built from bits (exact).
  uint32_t e = 113;  // biased float32 exponent of 2^-14, the value of bit 10 with exponent 1
  uint32_t m = mant;
  while ((m & 0x0400u) == 0) {
    m <<= 1;
    --e;
  }
  return BitsToF32(sign | (e << 23) | ((m & 0x03ffu) << 13));
}

inline uint16_t F32ToF16(float f) {
  const uint32_t u = F32ToBits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 (or Inf): Inf
  if (a >= 0x38800000u) {
    // Normal F16 (>= 2^-14): rebias, then round the 13 dropped bits to nearest even. A carry out
    // of the mantissa correctly bumps the exponent; the bound above keeps it below Inf.
    const uint32_t r = a - 0x38000000u;
    return static_cast<uint16_t>(sign | ((r + 0x0fffu + ((r >> 13) & 1u)) >> 13));
  }
  if (a <= 0x33000000u) return sign;  // <= 2^-25: rounds to ±0 (the tie goes to even, 0)
  // Subnormal F16: the result is round(|f| * 2^24). |f| = m * 2^(e-150) with the implicit bit in
  // m, so |f| * 2^24 = m >> (126 - e); 102 <= e <= 112 gives shifts 14..24.
  const uint32_t e = a >> 23;
  const uint32_t m = (a & 0x007fffffu) | 0x00800000u;
  const uint32_t shift = 126 - e;
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may become 0x400, the smallest normal
  return static_cast<uint16_t>(sign | q);
}

inline float Bf16ToF32(uint16_t h) { return BitsToF32(static_cast<uint32_t>(h) << 16); }

inline uint16_t F32ToBf16(float f) {
  const uint32_t u = F32ToBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  // Cannot overflow 32 bits: the largest finite magnitude 0x7f7fffff (with or without the sign
  // bit) plus 0x8000 stays below 2^32, and rounds to Inf as it should.
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace quant
}  // namespace dllm
