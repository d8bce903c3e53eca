// Per-target code of the int8 Linear (see qgemm.h for the arithmetic every target reproduces).
// Included once per Highway target by qgemm.cc via foreach_target.h.
//
// Layout of an unpacked weight tile: column blocks of kCols weight rows ("columns" of y). Within
// a block, group g (G values along K) occupies GroupBytes(G, off) bytes:
//   int8  q[G/4][kCols][4]   4 consecutive K values of each column, columns side by side, so
//                            one vector load gives 4 values × (vector bytes / 4) columns
//   int32 nsum[kCols]        −128 · Σ_{j∈g} q (the VNNI path's correction of its +128 shift)
//   f32   s[kCols]           group scale
//   f32   o[kCols]           group offset (types with offsets only)
// Activations: row i's int8 values at aq + i·k (stored +128 as u8 on the VNNI target), d_g at
// dg + i·ng, e_g at eg + i·ng (ng = k / G).
//
// Micro-kernels: kRows activation rows × kCols columns of f32 accumulators in registers; per
// group an int32 accumulator per (row, column) collects the exact dot product, which is then
// scaled into the f32 accumulator. Targets: AVX3_DL (AVX512-VNNI vpdpbusd), AVX3 (AVX512BW
// vpmaddubsw/vpmaddwd with the sign moved onto the activation), AVX2 (the same in 256 bits), and
// a portable scalar kernel for the other targets (SSSE3, SSE4, SCALAR).

#if defined(DLLM_GEMM_QGEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DLLM_GEMM_QGEMM_INL_H_
#undef DLLM_GEMM_QGEMM_INL_H_
#else
#define DLLM_GEMM_QGEMM_INL_H_
#endif

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "gemm/context.h"
#include "gemm/qdecode.h"
#include "hwy/highway.h"

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace dllm {
namespace gemm {
namespace q8 {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX3
constexpr int kCols = 32;  // two zmm of int32 / f32 lanes
#else
constexpr int kCols = 8;   // one ymm (AVX2); the portable kernel uses the same width
#endif
constexpr int kRows = 4;
// VNNI multiplies u8 × s8: activations are stored as q + 128.
constexpr bool kShift = HWY_TARGET == HWY_AVX3_DL;

constexpr int64_t GroupBytes(int group, bool off) {
  return int64_t{group} * kCols + int64_t{kCols} * 4 * (off ? 3 : 2);
}

inline int64_t Align64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// ---- Activation quantization ------------------------------------------------------------------

// One row of k values (k % 32 == 0): q (as bytes; +128 when kShift), d per group and, with off,
// e per group (see qgemm.h step 1).
void QuantizeRow(const float* HWY_RESTRICT x, int64_t k, int group, bool off,
                 uint8_t* HWY_RESTRICT q, float* HWY_RESTRICT dg, float* HWY_RESTRICT eg) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const size_t N = hn::Lanes(df);  // divides 32 on every x86 target
  HWY_ALIGN int32_t buf[32];
  const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + 32 * b;
    auto mx = hn::Zero(df);
    for (size_t j = 0; j < 32; j += N) mx = hn::Max(mx, hn::Abs(hn::LoadU(df, xb + j)));
    const float amax = hn::GetLane(hn::MaxOfLanes(df, mx));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const auto vid = hn::Set(df, id);
    for (size_t j = 0; j < 32; j += N) {
      const auto v = hn::NearestInt(hn::Mul(hn::LoadU(df, xb + j), vid));
      hn::Store(hn::Min(hn::Max(v, lo), hi), di, buf + j);
    }
    int32_t s0 = 0, s1 = 0;
    for (int j = 0; j < 16; ++j) s0 += buf[j];
    for (int j = 16; j < 32; ++j) s1 += buf[j];
    uint8_t* qb = q + 32 * b;
    for (int j = 0; j < 32; ++j) qb[j] = static_cast<uint8_t>(buf[j] + (kShift ? 128 : 0));
    if (group == 32) {
      dg[b] = d;
      if (off) eg[b] = d * static_cast<float>(s0 + s1);
    } else {
      dg[2 * b] = dg[2 * b + 1] = d;
      if (off) {
        eg[2 * b] = d * static_cast<float>(s0);
        eg[2 * b + 1] = d * static_cast<float>(s1);
      }
    }
  }
}

// ---- Weight unpacking -------------------------------------------------------------------------

// Decodes `cols` (≤ kCols) weight rows starting at `rows` into one column block at dst; columns
// beyond `cols` are zero. `work`: UnpackScratchBytes(k, group) bytes of thread scratch.
inline int64_t UnpackScratchBytes(int64_t k, int group) {
  return Align64(int64_t{kCols} * k) + 2 * Align64(int64_t{kCols} * (k / group) * 4);
}

void UnpackBlock(GgmlType type, const uint8_t* rows, size_t row_bytes, int cols, int64_t k,
                 int group, bool off, uint8_t* HWY_RESTRICT work, uint8_t* HWY_RESTRICT dst) {
  const int64_t ng = k / group, gb = GroupBytes(group, off);
  auto* colq = reinterpret_cast<int8_t*>(work);  // [kCols][k], column-major decode
  auto* cols_s = reinterpret_cast<float*>(work + Align64(int64_t{kCols} * k));  // [kCols][ng]
  float* cols_o = cols_s + Align64(int64_t{kCols} * ng * 4) / 4;
  // 1. Decode each column contiguously; per-group metadata goes straight to its place.
  for (int c = 0; c < kCols; ++c) {
    int8_t* q = colq + c * k;
    float* s = cols_s + c * ng;
    float* o = cols_o + c * ng;
    if (c < cols) {
      DecodeRow(type, rows + static_cast<size_t>(c) * row_bytes, k, q, s, o);
    } else {
      std::memset(q, 0, static_cast<size_t>(k));
      std::fill(s, s + ng, 0.0f);
      std::fill(o, o + ng, 0.0f);
    }
    for (int64_t g = 0; g < ng; ++g) {
      uint8_t* meta = dst + g * gb + group * kCols;
      std::memcpy(meta + 4 * kCols + 4 * c, &s[g], 4);
      if (off) std::memcpy(meta + 8 * kCols + 4 * c, &o[g], 4);
    }
  }
  // 2. Interleave: word j of group g of every column, columns side by side (a 4-byte transpose
  // done with gathers: lane c reads column c's word).
  const hn::ScalableTag<int32_t> di;
  const size_t N = hn::Lanes(di);
  const auto* words = reinterpret_cast<const int32_t*>(colq);  // k % 32 == 0: 4-aligned
  const int64_t kw = k / 4;
  for (size_t c0 = 0; c0 < static_cast<size_t>(kCols); c0 += N) {
    const auto index = hn::Mul(hn::Iota(di, static_cast<int32_t>(c0)),
                               hn::Set(di, static_cast<int32_t>(kw)));
    for (int64_t g = 0; g < ng; ++g) {
      uint8_t* gp = dst + g * gb;
      auto sum = hn::Zero(di);
      for (int j = 0; j < group / 4; ++j) {
        const auto v = hn::GatherIndex(di, words + g * (group / 4) + j, index);
        hn::StoreU(v, di, reinterpret_cast<int32_t*>(gp + (j * kCols + c0) * 4));
        // Σ of the lane's four signed bytes (arithmetic shifts sign-extend each byte).
        sum = hn::Add(sum, hn::Add(hn::Add(hn::ShiftRight<24>(hn::ShiftLeft<24>(v)),
                                           hn::ShiftRight<24>(hn::ShiftLeft<16>(v))),
                                   hn::Add(hn::ShiftRight<24>(hn::ShiftLeft<8>(v)),
                                           hn::ShiftRight<24>(v))));
      }
      // −128 · Σq (the VNNI kernel's correction; unused by the other kernels).
      hn::StoreU(hn::Mul(sum, hn::Set(di, -128)), di,
                 reinterpret_cast<int32_t*>(gp + group * kCols + c0 * 4));
    }
  }
}

// ---- Micro-kernels ----------------------------------------------------------------------------
// out[r × kCols + c] = the f32 accumulator of activation row r (of R) and column c over all ng
// groups of the block at w. a[r]: the row's quantized values; dg[r], eg[r]: its group factors.

using KernelFn = void (*)(const uint8_t* const* a, const float* const* dg, const float* const* eg,
                          const uint8_t* w, int64_t ng, float* out);

inline int32_t Load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

#if HWY_TARGET == HWY_AVX3_DL

// GCC needs the VNNI feature named explicitly (Highway's AVX3_DL string lists only AVX-VNNI);
// Highway selects this target only on CPUs with AVX512-VNNI.
#define DLLM_QGEMM_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))

template <int R, int G, bool kOff>
DLLM_QGEMM_ATTR void Kernel(const uint8_t* const* a, const float* const* dg,
                            const float* const* eg, const uint8_t* w, int64_t ng, float* out) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    __m512i p[R][2];
    const __m512i n0 = _mm512_loadu_si512(meta), n1 = _mm512_loadu_si512(meta + 64);
    for (int r = 0; r < R; ++r) {
      p[r][0] = n0;
      p[r][1] = n1;
    }
    for (int j = 0; j < G / 4; ++j) {
      const __m512i w0 = _mm512_loadu_si512(w + j * 128);
      const __m512i w1 = _mm512_loadu_si512(w + j * 128 + 64);
      for (int r = 0; r < R; ++r) {
        const __m512i b = _mm512_set1_epi32(Load4(a[r] + g * G + 4 * j));
        p[r][0] = _mm512_dpbusd_epi32(p[r][0], b, w0);
        p[r][1] = _mm512_dpbusd_epi32(p[r][1], b, w1);
      }
    }
    const __m512 s0 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 128));
    const __m512 s1 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 192));
    for (int r = 0; r < R; ++r) {
      const __m512 d = _mm512_set1_ps(dg[r][g]);
      acc[r][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p[r][0]), d), s0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p[r][1]), d), s1, acc[r][1]);
    }
    if (kOff) {
      const __m512 o0 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 256));
      const __m512 o1 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 320));
      for (int r = 0; r < R; ++r) {
        const __m512 e = _mm512_set1_ps(eg[r][g]);
        acc[r][0] = _mm512_fmadd_ps(e, o0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(e, o1, acc[r][1]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(out + r * kCols, acc[r][0]);
    _mm512_storeu_ps(out + r * kCols + 16, acc[r][1]);
  }
}

#elif HWY_TARGET == HWY_AVX3

#define DLLM_QGEMM_ATTR

// No VNNI: vpmaddubsw(|w| as u8, ±a as s8) then vpmaddwd with ones. |w| ≤ 128 and |a| ≤ 127,
// so a pair sum is ≤ 2·128·127 = 32512 and never saturates.
template <int R, int G, bool kOff>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const __m512i ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    __m512i p[R][2];
    for (int r = 0; r < R; ++r) p[r][0] = p[r][1] = zero;
    for (int j = 0; j < G / 4; ++j) {
      const __m512i w0 = _mm512_loadu_si512(w + j * 128);
      const __m512i w1 = _mm512_loadu_si512(w + j * 128 + 64);
      const __m512i u0 = _mm512_abs_epi8(w0), u1 = _mm512_abs_epi8(w1);
      const __mmask64 m0 = _mm512_movepi8_mask(w0), m1 = _mm512_movepi8_mask(w1);
      for (int r = 0; r < R; ++r) {
        const __m512i b = _mm512_set1_epi32(Load4(a[r] + g * G + 4 * j));
        const __m512i b0 = _mm512_mask_sub_epi8(b, m0, zero, b);
        const __m512i b1 = _mm512_mask_sub_epi8(b, m1, zero, b);
        p[r][0] = _mm512_add_epi32(p[r][0], _mm512_madd_epi16(_mm512_maddubs_epi16(u0, b0), ones));
        p[r][1] = _mm512_add_epi32(p[r][1], _mm512_madd_epi16(_mm512_maddubs_epi16(u1, b1), ones));
      }
    }
    const __m512 s0 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 128));
    const __m512 s1 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 192));
    for (int r = 0; r < R; ++r) {
      const __m512 d = _mm512_set1_ps(dg[r][g]);
      acc[r][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p[r][0]), d), s0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p[r][1]), d), s1, acc[r][1]);
    }
    if (kOff) {
      const __m512 o0 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 256));
      const __m512 o1 = _mm512_loadu_ps(reinterpret_cast<const float*>(meta + 320));
      for (int r = 0; r < R; ++r) {
        const __m512 e = _mm512_set1_ps(eg[r][g]);
        acc[r][0] = _mm512_fmadd_ps(e, o0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(e, o1, acc[r][1]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(out + r * kCols, acc[r][0]);
    _mm512_storeu_ps(out + r * kCols + 16, acc[r][1]);
  }
}

#elif HWY_TARGET == HWY_AVX2

#define DLLM_QGEMM_ATTR

// vpmaddubsw(|w|, sign(a, w)) then vpmaddwd with ones (no saturation, as on AVX3).
template <int R, int G, bool kOff>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out) {
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    __m256i p[R];
    for (int r = 0; r < R; ++r) p[r] = _mm256_setzero_si256();
    for (int j = 0; j < G / 4; ++j) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 32));
      const __m256i u0 = _mm256_abs_epi8(w0);
      for (int r = 0; r < R; ++r) {
        const __m256i b = _mm256_set1_epi32(Load4(a[r] + g * G + 4 * j));
        const __m256i sb = _mm256_sign_epi8(b, w0);  // −b where w < 0, 0 where w == 0
        p[r] = _mm256_add_epi32(p[r], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, sb), ones));
      }
    }
    const __m256 s0 = _mm256_loadu_ps(reinterpret_cast<const float*>(meta + 4 * kCols));
    for (int r = 0; r < R; ++r) {
      const __m256 d = _mm256_set1_ps(dg[r][g]);
      acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(p[r]), d), s0, acc[r]);
    }
    if (kOff) {
      const __m256 o0 = _mm256_loadu_ps(reinterpret_cast<const float*>(meta + 8 * kCols));
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(eg[r][g]), o0, acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) _mm256_storeu_ps(out + r * kCols, acc[r]);
}

#else  // portable (SSSE3, SSE4, SCALAR, non-x86)

#define DLLM_QGEMM_ATTR

template <int R, int G, bool kOff>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out) {
  float acc[R][kCols] = {};
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    int32_t p[R][kCols] = {};
    for (int j = 0; j < G / 4; ++j) {
      for (int r = 0; r < R; ++r) {
        const auto* ar = reinterpret_cast<const int8_t*>(a[r] + g * G + 4 * j);
        for (int c = 0; c < kCols; ++c) {
          const auto* wc = reinterpret_cast<const int8_t*>(w + (j * kCols + c) * 4);
          p[r][c] += ar[0] * wc[0] + ar[1] * wc[1] + ar[2] * wc[2] + ar[3] * wc[3];
        }
      }
    }
    float s[kCols], o[kCols];
    std::memcpy(s, meta + 4 * kCols, sizeof(s));
    if (kOff) std::memcpy(o, meta + 8 * kCols, sizeof(o));
    for (int r = 0; r < R; ++r) {
      const float d = dg[r][g];
      for (int c = 0; c < kCols; ++c) {
        acc[r][c] = std::fma(static_cast<float>(p[r][c]) * d, s[c], acc[r][c]);
        if (kOff) acc[r][c] = std::fma(eg[r][g], o[c], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) std::memcpy(out + r * kCols, acc[r], sizeof(acc[r]));
}

#endif

template <int G, bool kOff>
void KernelTable(KernelFn* fns) {
  fns[1] = &Kernel<1, G, kOff>;
  fns[2] = &Kernel<2, G, kOff>;
  fns[3] = &Kernel<3, G, kOff>;
  fns[4] = &Kernel<4, G, kOff>;
}
static_assert(kRows == 4, "KernelTable instantiates 1..4 rows");

// ---- Driver -----------------------------------------------------------------------------------

void LinearImpl(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                size_t row_bytes, float* y, int64_t ldy, bool accumulate) {
  const int group = GroupSize(w.type);
  const bool off = HasOffset(w.type);
  const int64_t k = w.k, n = w.n, ng = k / group;
  const int64_t gb = GroupBytes(group, off), block_bytes = ng * gb;
  const int64_t n_padded = (n + kCols - 1) / kCols * kCols;
  const int64_t tile_cols =
      std::min(n_padded, (std::max<int64_t>(ctx.options.int8_tile_cols, 1) + kCols - 1) / kCols *
                             kCols);
  const int threads = std::max(1, omp_get_max_threads());

  // Scratch: quantized activations; the weight tile plus one decode row per thread.
  const int64_t q_bytes = Align64(m * k), f_bytes = Align64(m * ng * 4);
  auto* act = static_cast<uint8_t*>(ctx.act_scratch.Get(
      static_cast<size_t>(q_bytes + f_bytes * (off ? 2 : 1)), &ctx.scratch_growths));
  uint8_t* aq = act;
  auto* dg = reinterpret_cast<float*>(act + q_bytes);
  float* eg = off ? reinterpret_cast<float*>(act + q_bytes + f_bytes) : dg;
  const int64_t tile_bytes = Align64(tile_cols / kCols * block_bytes);
  const int64_t dec_bytes = UnpackScratchBytes(k, group);
  auto* tile = static_cast<uint8_t*>(ctx.tile_scratch.Get(
      static_cast<size_t>(tile_bytes + dec_bytes * threads), &ctx.scratch_growths));

  KernelFn fns[kRows + 1] = {};
  if (group == 32) {
    off ? KernelTable<32, true>(fns) : KernelTable<32, false>(fns);
  } else {
    off ? KernelTable<16, true>(fns) : KernelTable<16, false>(fns);
  }
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  const int64_t row_blocks = (m + kRows - 1) / kRows;
  // Below ~1M multiply-adds a parallel region costs more than it saves.
  const bool parallel = threads > 1 && m * n * k >= (int64_t{1} << 20);

#pragma omp parallel num_threads(threads) if (parallel)
  {
    uint8_t* dec = tile + tile_bytes + dec_bytes * omp_get_thread_num();

#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      QuantizeRow(x + i * ldx, k, group, off, aq + i * k, dg + i * ng, eg + i * ng);
    }
    for (int64_t n0 = 0; n0 < n; n0 += tile_cols) {
      const int64_t cols = std::min(tile_cols, n - n0);
      const int64_t blocks = (cols + kCols - 1) / kCols;
#pragma omp for schedule(static)
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const int64_t c0 = n0 + cb * kCols;
        UnpackBlock(w.type, wbytes + static_cast<size_t>(c0) * row_bytes, row_bytes,
                    static_cast<int>(std::min<int64_t>(kCols, n - c0)), k, group, off, dec,
                    tile + cb * block_bytes);
      }
#pragma omp for schedule(static) collapse(2)
      for (int64_t cb = 0; cb < blocks; ++cb) {
        for (int64_t rb = 0; rb < row_blocks; ++rb) {
          const int64_t r0 = rb * kRows;
          const int rows = static_cast<int>(std::min<int64_t>(kRows, m - r0));
          const uint8_t* ap[kRows];
          const float* dp[kRows];
          const float* ep[kRows];
          for (int r = 0; r < rows; ++r) {
            ap[r] = aq + (r0 + r) * k;
            dp[r] = dg + (r0 + r) * ng;
            ep[r] = eg + (r0 + r) * ng;
          }
          HWY_ALIGN float out[kRows * kCols];
          fns[rows](ap, dp, ep, tile + cb * block_bytes, ng, out);
          const int64_t c0 = cb * kCols;
          const int64_t width = std::min<int64_t>(kCols, cols - c0);
          for (int r = 0; r < rows; ++r) {
            float* yr = y + (r0 + r) * ldy + n0 + c0;
            const float* o = out + r * kCols;
            if (accumulate) {
              for (int64_t c = 0; c < width; ++c) yr[c] += o[c];
            } else {
              std::memcpy(yr, o, static_cast<size_t>(width) * sizeof(float));
            }
          }
        }
      }
    }
  }
}

// The name of the target this copy was compiled for.
const char* CompiledTargetName() { return hwy::TargetName(HWY_TARGET); }

#undef DLLM_QGEMM_ATTR

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace q8
}  // namespace gemm
}  // namespace dllm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
