// Per-target code of the int8 Linear (see qgemm.h for the arithmetic every target reproduces).
// Included once per Highway target by qgemm.cc via foreach_target.h.
//
// Layout of an unpacked weight tile: column blocks of kCols weight rows ("columns" of y). Within
// a block, group g (G values along K) occupies GroupBytes(G, off) bytes:
//   int8  q[G/4][kCols][4]   4 consecutive K values of each column, columns side by side, so
//                            one vector load gives 4 values × (vector bytes / 4) columns
//   int32 nsum[kCols]        −128 · Σ_{j∈g} q (the correction of the shifted activations; the
//                            register unpackers leave it unwritten where no kernel of the call
//                            reads it: on AVX3, and on AVX2 for the offset types and Q8_0
//                            without AVX-VNNI)
//   f32   s[kCols]           group scale
//   f32   o[kCols]           group offset (types with offsets only)
// Activations: row i's int8 values at aq + i·k (stored +128 as u8 where the kernels take them so:
// ShiftedActivations), d_g at dg + i·ng, e_g at eg + i·ng (ng = k / G).
//
// Micro-kernels: kRows activation rows × kCols columns of f32 accumulators in registers; per
// group an int32 accumulator per (row, column) collects the exact dot product, which is then
// scaled into the f32 accumulator. Targets: AVX3_DL (AVX512-VNNI vpdpbusd), AVX3 (AVX512BW
// vpmaddubsw/vpmaddwd with the sign moved onto the activation), AVX2 (vpmaddubsw in 256 bits with
// the sign moved only for Q8_0, the offset types' unsigned values as they are and u8 activations
// for the other signed types; several steps' pair sums added in int16 before one vpmaddwd where
// they cannot overflow; two column blocks per call where a whole group fits one int16 span:
// KernelPair), and
// a portable scalar kernel for the other targets (SSSE3, SSE4, SCALAR).
//
// Unpacking: on AVX3 / AVX3_DL every type but Q2_K / Q3_K is decoded in registers (Decode32:
// 32 values of one row per ymm) and put into the interleaved layout by an in-register 4-byte
// transpose; s and o are computed a vector of columns at a time from gathered fields (MetaLanes,
// also on AVX2, whose unpacker decodes in registers the same way with an 8×8 transpose). Other
// targets and types decode rows with qdecode.h and interleave with gathers. Both give the
// same bytes. With m ≤ kFusedMaxRows the driver unpacks per column block and K chunk into a
// small per-thread buffer and runs all row blocks on it at once (LinearImpl).
// AVX3_DL with AMX (gemm/amx.h): calls on 32-value-group types that UseAmx admits run in
// LinearAmx instead: weights unpacked per chunk row-major (UnpackRowsAmx: the register decodes
// stored as they come, no interleave, no −128·Σq; Q8_0 calls of up to 4 row blocks unpack only
// the scales and load the tiles from the blocks in place), activations packed once into AMX's B
// layout, every row in 16-row blocks (the last padded) through the tile-matmul kernel AmxKernel,
// in slabs of up to kFusedMaxRowsAmx rows.

#if defined(DLLM_GEMM_QGEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DLLM_GEMM_QGEMM_INL_H_
#undef DLLM_GEMM_QGEMM_INL_H_
#else
#define DLLM_GEMM_QGEMM_INL_H_
#endif

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gemm/amx.h"
#include "gemm/amx_tiles.h"
#include "gemm/avx_vnni.h"
#include "gemm/context.h"
#include "gemm/qdecode.h"
#include "gemm/qgemm.h"
#include "hwy/cache_control.h"
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
// Activation rows per register kernel call. On AVX3_DL six: twelve int32 and twelve f32
// accumulators still fit the 32 zmm registers, the 2 × 64-byte weight loads of each 4-value step
// serve 12 vpdpbusd instead of 8, and the groups' dependent vpdpbusd chains (G/4 long) have 12
// independent chains to interleave. On one thread, K = 2816 (cache-resident weights), 6 rows
// took the 32-value-group kernel from 58–64 % of the vpdpbusd register loop to 67–75 %, and the
// 16-value-group one from 54–56 % to 58–62 %. Linear at M = 256, K = 2816 on one thread
// (gemm_bench --int8-target AVX3_DL, 8 alternating runs against 4 rows): medians +6–9 % for
// Q8_0, +8–16 % Q4_K, +5–11 % Q6_K (the output head +8 %). The loop keeps every accumulator in a
// register. The AVX3 (vpmaddubsw) kernel needs 4 more registers per step and would spill; AVX2
// has 16 registers.
#if HWY_TARGET == HWY_AVX3_DL
constexpr int kRows = 6;
#else
constexpr int kRows = 4;
#endif
// Activation rows per two-block kernel call (AVX2's KernelPair, SelectPairKernels).
constexpr int kPairRows = 3;
static_assert(kPairRows <= kRows, "RowBlockRunner's row pointers hold kRows rows");
// VNNI multiplies u8 × s8: activations are stored as q + 128.
constexpr bool kShift = HWY_TARGET == HWY_AVX3_DL;

constexpr int64_t GroupBytes(int group, bool off) {
  return int64_t{group} * kCols + int64_t{kCols} * 4 * (off ? 3 : 2);
}

inline int64_t Align64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// Weight bytes to prefetch: `rows` pieces of `bytes` bytes, the first at base, `stride` apart.
struct Region {
  const uint8_t* base = nullptr;
  size_t stride = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
};

// The K chunk [k0, k0 + kc) of weight rows [c0, c0 + cols).
inline Region ChunkRegion(const uint8_t* w, size_t row_bytes, int64_t c0, int64_t cols,
                          GgmlType type, int64_t k0, int64_t kc) {
  uint64_t skip = 0, bytes = 0;
  GgmlRowBytes(static_cast<uint32_t>(type), static_cast<uint64_t>(k0), &skip);
  GgmlRowBytes(static_cast<uint32_t>(type), static_cast<uint64_t>(kc), &bytes);
  return {w + static_cast<size_t>(c0) * row_bytes + skip, row_bytes, cols, bytes};
}

// The chunk after (c0, k0) in a thread's walk over column blocks of `width` columns and K chunks
// of kc_max values: the next K chunk, or the first of the next column block (empty after the
// last).
inline Region NextRegion(const uint8_t* w, size_t row_bytes, int64_t n, int64_t width, int64_t c0,
                         GgmlType type, int64_t k, int64_t k0, int64_t kc_max) {
  if (k0 + kc_max < k) {
    return ChunkRegion(w, row_bytes, c0, std::min(width, n - c0), type, k0 + kc_max,
                       std::min(kc_max, k - k0 - kc_max));
  }
  if (c0 + width < n) {
    return ChunkRegion(w, row_bytes, c0 + width, std::min(width, n - c0 - width), type, 0,
                       std::min(kc_max, k));
  }
  return {};
}

// Prefetches a region's cache lines, `per_step` lines per Step() (the unpackers and tile loads
// read many short row pieces at a large stride, which the hardware prefetchers follow poorly).
// Spread over a kernel call's steps, the next chunk streams in while this one computes; all at
// once (Rest), the thread waits whenever the line fill buffers are full.
class RegionPrefetcher {
 public:
  RegionPrefetcher(const Region& r, int64_t steps) : r_(r) {
    if (r_.rows == 0 || r_.bytes == 0) {
      row_ = r_.rows;
      return;
    }
    Start();
    const int64_t lines = r_.rows * static_cast<int64_t>((end_ - line_) / 64 + 1);
    per_step_ = (lines + std::max<int64_t>(steps, 1) - 1) / std::max<int64_t>(steps, 1);
  }
  void Step() {
    for (int64_t i = 0; i < per_step_ && row_ < r_.rows; ++i) One();
  }
  void Rest() {
    while (row_ < r_.rows) One();
  }

 private:
  void Start() {
    const uint8_t* p = r_.base + static_cast<size_t>(row_) * r_.stride;
    line_ = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
    end_ = reinterpret_cast<uintptr_t>(p + r_.bytes - 1) & ~uintptr_t{63};
  }
  void One() {
    hwy::Prefetch(reinterpret_cast<const uint8_t*>(line_));
    line_ += 64;
    if (line_ > end_ && ++row_ < r_.rows) Start();
  }

  Region r_;
  int64_t row_ = 0, per_step_ = 0;
  uintptr_t line_ = 0, end_ = 0;
};

// The first byte of the K chunk at k0 of the `width` columns from c0 (whole weight blocks; a
// column block, or two for the pair kernels), and in `next` the thread's next chunk, to be
// prefetched during the work on this one (RegionPrefetcher).
inline const uint8_t* ChunkSource(const uint8_t* w, size_t row_bytes, const WeightView& view,
                                  int64_t c0, int64_t k0, int64_t kc_max, Region& next,
                                  int64_t width = kCols) {
  uint64_t skip = 0;  // bytes of the k0 values before the chunk
  GgmlRowBytes(static_cast<uint32_t>(view.type), static_cast<uint64_t>(k0), &skip);
  next = NextRegion(w, row_bytes, view.n, width, c0, view.type, view.k, k0, kc_max);
  return w + static_cast<size_t>(c0) * row_bytes + skip;
}

// ---- Activation quantization ------------------------------------------------------------------

// One row of k values (k % 32 == 0): q (as bytes; +128 with shift, for the VNNI kernel), d per
// group and, with off, e per group (see qgemm.h step 1).
void QuantizeRow(const float* HWY_RESTRICT x, int64_t k, int group, bool off, bool shift,
                 uint8_t* HWY_RESTRICT q, float* HWY_RESTRICT dg, float* HWY_RESTRICT eg) {
  const hn::CappedTag<float, 16> df;  // a vector never straddles the two halves of a block
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(di)> d8;
  const size_t N = hn::Lanes(df);
  const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
  const auto flip = hn::Set(d8, static_cast<int8_t>(shift ? -128 : 0));  // +128 mod 256
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + 32 * b;
    auto mx = hn::Zero(df);
    auto nan = hn::Zero(df);  // all-ones lanes where a NaN was seen
    for (size_t j = 0; j < 32; j += N) {
      const auto v = hn::LoadU(df, xb + j);
      mx = hn::Max(mx, hn::Abs(v));
      nan = hn::Or(nan, hn::VecFromMask(df, hn::IsNaN(v)));
    }
    // A NaN makes amax NaN (step 1 in qgemm.h), whichever lane and order it comes in.
    const float amax = hn::AllFalse(df, hn::MaskFromVec(nan))
                           ? hn::GetLane(hn::MaxOfLanes(df, mx))
                           : std::numeric_limits<float>::quiet_NaN();
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const auto vid = hn::Set(df, id);
    auto s0 = hn::Zero(di), s1 = hn::Zero(di);  // Σq of values 0..15 and 16..31
    auto* qb = reinterpret_cast<int8_t*>(q + 32 * b);
    for (size_t j = 0; j < 32; j += N) {
      const auto v = hn::Min(hn::Max(hn::NearestInt(hn::Mul(hn::LoadU(df, xb + j), vid)), lo), hi);
      if (j < 16) {
        s0 = hn::Add(s0, v);
      } else {
        s1 = hn::Add(s1, v);
      }
      hn::StoreU(hn::Xor(hn::DemoteTo(d8, v), flip), d8, qb + j);
    }
    if (group == 32) {
      dg[b] = d;
    } else {
      dg[2 * b] = dg[2 * b + 1] = d;
    }
    if (!off) continue;  // the sums are only needed for e
    const int32_t sum0 = hn::GetLane(hn::SumOfLanes(di, s0));
    const int32_t sum1 = hn::GetLane(hn::SumOfLanes(di, s1));
    if (group == 32) {
      eg[b] = d * static_cast<float>(sum0 + sum1);
    } else {
      eg[2 * b] = d * static_cast<float>(sum0);
      eg[2 * b + 1] = d * static_cast<float>(sum1);
    }
  }
}

// ---- Weight unpacking -------------------------------------------------------------------------

// Decodes `cols` (≤ kCols) weight rows starting at `rows` into one column block at dst; columns
// beyond `cols` are zero. `work`: UnpackScratchBytes(k, group) bytes of thread scratch.
inline int64_t UnpackScratchBytes(int64_t k, int group) {
  return Align64(int64_t{kCols} * k) + 2 * Align64(int64_t{kCols} * (k / group) * 4);
}

#if HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX2

#if HWY_TARGET == HWY_AVX3_DL
#define DLLM_QUNPACK_ATTR __attribute__((target(HWY_TARGET_STR ",avx512vnni")))
#else
#define DLLM_QUNPACK_ATTR
#endif

#if HWY_TARGET == HWY_AVX2
// Bytes of 0xff where bit i of `bits` is set, byte i for bit i (AVX2 has no mask registers).
HWY_INLINE __m256i BitsToBytes(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                       3, 3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}
#endif

// The 32 int8 values [32t, 32t + 32) of one row (src: the row's first block of the chunk), as
// DecodeRow produces them, decoded in a register. Q2_K / Q3_K have no such decoder.
template <GgmlType kType>
DLLM_QUNPACK_ATTR HWY_INLINE __m256i Decode32(const uint8_t* src, int64_t t) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  if constexpr (kType == GgmlType::kQ8_0) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + t * 34 + 2));
  } else if constexpr (kType == GgmlType::kQ4_0 || kType == GgmlType::kQ4_1 ||
                       kType == GgmlType::kQ5_0 || kType == GgmlType::kQ5_1) {
    constexpr int kBytes = kType == GgmlType::kQ4_0 ? 18 : kType == GgmlType::kQ4_1 ? 20
                           : kType == GgmlType::kQ5_0 ? 22 : 24;
    constexpr int kQs = kBytes - 16;  // the 16 nibble bytes end the block
    const uint8_t* b = src + t * kBytes;
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + kQs));
    // Values 0..15: low nibbles; 16..31: high nibbles.
    __m256i v = _mm256_and_si256(
        _mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1), low4);
    if constexpr (kType == GgmlType::kQ5_0 || kType == GgmlType::kQ5_1) {
      uint32_t qh;
      std::memcpy(&qh, b + kQs - 4, 4);  // bit j: bit 4 of value j
#if HWY_TARGET == HWY_AVX2
      v = _mm256_add_epi8(v, _mm256_and_si256(BitsToBytes(qh), _mm256_set1_epi8(16)));
#else
      v = _mm256_mask_add_epi8(v, static_cast<__mmask32>(qh), v, _mm256_set1_epi8(16));
#endif
    }
    if constexpr (kType == GgmlType::kQ4_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    if constexpr (kType == GgmlType::kQ5_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(16));
    return v;
  } else if constexpr (kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K) {
    constexpr int kBytes = kType == GgmlType::kQ4_K ? 144 : 176;
    constexpr int kQs = kType == GgmlType::kQ4_K ? 16 : 48;
    const uint8_t* b = src + (t / 8) * kBytes;
    const int g = static_cast<int>(t % 8);
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kQs + 32 * (g / 2)));
    if (g % 2) v = _mm256_srli_epi16(v, 4);
    v = _mm256_and_si256(v, low4);
    if constexpr (kType == GgmlType::kQ5_K) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << g));
#if HWY_TARGET == HWY_AVX2
      const __m256i hi = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
      v = _mm256_add_epi8(v, _mm256_and_si256(hi, _mm256_set1_epi8(16)));
#else
      v = _mm256_mask_add_epi8(v, _mm256_test_epi8_mask(qh, bit), v, _mm256_set1_epi8(16));
#endif
    }
    return v;
  } else {
    static_assert(kType == GgmlType::kQ6_K, "no register decoder for this type");
    const uint8_t* b = src + (t / 8) * 210;
    const int u = static_cast<int>(t % 8), h = u / 4, quarter = u % 4;
    __m256i lo = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(b + 64 * h + 32 * (quarter & 1)));
    if (quarter >= 2) lo = _mm256_srli_epi16(lo, 4);
    lo = _mm256_and_si256(lo, low4);
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
    hi = _mm256_and_si256(_mm256_srl_epi16(hi, _mm_cvtsi32_si128(2 * quarter)),
                          _mm256_set1_epi8(3));
    hi = _mm256_slli_epi16(hi, 4);  // bytes ≤ 0x30: no carry into the neighbour
    return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
  }
}

// Type traits of the register decoders.
template <GgmlType kType>
constexpr int kGroupOf = kType == GgmlType::kQ6_K ? 16 : 32;
template <GgmlType kType>
constexpr bool kOffOf = kType == GgmlType::kQ4_1 || kType == GgmlType::kQ5_1 ||
                        kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K;

// fp16 → f32 of the low 16 bits of each int32 lane (the high 16 bits zero), exactly as
// quant::F16ToF32: built from bits, subnormals as mant · 2^-24 (exact), Inf/NaN payloads kept.
template <class DI>
HWY_INLINE hn::Vec<hn::Rebind<float, DI>> F16Lanes(DI di, hn::Vec<DI> h) {
  const hn::Rebind<float, DI> df;
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(di, 0x8000)));
  const auto exp = hn::And(hn::ShiftRight<10>(h), hn::Set(di, 0x1f));
  const auto mant = hn::And(h, hn::Set(di, 0x3ff));
  const auto e32 = hn::IfThenElse(hn::Eq(exp, hn::Set(di, 31)), hn::Set(di, 255),
                                  hn::Add(exp, hn::Set(di, 112)));
  const auto normal = hn::BitCast(df, hn::Or(hn::ShiftLeft<23>(e32), hn::ShiftLeft<13>(mant)));
  const auto tiny = hn::Mul(hn::ConvertTo(df, mant), hn::Set(df, 5.9604644775390625e-8f));
  const auto mag = hn::IfThenElse(hn::RebindMask(df, hn::Eq(exp, hn::Zero(di))), tiny, normal);
  return hn::Or(mag, hn::BitCast(df, sign));
}

// F16Lanes by the hardware conversion (F16C on the x86 targets that have it) when no lane holds
// a NaN, which the hardware would quiet; the same values, in a fraction of the operations.
template <class DI>
HWY_INLINE hn::Vec<hn::Rebind<float, DI>> F16LanesFast(DI di, hn::Vec<DI> h) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  const auto nan = hn::Gt(hn::And(h, hn::Set(di, 0x7fff)), hn::Set(di, 0x7c00));
  if (hn::AllFalse(di, nan)) {
    const hn::Rebind<uint16_t, DI> d16;
    const hn::Rebind<hwy::float16_t, DI> dh;
    return hn::PromoteTo(hn::Rebind<float, DI>(), hn::BitCast(dh, hn::DemoteTo(d16, h)));
  }
#endif
  return F16Lanes(di, h);
}

// The s (and o) of every group of Lanes consecutive weight rows starting at `base` (only the
// first `valid` exist and are read; the others get 0), one vector per group (gathered fields, the
// formulas of DecodeScales): s of group g at s_out + g · stride bytes, o at o_out + g · stride.
template <GgmlType kType>
DLLM_QUNPACK_ATTR void MetaLanes(const uint8_t* base, size_t row_bytes, int valid, int64_t k,
                                 uint8_t* HWY_RESTRICT s_out, uint8_t* HWY_RESTRICT o_out,
                                 int64_t stride) {
  constexpr bool kOff = kOffOf<kType>;
  const hn::ScalableTag<int32_t> di;
  const hn::Rebind<float, decltype(di)> df;
  const int64_t groups = k / kGroupOf<kType>;
  if (valid <= 0) {  // no rows here at all: nothing may be read
    for (int64_t g = 0; g < groups; ++g) {
      hn::StoreU(hn::Zero(df), df, reinterpret_cast<float*>(s_out + g * stride));
      if (kOff) hn::StoreU(hn::Zero(df), df, reinterpret_cast<float*>(o_out + g * stride));
    }
    return;
  }
  // Lanes past `valid` read row 0 again (it exists) and are zeroed.
  const auto lane = hn::Iota(di, 0);
  const auto live = hn::Lt(lane, hn::Set(di, valid));
  const auto offsets =
      hn::IfThenElseZero(live, hn::Mul(lane, hn::Set(di, static_cast<int32_t>(row_bytes))));
  auto gather = [&](int64_t offset) {
    // Byte offsets from an arbitrary address: GatherOffset never dereferences the typed pointer.
    const auto* at = reinterpret_cast<const int32_t*>(base + offset);
    return hn::IfThenElseZero(live, hn::GatherOffset(di, at, offsets));
  };
  const auto low16 = hn::Set(di, 0xffff);
  auto high16 = [&](hn::Vec<decltype(di)> v) { return hn::And(hn::ShiftRight<16>(v), low16); };
  auto store = [&](uint8_t* at, hn::Vec<decltype(df)> v) {
    hn::StoreU(v, df, reinterpret_cast<float*>(at));
  };
  uint8_t* meta = s_out;
  uint8_t* ometa = o_out;
  if constexpr (kType != GgmlType::kQ4_K && kType != GgmlType::kQ5_K &&
                kType != GgmlType::kQ6_K) {
    constexpr int kBytes = kType == GgmlType::kQ4_0 ? 18 : kType == GgmlType::kQ4_1 ? 20
                           : kType == GgmlType::kQ5_0 ? 22 : kType == GgmlType::kQ5_1 ? 24 : 34;
    for (int64_t b = 0; b < k / 32; ++b, meta += stride, ometa += stride) {
      const auto f = gather(b * kBytes);  // d (and m) of the block
      store(meta, F16LanesFast(di, hn::And(f, low16)));
      if constexpr (kOff) store(ometa, F16LanesFast(di, high16(f)));
    }
  } else if constexpr (kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K) {
    constexpr int kBytes = kType == GgmlType::kQ4_K ? 144 : 176;
    const auto b63 = hn::Set(di, 63), b15 = hn::Set(di, 15), b255 = hn::Set(di, 255);
    for (int64_t sb = 0; sb < k / 256; ++sb) {
      const auto f = gather(sb * kBytes);
      const auto d = F16LanesFast(di, hn::And(f, low16));
      const auto dmin = F16LanesFast(di, high16(f));
      const hn::Vec<decltype(di)> w[3] = {gather(sb * kBytes + 4), gather(sb * kBytes + 8),
                                          gather(sb * kBytes + 12)};
      auto byte = [&](int i) { return hn::And(hn::ShiftRightSame(w[i / 4], 8 * (i % 4)), b255); };
      for (int j = 0; j < 8; ++j, meta += stride, ometa += stride) {
        hn::Vec<decltype(di)> sc, m;
        if (j < 4) {
          sc = hn::And(byte(j), b63);
          m = hn::And(byte(j + 4), b63);
        } else {
          sc = hn::Or(hn::And(byte(j + 4), b15), hn::ShiftLeft<4>(hn::ShiftRight<6>(byte(j - 4))));
          m = hn::Or(hn::ShiftRight<4>(byte(j + 4)), hn::ShiftLeft<4>(hn::ShiftRight<6>(byte(j))));
        }
        store(meta, hn::Mul(d, hn::ConvertTo(df, sc)));
        store(ometa, hn::Neg(hn::Mul(dmin, hn::ConvertTo(df, m))));
      }
    }
  } else {
    for (int64_t sb = 0; sb < k / 256; ++sb) {
      // d is bytes 208..209: read 206..209 (inside the block) and take the high half.
      const auto d = F16LanesFast(di, high16(gather(sb * 210 + 206)));
      for (int q = 0; q < 4; ++q) {
        const auto w = gather(sb * 210 + 192 + 4 * q);
        for (int i = 0; i < 4; ++i, meta += stride) {
          const auto sc = hn::ShiftRight<24>(hn::ShiftLeftSame(w, 24 - 8 * i));  // signed byte i
          store(meta, hn::Mul(d, hn::ConvertTo(df, sc)));
        }
      }
    }
  }
}

// The s (and o) of every group of a column block of the interleaved layout.
template <GgmlType kType>
DLLM_QUNPACK_ATTR void UnpackMetaSimd(const uint8_t* rows, size_t row_bytes, int cols, int64_t k,
                                      uint8_t* HWY_RESTRICT dst) {
  constexpr int kGroup = kGroupOf<kType>;
  constexpr int64_t gb = GroupBytes(kGroup, kOffOf<kType>);
  const int lanes = static_cast<int>(hn::Lanes(hn::ScalableTag<int32_t>()));
  for (int c0 = 0; c0 < kCols; c0 += lanes) {
    uint8_t* meta = dst + kGroup * kCols + 4 * kCols + 4 * c0;
    MetaLanes<kType>(rows + static_cast<size_t>(c0) * row_bytes, row_bytes, cols - c0, k, meta,
                     meta + 4 * kCols, gb);
  }
}

#if HWY_TARGET != HWY_AVX2

// Decodes a column block straight into the interleaved layout: per 32 values and 16 columns,
// 16 register decodes, an 8×8 transpose of 4-byte words within the two 256-bit halves, 8 stores,
// and with kNsum −128·Σq per group (read by the VNNI kernel only; without, those bytes are left
// as they were).
template <GgmlType kType, bool kNsum>
DLLM_QUNPACK_ATTR void UnpackBlockSimd(const uint8_t* rows, size_t row_bytes, int cols,
                                       int64_t k, uint8_t* HWY_RESTRICT dst) {
  constexpr int group = kType == GgmlType::kQ6_K ? 16 : 32;
  constexpr bool off = kType == GgmlType::kQ4_1 || kType == GgmlType::kQ5_1 ||
                       kType == GgmlType::kQ4_K || kType == GgmlType::kQ5_K;
  UnpackMetaSimd<kType>(rows, row_bytes, cols, k, dst);
  constexpr int64_t gb = GroupBytes(group, off);
  const __m512i lo_idx = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i hi_idx = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t t = 0; t < k / 32; ++t) {
    for (int half = 0; half < 2; ++half) {
      __m512i z[8];
      for (int i = 0; i < 8; ++i) {
        const int ca = 16 * half + i, cb = ca + 8;
        const __m256i a =
            ca < cols ? Decode32<kType>(rows + static_cast<size_t>(ca) * row_bytes, t) : zero;
        const __m256i b =
            cb < cols ? Decode32<kType>(rows + static_cast<size_t>(cb) * row_bytes, t) : zero;
        z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
      }
      // 4×4 word transposes inside each 128-bit lane: lane 0 of T[m] holds word m of columns
      // 0..3, lane 1 word 4 + m, lanes 2 and 3 the same for columns 8..11 (U: 4..7, 12..15).
      __m512i tu[2][4];
      for (int q = 0; q < 2; ++q) {
        const __m512i a0 = _mm512_unpacklo_epi32(z[4 * q], z[4 * q + 1]);
        const __m512i a1 = _mm512_unpackhi_epi32(z[4 * q], z[4 * q + 1]);
        const __m512i a2 = _mm512_unpacklo_epi32(z[4 * q + 2], z[4 * q + 3]);
        const __m512i a3 = _mm512_unpackhi_epi32(z[4 * q + 2], z[4 * q + 3]);
        tu[q][0] = _mm512_unpacklo_epi64(a0, a2);
        tu[q][1] = _mm512_unpackhi_epi64(a0, a2);
        tu[q][2] = _mm512_unpacklo_epi64(a1, a3);
        tu[q][3] = _mm512_unpackhi_epi64(a1, a3);
      }
      __m512i sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
      for (int j = 0; j < 8; ++j) {
        const __m512i v =
            _mm512_permutex2var_epi64(tu[0][j % 4], j < 4 ? lo_idx : hi_idx, tu[1][j % 4]);
        const int64_t value = 32 * t + 4 * j, g = value / group;
        uint8_t* gp = dst + g * gb;
        _mm512_storeu_si512(gp + ((value % group) / 4 * kCols + 16 * half) * 4, v);
#if HWY_TARGET == HWY_AVX3_DL
        if constexpr (kNsum) {
          sum[j * 4 / group] = _mm512_dpbusd_epi32(sum[j * 4 / group], _mm512_set1_epi8(1), v);
        }
#endif
      }
      if constexpr (!kNsum) continue;
      for (int p = 0; p < 32 / group; ++p) {
        // −128 · Σq (used by the VNNI kernel only).
        uint8_t* gp = dst + (32 * t / group + p) * gb;
        _mm512_storeu_si512(gp + group * kCols + 16 * half * 4,
                            _mm512_mullo_epi32(sum[p], _mm512_set1_epi32(-128)));
      }
    }
  }
}

#else  // HWY_AVX2

// Decodes a column block (kCols = 8 columns) straight into the interleaved layout: per 32 values,
// 8 register decodes and an 8×8 transpose of 4-byte words (row j: word j of every column), 8
// stores, and with kNsum −128·Σq per group from the same rows (only the kernels taking shifted
// activations read it: without, those bytes are left as they were); s and o as on AVX-512
// (UnpackMetaSimd).
template <GgmlType kType, bool kNsum>
void UnpackBlockSimd(const uint8_t* rows, size_t row_bytes, int cols, int64_t k,
                     uint8_t* HWY_RESTRICT dst) {
  constexpr int group = kGroupOf<kType>;
  constexpr bool off = kOffOf<kType>;
  constexpr int64_t gb = GroupBytes(group, off);
  UnpackMetaSimd<kType>(rows, row_bytes, cols, k, dst);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t t = 0; t < k / 32; ++t) {
    __m256i z[8];
    for (int c = 0; c < 8; ++c) {
      z[c] = c < cols ? Decode32<kType>(rows + static_cast<size_t>(c) * row_bytes, t) : zero;
    }
    // 8×8 transpose of 32-bit words: row j = word j of columns 0..7.
    __m256i a[8], b[8];
    for (int q = 0; q < 4; ++q) {
      a[2 * q] = _mm256_unpacklo_epi32(z[2 * q], z[2 * q + 1]);
      a[2 * q + 1] = _mm256_unpackhi_epi32(z[2 * q], z[2 * q + 1]);
    }
    for (int q = 0; q < 2; ++q) {
      for (int h = 0; h < 2; ++h) {
        b[4 * q + 2 * h] = _mm256_unpacklo_epi64(a[4 * q + h], a[4 * q + 2 + h]);
        b[4 * q + 2 * h + 1] = _mm256_unpackhi_epi64(a[4 * q + h], a[4 * q + 2 + h]);
      }
    }
    // b[4q + m] holds, per 128-bit lane l, word 4l + m of columns 4q..4q+3.
    __m256i sum[2] = {zero, zero};
    for (int j = 0; j < 8; ++j) {
      const int m = j % 4;
      const __m256i v = j < 4 ? _mm256_permute2x128_si256(b[m], b[4 + m], 0x20)
                              : _mm256_permute2x128_si256(b[m], b[4 + m], 0x31);
      const int64_t value = 32 * t + 4 * j, g = value / group;
      _mm256_storeu_si256(
          reinterpret_cast<__m256i*>(dst + g * gb + (value % group) / 4 * kCols * 4), v);
      if constexpr (kNsum) {
        // Σ of each column's 4 signed bytes (1 · q pairs, then pairs of those).
        sum[j * 4 / group] = _mm256_add_epi32(
            sum[j * 4 / group], _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, v), ones16));
      }
    }
    if constexpr (!kNsum) continue;
    for (int p = 0; p < 32 / group; ++p) {
      // −128 · Σq (the AVX-VNNI kernel's and the shifted AVX2 kernel's starting sums).
      uint8_t* gp = dst + (32 * t / group + p) * gb;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(gp + group * kCols),
                          _mm256_mullo_epi32(sum[p], _mm256_set1_epi32(-128)));
    }
  }
}

#endif  // HWY_AVX2

// The register-decoding unpacker for `type`, or false (Q2_K, Q3_K: the generic UnpackBlock).
inline bool UnpackBlockFast(GgmlType type, const uint8_t* rows, size_t row_bytes, int cols,
                            int64_t k, int, bool, bool nsum, uint8_t* HWY_RESTRICT,
                            uint8_t* HWY_RESTRICT dst) {
  switch (type) {
#define DLLM_QUNPACK_CASE(T)                                                    \
  case T:                                                                       \
    if (nsum) {                                                                 \
      UnpackBlockSimd<T, true>(rows, row_bytes, cols, k, dst);                  \
    } else {                                                                    \
      UnpackBlockSimd<T, false>(rows, row_bytes, cols, k, dst);                 \
    }                                                                           \
    return true;
    DLLM_QUNPACK_CASE(GgmlType::kQ4_0)
    DLLM_QUNPACK_CASE(GgmlType::kQ4_1)
    DLLM_QUNPACK_CASE(GgmlType::kQ5_0)
    DLLM_QUNPACK_CASE(GgmlType::kQ5_1)
    DLLM_QUNPACK_CASE(GgmlType::kQ8_0)
    DLLM_QUNPACK_CASE(GgmlType::kQ4_K)
    DLLM_QUNPACK_CASE(GgmlType::kQ5_K)
    DLLM_QUNPACK_CASE(GgmlType::kQ6_K)
#undef DLLM_QUNPACK_CASE
    default:
      return false;
  }
}

// The int8 values of one row decoded in registers (32 at a time), or false (Q2_K, Q3_K).
template <GgmlType kType>
DLLM_QUNPACK_ATTR void DecodeValuesSimd(const uint8_t* src, int64_t k, int8_t* HWY_RESTRICT q) {
  for (int64_t t = 0; t < k / 32; ++t) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * t), Decode32<kType>(src, t));
  }
}

inline bool DecodeValuesFast(GgmlType type, const uint8_t* src, int64_t k, int8_t* HWY_RESTRICT q) {
  switch (type) {
#define DLLM_QDECODE_CASE(T)          \
  case T:                             \
    DecodeValuesSimd<T>(src, k, q);   \
    return true;
    DLLM_QDECODE_CASE(GgmlType::kQ4_0)
    DLLM_QDECODE_CASE(GgmlType::kQ4_1)
    DLLM_QDECODE_CASE(GgmlType::kQ5_0)
    DLLM_QDECODE_CASE(GgmlType::kQ5_1)
    DLLM_QDECODE_CASE(GgmlType::kQ8_0)
    DLLM_QDECODE_CASE(GgmlType::kQ4_K)
    DLLM_QDECODE_CASE(GgmlType::kQ5_K)
    DLLM_QDECODE_CASE(GgmlType::kQ6_K)
#undef DLLM_QDECODE_CASE
    default:
      return false;
  }
}

#undef DLLM_QUNPACK_ATTR

#else

inline bool UnpackBlockFast(GgmlType, const uint8_t*, size_t, int, int64_t, int, bool, bool,
                            uint8_t*, uint8_t*) {
  return false;
}

inline bool DecodeValuesFast(GgmlType, const uint8_t*, int64_t, int8_t*) { return false; }

#endif

// nsum: whether the kernels will read −128·Σq (ShiftedActivations); unpackers may skip it when
// not (the register unpackers do).
void UnpackBlock(GgmlType type, const uint8_t* rows, size_t row_bytes, int cols, int64_t k,
                 int group, bool off, bool nsum, uint8_t* HWY_RESTRICT work,
                 uint8_t* HWY_RESTRICT dst) {
  if (UnpackBlockFast(type, rows, row_bytes, cols, k, group, off, nsum, work, dst)) return;
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
      // −128 · Σq (the starting sums of the kernels that take shifted activations).
      hn::StoreU(hn::Mul(sum, hn::Set(di, -128)), di,
                 reinterpret_cast<int32_t*>(gp + group * kCols + c0 * 4));
    }
  }
}

// ---- Micro-kernels ----------------------------------------------------------------------------
// out[r × kCols + c] = the f32 accumulator of activation row r (of R) and column c over all ng
// groups of the block at w. a[r]: the row's quantized values; dg[r], eg[r]: its group factors.
// With `load` the accumulators start from out instead of 0, so a run over the groups in several
// consecutive pieces (the fused small-M path's K chunks) performs exactly the same operations.

using KernelFn = void (*)(const uint8_t* const* a, const float* const* dg, const float* const* eg,
                          const uint8_t* w, int64_t ng, float* out, bool load);
// The same on two column blocks at once (w0 into out0, w1 into out1; AVX2's KernelPair).
using KernelPairFn = void (*)(const uint8_t* const* a, const float* const* dg,
                              const float* const* eg, const uint8_t* w0, const uint8_t* w1,
                              int64_t ng, float* out0, float* out1, bool load);

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
                            const float* const* eg, const uint8_t* w, int64_t ng, float* out,
                            bool load) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = load ? _mm512_loadu_ps(out + r * kCols) : _mm512_setzero_ps();
    acc[r][1] = load ? _mm512_loadu_ps(out + r * kCols + 16) : _mm512_setzero_ps();
  }
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


// ---- AMX-INT8 (Sapphire Rapids and later; see gemm/amx.h) -------------------------------------
// The same arithmetic with the exact group dot products p computed by tile matmuls, the weights
// as the A operand: per group, A = 16 weight rows (columns of y) × G int8 values, row-major as the
// register decoders produce them (no 4-byte interleave), and B = 16 activation rows in AMX's B
// layout (4 consecutive K values per row, rows side by side), packed once per call. tdpbssd gives
// a 16×16 int32 p with one weight column per tile row and one activation row per lane; it is
// stored and scaled into f32 accumulators held in registers, one per weight column, each lane an
// activation row: acc_c = fma(float(p_c) · d_g, s_g,c, acc_c) with d_g the 16 rows' factors (one
// vector per group) — Kernel's operations lane for lane. Every row runs here: the last 16-row
// block is padded with zero rows, whose results are never written.
//
// A group's tile matmul has K = 32, half the width of the tile unit, and its 256 products then
// need a tile store and a convert, a multiply and a multiply-add per 16 of them: the vector
// epilogue, not the tile unit, bounds the kernel. The kernel therefore streams every (16-row
// block, 16-column half, group) step of a call through one software pipeline three steps deep:
// step s + 2's matmul is issued and step s + 1's product stored while step s is scaled, so neither
// the matmul's latency nor the store-to-load forwarding of the stored product stalls the vector
// units, and the pipeline never drains between groups, halves or row blocks.

// The 16 int32 lanes 0, stride, 2·stride, ... (gather indices).
DLLM_QGEMM_ATTR inline __m512i LaneTimes(int stride) {
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  return _mm512_mullo_epi32(lanes, _mm512_set1_epi32(stride));
}

// Tile registers (gemm/amx_tiles.h): A 0/5 and B 1/6 (alternating steps), C 2/3/4 (a ring of
// three steps in flight). Configures this thread's tiles for 32-value groups (per thread).
inline void AmxConfigure() {
  amx::TileConfig cfg;
  for (int t : {0, 5}) cfg.Set(t, 16, 32);      // A: 16 weight rows × 32 values
  for (int t : {1, 6}) cfg.Set(t, 8, 64);       // B: 32 values / 4 × 16 activation rows
  for (int t : {2, 3, 4}) cfg.Set(t, 16, 64);   // C: 16 × 16 int32
  cfg.Load();
}

// Decodes `cols` (≤ kCols) weight rows starting at `rows` into one column block of the AMX
// layout at dst: group g's region of GroupBytes(32, off) bytes holds column c's 32 int8 values at
// c · 32 (columns beyond `cols` zero), then s and o where the interleaved layout has them (the
// VNNI kernel's −128·Σq is not needed). 32-value-group types only.
template <GgmlType kType>
DLLM_QGEMM_ATTR void UnpackRowsAmx(const uint8_t* rows, size_t row_bytes, int cols, int64_t k,
                                   uint8_t* HWY_RESTRICT dst) {
  static_assert(kGroupOf<kType> == 32, "AMX layout: 32-value groups");
  UnpackMetaSimd<kType>(rows, row_bytes, cols, k, dst);
  constexpr int64_t gb = GroupBytes(32, kOffOf<kType>);
  for (int64_t t = 0; t < k / 32; ++t) {
    auto* g = reinterpret_cast<__m256i*>(dst + t * gb);
    for (int c = 0; c < kCols; ++c) {
      const uint8_t* row = rows + static_cast<size_t>(c) * row_bytes;
      _mm256_storeu_si256(g + c, c < cols ? Decode32<kType>(row, t) : _mm256_setzero_si256());
    }
  }
}

inline void UnpackRowsAmxFor(GgmlType type, const uint8_t* rows, size_t row_bytes, int cols,
                             int64_t k, uint8_t* HWY_RESTRICT dst) {
  switch (type) {
#define DLLM_QUNPACK_AMX_CASE(T)                           \
  case T:                                                  \
    UnpackRowsAmx<T>(rows, row_bytes, cols, k, dst);       \
    return;
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ4_0)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ4_1)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ5_0)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ5_1)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ8_0)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ4_K)
    DLLM_QUNPACK_AMX_CASE(GgmlType::kQ5_K)
#undef DLLM_QUNPACK_AMX_CASE
    default:
      return;  // UseAmx admits only these types
  }
}

// Where the AMX kernel's weight tiles come from: weight column c's (c < 32 of the column block)
// 32 int8 values of group g at base + g · group + c · stride. The unpacked AMX layout (w) has
// {w, GroupBytes(32, off), 32}; Q8_0 blocks are read in place from the weights ({first value of
// the chunk's first block, 34, row bytes}), since their values are already int8 in row order.
struct AmxWeights {
  const uint8_t* base;
  int64_t group;
  int64_t stride;
};

// Where the AMX kernel puts its results: into the accumulators `out` (per block and 16-column
// half, 16 weight columns × 16 rows, transposed), or, on a call's last K chunk, into the output:
// block b's row r at y + (16·b + r)·ldy, columns [0, cols) of the column block, stored or (add)
// added to, rows from `rows` on (the padding) left alone.
struct AmxDest {
  float* y = nullptr;  // null: out
  int64_t ldy = 0;
  bool add = false;
  int64_t rows = 0;  // rows of the call (from block 0)
  int cols = 0;      // valid columns of the column block
};

// The AMX kernel's epilogue for one step: acc (one per column of one 16-column half, lanes the
// block's rows) += the step's stored products pg scaled as Kernel does; the accumulators are
// loaded from (load) or zeroed for the block's accumulators ob at its first group and written
// out after its last (to ob, or to the block's output rows as AmxDest says).
template <bool kOff>
DLLM_QGEMM_ATTR inline __attribute__((always_inline)) void AmxScale(
    const int32_t* pg, const uint8_t* meta, const float* dtb, const float* etb, int64_t g,
    int64_t ng, int half, float* ob, bool load, int64_t b, const AmxDest& dest,
    __m512 (&acc)[16]) {
  float* o = ob + 256 * half;
  if (g == 0) {
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) acc[c] = load ? _mm512_loadu_ps(o + 16 * c) : _mm512_setzero_ps();
  }
  const float* s = reinterpret_cast<const float*>(meta + 4 * kCols) + 16 * half;
  const __m512 d = _mm512_loadu_ps(dtb + 16 * g);
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) {
    const __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512(pg + 16 * c));
    acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(v, d), _mm512_set1_ps(s[c]), acc[c]);
  }
  if (kOff) {
    const float* of = reinterpret_cast<const float*>(meta + 8 * kCols) + 16 * half;
    const __m512 e = _mm512_loadu_ps(etb + 16 * g);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) acc[c] = _mm512_fmadd_ps(e, _mm512_set1_ps(of[c]), acc[c]);
  }
  if (g != ng - 1) return;
  if (dest.y == nullptr) {
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) _mm512_storeu_ps(o + 16 * c, acc[c]);
    return;
  }
  // Transposed into output rows: lane c of row r's vector is acc_c's lane r.
  const int n_cols = std::min(16, dest.cols - 16 * half);
  if (n_cols <= 0) return;
  alignas(64) float t[256];
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) _mm512_store_ps(t + 16 * c, acc[c]);
  const __mmask16 cmask = static_cast<__mmask16>((1u << n_cols) - 1u);
  const __m512i cidx = LaneTimes(16);
  const int64_t n_rows = std::min<int64_t>(16, dest.rows - 16 * b);
  float* yb = dest.y + 16 * b * dest.ldy + 16 * half;
  for (int64_t r = 0; r < n_rows; ++r) {
    __m512 v = _mm512_i32gather_ps(_mm512_add_epi32(cidx, _mm512_set1_epi32(static_cast<int>(r))),
                                   t, 4);
    float* yr = yb + r * dest.ldy;
    if (dest.add) v = _mm512_add_ps(_mm512_maskz_loadu_ps(cmask, yr), v);
    _mm512_mask_storeu_ps(yr, cmask, v);
  }
}

// nb blocks of 16 activation rows (block b's group g in the B layout at ab + b·bstride + 512·g;
// its factors d_g of row r at dt[b·fstride + 16·g + r], e_g likewise in et) times the ng groups
// of one column block (values where wa says, s and o in the AMX layout at w); out: per block
// 2 × 256 accumulators (see AmxScale), loaded first with `load`; the results go where dest says.
template <bool kOff>
DLLM_QGEMM_ATTR void AmxKernel(const uint8_t* ab, int64_t bstride, const float* dt,
                               const float* et, int64_t fstride, const uint8_t* w,
                               const AmxWeights& wa, int64_t ng, int64_t nb, float* out,
                               bool load, const AmxDest& dest, RegionPrefetcher* pf) {
  constexpr int64_t gb = GroupBytes(32, kOff);
  alignas(64) int32_t p[2][256];
  // Step s = (16-row block b, half, group g), g fastest.
  struct Cursor {
    int64_t b = 0, g = 0;
    int half = 0;
    void Next(int64_t groups) {
      if (++g < groups) return;
      g = 0;
      if (++half < 2) return;
      half = 0;
      ++b;
    }
  };
  const int64_t steps = nb * 2 * ng;
  Cursor issue, scale;
  __m512 acc[16];
  int64_t s = 0;
  // Issues the next step's tile matmul into tile tc (weights into ta, activations into tb).
#define DLLM_AMX_ISSUE(ta, tb, tc)                                                  \
  do {                                                                              \
    DLLM_TILE_LOAD(ta, wa.base + issue.g * wa.group + 16 * wa.stride * issue.half,  \
                   wa.stride);                                                      \
    DLLM_TILE_LOAD(tb, ab + issue.b * bstride + 512 * issue.g, 64);                 \
    DLLM_TILE_ZERO(tc);                                                             \
    DLLM_TILE_DPBSSD(tc, ta, tb);                                                   \
    issue.Next(ng);                                                                 \
  } while (0)
  // One pipeline step: issue step s + 2, store step s + 1's product from tile tcs into p[ps],
  // scale step s's product (in p[1 - ps]) into the accumulators.
#define DLLM_AMX_STEP(ta, tb, tci, tcs, ps)                                              \
  if (s + 2 < steps) DLLM_AMX_ISSUE(ta, tb, tci);                                        \
  if (s + 1 < steps) DLLM_TILE_STORE(tcs, p[ps], 64);                                    \
  AmxScale<kOff>(p[1 - (ps)], w + scale.g * gb + 32 * kCols, dt + scale.b * fstride,     \
                 et + scale.b * fstride, scale.g, ng, scale.half, out + scale.b * 512,   \
                 load, scale.b, dest, acc);                                              \
  scale.Next(ng);                                                                        \
  if (pf != nullptr) pf->Step();                                                         \
  if (++s == steps) break
  DLLM_AMX_ISSUE(0, 1, 2);
  if (steps > 1) DLLM_AMX_ISSUE(5, 6, 3);
  DLLM_TILE_STORE(2, p[0], 64);
  for (;;) {
    DLLM_AMX_STEP(0, 1, 4, 3, 1);
    DLLM_AMX_STEP(5, 6, 2, 4, 0);
    DLLM_AMX_STEP(0, 1, 3, 2, 1);
    DLLM_AMX_STEP(5, 6, 4, 3, 0);
    DLLM_AMX_STEP(0, 1, 2, 4, 1);
    DLLM_AMX_STEP(5, 6, 3, 2, 0);
  }
  if (pf != nullptr) pf->Rest();
#undef DLLM_AMX_STEP
#undef DLLM_AMX_ISSUE
}

using AmxKernelFn = void (*)(const uint8_t* ab, int64_t bstride, const float* dt, const float* et,
                             int64_t fstride, const uint8_t* w, const AmxWeights& wa, int64_t ng,
                             int64_t nb, float* out, bool load, const AmxDest& dest,
                             RegionPrefetcher* pf);

inline AmxKernelFn AmxKernelFor(bool off) { return off ? &AmxKernel<true> : &AmxKernel<false>; }

// Packs nb blocks of 16 quantized activation rows (row i at aq + i·k, rows from m on zero) into
// the B layout: block b's group g at ab + (b·ng + g)·512, 8 rows of 64 bytes (K values 4j..4j+3
// of row r at row j, bytes 4r..4r+3).
DLLM_QGEMM_ATTR inline void PackAmxB(const uint8_t* aq, int64_t m, int64_t k, int64_t b,
                                     uint8_t* ab) {
  const int64_t ng = k / 32;
  const int valid = static_cast<int>(std::min<int64_t>(16, m - 16 * b));
  const __mmask16 rmask = static_cast<__mmask16>((1u << valid) - 1u);
  const __m512i ridx = LaneTimes(static_cast<int>(k / 4));
  const auto* base = reinterpret_cast<const int*>(aq + 16 * b * k);
  uint8_t* dst = ab + b * ng * 512;
  for (int64_t j = 0; j < 8 * ng; ++j) {  // 4-byte column j of the block's rows
    const __m512i idx = _mm512_add_epi32(ridx, _mm512_set1_epi32(static_cast<int>(j)));
    const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rmask, idx, base, 4);
    _mm512_storeu_si512(dst + 64 * j, v);
  }
}

#elif HWY_TARGET == HWY_AVX3

#define DLLM_QGEMM_ATTR

// No VNNI: vpmaddubsw(|w| as u8, ±a as s8) then vpmaddwd with ones. |w| ≤ 128 and |a| ≤ 127,
// so a pair sum is ≤ 2·128·127 = 32512 and never saturates.
template <int R, int G, bool kOff>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out, bool load) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = load ? _mm512_loadu_ps(out + r * kCols) : _mm512_setzero_ps();
    acc[r][1] = load ? _mm512_loadu_ps(out + r * kCols + 16) : _mm512_setzero_ps();
  }
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

// The epilogue of one group on 256 bits (both AVX2 kernels): acc[r] += the group's exact
// products p[r] scaled as qgemm.h step 3 says.
template <int R, bool kOff>
HWY_INLINE void ScaleGroup(const __m256i (&p)[R], const float* const* dg, const float* const* eg,
                           int64_t g, const uint8_t* meta, __m256 (&acc)[R]) {
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

// vpmaddubsw, then vpmaddwd with ones, in one of three forms (qdecode.h, ShiftedOnAvx2): the
// offset types' weights (values ≥ 0) as the unsigned operand as they are; Q8_0's as |w| with the
// activation given w's sign (vpsignb), as on AVX3; the other signed types' as the signed operand
// times activations stored as u8 (q + 128, kShifted), the sums started at −128·Σq as on AVX-VNNI.
// Each vpmaddubsw lane is the exact sum of two products, and the kernel adds S steps' lanes in
// int16 (vpaddw) before one vpmaddwd widens them: S = Int16Span(type) keeps every partial sum
// within 16 bits, so p is the same exact integer as with a vpmaddwd per step, in half the
// multiplies or fewer (S = 8 for 4-bit weights: 1 vpmaddubsw + 1 vpaddw per step and row instead
// of 2 multiplies + 2 other operations).
template <int R, int G, bool kOff, int S, bool kShifted>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out, bool load) {
  static_assert(S >= 1 && (G / 4) % S == 0, "S steps divide a group");
  static_assert(!(kShifted && kOff), "the offset types' values are unsigned");
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = load ? _mm256_loadu_ps(out + r * kCols) : _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    __m256i p[R];
    const __m256i p0 = kShifted ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta))
                                : _mm256_setzero_si256();
    for (int r = 0; r < R; ++r) p[r] = p0;
    // The step loops are not unrolled: unrolled, GCC computes every step's products first and
    // spills them.
#pragma GCC unroll 1
    for (int h = 0; h < G / 4 / S; ++h) {
      __m256i t[R];  // int16 partial sums of S steps (S > 1)
      for (int r = 0; r < R; ++r) t[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int j = h * S; j < (h + 1) * S; ++j) {
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 32));
        const __m256i u0 = kOff || kShifted ? w0 : _mm256_abs_epi8(w0);
        for (int r = 0; r < R; ++r) {
          const __m256i b = _mm256_set1_epi32(Load4(a[r] + g * G + 4 * j));
          __m256i prod;
          if constexpr (kShifted) {
            prod = _mm256_maddubs_epi16(b, w0);  // u8 activation × s8 weight
          } else {
            // −b where w < 0, 0 where w == 0; the offset types' w ≥ 0 needs no sign.
            prod = _mm256_maddubs_epi16(u0, kOff ? b : _mm256_sign_epi8(b, w0));
          }
          if constexpr (S == 1) {
            p[r] = _mm256_add_epi32(p[r], _mm256_madd_epi16(prod, ones));
          } else {
            t[r] = _mm256_add_epi16(t[r], prod);
          }
        }
      }
      if constexpr (S > 1) {
        for (int r = 0; r < R; ++r) p[r] = _mm256_add_epi32(p[r], _mm256_madd_epi16(t[r], ones));
      }
    }
    ScaleGroup<R, kOff>(p, dg, eg, g, meta, acc);
  }
  for (int r = 0; r < R; ++r) _mm256_storeu_ps(out + r * kCols, acc[r]);
}

// Two column blocks at once, for the types whose whole group fits one int16 span (Int16Span =
// G / 4: Q4_0, Q4_1, Q4_K, Q2_K, Q3_K; SelectPairKernels): one activation broadcast serves both
// blocks' weight vectors, and per row and block only the group's int16 sums and the f32
// accumulator live in registers (R = kPairRows = 3 rows: 12 of the 16). The same integers and
// the same f32 operations in the same order as Kernel on each block, so the same bits. In a
// standalone loop on Zen 3 (cache-resident, 12 rows × 16 columns × K = 1024, medians of 8) the
// Q4_K form ran 128.6 against Kernel's 106.8 GOP/s on the two blocks one after the other (2 rows
// per call: 112.9). Types needing a span sum per group as well gained nothing: Q6_K's form
// (2 spans) 104.5 against 104, Q8_0's (a sign operation and a vpmaddwd per step) 73–79 against
// 82, so they keep Kernel.
template <int R, int G, bool kOff, bool kShifted>
void KernelPair(const uint8_t* const* a, const float* const* dg, const float* const* eg,
                const uint8_t* w0, const uint8_t* w1, int64_t ng, float* out0, float* out1,
                bool load) {
  static_assert(!(kShifted && kOff), "the offset types' values are unsigned");
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) {
    acc0[r] = load ? _mm256_loadu_ps(out0 + r * kCols) : _mm256_setzero_ps();
    acc1[r] = load ? _mm256_loadu_ps(out1 + r * kCols) : _mm256_setzero_ps();
  }
  const __m256i ones = _mm256_set1_epi16(1);
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w0 += gb, w1 += gb) {
    __m256i t0[R], t1[R];  // int16 pair sums of the whole group (Int16Span = G / 4)
    for (int r = 0; r < R; ++r) t0[r] = t1[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < G / 4; ++j) {
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + j * 32));
      const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + j * 32));
      for (int r = 0; r < R; ++r) {
        const __m256i b = _mm256_set1_epi32(Load4(a[r] + g * G + 4 * j));
        // kShifted: u8 activation × s8 weight; else the offset types' u8 weight × s8 activation.
        t0[r] = _mm256_add_epi16(
            t0[r], kShifted ? _mm256_maddubs_epi16(b, x0) : _mm256_maddubs_epi16(x0, b));
        t1[r] = _mm256_add_epi16(
            t1[r], kShifted ? _mm256_maddubs_epi16(b, x1) : _mm256_maddubs_epi16(x1, b));
      }
    }
    const uint8_t* meta0 = w0 + G * kCols;
    const uint8_t* meta1 = w1 + G * kCols;
    __m256i p0[R], p1[R];
    for (int r = 0; r < R; ++r) {
      p0[r] = _mm256_madd_epi16(t0[r], ones);
      p1[r] = _mm256_madd_epi16(t1[r], ones);
      if constexpr (kShifted) {  // started at −128·Σq, as Kernel's p
        p0[r] = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta0)),
                                 p0[r]);
        p1[r] = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta1)),
                                 p1[r]);
      }
    }
    ScaleGroup<R, kOff>(p0, dg, eg, g, meta0, acc0);
    ScaleGroup<R, kOff>(p1, dg, eg, g, meta1, acc1);
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(out0 + r * kCols, acc0[r]);
    _mm256_storeu_ps(out1 + r * kCols, acc1[r]);
  }
}

// AVX-VNNI (gemm/avx_vnni.h; selected at run time): u8 activations (q + 128) times s8 weights
// with vpdpbusd, the int32 accumulator started at −128·Σq as on AVX3_DL: the same exact p, then
// Kernel's epilogue.
#define DLLM_AVXVNNI_ATTR __attribute__((target(HWY_TARGET_STR ",avxvnni")))

template <int R, int G, bool kOff>
DLLM_AVXVNNI_ATTR void KernelVnni(const uint8_t* const* a, const float* const* dg,
                                  const float* const* eg, const uint8_t* w, int64_t ng,
                                  float* out, bool load) {
  __m256 acc[R];
  for (int r = 0; r < R; ++r) {
    acc[r] = load ? _mm256_loadu_ps(out + r * kCols) : _mm256_setzero_ps();
  }
  constexpr int64_t gb = GroupBytes(G, kOff);
  for (int64_t g = 0; g < ng; ++g, w += gb) {
    const uint8_t* meta = w + G * kCols;
    const __m256i n0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta));
    __m256i p[R];
    for (int r = 0; r < R; ++r) p[r] = n0;
    for (int j = 0; j < G / 4; ++j) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * 32));
      for (int r = 0; r < R; ++r) {
        const __m256i b = _mm256_set1_epi32(Load4(a[r] + g * G + 4 * j));
        p[r] = _mm256_dpbusd_avx_epi32(p[r], b, w0);
      }
    }
    ScaleGroup<R, kOff>(p, dg, eg, g, meta, acc);
  }
  for (int r = 0; r < R; ++r) _mm256_storeu_ps(out + r * kCols, acc[r]);
}

#else  // portable (SSSE3, SSE4, SCALAR, non-x86)

#define DLLM_QGEMM_ATTR

template <int R, int G, bool kOff>
void Kernel(const uint8_t* const* a, const float* const* dg, const float* const* eg,
            const uint8_t* w, int64_t ng, float* out, bool load) {
  float acc[R][kCols] = {};
  if (load) {
    for (int r = 0; r < R; ++r) std::memcpy(acc[r], out + r * kCols, sizeof(acc[r]));
  }
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

// Whether this call's kernels use AVX-VNNI (AVX2 copy only; gemm/avx_vnni.h). They then take
// the activations as u8 (q + 128), as the AVX3_DL kernels do.
inline bool UseAvxVnni() {
#if HWY_TARGET == HWY_AVX2
  return avx_vnni::Enabled() && avx_vnni::Usable();
#else
  return false;
#endif
}

// The row-block kernels of one call; `vnni`: the AVX-VNNI ones (AVX2 copy, UseAvxVnni); S and
// kShifted: the AVX2 kernel's int16 span and product form (Int16Span, ShiftedOnAvx2; the other
// kernels have neither).
template <int G, bool kOff, int S, bool kShifted>
void KernelTable(bool vnni, KernelFn* fns) {
#if HWY_TARGET == HWY_AVX2
  if (vnni) {
    fns[1] = &KernelVnni<1, G, kOff>;
    fns[2] = &KernelVnni<2, G, kOff>;
    fns[3] = &KernelVnni<3, G, kOff>;
    fns[4] = &KernelVnni<4, G, kOff>;
    return;
  }
  fns[1] = &Kernel<1, G, kOff, S, kShifted>;
  fns[2] = &Kernel<2, G, kOff, S, kShifted>;
  fns[3] = &Kernel<3, G, kOff, S, kShifted>;
  fns[4] = &Kernel<4, G, kOff, S, kShifted>;
#else
  (void)vnni;
  fns[1] = &Kernel<1, G, kOff>;
  fns[2] = &Kernel<2, G, kOff>;
  fns[3] = &Kernel<3, G, kOff>;
  fns[4] = &Kernel<4, G, kOff>;
#endif
#if HWY_TARGET == HWY_AVX3_DL
  fns[5] = &Kernel<5, G, kOff>;
  fns[6] = &Kernel<6, G, kOff>;
#endif
}

// Whether this copy's kernels take `type`'s activations as u8 (q + 128): the VNNI ones always,
// the AVX2 one for the signed types but Q8_0 (ShiftedOnAvx2).
inline bool ShiftedActivations(GgmlType type, bool vnni) {
  return kShift || vnni || (HWY_TARGET == HWY_AVX2 && ShiftedOnAvx2(type));
}

// The kernels for weights of `type` (Supported) in this copy.
inline void SelectKernels(GgmlType type, bool vnni, KernelFn* fns) {
  const int group = GroupSize(type);
  const bool off = HasOffset(type);
#if HWY_TARGET == HWY_AVX2
  const int span = Int16Span(type);
  if (group == 32 && off) {  // Q4_1, Q4_K: 8; Q5_1, Q5_K: 4
    span == 8 ? KernelTable<32, true, 8, false>(vnni, fns)
              : KernelTable<32, true, 4, false>(vnni, fns);
  } else if (group == 32 && !ShiftedOnAvx2(type)) {  // Q8_0
    KernelTable<32, false, 1, false>(vnni, fns);
  } else if (group == 32) {  // Q4_0: 8; Q5_0: 4
    span == 8 ? KernelTable<32, false, 8, true>(vnni, fns)
              : KernelTable<32, false, 4, true>(vnni, fns);
  } else if (off) {  // Q2_K
    KernelTable<16, true, 4, false>(vnni, fns);
  } else {  // Q3_K: 4; Q6_K: 2
    span == 4 ? KernelTable<16, false, 4, true>(vnni, fns)
              : KernelTable<16, false, 2, true>(vnni, fns);
  }
#else
  if (group == 32) {
    off ? KernelTable<32, true, 1, false>(vnni, fns) : KernelTable<32, false, 1, false>(vnni, fns);
  } else {
    off ? KernelTable<16, true, 1, false>(vnni, fns) : KernelTable<16, false, 1, false>(vnni, fns);
  }
#endif
}
static_assert(kRows == (HWY_TARGET == HWY_AVX3_DL ? 6 : 4),
              "KernelTable instantiates 1..kRows rows");

#if HWY_TARGET == HWY_AVX2
template <int G, bool kOff, bool kShifted>
void PairTable(KernelPairFn* fns) {
  fns[1] = &KernelPair<1, G, kOff, kShifted>;
  fns[2] = &KernelPair<2, G, kOff, kShifted>;
  fns[3] = &KernelPair<3, G, kOff, kShifted>;
}
#endif

// Whether this copy's kernels for `type` take two column blocks at once (KernelPair: AVX2
// without AVX-VNNI, the types whose whole group fits the int16 span), and then those kernels
// for 1..kPairRows rows in fns (index = rows).
inline bool SelectPairKernels(GgmlType type, bool vnni, KernelPairFn* fns) {
#if HWY_TARGET == HWY_AVX2
  const int group = GroupSize(type);
  if (vnni || Int16Span(type) != group / 4) return false;
  static_assert(kPairRows == 3, "PairTable instantiates 1..3 rows");
  if (group == 32) {
    // Q4_1, Q4_K; Q4_0 with u8 activations (ShiftedOnAvx2)
    HasOffset(type) ? PairTable<32, true, false>(fns) : PairTable<32, false, true>(fns);
  } else {
    // Q2_K; Q3_K with u8 activations
    HasOffset(type) ? PairTable<16, true, false>(fns) : PairTable<16, false, true>(fns);
  }
  return true;
#else
  (void)type, (void)vnni, (void)fns;
  return false;
#endif
}

// ---- Driver -----------------------------------------------------------------------------------

// Up to this many activation rows, Linear runs the fused path: each thread takes whole column
// blocks and, per K chunk of about 8 KiB of int8 weights, unpacks the chunk into its own small
// (L1-resident) buffer and runs every row block over it, carrying the f32 accumulators across
// chunks in memory. With few rows every weight byte is used only m times, so the unpacked data
// must not make a round trip through L2/L3 as the full-tile path's does.
// On AVX2 the canvas's 256 rows run fused too. The full-tile path unpacks a tile of 256
// columns, waits for every thread, multiplies, and waits again, tile after tile; the fused path
// has one loop over all column blocks and streams the next chunk in while the current one
// computes (RegionPrefetcher). On AMD Zen 3 (2 threads, M = 256, K = 2816, alternating runs of
// both limits in separate processes) the Q6_K output head (N = 262144) ran at 173 against
// 157 GFLOP/s (medians of 5 and 6 runs; 59 → 71 % of oneDNN's int8 matmul run next to it), and
// in step_bench's real-dims Q4_K_M step at 2260–2305 against 2655–2927 ms; the N = 1408–4224
// matmuls of Q8_0, Q4_K and Q6_K came out equal within the host's noise (medians ±10 % either
// way). Larger m (prompt passes) keeps the full-tile path: at 512 and 1024 rows the runs were
// mixed (Q8_0's K = 704 matmul faster fused, Q4_K's at 1024 rows slower in 2 of 3). The AVX2
// copy's AVX-VNNI kernels share the limit (not measured: this machine has no AVX-VNNI); the
// AVX-512 targets, tuned on another machine, keep 64.
#if HWY_TARGET == HWY_AVX2
constexpr int64_t kFusedMaxRows = 256;
#else
constexpr int64_t kFusedMaxRows = 64;
#endif
// LinearAmx (the same per-chunk scheme with the AMX kernel) takes calls of up to this many rows
// at once, longer ones in slabs of this many (the fused scheme measured equal to a full-tile one
// at m = 256 and 512, K = 2816, and 1.4× faster at K = 704).
constexpr int64_t kFusedMaxRowsAmx = 1024;

// Values per K chunk of the fused path: a whole number of weight blocks (256 values covers every
// type), about 8 KiB of unpacked int8 per column block.
inline int64_t FusedChunk(int64_t k) {
  return std::min<int64_t>(k, std::max<int64_t>(256, 8192 / kCols / 256 * 256));
}

// Values per K chunk of LinearAmx with nb 16-row blocks. Each AmxKernel call starts with a stall
// of a few hundred cycles at its first tile matmul (28–30 % of the kernel's profile at m = 16
// with 256-value chunks), so the chunks are longer than the VNNI driver's: the whole row (up to
// kAmxChunkMax) when the chunk is used once, else 1024 values (~45 KiB unpacked with its scales,
// about the size of L1; measured 1–7 % faster than 256 at m = 48 and 256, and the whole row 10–19 %
// faster at m = 16).
constexpr int64_t kAmxChunkMax = 4096;
inline int64_t AmxChunk(int64_t k, int64_t nb) {
  return std::min<int64_t>(k, nb == 1 ? kAmxChunkMax : 1024);
}

// Column blocks per step of a thread's walk in the fused path at most: two where KernelPair
// may run (the AVX2 copy), else one.
constexpr int kFusedBlocks = HWY_TARGET == HWY_AVX2 ? 2 : 1;

// Per-thread scratch of the fused path: per column block of a step an unpacked chunk and the
// accumulators (FusedChunk's and acc's bytes), then one decode scratch.
inline int64_t FusedChunkBytes(int64_t k, int group, bool off) {
  return Align64(FusedChunk(k) / group * GroupBytes(group, off));
}
inline int64_t FusedAccBytes(int64_t m) {
  return Align64((std::min(m, kFusedMaxRows) + kRows - 1) / kRows * kRows * kCols * 4);
}
inline int64_t FusedThreadBytes(int64_t m, int64_t k, int group, bool off) {
  return kFusedBlocks * (FusedChunkBytes(k, group, off) + FusedAccBytes(m)) +
         UnpackScratchBytes(FusedChunk(k), group);
}

// Whether this call runs through the AMX kernel (AVX3_DL copy only; LinearAmx): 32-value-group
// types with at least 10 rows, except 17–19, where the second 16-row block would be mostly
// padding (a padded block costs as much as a full one). Measured on one thread against the VNNI
// kernel on all rows (Q8_0 / Q4_K, K = 2816, medians of 6 interleaved runs, with LinearAmx's
// long K chunks): AMX is 6–30 % faster at m = 10 to 12, 40–55 % at 15, 3–20 % at 20 and 21,
// 3–15 % at 33 and 35; equal at 6 to 8 and 19, up to 8 % slower at 17 and 18. Re-measured
// against the 6-row VNNI kernel with `gemm_bench --amx-vs-vnni 12 --threads 1` (one process
// alternating AMX and VNNI calls; Q8_0 / Q4_K at K = 2816, N = 1408 and K = 704, N = 2816): the
// VNNI calls' speed over the AMX calls', medians 0.61–0.90 at m = 10, 12, 15, 16; 0.83–1.10 at
// 20–22; 0.79–0.96 at 24; at m = 256 (K = 2816 / 4096) 0.79–0.95 on 1 and 2 threads. 17–19
// (VNNI either way) gave 0.98–1.03, the method's noise. So the thresholds stand.
inline bool UseAmx(const Context::Impl& ctx, int group, int64_t m) {
#if HWY_TARGET == HWY_AVX3_DL
  return group == 32 && m >= 10 && (m < 17 || m > 19) && ctx.options.int8_amx &&
         amx::Enabled() && amx::Usable();
#else
  (void)ctx, (void)group, (void)m;
  return false;
#endif
}

// Runs rows [r0, r0 + rows) (rows ≤ kRows) of the quantized activations over the groups
// [g0, g0 + ngc) of one unpacked column block at wblock, into out (rows × kCols, row stride kCols).
struct RowBlockRunner {
  const uint8_t* aq;
  const float* dg;
  const float* eg;
  int64_t k, ng, group;
  KernelFn fns[kRows + 1];
  KernelPairFn pair_fns[kPairRows + 1] = {};  // set where SelectPairKernels says so

  void Run(int64_t r0, int rows, int64_t k0, const uint8_t* wblock, int64_t ngc, float* out,
           bool load) const {
    Pointers p(*this, r0, rows, k0);
    fns[rows](p.a, p.d, p.e, wblock, ngc, out, load);
  }
  // Rows r0.. (rows ≤ kPairRows) on two column blocks' chunks: w0 into out0, w1 into out1.
  void RunPair(int64_t r0, int rows, int64_t k0, const uint8_t* w0, const uint8_t* w1,
               int64_t ngc, float* out0, float* out1, bool load) const {
    Pointers p(*this, r0, rows, k0);
    pair_fns[rows](p.a, p.d, p.e, w0, w1, ngc, out0, out1, load);
  }

 private:
  // Rows r0..r0 + rows − 1 from value k0 on: their quantized values and group factors.
  struct Pointers {
    const uint8_t* a[kRows];
    const float* d[kRows];
    const float* e[kRows];
    Pointers(const RowBlockRunner& run, int64_t r0, int rows, int64_t k0) {
      const int64_t g0 = k0 / run.group;
      for (int r = 0; r < rows; ++r) {
        a[r] = run.aq + (r0 + r) * run.k + k0;
        d[r] = run.dg + (r0 + r) * run.ng + g0;
        e[r] = run.eg + (r0 + r) * run.ng + g0;
      }
    }
  };
};

// y rows (+)= out rows: `rows` rows of `width` values, out's row stride kCols.
inline void StoreRows(const float* out, int64_t rows, int64_t width, float* y, int64_t ldy,
                      bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = y + r * ldy;
    const float* o = out + r * kCols;
    if (accumulate) {
      for (int64_t c = 0; c < width; ++c) yr[c] += o[c];
    } else {
      std::memcpy(yr, o, static_cast<size_t>(width) * sizeof(float));
    }
  }
}

// Columns per weight tile of the full-tile path (whole column blocks).
inline int64_t TileCols(const Context::Impl& ctx, int64_t n) {
  const int64_t n_padded = (n + kCols - 1) / kCols * kCols;
  return std::min(n_padded, (std::max<int64_t>(ctx.options.int8_tile_cols, 1) + kCols - 1) /
                                kCols * kCols);
}

// Bytes of a call's activation scratch up to `rest` (TakeActScratch): m quantized rows of k
// values and their factors.
inline int64_t ActBytes(int64_t m, int64_t k, int group, bool off) {
  return Align64(m * k) + Align64(m * (k / group) * 4) * (off ? 2 : 1);
}

// LinearAmx's scratch for m ≤ kFusedMaxRowsAmx rows of k values: act_bytes in all, after
// ActBytes the factors per 16-row block transposed (t_bytes, twice with offsets) and the B layout;
// per thread (thread_bytes) one unpacked chunk (chunk_bytes) and the accumulators of every block.
struct AmxSizes {
  int64_t nb, t_bytes, act_bytes, chunk_bytes, thread_bytes;
  AmxSizes(int64_t m, int64_t k, bool off)
      : nb((m + 15) / 16),
        t_bytes(Align64(nb * (k / 32) * 16 * 4)),
        act_bytes(ActBytes(m, k, 32, off) + t_bytes * (off ? 2 : 1) + nb * (k / 32) * 512),
        chunk_bytes(Align64(std::min(k, kAmxChunkMax) / 32 * GroupBytes(32, off))),
        thread_bytes(chunk_bytes + Align64(nb * 512 * 4)) {}
};

// Scratch bytes a call takes (act_scratch, tile_scratch): the larger of what the VNNI driver and
// LinearAmx (32-value groups) use for m rows of this weight, so that calls alternating between
// the two drivers stop growing the scratch after warm-up. Both only grow with m.
struct ScratchNeed {
  int64_t act, tile;
};
inline ScratchNeed NeedScratch(const Context::Impl& ctx, const WeightView& w, int64_t m,
                               int threads) {
  const int group = GroupSize(w.type);
  const bool off = HasOffset(w.type);
  const int64_t k = w.k, gb = GroupBytes(group, off);
  ScratchNeed need;
  need.act = ActBytes(m, k, group, off);
  const int64_t full_tile = Align64(TileCols(ctx, w.n) / kCols * (k / group) * gb);
  need.tile = std::max(full_tile + UnpackScratchBytes(k, group) * threads,
                       FusedThreadBytes(m, k, group, off) * threads);
  if (group == 32) {
    const int64_t rows = std::min(m, kFusedMaxRowsAmx);
    const AmxSizes amx(rows, k, off);
    need.act = std::max(need.act, amx.act_bytes);
    need.tile = std::max(need.tile, amx.thread_bytes * threads);
  }
  return need;
}

// A call's activation scratch (sized by NeedScratch): the quantized rows at aq (row stride k),
// d_g at dg and e_g at eg (= dg without offsets), each row's ng factors together, and the rest of
// the scratch from `rest` on.
struct ActScratch {
  uint8_t* aq;
  float* dg;
  float* eg;
  uint8_t* rest;
};
inline ActScratch TakeActScratch(Context::Impl& ctx, const WeightView& w, int64_t m, int group,
                                 bool off, const ScratchNeed& need) {
  const int64_t q_bytes = Align64(m * w.k), f_bytes = Align64(m * (w.k / group) * 4);
  auto* act = static_cast<uint8_t*>(
      ctx.act_scratch.Get(static_cast<size_t>(need.act), &ctx.scratch_growths));
  ActScratch s;
  s.aq = act;
  s.dg = reinterpret_cast<float*>(act + q_bytes);
  s.eg = off ? reinterpret_cast<float*>(act + q_bytes + f_bytes) : s.dg;
  s.rest = act + ActBytes(m, w.k, group, off);
  return s;
}

#if HWY_TARGET == HWY_AVX3_DL
// The int8 Linear through the AMX kernel (UseAmx): m ≤ kFusedMaxRowsAmx rows, all of them in
// 16-row blocks (the last padded); per column block and K chunk the weights are unpacked once
// into a per-thread buffer and every row block runs on it in one kernel call.
void LinearAmx(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
               size_t row_bytes, float* y, int64_t ldy, bool accumulate) {
  const bool off = HasOffset(w.type);
  const int64_t k = w.k, n = w.n, ng = k / 32;
  const AmxSizes sizes(m, k, off);
  const int64_t nb = sizes.nb;
  const int threads = std::max(1, omp_get_max_threads());
  // Scratch: quantized rows and their factors, then the factors per block transposed and the
  // B layout.
  const ScratchNeed need = NeedScratch(ctx, w, m, threads);  // ≥ this function's sizes
  const ActScratch act = TakeActScratch(ctx, w, m, 32, off, need);
  uint8_t* aq = act.aq;
  float* dg = act.dg;
  float* eg = act.eg;
  auto* dt = reinterpret_cast<float*>(act.rest);
  float* et = off ? reinterpret_cast<float*>(act.rest + sizes.t_bytes) : dt;
  uint8_t* ab = act.rest + sizes.t_bytes * (off ? 2 : 1);
  const int64_t kc_max = AmxChunk(k, nb);
  auto* tile = static_cast<uint8_t*>(
      ctx.tile_scratch.Get(static_cast<size_t>(need.tile), &ctx.scratch_growths));
  const AmxKernelFn kernel = AmxKernelFor(off);
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  // Q8_0 tiles load in place from the weights for up to 4 row blocks (medians of one-thread
  // runs at K = 2816 against unpacking: +15–30 % at m = 16, +7–17 % at 24, +3–4 % at 48 and
  // 64, equal at 128, 5–10 % slower at 256, where the unpacked chunk's contiguous rows are
  // reused by 16 row blocks and the blocks' 34-byte stride splits cache lines).
  const bool in_place = w.type == GgmlType::kQ8_0 && nb <= 4;
  const bool parallel = threads > 1 && m * n * k >= (int64_t{1} << 20);
  const int64_t blocks = (n + kCols - 1) / kCols;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    uint8_t* chunk = tile + sizes.thread_bytes * omp_get_thread_num();
    auto* acc = reinterpret_cast<float*>(chunk + sizes.chunk_bytes);
    AmxConfigure();
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      QuantizeRow(x + i * ldx, k, 32, off, false, aq + i * k, dg + i * ng, eg + i * ng);
    }
#pragma omp for schedule(static)
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t g = 0; g < ng; ++g) {
        for (int r = 0; r < 16; ++r) {
          const int64_t row = 16 * b + r, at = (b * ng + g) * 16 + r;
          dt[at] = row < m ? dg[row * ng + g] : 0.0f;
          if (off) et[at] = row < m ? eg[row * ng + g] : 0.0f;
        }
      }
      PackAmxB(aq, m, k, b, ab);
    }
#pragma omp for schedule(static)
    for (int64_t cb = 0; cb < blocks; ++cb) {
      const int64_t c0 = cb * kCols;
      const int cols = static_cast<int>(std::min<int64_t>(kCols, n - c0));
      for (int64_t k0 = 0; k0 < k; k0 += kc_max) {
        const int64_t kc = std::min(kc_max, k - k0);
        Region next;
        const uint8_t* src = ChunkSource(wbytes, row_bytes, w, c0, k0, kc_max, next);
        AmxWeights wa{chunk, GroupBytes(32, off), 32};
        if (in_place && cols == kCols) {
          // Q8_0: only the scales are unpacked; the tiles load the blocks' values in place.
          UnpackMetaSimd<GgmlType::kQ8_0>(src, row_bytes, cols, kc, chunk);
          wa = AmxWeights{src + 2, 34, static_cast<int64_t>(row_bytes)};
        } else {
          UnpackRowsAmxFor(w.type, src, row_bytes, cols, kc, chunk);
        }
        const AmxDest dest = k0 + kc == k ? AmxDest{y + c0, ldy, accumulate, m, cols} : AmxDest{};
        // The next chunk's weights stream in during this chunk's 2 · nb · kc / 32 steps.
        RegionPrefetcher pf(next, 2 * nb * (kc / 32));
        kernel(ab + k0 / 32 * 512, ng * 512, dt + k0 / 32 * 16, et + k0 / 32 * 16, ng * 16,
               chunk, wa, kc / 32, nb, acc, k0 > 0, dest, &pf);
      }
    }
    amx::ReleaseTiles();
  }
}
#endif

void LinearImpl(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                size_t row_bytes, float* y, int64_t ldy, bool accumulate) {
  const int group = GroupSize(w.type);
  const bool off = HasOffset(w.type);
  const int64_t k = w.k, n = w.n, ng = k / group;
  const int64_t gb = GroupBytes(group, off), block_bytes = ng * gb;
  const int64_t n_padded = (n + kCols - 1) / kCols * kCols;
  const int64_t tile_cols = TileCols(ctx, n);
#if HWY_TARGET == HWY_AVX3_DL
  if (UseAmx(ctx, group, m)) {
    for (int64_t r0 = 0; r0 < m; r0 += kFusedMaxRowsAmx) {
      LinearAmx(ctx, x + r0 * ldx, std::min(kFusedMaxRowsAmx, m - r0), ldx, w, row_bytes,
                y + r0 * ldy, ldy, accumulate);
    }
    return;
  }
#endif
  const int threads = std::max(1, omp_get_max_threads());

  // Scratch: quantized activations; the weight tile plus one decode row per thread.
  const ScratchNeed need = NeedScratch(ctx, w, m, threads);  // ≥ this function's sizes
  const ActScratch act = TakeActScratch(ctx, w, m, group, off, need);
  uint8_t* aq = act.aq;
  float* dg = act.dg;
  float* eg = act.eg;
  const int64_t tile_bytes = Align64(tile_cols / kCols * block_bytes);
  const int64_t dec_bytes = UnpackScratchBytes(k, group);
  const int64_t fused_bytes = FusedThreadBytes(m, k, group, off);
  auto* tile = static_cast<uint8_t*>(
      ctx.tile_scratch.Get(static_cast<size_t>(need.tile), &ctx.scratch_growths));

  // The AVX-VNNI kernels take the activations as u8 (q + 128), as the AVX3_DL ones do.
  const bool vnni = UseAvxVnni();
  RowBlockRunner run{aq, dg, eg, k, ng, group, {}};
  SelectKernels(w.type, vnni, run.fns);
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  // Below ~1M multiply-adds a parallel region costs more than it saves.
  const bool parallel = threads > 1 && m * n * k >= (int64_t{1} << 20);

  // Quantizes the activations (as u8, q + 128, where the kernels take them so). Inside a
  // parallel region.
  const bool shift = ShiftedActivations(w.type, vnni);
  auto quantize = [&] {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      QuantizeRow(x + i * ldx, k, group, off, shift, aq + i * k, dg + i * ng, eg + i * ng);
    }
  };

  // Two column blocks per kernel call where the pair kernels serve this type (SelectPairKernels),
  // kPairRows rows at a time; else one block, kRows rows.
  const bool pairs = SelectPairKernels(w.type, vnni, run.pair_fns);
  const int64_t width = pairs ? 2 : 1;  // column blocks per step

  if (m <= kFusedMaxRows) {
    const int64_t kc_max = FusedChunk(k);
    const int64_t blocks = n_padded / kCols;
    const int64_t steps = (blocks + width - 1) / width;
    const int64_t chunk_bytes = FusedChunkBytes(k, group, off), acc_bytes = FusedAccBytes(m);
#pragma omp parallel num_threads(threads) if (parallel)
    {
      // chunk 0, chunk 1, accumulators 0, 1 (the second ones used by pair steps), decode scratch
      uint8_t* chunk0 = tile + fused_bytes * omp_get_thread_num();
      uint8_t* chunk1 = chunk0 + chunk_bytes * (kFusedBlocks - 1);
      auto* acc0 = reinterpret_cast<float*>(chunk0 + chunk_bytes * kFusedBlocks);
      auto* acc1 = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(acc0) +
                                            acc_bytes * (kFusedBlocks - 1));
      uint8_t* dec = chunk0 + (chunk_bytes + acc_bytes) * kFusedBlocks;
      quantize();
#pragma omp for schedule(static)
      for (int64_t step = 0; step < steps; ++step) {
        const int64_t c0 = step * width * kCols;
        const int64_t cols_all = std::min<int64_t>(width * kCols, n - c0);
        const bool two = cols_all > kCols;  // a pair step (the last one may hold one block)
        const int cols0 = static_cast<int>(std::min<int64_t>(kCols, cols_all));
        const int cols1 = static_cast<int>(cols_all - cols0);
        for (int64_t k0 = 0; k0 < k; k0 += kc_max) {
          const int64_t kc = std::min(kc_max, k - k0);
          Region next;
          const uint8_t* src =
              ChunkSource(wbytes, row_bytes, w, c0, k0, kc_max, next, width * kCols);
          const int64_t step_rows = two ? kPairRows : kRows;
          // The next chunk streams in during this one's unpacking and row blocks.
          RegionPrefetcher pf(next, (m + step_rows - 1) / step_rows + (two ? 2 : 1));
          pf.Step();
          UnpackBlock(w.type, src, row_bytes, cols0, kc, group, off, shift, dec, chunk0);
          if (two) {
            pf.Step();
            UnpackBlock(w.type, src + static_cast<size_t>(kCols) * row_bytes, row_bytes, cols1,
                        kc, group, off, shift, dec, chunk1);
          }
          for (int64_t r0 = 0; r0 < m; r0 += step_rows) {
            const int rows = static_cast<int>(std::min(step_rows, m - r0));
            if (two) {
              run.RunPair(r0, rows, k0, chunk0, chunk1, kc / group, acc0 + r0 * kCols,
                          acc1 + r0 * kCols, k0 > 0);
            } else {
              run.Run(r0, rows, k0, chunk0, kc / group, acc0 + r0 * kCols, k0 > 0);
            }
            pf.Step();
          }
        }
        StoreRows(acc0, m, cols0, y + c0, ldy, accumulate);
        if (two) StoreRows(acc1, m, cols1, y + c0 + kCols, ldy, accumulate);
      }
    }
    return;
  }

#pragma omp parallel num_threads(threads) if (parallel)
  {
    uint8_t* dec = tile + tile_bytes + dec_bytes * omp_get_thread_num();
    quantize();
    for (int64_t n0 = 0; n0 < n; n0 += tile_cols) {
      const int64_t cols = std::min(tile_cols, n - n0);
      const int64_t blocks = (cols + kCols - 1) / kCols;
#pragma omp for schedule(static)
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const int64_t c0 = n0 + cb * kCols;
        UnpackBlock(w.type, wbytes + static_cast<size_t>(c0) * row_bytes, row_bytes,
                    static_cast<int>(std::min<int64_t>(kCols, n - c0)), k, group, off, shift,
                    dec, tile + cb * block_bytes);
      }
      // `width` column blocks per step (with pairs a lone last block on its own), step_rows
      // rows at a time.
      const int64_t steps = (blocks + width - 1) / width;
      const int64_t step_rows = pairs ? kPairRows : kRows;
      const int64_t row_steps = (m + step_rows - 1) / step_rows;
#pragma omp for schedule(static) collapse(2)
      for (int64_t step = 0; step < steps; ++step) {
        for (int64_t rs = 0; rs < row_steps; ++rs) {
          const int64_t cb = step * width, c0 = cb * kCols, r0 = rs * step_rows;
          const int rows = static_cast<int>(std::min(step_rows, m - r0));
          alignas(64) float out0[kRows * kCols], out1[kRows * kCols];
          float* const yr = y + r0 * ldy + n0 + c0;
          if (pairs && cb + 1 < blocks) {
            run.RunPair(r0, rows, 0, tile + cb * block_bytes, tile + (cb + 1) * block_bytes, ng,
                        out0, out1, false);
            StoreRows(out1, rows, std::min<int64_t>(kCols, cols - c0 - kCols), yr + kCols, ldy,
                      accumulate);
          } else {
            run.Run(r0, rows, 0, tile + cb * block_bytes, ng, out0, false);
          }
          StoreRows(out0, rows, std::min<int64_t>(kCols, cols - c0), yr, ldy, accumulate);
        }
      }
    }
  }
}

// ---- Dequantization to bf16 (the tiles of LinearT over block types) ---------------------------

// One row of DequantizeRowsBf16Impl: k decoded values q with their groups' scales sc and
// offsets oc to bf16 at out. A function of its own, called from the OpenMP region: clang
// outlines a parallel region into a function without the target's attributes (Highway sets
// them per namespace), so SIMD code inside the region itself does not compile there.
HWY_NOINLINE void ValuesToBf16Row(const int8_t* q, const float* sc, const float* oc, int group,
                                  bool off, int64_t k, uint16_t* out) {
  const hn::CappedTag<float, 16> df;  // a vector never straddles two groups
  const hn::RebindToSigned<decltype(df)> di;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<int8_t, decltype(di)> d8;
  const hn::Rebind<uint16_t, decltype(di)> d16;
  const size_t N = hn::Lanes(df);
  const auto lsb_mask = hn::Set(du, 1u), bias = hn::Set(du, 0x7fffu);
  const auto abs_mask = hn::Set(du, 0x7fffffffu), inf = hn::Set(du, 0x7f800000u);
  const auto quiet = hn::Set(du, 0x40u);
  for (int64_t j = 0; j < k; j += static_cast<int64_t>(N)) {
    const int64_t g = j / group;
    auto v = hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, q + j))),
                     hn::Set(df, sc[g]));
    if (off) v = hn::Add(v, hn::Set(df, oc[g]));
    const auto u = hn::BitCast(du, v);
    const auto rounded =
        hn::ShiftRight<16>(hn::Add(u, hn::Add(bias, hn::And(hn::ShiftRight<16>(u), lsb_mask))));
    const auto nan = hn::Gt(hn::And(u, abs_mask), inf);
    const auto bits = hn::IfThenElse(nan, hn::Or(hn::ShiftRight<16>(u), quiet), rounded);
    hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di, bits)), d16, out + j);
  }
}

// dst[r · k + c] = bf16(value c of row r), value = s·q (+ o) as DecodeRow defines it (exactly the
// f32 value of the reference dequantizer), rounded to nearest even as F32ToBf16 does (NaNs stay
// quiet NaNs). Rows are decoded in registers where the target has a decoder for the type.
void DequantizeRowsBf16Impl(GgmlType type, const uint8_t* data, size_t row_bytes, int64_t rows,
                            int64_t k, uint16_t* dst) {
  const int group = GroupSize(type);
  const bool off = HasOffset(type);
  const int64_t ng = k / group;
#pragma omp parallel if (rows * k >= (int64_t{1} << 16))
  {
    // Per-thread decode buffers, grown to the longest row seen and then reused (LinearT calls
    // this once per tile, every self-conditioning step).
    thread_local std::vector<int8_t> q;
    thread_local std::vector<float> sc, oc;
    if (q.size() < static_cast<size_t>(k)) q.resize(static_cast<size_t>(k));
    if (sc.size() < static_cast<size_t>(ng)) {
      sc.resize(static_cast<size_t>(ng));
      oc.resize(static_cast<size_t>(ng));
    }
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = data + static_cast<size_t>(r) * row_bytes;
      if (DecodeValuesFast(type, src, k, q.data())) {
        DecodeScales(type, src, k, sc.data(), oc.data());
      } else {
        DecodeRow(type, src, k, q.data(), sc.data(), oc.data());
      }
      ValuesToBf16Row(q.data(), sc.data(), oc.data(), group, off, k, dst + r * k);
    }
  }
}

// gemm_bench's ceiling of the AMX kernel (see qgemm.h: TimeAmxKernel).
double TimeAmxKernelImpl(bool offsets, int64_t iters) {
#if HWY_TARGET == HWY_AVX3_DL
  if (!amx::Usable()) return 0.0;
  constexpr int64_t kGroups = 8, kBlocks = 16;  // one 256-value chunk, M = 256
  // Every byte 0x3c: int8 values 60, f32 scales and factors about 0.0115 (normal numbers).
  std::vector<uint8_t> ab(static_cast<size_t>(kBlocks * kGroups * 512), 0x3c);
  std::vector<uint8_t> w(static_cast<size_t>(kGroups * GroupBytes(32, offsets)), 0x3c);
  std::vector<float> factors(static_cast<size_t>(kBlocks * kGroups * 16), 0.0115f);
  std::vector<float> out(static_cast<size_t>(kBlocks * 512));
  const AmxKernelFn kernel = AmxKernelFor(offsets);
  AmxConfigure();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    kernel(ab.data(), kGroups * 512, factors.data(), factors.data(), kGroups * 16, w.data(),
           AmxWeights{w.data(), GroupBytes(32, offsets), 32},
           kGroups, kBlocks, out.data(), i > 0, AmxDest{}, nullptr);
  }
  const auto t1 = std::chrono::steady_clock::now();
  amx::ReleaseTiles();
  return std::chrono::duration<double>(t1 - t0).count();
#else
  (void)offsets, (void)iters;
  return 0.0;
#endif
}

// The ceiling of the micro-kernel Linear dispatches to for an M = 256 call on `type` weights
// (Supported; see qgemm.h: TimeKernel): the AMX kernel where UseAmx would take the call, else
// the register kernel over one column block, 256 rows in blocks of kRows, K = 2816 (as
// LinearImpl runs an M = 256 call: every row block over the whole K).
KernelTiming TimeKernelImpl(GgmlType type, int64_t iters) {
  const int group = GroupSize(type);
  const bool offsets = HasOffset(type);
#if HWY_TARGET == HWY_AVX3_DL
  if (group == 32 && amx::Enabled() && amx::Usable()) {
    return {TimeAmxKernelImpl(offsets, iters), static_cast<double>(iters) * 2 * 256 * 32 * 256};
  }
#endif
  constexpr int64_t kChunk = 2816, kM = 256;
  const int64_t ng = kChunk / group;
  // Every byte 0x3c: int8 values 60 (u8 188 on the shifted targets), f32 scales and factors
  // about 0.0115 (normal numbers), as TimeAmxKernelImpl's operands.
  std::vector<uint8_t> aq(static_cast<size_t>(kM * kChunk), 0x3c);
  const int64_t block_bytes = ng * GroupBytes(group, offsets);
  std::vector<uint8_t> w(static_cast<size_t>(2 * block_bytes), 0x3c);  // two column blocks
  std::vector<float> factors(static_cast<size_t>(kM * ng), 0.0115f);
  alignas(64) float out[2 * kRows * kCols];
  RowBlockRunner run{aq.data(), factors.data(), factors.data(), kChunk, ng, group, {}};
  SelectKernels(type, UseAvxVnni(), run.fns);
  // Where Linear runs two column blocks at once (KernelPair), so does the timing.
  const bool pairs = SelectPairKernels(type, UseAvxVnni(), run.pair_fns);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    if (pairs) {
      for (int64_t r0 = 0; r0 < kM; r0 += kPairRows) {
        run.RunPair(r0, static_cast<int>(std::min<int64_t>(kPairRows, kM - r0)), 0, w.data(),
                    w.data() + block_bytes, ng, out, out + kRows * kCols, false);
      }
      continue;
    }
    for (int64_t r0 = 0; r0 < kM; r0 += kRows) {
      run.Run(r0, static_cast<int>(std::min<int64_t>(kRows, kM - r0)), 0, w.data(), ng, out,
              false);
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(),
          static_cast<double>(iters) * 2 * kM * kCols * kChunk * (pairs ? 2 : 1)};
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
