// Scalar K-quant quantizers reproducing ggml's quantize_row_q{2,3,4,5,6}_K_ref byte for byte.
//
// The reference picks sub-block scales with small searches (MakeQxQuants, MakeQ3Quants,
// MakeQkx2Quants below, after ggml's make_qx_quants / make_q3_quants / make_qkx2_quants) whose
// comparisons depend on the last bit of float32 sums, so every expression here keeps the
// reference's operand order and float/int conversions, and the library is built with
// -ffp-contract=off (a fused multiply-add would change those bits). Integer narrowing
// (int -> uint8_t / int8_t) is modular as in the reference.
//
// Common shape: per super-block of 256, first choose a float scale (and min) per sub-block, then
// quantize those scales to 4/6/8 bits against one fp16 super-scale, and finally re-quantize the
// values against the scales as they will be decoded (fp16 super-scale * integer sub-scale).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "quant/internal.h"

namespace dllm {
namespace quant {
namespace internal {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // below this a sub-block counts as all zero

inline int Max(int a, int b) { return a > b ? a : b; }
inline int Min(int a, int b) { return a < b ? a : b; }

// Round to nearest, ties to even, for |f| <= 2^22 - 1: adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits. (Out of range or NaN inputs give some int, never UB.)
inline int NearestInt(float f) {
  const float v = f + 12582912.0f;
  return static_cast<int>(F32ToBits(v) & 0x007fffffu) - 0x00400000;
}

// Symmetric quantization of n values to [-nmax, nmax) with weights x^2 (make_qx_quants with
// rmse_type 1 and no importance weights): start from scale max/-nmax, then try 18 nearby
// scales and keep the least-squares scale of the best one. L receives the quants + nmax.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = NearestInt(iscale * x[i]);
    l = Max(-nmax, Min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = 0;
    suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * x[i]);
      l = Max(-nmax, Min(nmax - 1, l));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = NearestInt(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + Max(-nmax, Min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric quantization to [-nmax, nmax) with weights x^2, refined by up to 5 passes of
// coordinate descent on the least-squares objective (make_q3_quants with do_rmse). L receives
// the quants + nmax (all zero for an all-zero sub-block).
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = NearestInt(iscale * x[i]);
    l = Max(-nmax, Min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        int new_l = NearestInt(x[i] * sl2 / slx);
        new_l = Max(-nmax, Min(nmax - 1, new_l));
        if (new_l != L[i]) {
          const float nl = static_cast<float>(new_l);
          slx += w * x[i] * nl;
          sl2 += w * nl * nl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric quantization x ~ scale * L + min with L in [0, nmax] and min <= 0
// (make_qkx2_quants): start from the range, then try nstep + 1 scales
// (rmin + rdelta * is + nmax) / range, fitting scale and min by weighted least squares for
// each, and keep the one of least weighted error (|diff| if use_mad, else diff^2).
// Returns the scale; *the_min receives -min (>= 0).
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                     bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(Max(0, Min(nmax, l)));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * (x[i] - min));
      l = Max(0, Min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Packs 2-bit quants: byte l of each 32-byte group holds values l, l+32, l+64, l+96 of 128.
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQKK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) |
                                            (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

// Stores the 6-bit scale ls and min lm of sub-block j (0..7) into Q4_K/Q5_K's 12 scale bytes
// (the inverse of ScaleMinK4). Sub-blocks must be stored in order 0..7.
void PackScaleMinK4(int j, uint8_t ls, uint8_t lm, uint8_t* s) {
  if (j < 4) {
    s[j] = ls;
    s[j + 4] = lm;
  } else {
    s[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
    s[j - 4] = static_cast<uint8_t>(s[j - 4] | ((ls >> 4) << 6));
    s[j] = static_cast<uint8_t>(s[j] | ((lm >> 4) << 6));
  }
}

// The part shared by Q4_K and Q5_K: per 32-value sub-block an asymmetric fit with weights
// rms(sub-block) + |x|, then 6-bit scales and mins against fp16 d = max_scale / 63 and
// dmin = max_min / 63, then the quants (0..nmax) re-fitted to the decoded scales into L.
void QuantizeK4Scales(const float* x, uint8_t* d_dmin, uint8_t* scales, uint8_t* L, int nmax,
                      float rmin, float rdelta, int nstep) {
  uint8_t Laux[32];
  float weights[32];
  float mins[kQKK / 32];
  float sub_scales[kQKK / 32];
  float max_scale = 0;
  float max_min = 0;
  for (int j = 0; j < kQKK / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    sub_scales[j] = MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                   rmin, rdelta, nstep, false);
    if (sub_scales[j] > max_scale) max_scale = sub_scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kQKK / 32; ++j) {
    uint8_t ls = static_cast<uint8_t>(NearestInt(inv_scale * sub_scales[j]));
    uint8_t lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    ls = ls < 63 ? ls : 63;
    lm = lm < 63 ? lm : 63;
    PackScaleMinK4(j, ls, lm, scales);
  }
  StoreF16(d_dmin, max_scale / 63.f);
  StoreF16(d_dmin + 2, max_min / 63.f);
  const float d_all = LoadF16(d_dmin);
  const float dmin_all = LoadF16(d_dmin + 2);
  for (int j = 0; j < kQKK / 32; ++j) {
    uint8_t sc, m;
    ScaleMinK4(j, scales, &sc, &m);
    const float d = d_all * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = dmin_all * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = NearestInt((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(Max(0, Min(nmax, l)));
    }
  }
}

}  // namespace

void QuantizeQ2_K(const float* x, uint8_t* y, int64_t nb) {
  constexpr float kQ4Scale = 15.f;
  uint8_t L[kQKK];
  uint8_t Laux[16];
  float weights[16];
  float mins[kQKK / 16];
  float scales[kQKK / 16];
  for (int64_t b = 0; b < nb; ++b, x += kQKK, y += 84) {
    uint8_t* sc = y;
    uint8_t* qs = y + 16;
    float max_scale = 0;  // the mins are subtracted, so scales are positive
    float max_min = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = kQ4Scale / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) {
        sc[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      }
      StoreF16(y + 80, max_scale / kQ4Scale);
    } else {
      for (int j = 0; j < kQKK / 16; ++j) sc[j] = 0;
      StoreF16(y + 80, 0.f);
    }
    if (max_min > 0) {
      const float iscale = kQ4Scale / max_min;
      for (int j = 0; j < kQKK / 16; ++j) {
        const int l = NearestInt(iscale * mins[j]);
        sc[j] = static_cast<uint8_t>(sc[j] | (static_cast<unsigned>(l) << 4));
      }
      StoreF16(y + 82, max_min / kQ4Scale);
    } else {
      StoreF16(y + 82, 0.f);
    }
    const float d_all = LoadF16(y + 80);
    const float dmin_all = LoadF16(y + 82);
    for (int j = 0; j < kQKK / 16; ++j) {
      const float d = d_all * static_cast<float>(sc[j] & 0xF);
      if (d == 0.0f) continue;
      const float dm = dmin_all * static_cast<float>(sc[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(Max(0, Min(3, l)));
      }
    }
    Pack2Bit(L, qs);
  }
}

void QuantizeQ3_K(const float* x, uint8_t* y, int64_t nb) {
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t b = 0; b < nb; ++b, x += kQKK, y += 110) {
    uint8_t* hmask = y;
    uint8_t* qs = y + 32;
    uint8_t* sc = y + 96;
    float max_scale = 0;  // the sub-block scale of largest magnitude, with its sign
    float amax = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(sc, 0, 12);
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) {
        int8_t l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        l = static_cast<int8_t>(Max(-32, Min(31, l)) + 32);
        if (j < 8) {
          sc[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          sc[j - 8] = static_cast<uint8_t>(sc[j - 8] | ((l & 0xF) << 4));
        }
        l = static_cast<int8_t>(l >> 4);
        sc[j % 4 + 8] = static_cast<uint8_t>(sc[j % 4 + 8] | (l << (2 * (j / 4))));
      }
      StoreF16(y + 108, 1 / iscale);
    } else {
      StoreF16(y + 108, 0.f);
    }
    const float d_all = LoadF16(y + 108);
    for (int j = 0; j < kQKK / 16; ++j) {
      const int s = static_cast<int8_t>(ScaleQ3K(j, sc) - 32);
      const float d = d_all * static_cast<float>(s);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(Max(-4, Min(3, l)) + 4);
      }
    }
    // The high bit of value j goes to bit j / 32 of hmask[j % 32].
    std::memset(hmask, 0, kQKK / 8);
    uint8_t Lu[kQKK];
    for (int j = 0; j < kQKK; ++j) {
      uint8_t l = static_cast<uint8_t>(L[j]);
      if (L[j] > 3) {
        hmask[j % 32] = static_cast<uint8_t>(hmask[j % 32] | (1u << (j / 32)));
        l = static_cast<uint8_t>(l - 4);
      }
      Lu[j] = l;
    }
    Pack2Bit(Lu, qs);
  }
}

void QuantizeQ4_K(const float* x, uint8_t* y, int64_t nb) {
  uint8_t L[kQKK];
  for (int64_t b = 0; b < nb; ++b, x += kQKK, y += 144) {
    QuantizeK4Scales(x, y, y + 4, L, 15, -1.f, 0.1f, 20);
    uint8_t* q = y + 16;
    for (int j = 0; j < kQKK; j += 64, q += 32) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    }
  }
}

void QuantizeQ5_K(const float* x, uint8_t* y, int64_t nb) {
  uint8_t L[kQKK];
  for (int64_t b = 0; b < nb; ++b, x += kQKK, y += 176) {
    QuantizeK4Scales(x, y, y + 4, L, 31, -0.5f, 0.1f, 15);
    uint8_t* qh = y + 16;
    uint8_t* ql = y + 48;
    std::memset(qh, 0, kQKK / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQKK; n += 64, ql += 32) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] = static_cast<uint8_t>(qh[j] | m1);
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] = static_cast<uint8_t>(qh[j] | m2);
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
    }
  }
}

void QuantizeQ6_K(const float* x, uint8_t* y, int64_t nb) {
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t b = 0; b < nb; ++b, x += kQKK, y += 210) {
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < kQKK / 16; ++ib) {
      const float scale = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(y, 0, 210);  // all quants, scales and d zero
      continue;
    }
    int8_t* sc = reinterpret_cast<int8_t*>(y + 192);
    const float iscale = -128.f / max_scale;
    StoreF16(y + 208, 1 / iscale);
    for (int ib = 0; ib < kQKK / 16; ++ib) {
      sc[ib] = static_cast<int8_t>(Min(127, NearestInt(iscale * scales[ib])));
    }
    const float d_all = LoadF16(y + 208);
    for (int j = 0; j < kQKK / 16; ++j) {
      const float d = d_all * static_cast<float>(sc[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(Max(-32, Min(31, l)) + 32);
      }
    }
    uint8_t* ql = y;
    uint8_t* qh = y + 128;
    for (int j = 0; j < kQKK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const int a = static_cast<uint8_t>(L[j + l]);
        const int b2 = static_cast<uint8_t>(L[j + l + 32]);
        const int c = static_cast<uint8_t>(L[j + l + 64]);
        const int e = static_cast<uint8_t>(L[j + l + 96]);
        ql[l] = static_cast<uint8_t>((a & 0xF) | ((c & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((b2 & 0xF) | ((e & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((a >> 4) | ((b2 >> 4) << 2) | ((c >> 4) << 4) |
                                     ((e >> 4) << 6));
      }
    }
  }
}

}  // namespace internal
}  // namespace quant
}  // namespace dllm
