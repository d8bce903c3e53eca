// Attention of one layer (spec §3.3, §4.2): projections, per-head q/k RMSNorm, weightless v-norm,
// split-half RoPE, scale-1.0 softmax attention with GQA, output projection.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "gemm/gemm.h"
#include "kernels/kernels.h"
#include "model/forward.h"
#include "model/graph_util.h"
#include "util/error.h"

namespace dllm {
namespace {

// Keys of one attention call: up to two row ranges (cached rows, then canvas rows), each
// row-major with `ld` floats per row and heads side by side.
struct KeySpan {
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t rows = 0;
};

}  // namespace

void Forward::Attention(int il, Mode mode, const float* a, int64_t m, int64_t pos0,
                        KvCache::Layer* enc_cache, const KvCache::Layer* dec_cache,
                        bool kv_only, float* out) {
  const HParams& hp = model_.hparams();
  const LayerShape& s = hp.layers[static_cast<size_t>(il)];
  const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
  const int64_t d = hp.n_embd;
  const int64_t n_head = s.n_head, n_kv = s.n_kv_head, hd = s.head_dim, half = hd / 2;
  const int64_t group = n_head / n_kv;
  const int64_t qw = n_head * hd, kvw = n_kv * hd;
  float* q = s_->q.data();
  float* k = s_->k.data();
  float* v = s_->v.data();
  Timing::Parts& parts = timing_.parts;
  auto mark = std::chrono::steady_clock::now();

  if (!kv_only) gemm::Linear(gemm_, a, m, d, View(w.attn_q), q, qw);
  gemm::Linear(gemm_, a, m, d, View(w.attn_k), k, kvw);
  if (w.attn_v.present()) {
    gemm::Linear(gemm_, a, m, d, View(w.attn_v), v, kvw);
  } else {
    // Global layers: V is the raw K projection (before k-norm and RoPE).
    std::memcpy(v, k, static_cast<size_t>(m * kvw) * sizeof(float));
  }

  // RoPE tables for these rows. Global layers divide each frequency by rope_freqs (1e30 there
  // turns a pair into the identity: "proportional" partial RoPE).
  const float* divisors =
      (!s.sliding && !model_.global().rope_freqs.empty()) ? model_.global().rope_freqs.data()
                                                          : nullptr;
  float* cos = s_->cos.data();
  float* sin = s_->sin.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    kernels::RopeTable(pos0 + i, static_cast<size_t>(hd), s.rope_base, divisors, cos + i * half,
                       sin + i * half);
    if (!kv_only) {
      kernels::RmsNormRows(q + i * qw, static_cast<size_t>(n_head), static_cast<size_t>(hd),
                           static_cast<size_t>(hd), w.attn_q_norm.data(), hp.rms_eps);
      kernels::RopeNeox(q + i * qw, static_cast<size_t>(hd), static_cast<size_t>(n_head),
                        cos + i * half, sin + i * half);
    }
    kernels::RmsNormRows(k + i * kvw, static_cast<size_t>(n_kv), static_cast<size_t>(hd),
                         static_cast<size_t>(hd), w.attn_k_norm.data(), hp.rms_eps);
    kernels::RopeNeox(k + i * kvw, static_cast<size_t>(hd), static_cast<size_t>(n_kv),
                      cos + i * half, sin + i * half);
    kernels::RmsNormRows(v + i * kvw, static_cast<size_t>(n_kv), static_cast<size_t>(hd),
                         static_cast<size_t>(hd), nullptr, hp.rms_eps);
  }

  Lap(parts.qkv, &mark);

  // Which keys the queries see.
  KeySpan span1, span2;
  int64_t span1_pos0 = 0;  // absolute position of span1's first row
  if (mode == Mode::kEncode) {
    KvCache::Layer& c = *enc_cache;
    // The new rows must continue the cache exactly.
    if (c.first_pos + c.rows != pos0) {
      Throw(ErrorCode::kInternal, "KV cache of layer " + std::to_string(il) +
                                      " is out of step with the encoded positions");
    }
    const int64_t row0 = c.Reserve(m);
    std::memcpy(c.k.data() + row0 * kvw, k, static_cast<size_t>(m * kvw) * sizeof(float));
    std::memcpy(c.v.data() + row0 * kvw, v, static_cast<size_t>(m * kvw) * sizeof(float));
    if (kv_only) return;
    // Causal; sliding layers: the last `sliding_window` tokens including the query itself.
    const int64_t lo_pos =
        s.sliding ? std::max(c.first_pos, pos0 - hp.sliding_window + 1) : c.first_pos;
    const int64_t lo = c.RowOf(lo_pos);
    span1 = {c.K(lo), c.V(lo), c.rows - lo};
    span1_pos0 = lo_pos;
  } else {
    const KvCache::Layer& c = *dec_cache;
    if (c.first_pos + c.rows != pos0) {
      Throw(ErrorCode::kInternal, "KV cache of layer " + std::to_string(il) +
                                      " is out of step with the canvas position");
    }
    // Bidirectional; sliding layers reach only the last sliding_window - 1 cached tokens.
    const int64_t lo_pos =
        s.sliding ? std::max(c.first_pos, pos0 - (hp.sliding_window - 1)) : c.first_pos;
    const int64_t lo = c.RowOf(lo_pos);
    span1 = {c.K(lo), c.V(lo), c.rows - lo};
    span1_pos0 = lo_pos;
    span2 = {k, v, m};
  }

  const int64_t n_keys = span1.rows + span2.rows;
  // bf16 attention for models whose projections are BF16 or block-quantized: their matmuls
  // already round activations (bf16 or int8), and bf16 QKᵀ / PV run at the bf16 matmul rate
  // (AMX). q, k, v are rounded to bf16 (2^-9 relative); softmax and accumulation stay f32.
  // F32/F16 models keep f32 attention, so the reference comparisons are unaffected; so do CPUs
  // without bf16 instructions (gemm::Bf16MatmulAvailable: AVX2, AVX-512 before AVX512_BF16).
  const bool bf16 = w.attn_k.type != GgmlType::kF32 && w.attn_k.type != GgmlType::kF16 &&
                    gemm::Bf16MatmulAvailable();
  uint16_t* q16 = nullptr;
  uint16_t* k16 = nullptr;
  uint16_t* v16 = nullptr;
  if (bf16) {
    auto grow = [](std::vector<uint16_t>& b, int64_t n) {
      if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
      return b.data();
    };
    q16 = grow(s_->q16, m * qw);
    k16 = grow(s_->k16, n_keys * kvw);
    v16 = grow(s_->v16, n_keys * kvw);
    // Keys and values of both spans end to end: one matmul per head covers all keys.
    const KeySpan spans[2] = {span1, span2};
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m + n_keys; ++r) {
      if (r < m) {
        gemm::RoundToBf16(q + r * qw, 1, qw, qw, q16 + r * qw, qw);
        continue;
      }
      int64_t j = r - m;
      const KeySpan& sp = j < span1.rows ? spans[0] : spans[1];
      const int64_t row = j < span1.rows ? j : j - span1.rows;
      gemm::RoundToBf16(sp.k + row * kvw, 1, kvw, kvw, k16 + j * kvw, kvw);
      gemm::RoundToBf16(sp.v + row * kvw, 1, kvw, kvw, v16 + j * kvw, kvw);
    }
  }
  // Query blocks bound the score buffer (~16 MiB) on long contexts.
  const int64_t block = std::max<int64_t>(1, std::min<int64_t>(m, (int64_t{4} << 20) / n_keys));
  float* attn = s_->attn.data();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const bool causal = mode == Mode::kEncode;
  const int64_t window = hp.sliding_window;
  // Heads in parallel, each thread running its own single-threaded matmuls: per-head matmuls
  // are too small to split well across threads.
  const int threads = std::min<int>(omp_get_max_threads(), static_cast<int>(thread_gemm_.size()));
  ParallelFor(n_head, threads, [&](int64_t h, int t) {
    gemm::Context& ctx = *thread_gemm_[static_cast<size_t>(t)];
    std::vector<float>& buffer = s_->thread_scores[static_cast<size_t>(t)];
    if (buffer.size() < static_cast<size_t>(block * n_keys)) {
      buffer.resize(static_cast<size_t>(block * n_keys));
    }
    float* scores = buffer.data();
    uint16_t* probs16 = nullptr;
    if (bf16) {
      std::vector<uint16_t>& b16 = s_->thread_probs16[static_cast<size_t>(t)];
      if (b16.size() < static_cast<size_t>(block * n_keys)) b16.resize(static_cast<size_t>(block * n_keys));
      probs16 = b16.data();
    }
    const int64_t g = h / group;
    for (int64_t i0 = 0; i0 < m; i0 += block) {
      const int64_t mb = std::min(block, m - i0);
      const float* qh = q + i0 * qw + h * hd;
      // Scores with scale 1.0 (q and k are RMS-normalised per head).
      if (bf16) {
        gemm::GemmBf16(ctx, mb, n_keys, hd, q16 + i0 * qw + h * hd, qw, false, k16 + g * hd, kvw,
                       true, scores, n_keys, 1.0f, 0.0f);
      } else {
        if (span1.rows) {
          gemm::Sgemm(ctx, mb, span1.rows, hd, qh, qw, false, span1.k + g * hd, kvw, true,
                      scores, n_keys, 1.0f, 0.0f);
        }
        if (span2.rows) {
          gemm::Sgemm(ctx, mb, span2.rows, hd, qh, qw, false, span2.k + g * hd, kvw, true,
                      scores + span1.rows, n_keys, 1.0f, 0.0f);
        }
      }
      for (int64_t i = 0; i < mb; ++i) {
        float* row = scores + i * n_keys;
        if (causal) {
          const int64_t p = pos0 + i0 + i;
          const int64_t lo = s.sliding ? p - window + 1 : 0;
          for (int64_t j = 0; j < n_keys; ++j) {
            const int64_t kp = span1_pos0 + j;
            if (kp > p || kp < lo) row[j] = neg_inf;
          }
        }
        kernels::Softmax(row, static_cast<size_t>(n_keys));
      }
      float* oh = attn + i0 * qw + h * hd;
      if (bf16) {
        gemm::RoundToBf16(scores, mb, n_keys, n_keys, probs16, n_keys);
        gemm::GemmBf16(ctx, mb, hd, n_keys, probs16, n_keys, false, v16 + g * hd, kvw, false, oh,
                       qw, 1.0f, 0.0f);
        continue;
      }
      float beta = 0.0f;
      if (span1.rows) {
        gemm::Sgemm(ctx, mb, hd, span1.rows, scores, n_keys, false, span1.v + g * hd, kvw, false,
                    oh, qw, 1.0f, beta);
        beta = 1.0f;
      }
      if (span2.rows) {
        gemm::Sgemm(ctx, mb, hd, span2.rows, scores + span1.rows, n_keys, false,
                    span2.v + g * hd, kvw, false, oh, qw, 1.0f, beta);
      }
    }
  });
  Lap(parts.attn_core, &mark);
  gemm::Linear(gemm_, attn, m, qw, View(w.attn_output), out, d);
  Lap(parts.attn_out, &mark);
}

}  // namespace dllm
