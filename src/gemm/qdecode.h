// Decoding of GGUF block-quantized weight rows into the integer form the int8 matmul works on:
// per group of G consecutive values (G = 32, or 16 for the K-quants with 16-value sub-blocks)
// an int8 value q[j], an f32 scale s and, for the types with a min/offset, an f32 offset o, with
//
//     value[j] = s · q[j] + o      (s · q[j] is exact in f32; + o rounds once)
//
// which is bit for bit what quant::DequantizeRow computes (tests/gemm checks this for every type).
// Plain inline code without Highway: qgemm-inl.h inlines it into each target's unpacking loop
// (so the compiler vectorizes it for that target), and the scalar reference uses it as is.
#pragma once

#include <cstdint>
#include <cstring>

#include "gguf/types.h"
#include "quant/internal.h"

namespace dllm {
namespace gemm {
namespace q8 {

// Values per weight group of `type` (0: not a type of the int8 path).
inline int GroupSize(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
      return 32;
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K:
    case GgmlType::kQ6_K:
      return 16;
    default:
      return 0;
  }
}

// Whether the type's values carry an offset o (Q4_1, Q5_1: +m; Q2_K, Q4_K, Q5_K: −dmin·m).
inline bool HasOffset(GgmlType type) {
  return type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1 || type == GgmlType::kQ2_K ||
         type == GgmlType::kQ4_K || type == GgmlType::kQ5_K;
}

// The decoded values' range: q ∈ [0, 2^bits) for the offset types, else |q| ≤ MaxAbsQ(type)
// (Q8_0 stores any int8, −128 included).
inline int MaxAbsQ(GgmlType type) {
  switch (type) {
    case GgmlType::kQ8_0: return 128;
    case GgmlType::kQ6_K: return 32;   // −32..31
    case GgmlType::kQ5_1:
    case GgmlType::kQ5_K: return 31;   // 0..31
    case GgmlType::kQ5_0: return 16;   // −16..15
    case GgmlType::kQ4_1:
    case GgmlType::kQ4_K: return 15;   // 0..15
    case GgmlType::kQ4_0: return 8;    // −8..7
    case GgmlType::kQ3_K: return 4;    // −4..3
    case GgmlType::kQ2_K: return 3;    // 0..3
    default: return 0;
  }
}

// How the AVX2 kernel (no VNNI) forms its products with vpmaddubsw (unsigned × signed bytes):
//   - the offset types (values ≥ 0): the weights are the unsigned operand as they are;
//   - Q8_0: |q| times the activation given q's sign (vpsignb): −128 · 127 twice is 32512, the
//     only way two products fit a 16-bit lane;
//   - the other signed types (Q4_0, Q5_0, Q3_K, Q6_K): the activations shifted to u8 (q + 128,
//     as the VNNI kernels take them) times the signed weights, the group's sums started at
//     −128 · Σq (the layout's nsum), no sign operation.
inline bool ShiftedOnAvx2(GgmlType type) {
  return GroupSize(type) != 0 && !HasOffset(type) && type != GgmlType::kQ8_0;
}

// How many 4-value steps of a group that kernel adds up in int16 before widening: each lane
// holds two products of |q| ≤ MaxAbsQ and an activation operand ≤ 127 (255 shifted), so S steps
// stay exact while S · 2 · (127 or 255) · MaxAbsQ ≤ 32767. The largest of 8, 4, 2 and 1 that
// also divides the group's steps (G / 4): Q8_0 1; Q6_K 2; Q5_0, Q5_1, Q5_K, Q2_K, Q3_K 4;
// Q4_0, Q4_1, Q4_K 8.
inline int Int16Span(GgmlType type) {
  const int steps = GroupSize(type) / 4, m = MaxAbsQ(type);
  if (m == 0) return 0;
  const int operand = ShiftedOnAvx2(type) ? 255 : 127;
  for (int s : {8, 4, 2}) {
    if (s <= steps && s * 2 * operand * m <= 32767) return s;
  }
  return 1;
}

// The block-field readers are quant's own (the bit-exact dequantizers use the same ones).
using quant::internal::LoadF16;
using quant::internal::ScaleMinK4;
using quant::internal::ScaleQ3K;

// The per-group scales s[0..k/G) and, when HasOffset(type), offsets o[0..k/G) of one row (o may
// be null otherwise). DecodeRow uses it, and so do the SIMD unpackers that decode the int8 values
// themselves.
inline void DecodeScales(GgmlType type, const uint8_t* src, int64_t k, float* s, float* o) {
  switch (type) {
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
    case GgmlType::kQ8_0: {
      const int64_t bytes = type == GgmlType::kQ4_0 ? 18 : type == GgmlType::kQ5_0 ? 22 : 34;
      for (int64_t b = 0; b < k / 32; ++b, src += bytes) s[b] = LoadF16(src);
      return;
    }
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_1: {
      const int64_t bytes = type == GgmlType::kQ4_1 ? 20 : 24;
      for (int64_t b = 0; b < k / 32; ++b, src += bytes) {
        s[b] = LoadF16(src);
        o[b] = LoadF16(src + 2);
      }
      return;
    }
    case GgmlType::kQ2_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 84, s += 16, o += 16) {
        const float d = LoadF16(src + 80), dmin = LoadF16(src + 82);
        for (int g = 0; g < 16; ++g) {
          s[g] = d * static_cast<float>(src[g] & 0xF);
          o[g] = -(dmin * static_cast<float>(src[g] >> 4));
        }
      }
      return;
    case GgmlType::kQ3_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 110, s += 16) {
        const float d = LoadF16(src + 108);
        for (int g = 0; g < 16; ++g) {
          s[g] = d * static_cast<float>(ScaleQ3K(g, src + 96) - 32);
        }
      }
      return;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K: {
      const int64_t bytes = type == GgmlType::kQ4_K ? 144 : 176;
      for (int64_t b = 0; b < k / 256; ++b, src += bytes, s += 8, o += 8) {
        const float d = LoadF16(src), dmin = LoadF16(src + 2);
        for (int g = 0; g < 8; ++g) {
          uint8_t sc, m;
          ScaleMinK4(g, src + 4, &sc, &m);
          s[g] = d * static_cast<float>(sc);
          o[g] = -(dmin * static_cast<float>(m));
        }
      }
      return;
    }
    case GgmlType::kQ6_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 210, s += 16) {
        const float d = LoadF16(src + 208);
        const auto* sc = reinterpret_cast<const int8_t*>(src + 192);
        for (int g = 0; g < 16; ++g) s[g] = d * static_cast<float>(sc[g]);
      }
      return;
    default:
      return;
  }
}

// Decodes one row of k values (a whole number of blocks; the caller validated type and k) into
// q[0..k), s[0..k/G) and, when HasOffset(type), o[0..k/G) (o may be null otherwise).
// Always inlined, so each Highway target's unpacking compiles (and vectorizes) its own copy.
__attribute__((always_inline)) inline void DecodeRow(GgmlType type, const uint8_t* src,
                                                     int64_t k, int8_t* q, float* s, float* o) {
  DecodeScales(type, src, k, s, o);
  switch (type) {
    case GgmlType::kQ4_0:
      for (int64_t b = 0; b < k / 32; ++b, src += 18, q += 32) {
        for (int j = 0; j < 16; ++j) {
          q[j] = static_cast<int8_t>((src[2 + j] & 0xF) - 8);
          q[j + 16] = static_cast<int8_t>((src[2 + j] >> 4) - 8);
        }
      }
      return;
    case GgmlType::kQ4_1:
      for (int64_t b = 0; b < k / 32; ++b, src += 20, q += 32) {
        for (int j = 0; j < 16; ++j) {
          q[j] = static_cast<int8_t>(src[4 + j] & 0xF);
          q[j + 16] = static_cast<int8_t>(src[4 + j] >> 4);
        }
      }
      return;
    case GgmlType::kQ5_0:
      for (int64_t b = 0; b < k / 32; ++b, src += 22, q += 32) {
        uint32_t qh;
        std::memcpy(&qh, src + 2, 4);
        for (int j = 0; j < 16; ++j) {
          q[j] = static_cast<int8_t>(((src[6 + j] & 0xF) | (((qh >> j) & 1) << 4)) - 16);
          q[j + 16] = static_cast<int8_t>(((src[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
        }
      }
      return;
    case GgmlType::kQ5_1:
      for (int64_t b = 0; b < k / 32; ++b, src += 24, q += 32) {
        uint32_t qh;
        std::memcpy(&qh, src + 4, 4);
        for (int j = 0; j < 16; ++j) {
          q[j] = static_cast<int8_t>((src[8 + j] & 0xF) | (((qh >> j) & 1) << 4));
          q[j + 16] = static_cast<int8_t>((src[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
        }
      }
      return;
    case GgmlType::kQ8_0:
      for (int64_t b = 0; b < k / 32; ++b, src += 34, q += 32) std::memcpy(q, src + 2, 32);
      return;
    case GgmlType::kQ2_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 84, q += 256) {
        for (int g = 0; g < 16; ++g) {
          const uint8_t* qp = src + 16 + 32 * (g / 8) + 16 * (g % 2);
          const int shift = 2 * ((g / 2) % 4);
          for (int l = 0; l < 16; ++l) q[16 * g + l] = static_cast<int8_t>((qp[l] >> shift) & 3);
        }
      }
      return;
    case GgmlType::kQ3_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 110, q += 256) {
        for (int g = 0; g < 16; ++g) {
          const uint8_t* qp = src + 32 + 32 * (g / 8) + 16 * (g % 2);
          const uint8_t* hp = src + 16 * (g % 2);
          const int shift = 2 * ((g / 2) % 4);
          const uint8_t bit = static_cast<uint8_t>(1u << (g / 2));
          for (int l = 0; l < 16; ++l) {
            q[16 * g + l] =
                static_cast<int8_t>(((qp[l] >> shift) & 3) - ((hp[l] & bit) ? 0 : 4));
          }
        }
      }
      return;
    case GgmlType::kQ4_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 144, q += 256) {
        for (int g = 0; g < 8; ++g) {
          const uint8_t* qp = src + 16 + 32 * (g / 2);
          const int shift = 4 * (g % 2);
          for (int l = 0; l < 32; ++l) q[32 * g + l] = static_cast<int8_t>((qp[l] >> shift) & 0xF);
        }
      }
      return;
    case GgmlType::kQ5_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 176, q += 256) {
        for (int g = 0; g < 8; ++g) {
          const uint8_t* qh = src + 16;
          const uint8_t* ql = src + 48 + 32 * (g / 2);
          const int shift = 4 * (g % 2);
          for (int l = 0; l < 32; ++l) {
            q[32 * g + l] = static_cast<int8_t>(((ql[l] >> shift) & 0xF) |
                                                (((qh[l] >> g) & 1) << 4));
          }
        }
      }
      return;
    case GgmlType::kQ6_K:
      for (int64_t b = 0; b < k / 256; ++b, src += 210, q += 256) {
        for (int h = 0; h < 2; ++h) {
          const uint8_t* ql = src + 64 * h;
          const uint8_t* qh = src + 128 + 32 * h;
          int8_t* qo = q + 128 * h;
          for (int l = 0; l < 32; ++l) {
            qo[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            qo[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            qo[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            qo[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
          }
        }
      }
      return;
    default:
      return;  // unreachable: callers check GroupSize(type) != 0
  }
}

}  // namespace q8
}  // namespace gemm
}  // namespace dllm
