// Per-target SIMD implementations of the element-wise and row kernels declared in kernels.h
// (everything except sampling). Included once per target by kernels.cc via foreach_target.h.
//
// Tails: the last partial vector of a row goes through a lane buffer (LoadTail/StoreTail) and
// the same vector code as the body, so an element's result never depends on its position.

// Per-target include guard (Highway's skeleton).
#if defined(DLLM_KERNELS_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DLLM_KERNELS_OPS_INL_H_
#undef DLLM_KERNELS_OPS_INL_H_
#else
#define DLLM_KERNELS_OPS_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace dllm {
namespace kernels {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Loads count (< Lanes) floats from p; the other lanes are `fill`. Never reads past p+count.
HWY_INLINE VF LoadTail(DF d, const float* HWY_RESTRICT p, size_t count, float fill) {
  HWY_ALIGN float buf[hn::MaxLanes(DF())];
  for (size_t i = 0; i < hn::Lanes(d); ++i) buf[i] = i < count ? p[i] : fill;
  return hn::Load(d, buf);
}

// Stores the first count (< Lanes) lanes of v to p. Never writes past p+count.
HWY_INLINE void StoreTail(DF d, VF v, float* HWY_RESTRICT p, size_t count) {
  HWY_ALIGN float buf[hn::MaxLanes(DF())];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, count * sizeof(float));
}

// The largest lane of v, −inf when every lane is −inf. Not hn::MaxOfLanes: Highway 1.0.3's
// EMU128 copy (the fallback target clang builds) starts its reduction at the lowest finite
// float, so a row of −inf gave −FLT_MAX and Softmax's all −inf row became NaN, not zeros.
HWY_INLINE float MaxLane(DF d, VF v) {
  HWY_ALIGN float buf[hn::MaxLanes(DF())];
  hn::Store(v, d, buf);
  float m = buf[0];
  for (size_t i = 1; i < hn::Lanes(d); ++i) m = buf[i] > m ? buf[i] : m;
  return m;
}

// Σ x[i]² over four accumulators (f32).
HWY_INLINE float SumOfSquares(DF d, const float* HWY_RESTRICT x, size_t n) {
  const size_t N = hn::Lanes(d);
  VF s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const VF v0 = hn::LoadU(d, x + i), v1 = hn::LoadU(d, x + i + N);
    const VF v2 = hn::LoadU(d, x + i + 2 * N), v3 = hn::LoadU(d, x + i + 3 * N);
    s0 = hn::MulAdd(v0, v0, s0);
    s1 = hn::MulAdd(v1, v1, s1);
    s2 = hn::MulAdd(v2, v2, s2);
    s3 = hn::MulAdd(v3, v3, s3);
  }
  for (; i + N <= n; i += N) {
    const VF v = hn::LoadU(d, x + i);
    s0 = hn::MulAdd(v, v, s0);
  }
  if (i < n) {
    const VF v = LoadTail(d, x + i, n - i, 0.0f);
    s1 = hn::MulAdd(v, v, s1);
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
}

// x and y may alias (each vector is loaded before it is stored).
HWY_INLINE void RmsNormRow(const float* x, const float* HWY_RESTRICT w, float* y, size_t n,
                           float eps) {
  if (n == 0) return;
  const DF d;
  const size_t N = hn::Lanes(d);
  const double mean = static_cast<double>(SumOfSquares(d, x, n)) / static_cast<double>(n);
  const VF scale = hn::Set(d, static_cast<float>(1.0 / std::sqrt(mean + eps)));
  size_t i = 0;
  if (w != nullptr) {
    for (; i + N <= n; i += N) {
      hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, x + i), scale), hn::LoadU(d, w + i)), d, y + i);
    }
    if (i < n) {
      const VF v = hn::Mul(hn::Mul(LoadTail(d, x + i, n - i, 0.0f), scale),
                           LoadTail(d, w + i, n - i, 0.0f));
      StoreTail(d, v, y + i, n - i);
    }
  } else {
    for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), scale), d, y + i);
    if (i < n) StoreTail(d, hn::Mul(LoadTail(d, x + i, n - i, 0.0f), scale), y + i, n - i);
  }
}

void RmsNorm(const float* x, const float* w, float* y, size_t n, float eps) {
  RmsNormRow(x, w, y, n, eps);
}

void RmsNormRows(float* x, size_t rows, size_t n, size_t stride, const float* w, float eps) {
  for (size_t r = 0; r < rows; ++r) RmsNormRow(x + r * stride, w, x + r * stride, n, eps);
}

void RopeNeox(float* HWY_RESTRICT x, size_t head_dim, size_t n_heads,
              const float* HWY_RESTRICT cos, const float* HWY_RESTRICT sin) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const size_t half = head_dim / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* HWY_RESTRICT lo = x + h * head_dim;
    float* HWY_RESTRICT hi = lo + half;
    size_t j = 0;
    for (; j + N <= half; j += N) {
      const VF c = hn::LoadU(d, cos + j), s = hn::LoadU(d, sin + j);
      const VF a = hn::LoadU(d, lo + j), b = hn::LoadU(d, hi + j);
      hn::StoreU(hn::MulSub(a, c, hn::Mul(b, s)), d, lo + j);
      hn::StoreU(hn::MulAdd(b, c, hn::Mul(a, s)), d, hi + j);
    }
    if (j < half) {
      const size_t k = half - j;
      const VF c = LoadTail(d, cos + j, k, 0.0f), s = LoadTail(d, sin + j, k, 0.0f);
      const VF a = LoadTail(d, lo + j, k, 0.0f), b = LoadTail(d, hi + j, k, 0.0f);
      StoreTail(d, hn::MulSub(a, c, hn::Mul(b, s)), lo + j, k);
      StoreTail(d, hn::MulAdd(b, c, hn::Mul(a, s)), hi + j, k);
    }
  }
}

// e^x for x ≤ 88, in ~14 vector ops (Highway's Exp is ~2x the work because it also covers
// overflow and the subnormal range). Returns exactly 0 for x < −86.5 (including −inf and NaN),
// so no result is ever subnormal (subnormal results cost microcode assists on x86). For
// x in [−86.5, 88]: x = q·ln2 + r with integer q (|r| ≤ ln2/2, Cody–Waite split of ln2),
// e^r by a degree-6 polynomial (relative error 4e-9, fitted for dllm), 2^q built in the
// exponent bits. Error ≤ ~1.5 ulp.
HWY_INLINE VF FastExp(DF d, VF x) {
  // 1.5·2^23 + 127: adding it rounds x·log2(e) to an integer q and leaves q + 127 in the low
  // mantissa bits, whence 2^q = bits << 23 (127 + q is in [2, 254] on the valid range).
  const VF shifter = hn::Set(d, 12583039.0f);
  const VF t = hn::MulAdd(x, hn::Set(d, 1.44269504088896341f), shifter);
  const VF q = hn::Sub(t, shifter);
  VF r = hn::MulAdd(q, hn::Set(d, -0.693145751953125f), x);  // ln2 high part: q·it is exact
  r = hn::MulAdd(q, hn::Set(d, -1.428606820309417232e-6f), r);
  VF p = hn::Set(d, 0.0013863792410120368f);
  p = hn::MulAdd(p, r, hn::Set(d, 0.008367476053535938f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.041667237877845764f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.16666534543037415f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0f));
  const hn::RebindToSigned<DF> di;
  const VF pow2 = hn::BitCast(d, hn::ShiftLeft<23>(hn::BitCast(di, t)));
  return hn::IfThenElseZero(hn::Ge(x, hn::Set(d, -86.5f)), hn::Mul(p, pow2));
}

// 1/x for finite normal x: the hardware estimate (12 or 14 bits) and one Newton step,
// ≤ ~2 ulp; avoids the division unit (one 512-bit division costs about as much as the rest
// of GeluTanhMulVec).
HWY_INLINE VF Reciprocal(DF d, VF x) {
  const VF r = hn::ApproximateReciprocal(x);
  return hn::MulAdd(r, hn::NegMulAdd(x, r, hn::Set(d, 1.0f)), r);
}

// gelu_tanh(g)·u. Uses 0.5(1 + tanh(a)) = 1 / (1 + exp(−2a)), which keeps the relative
// precision for negative g (where 1 + tanh cancels). Where −2a > 80 (g < −9.6),
// |gelu(g)| < 2e-35·|g| and the result is 0: capping the exponent there keeps 1/(1 + e)
// normal (subnormal intermediates cost microcode assists on x86).
HWY_INLINE VF GeluTanhMulVec(DF d, VF g, VF u) {
  const VF k_minus2_sqrt2_over_pi = hn::Set(d, -1.5957691216057308f);  // −2·√(2/π)
  const VF k_cubic = hn::Set(d, 0.044715f);
  const VF k_cap = hn::Set(d, 80.0f);
  const VF one = hn::Set(d, 1.0f);
  const VF g2 = hn::Mul(g, g);
  const VF inner = hn::MulAdd(hn::Mul(k_cubic, g2), g, g);  // g + 0.044715 g³
  const VF t = hn::Mul(k_minus2_sqrt2_over_pi, inner);
  const VF y = hn::Mul(hn::Mul(g, u), Reciprocal(d, hn::Add(one, FastExp(d, hn::Min(t, k_cap)))));
  return hn::IfThenZeroElse(hn::Gt(t, k_cap), y);
}

// tanh(a), ≤ ~4 ulp. |a| < 0.5: a + a³·q(a²) (q fitted for dllm, relative error 4e-9);
// otherwise sign(a)·(1 − 2/(1 + e^{2|a|})) (cancellation at most ×1.2 there), with 2|a|
// capped at 80, where the result is 1 in f32 anyway and 1/(1 + e) is still normal.
HWY_INLINE VF TanhVec(DF d, VF a) {
  const VF one = hn::Set(d, 1.0f);
  const VF abs_a = hn::Abs(a);
  const VF e = FastExp(d, hn::Min(hn::Add(abs_a, abs_a), hn::Set(d, 80.0f)));
  const VF large = hn::NegMulAdd(hn::Set(d, 2.0f), Reciprocal(d, hn::Add(e, one)), one);
  const VF a2 = hn::Mul(a, a);
  VF q = hn::Set(d, -0.006647481117397547f);
  q = hn::MulAdd(q, a2, hn::Set(d, 0.021297987550497055f));
  q = hn::MulAdd(q, a2, hn::Set(d, -0.053899191319942474f));
  q = hn::MulAdd(q, a2, hn::Set(d, 0.13332964479923248f));
  q = hn::MulAdd(q, a2, hn::Set(d, -0.333333283662796f));
  const VF small = hn::MulAdd(hn::Mul(a, a2), q, a);
  return hn::IfThenElse(hn::Lt(abs_a, hn::Set(d, 0.5f)), small, hn::CopySignToAbs(large, a));
}

void GeluTanhMul(const float* g, const float* u, float* y, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(GeluTanhMulVec(d, hn::LoadU(d, g + i), hn::LoadU(d, u + i)), d, y + i);
  }
  if (i < n) {
    const VF v = GeluTanhMulVec(d, LoadTail(d, g + i, n - i, 0.0f),
                                LoadTail(d, u + i, n - i, 0.0f));
    StoreTail(d, v, y + i, n - i);
  }
}

// cap·tanh(x·(1/cap)): the reciprocal is rounded once per call (≤ 1 ulp on the argument).
void SoftCap(float* HWY_RESTRICT x, size_t n, float cap) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const VF vcap = hn::Set(d, cap);
  const VF vinv = hn::Set(d, 1.0f / cap);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(vcap, TanhVec(d, hn::Mul(hn::LoadU(d, x + i), vinv))), d, x + i);
  }
  if (i < n) {
    const VF v = hn::Mul(vcap, TanhVec(d, hn::Mul(LoadTail(d, x + i, n - i, 0.0f), vinv)));
    StoreTail(d, v, x + i, n - i);
  }
}

// exp(x − m) for x ≤ m: 0 where x − m < −86.5 (also for −inf entries and padding lanes).
HWY_INLINE VF ExpShifted(DF d, VF x, VF m) { return FastExp(d, hn::Sub(x, m)); }

void Softmax(float* HWY_RESTRICT x, size_t n) {
  if (n == 0) return;
  const DF d;
  const size_t N = hn::Lanes(d);
  const float kNegInf = -std::numeric_limits<float>::infinity();
  VF vmax = hn::Set(d, kNegInf);
  size_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
  if (i < n) vmax = hn::Max(vmax, LoadTail(d, x + i, n - i, kNegInf));
  const float m = MaxLane(d, vmax);
  if (!(m > kNegInf)) {  // nothing to attend to
    std::memset(x, 0, n * sizeof(float));
    return;
  }
  // f32 partial sums of ≤ 64 vectors, added in double: the sum stays within a few ulps on
  // every target (one lane on SCALAR would otherwise sum the whole row sequentially).
  const VF vm = hn::Set(d, m);
  double total = 0.0;
  VF acc = hn::Zero(d);
  size_t in_block = 0;
  for (i = 0; i + N <= n; i += N) {
    const VF e = ExpShifted(d, hn::LoadU(d, x + i), vm);
    hn::StoreU(e, d, x + i);
    acc = hn::Add(acc, e);
    if (++in_block == 64) {
      total += hn::GetLane(hn::SumOfLanes(d, acc));
      acc = hn::Zero(d);
      in_block = 0;
    }
  }
  if (i < n) {
    const VF e = ExpShifted(d, LoadTail(d, x + i, n - i, kNegInf), vm);
    StoreTail(d, e, x + i, n - i);
    acc = hn::Add(acc, e);
  }
  total += hn::GetLane(hn::SumOfLanes(d, acc));
  const float sum = static_cast<float>(total);
  const VF inv = hn::Set(d, 1.0f / sum);
  for (i = 0; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), inv), d, x + i);
  if (i < n) StoreTail(d, hn::Mul(LoadTail(d, x + i, n - i, 0.0f), inv), x + i, n - i);
}

void AddScaled(float* y, const float* x, float a, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const VF va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  }
  if (i < n) {
    const VF v = hn::MulAdd(va, LoadTail(d, x + i, n - i, 0.0f), LoadTail(d, y + i, n - i, 0.0f));
    StoreTail(d, v, y + i, n - i);
  }
}

void Scale(float* HWY_RESTRICT x, float a, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const VF va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), va), d, x + i);
  if (i < n) StoreTail(d, hn::Mul(LoadTail(d, x + i, n - i, 0.0f), va), x + i, n - i);
}

float Dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  VF s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  if (i < n) {
    s1 = hn::MulAdd(LoadTail(d, a + i, n - i, 0.0f), LoadTail(d, b + i, n - i, 0.0f), s1);
  }
  return hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace dllm
HWY_AFTER_NAMESPACE();

#endif  // DLLM_KERNELS_OPS_INL_H_
