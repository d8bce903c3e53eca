// Scalar quantizers for F16, BF16 and the 32-value block formats, reproducing ggml's
// quantize_row_q{4_0,4_1,5_0,5_1,8_0}_ref byte for byte: the block scale is computed in float32,
// the quants use its float32 reciprocal (not the fp16-rounded scale), and rounding is done the
// reference's way (adding 0.5 / 8.5 / 16.5 and truncating; roundf for Q8_0).
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "quant/internal.h"

namespace dllm {
namespace quant {
namespace internal {
namespace {

// C's float -> integer conversion (truncation toward zero) for values the reference produces,
// made total: NaN and values beyond [lo, hi] clamp instead of being undefined behaviour. For
// finite inputs the reference's values always lie inside, so this changes nothing there.
inline int TruncClamp(float v, int lo, int hi) {
  if (!(v > static_cast<float>(lo - 1))) return lo;
  if (v >= static_cast<float>(hi + 1)) return hi;
  return static_cast<int>(v);
}

inline int Min(int a, int b) { return a < b ? a : b; }

// The value of largest magnitude (the first one on ties), with its sign.
inline float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

}  // namespace

void QuantizeF16(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = F32ToF16(src[i]);
    std::memcpy(dst + 2 * i, &h, sizeof(h));
  }
}

void QuantizeBf16(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = F32ToBf16(src[i]);
    std::memcpy(dst + 2 * i, &h, sizeof(h));
  }
}

// d = max / -8, where max is the value of largest magnitude, so max maps to q = 0 and the
// quants span -8..7 (q = 16 is clamped to 15). An all-zero block stores d = -0.0.
void QuantizeQ4_0(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, y += 18) {
    const float max = SignedAbsMax(x, kQK);
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + kQK / 2] * id;
      const uint8_t q0 = static_cast<uint8_t>(Min(15, TruncClamp(x0 + 8.5f, -128, 127)));
      const uint8_t q1 = static_cast<uint8_t>(Min(15, TruncClamp(x1 + 8.5f, -128, 127)));
      y[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ4_1(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, y += 20) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    StoreF16(y + 2, min);
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + kQK / 2] - min) * id;
      const uint8_t q0 = static_cast<uint8_t>(Min(15, TruncClamp(x0 + 0.5f, -128, 127)));
      const uint8_t q1 = static_cast<uint8_t>(Min(15, TruncClamp(x1 + 0.5f, -128, 127)));
      y[4 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ5_0(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, y += 22) {
    const float max = SignedAbsMax(x, kQK);
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = x[j] * id;
      const float x1 = x[j + kQK / 2] * id;
      const uint8_t q0 = static_cast<uint8_t>(Min(31, TruncClamp(x0 + 16.5f, -128, 127)));
      const uint8_t q1 = static_cast<uint8_t>(Min(31, TruncClamp(x1 + 16.5f, -128, 127)));
      y[6 + j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + kQK / 2);
    }
    std::memcpy(y + 2, &qh, sizeof(qh));
  }
}

void QuantizeQ5_1(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, y += 24) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kQK; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    StoreF16(y + 2, min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + kQK / 2] - min) * id;
      // The reference converts straight to uint8_t without clamping; finite inputs give 0..31.
      const uint8_t q0 = static_cast<uint8_t>(TruncClamp(x0 + 0.5f, 0, 255));
      const uint8_t q1 = static_cast<uint8_t>(TruncClamp(x1 + 0.5f, 0, 255));
      y[8 + j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= ((q0 & 0x10u) >> 4) << j;
      qh |= ((q1 & 0x10u) >> 4) << (j + kQK / 2);
    }
    std::memcpy(y + 4, &qh, sizeof(qh));
  }
}

void QuantizeQ8_0(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK, y += 34) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;  // MAX(amax, |v|) as the reference writes it
    }
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    for (int j = 0; j < kQK; ++j) {
      const int q = TruncClamp(std::round(x[j] * id), -128, 127);  // roundf: ties away from 0
      y[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

}  // namespace internal
}  // namespace quant
}  // namespace dllm
