// Per-target SIMD implementation of SampleRow (docs/sampler.md steps 1–3), the sampler's hot
// spot: 256 rows × 262,144 logits per denoising step.
//
// Pass A (always, one read of the row): blocks of kBlockVectors vectors, each read twice (the
//   second time from L1). Sweep 1 finds the block maximum; if it exceeds the running maximum
//   m, the running sums are rescaled to the new m in double (online softmax) and the argmax
//   is located inside the block. Sweep 2 adds e = exp(z − m) and e·(z − m) in f32 lanes, which
//   are reduced and added to double accumulators once per block, so no f32 partial sum has
//   more than kBlockVectors terms. Entries equal to m are counted, not summed (only blocks
//   whose maximum equals m can hold them), so that log S = log(n_max) + log1p(rest / n_max)
//   keeps small entropies relatively precise. When sampling, the block sums also go into a
//   small table of chunk sums (≤ kMaxChunks, on the stack).
// Sampling: the chunk table (rescaled to the final m) locates the chunk holding the crossing
//   of u·S, which is rescanned element by element with a double cumulative sum.
// Pass B (only with probs_out): probs = exp(z − m − log S), recomputed from the row.
#if defined(DLLM_KERNELS_SAMPLE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DLLM_KERNELS_SAMPLE_INL_H_
#undef DLLM_KERNELS_SAMPLE_INL_H_
#else
#define DLLM_KERNELS_SAMPLE_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/kernels.h"
#include "kernels/ops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dllm {
namespace kernels {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

namespace sample_detail {

// Block length in vectors: bounds the terms of every f32 partial sum (accuracy) and keeps a
// block in L1 between the two sweeps of pass A (64 × 64 bytes = 4 KiB on AVX-512).
constexpr size_t kBlockVectors = 64;
// Capacity of the chunk-sum table used to locate the sample (16 bytes each, on the stack).
constexpr size_t kMaxChunks = 256;

struct Chunk {
  double sum;  // Σ exp(z − m_chunk) over the chunk
  float m;     // the running maximum the sum refers to
};

// z = raw·inv_t for count ≤ Lanes elements at p; lanes past count are −inf.
HWY_INLINE VF LoadZ(DF d, const float* HWY_RESTRICT p, size_t count, VF inv_t) {
  if (count == hn::Lanes(d)) return hn::Mul(hn::LoadU(d, p), inv_t);
  const VF z = hn::Mul(LoadTail(d, p, count, 0.0f), inv_t);
  return hn::IfThenElse(hn::FirstN(d, count), z,
                        hn::Set(d, -std::numeric_limits<float>::infinity()));
}

// First index in [0, len) whose z equals target, or len.
HWY_INLINE size_t FindValue(DF d, const float* HWY_RESTRICT p, size_t len, VF inv_t,
                            float target) {
  const size_t N = hn::Lanes(d);
  const VF vt = hn::Set(d, target);
  for (size_t j = 0; j < len; j += N) {
    const VF z = LoadZ(d, p + j, std::min(N, len - j), inv_t);
    const intptr_t k = hn::FindFirstTrue(d, hn::Eq(z, vt));
    if (k >= 0) return j + static_cast<size_t>(k);
  }
  return len;
}

// Smallest index v in [0, len) at which cum + Σ_{j≤v} exp(z_j − m) > threshold (cum in
// double, advanced in place), or len if none.
HWY_INLINE size_t ScanForCrossing(DF d, const float* HWY_RESTRICT p, size_t len, VF inv_t,
                                  VF vm, double threshold, double* cum) {
  const size_t N = hn::Lanes(d);
  HWY_ALIGN float lanes[hn::MaxLanes(DF())];
  for (size_t j = 0; j < len; j += N) {
    const size_t count = std::min(N, len - j);
    hn::Store(ExpShifted(d, LoadZ(d, p + j, count, inv_t), vm), d, lanes);
    for (size_t k = 0; k < count; ++k) {
      *cum += lanes[k];
      if (*cum > threshold) return j + k;
    }
  }
  return len;
}

}  // namespace sample_detail

// raw and probs_out may be the same array (in place): pass B reads each vector of raw just
// before it writes the same positions, and nothing reads raw after pass B. (No HWY_RESTRICT.)
RowStats SampleRow(const float* raw, size_t n, float inv_t, float u, bool argmax_only,
                   float* probs_out) {
  using sample_detail::Chunk;
  using sample_detail::LoadZ;
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  const float kNegInf = -std::numeric_limits<float>::infinity();
  if (n == 0) return {-1, -1, kNaN};
  const DF d;
  const size_t N = hn::Lanes(d);
  const size_t block = sample_detail::kBlockVectors * N;
  const size_t num_blocks = (n + block - 1) / block;
  const size_t chunk_blocks =
      (num_blocks + sample_detail::kMaxChunks - 1) / sample_detail::kMaxChunks;
  const size_t chunk_len = chunk_blocks * block;
  const bool sampling = !argmax_only;
  Chunk chunks[sample_detail::kMaxChunks];
  const VF vinv = hn::Set(d, inv_t);
  const VF zero = hn::Zero(d);
  const VF one = hn::Set(d, 1.0f);
  const VF floor = hn::Set(d, -1000.0f);  // exp is 0 far above it; keeps −inf out of e·dz

  // ---- Pass A: max, argmax, n_max, rest = Σ_{z<m} e, weighted = Σ e·(z − m).
  float m = kNegInf;
  size_t argmax = 0;
  double n_max = 0.0, rest = 0.0, weighted = 0.0;
  for (size_t b = 0; b < num_blocks; ++b) {
    const size_t b0 = b * block;
    const float* HWY_RESTRICT p = raw + b0;
    const size_t len = std::min(block, n - b0);
    // Sweep 1: the block maximum.
    VF vmax0 = hn::Set(d, kNegInf), vmax1 = vmax0;
    size_t i = 0;
    for (; i + 2 * N <= len; i += 2 * N) {
      vmax0 = hn::Max(vmax0, hn::Mul(hn::LoadU(d, p + i), vinv));
      vmax1 = hn::Max(vmax1, hn::Mul(hn::LoadU(d, p + i + N), vinv));
    }
    for (; i < len; i += N) vmax0 = hn::Max(vmax0, LoadZ(d, p + i, std::min(N, len - i), vinv));
    const float bmax = MaxLane(d, hn::Max(vmax0, vmax1));
    if (bmax > m) {
      // New maximum; earlier blocks are all below it, so its first index is in this block.
      const size_t k = sample_detail::FindValue(d, p, len, vinv, bmax);
      if (k < len) argmax = b0 + k;
      if (m > kNegInf) {  // rescale the sums from the old maximum to the new one
        const double delta = static_cast<double>(m) - static_cast<double>(bmax);  // < 0
        const double r = std::exp(delta);
        const double total = n_max + rest;
        weighted = r * (weighted + delta * total);
        rest = r * total;
        n_max = 0.0;
      }
      m = bmax;
    }
    double block_sum = 0.0;
    if (bmax > kNegInf) {  // an all −inf block adds nothing
      // Sweep 2: the sums against the running maximum.
      const VF vm = hn::Set(d, m);
      VF acc_e = zero, acc_w = zero;
      if (bmax == m) {  // may hold entries equal to m: count them apart
        VF acc_ties = zero;
        for (size_t j = 0; j < len; j += N) {
          const VF dz = hn::Max(hn::Sub(LoadZ(d, p + j, std::min(N, len - j), vinv), vm), floor);
          const VF e = FastExp(d, dz);
          const auto tie = hn::Eq(dz, zero);
          acc_e = hn::Add(acc_e, hn::IfThenZeroElse(tie, e));
          acc_ties = hn::Add(acc_ties, hn::IfThenElseZero(tie, one));
          acc_w = hn::MulAdd(e, dz, acc_w);
        }
        const double ties = hn::GetLane(hn::SumOfLanes(d, acc_ties));
        n_max += ties;
        block_sum = ties;
      } else {
        // Overlap the next block's memory traffic with this sweep's arithmetic (the hardware
        // prefetchers do not run a whole block ahead): one prefetch per 64-byte line.
        const size_t next_len = b + 1 < num_blocks ? std::min(block, n - b0 - block) : 0;
        for (i = 0; i + N <= len; i += N) {
          if (i < next_len && (i & 15) < N) hwy::Prefetch(p + block + i);
          const VF dz = hn::Max(hn::Sub(hn::Mul(hn::LoadU(d, p + i), vinv), vm), floor);
          const VF e = FastExp(d, dz);
          acc_e = hn::Add(acc_e, e);
          acc_w = hn::MulAdd(e, dz, acc_w);
        }
        if (i < len) {
          const VF dz = hn::Max(hn::Sub(LoadZ(d, p + i, len - i, vinv), vm), floor);
          const VF e = FastExp(d, dz);
          acc_e = hn::Add(acc_e, e);
          acc_w = hn::MulAdd(e, dz, acc_w);
        }
      }
      const double block_rest = hn::GetLane(hn::SumOfLanes(d, acc_e));
      rest += block_rest;
      weighted += hn::GetLane(hn::SumOfLanes(d, acc_w));
      block_sum += block_rest;
    }
    if (sampling) {
      Chunk& c = chunks[b / chunk_blocks];
      if (b % chunk_blocks == 0) c = {0.0, m};
      if (c.m < m) {  // the running maximum rose inside the chunk
        if (c.sum > 0.0) c.sum *= std::exp(static_cast<double>(c.m) - static_cast<double>(m));
        c.m = m;
      }
      c.sum += block_sum;
    }
  }
  if (!(m > kNegInf)) {  // every z is −inf (or NaN)
    if (probs_out != nullptr) std::fill(probs_out, probs_out + n, kNaN);
    return {0, 0, kNaN};
  }
  const double s = n_max + rest;
  const double log_s = n_max >= 1.0 ? std::log(n_max) + std::log1p(rest / n_max) : std::log(s);
  RowStats stats{static_cast<int32_t>(argmax), static_cast<int32_t>(argmax),
                 static_cast<float>(log_s - weighted / s)};
  const VF vm = hn::Set(d, m);

  // ---- Sampling: chunk sums up to the chunk that must hold the crossing of u·S, then an
  // element-wise scan of it. The chunk sums carry f32 rounding (≤ 2^-16 relative), so a chunk
  // is scanned whenever it might hold the crossing; a scan that runs through a chunk without
  // crossing has advanced `cum` exactly and the walk goes on.
  if (sampling) {
    const double threshold = static_cast<double>(u) * s;
    double cum = 0.0;
    float factor_m = kNaN;
    double factor = 0.0;
    bool found = false;
    const size_t num_chunks = (num_blocks + chunk_blocks - 1) / chunk_blocks;
    for (size_t c = 0; c < num_chunks && !found; ++c) {
      if (!(chunks[c].sum > 0.0)) continue;
      if (chunks[c].m != factor_m) {
        factor_m = chunks[c].m;
        factor = std::exp(static_cast<double>(factor_m) - static_cast<double>(m));
      }
      const double chunk_sum = chunks[c].sum * factor;
      if (!(cum + chunk_sum * (1.0 + 1.0 / 1024) > threshold)) {
        cum += chunk_sum;
        continue;
      }
      const size_t c0 = c * chunk_len, len = std::min(chunk_len, n - c0);
      const size_t k =
          sample_detail::ScanForCrossing(d, raw + c0, len, vinv, vm, threshold, &cum);
      if (k < len) {
        stats.sample = static_cast<int32_t>(c0 + k);
        found = true;
      }
    }
    if (!found) {
      // Rounding left no crossing: the last v with e_v > 0 (the argmax has e = 1, so this
      // stops there at the latest).
      HWY_ALIGN float lanes[hn::MaxLanes(DF())];
      for (size_t j = (n - 1) / N * N;; j -= N) {
        const size_t count = std::min(N, n - j);
        hn::Store(ExpShifted(d, LoadZ(d, raw + j, count, vinv), vm), d, lanes);
        size_t k = count;
        while (k > 0 && !(lanes[k - 1] > 0.0f)) --k;
        if (k > 0) {
          stats.sample = static_cast<int32_t>(j + k - 1);
          break;
        }
        if (j == 0) break;  // unreachable: the argmax has e = 1
      }
    }
  }

  // ---- Pass B: probs = exp((z − m) − log S). Folding 1/S into the exponent keeps every
  // output normal or exactly 0 (probabilities below 2.6e-38 become 0).
  if (probs_out != nullptr) {
    const VF vlog_s = hn::Set(d, static_cast<float>(log_s));
    auto probs_at = [&](size_t i, size_t count) {
      return FastExp(d, hn::Sub(hn::Sub(LoadZ(d, raw + i, count, vinv), vm), vlog_s));
    };
    // Head up to a vector-aligned output address, then non-temporal stores: the output
    // (1 MiB per vocabulary row) is not read again soon, and streaming it skips the
    // read-for-ownership of every line.
    const size_t misalign = reinterpret_cast<uintptr_t>(probs_out) % (N * sizeof(float));
    size_t i = 0;
    if (misalign % sizeof(float) != 0) {  // not even float-aligned: plain stores throughout
      for (; i + N <= n; i += N) hn::StoreU(probs_at(i, N), d, probs_out + i);
    } else {
      const size_t head = std::min(n, misalign == 0 ? 0 : N - misalign / sizeof(float));
      if (head > 0) StoreTail(d, probs_at(0, head), probs_out, head);
      for (i = head; i + N <= n; i += N) hn::Stream(probs_at(i, N), d, probs_out + i);
      hwy::FlushStream();
    }
    if (i < n) StoreTail(d, probs_at(i, n - i), probs_out + i, n - i);
  }
  return stats;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace dllm
HWY_AFTER_NAMESPACE();

#endif  // DLLM_KERNELS_SAMPLE_INL_H_
