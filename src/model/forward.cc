#include "model/forward.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "gemm/gemm.h"
#include "kernels/kernels.h"
#include "model/graph_util.h"
#include "quant/quant.h"
#include "util/error.h"

namespace dllm {

Forward::Forward(const Model& model, gemm::Context& gemm, int64_t max_rows)
    : model_(model), gemm_(gemm), max_rows_(max_rows), s_(new Scratch()) {
  if (max_rows < 1) Throw(ErrorCode::kInvalidArgument, "max_rows must be >= 1");
  s_->Size(model.hparams(), model.global(), max_rows);
  const int threads = std::max(1, omp_get_num_procs());
  for (int i = 0; i < threads; ++i) thread_gemm_.push_back(std::make_unique<gemm::Context>());
  s_->thread_scores.resize(static_cast<size_t>(threads));
  s_->thread_probs16.resize(static_cast<size_t>(threads));
}

Forward::~Forward() = default;

void Forward::Lap(double& part, std::chrono::steady_clock::time_point* mark) {
  const auto now = std::chrono::steady_clock::now();
  part += std::chrono::duration<double>(now - *mark).count();
  *mark = now;
}

void Forward::CheckTokens(const int32_t* tokens, int64_t m) const {
  const int64_t v = model_.hparams().n_vocab;
  for (int64_t i = 0; i < m; ++i) {
    if (tokens[i] < 0 || tokens[i] >= v) {
      Throw(ErrorCode::kInvalidArgument, "token id " + std::to_string(tokens[i]) +
                                             " at index " + std::to_string(i) +
                                             " is outside the vocabulary [0, " +
                                             std::to_string(v) + ")");
    }
  }
}

void Forward::Embed(const int32_t* tokens, int64_t m, float* x) const {
  const WeightTensor& e = model_.global().token_embd;
  const int64_t d = model_.hparams().n_embd;
  const float scale = std::sqrt(static_cast<float>(d));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = x + i * d;
    quant::DequantizeRow(e.type, e.Row(tokens[i]), row, d);
    kernels::Scale(row, scale, static_cast<size_t>(d));
  }
}

void Forward::Encode(const int32_t* tokens, int64_t m, KvCache& cache, ForwardTrace* trace) {
  CheckTokens(tokens, m);
  const HParams& hp = model_.hparams();
  const int64_t d = hp.n_embd;
  if (trace) {
    trace->input.clear();
    trace->layers.assign(static_cast<size_t>(hp.n_layer), {});
  }
  timing_.parts = Timing::Parts();
  for (int64_t done = 0; done < m;) {
    const int64_t rows = std::min(max_rows_, m - done);
    float* h = s_->h.data();
    Embed(tokens + done, rows, h);
    if (trace) trace->input.insert(trace->input.end(), h, h + rows * d);
    const int64_t pos0 = cache.n_tokens();
    for (int il = 0; il < hp.n_layer; ++il) {
      const bool kv_only = !trace && il == hp.n_layer - 1;
      Layer(il, Mode::kEncode, h, rows, pos0, &cache.layer(il), nullptr, kv_only);
      if (trace) {
        auto& t = trace->layers[static_cast<size_t>(il)];
        t.insert(t.end(), h, h + rows * d);
      }
    }
    cache.Commit(rows);
    done += rows;
  }
}

void Forward::set_self_cond_threshold(float threshold) {
  if (!std::isfinite(threshold) || threshold < 0 || threshold >= 1) {
    Throw(ErrorCode::kInvalidArgument,
          "self-conditioning threshold must be finite and in [0, 1), got " +
              std::to_string(threshold));
  }
  sc_threshold_ = threshold;
}

void Forward::SelfCondition(const float* sc_probs, int64_t c, float* x) {
  // x += down(gelu(gate n) ⊙ up n), n = RMSNorm((π·E)·√D; pre_norm).
  const HParams& hp = model_.hparams();
  const GlobalWeights& g = model_.global();
  const int64_t d = hp.n_embd;
  const int64_t n_sc = g.self_cond_gate.ne[1];
  float* soft = s_->a.data();
  if (sc_threshold_ > 0) {
    // Truncated: only probabilities above the threshold count. The kept vocabulary (tokens above
    // it in any canvas row) is multiplied range by range as the dense product would be, with the
    // probabilities at or below the threshold set to 0; ranges with few kept tokens gather their
    // embedding rows (still in their file type) first. The cost follows the number of kept
    // tokens and never exceeds the exact product's by more than the scan and the copies.
    const WeightTensor& e = g.token_embd;
    const int64_t v = hp.n_vocab;
    const float thr = sc_threshold_;
    std::vector<uint8_t>& keep = s_->sc_keep;
    std::vector<int32_t>& tokens = s_->sc_tokens;
    keep.assign(static_cast<size_t>(v), 0);
    constexpr int64_t kScan = 4096;
#pragma omp parallel for schedule(static)
    for (int64_t t0 = 0; t0 < v; t0 += kScan) {
      const int64_t t1 = std::min(v, t0 + kScan);
      for (int64_t i = 0; i < c; ++i) {
        const float* p = sc_probs + i * v;
        for (int64_t t = t0; t < t1; ++t) keep[static_cast<size_t>(t)] |= p[t] > thr ? 1 : 0;
      }
    }
    // Vocabulary ranges of kSelfCondChunk tokens: a range with at least half of its tokens kept
    // is multiplied in place (its embedding rows as stored, the probabilities at or below the
    // threshold set to 0); a sparser one gathers its kept rows first. Either way the range's
    // product is that of the kept probabilities only.
    const size_t rb = e.row_bytes;
    const int64_t chunk = kSelfCondChunk;
    s_->sc_p.resize(std::max(s_->sc_p.size(), static_cast<size_t>(c * chunk)));
    s_->sc_rows.resize(std::max(s_->sc_rows.size(), static_cast<size_t>(chunk) * rb));
    tokens.resize(static_cast<size_t>(chunk));
    bool first = true;
    for (int64_t t0 = 0; t0 < v; t0 += chunk) {
      const int64_t t1 = std::min(v, t0 + chunk);
      int64_t kc = 0;
      for (int64_t t = t0; t < t1; ++t) {
        if (keep[static_cast<size_t>(t)]) tokens[static_cast<size_t>(kc++)] = static_cast<int32_t>(t);
      }
      if (kc == 0) continue;
      const bool dense_range = 2 * kc >= t1 - t0;
      if (dense_range) {
        kc = t1 - t0;
        for (int64_t j = 0; j < kc; ++j) tokens[static_cast<size_t>(j)] = static_cast<int32_t>(t0 + j);
      }
      const int32_t* tk = tokens.data();
      float* pk = s_->sc_p.data();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < c; ++i) {
        const float* p = sc_probs + i * v;
        for (int64_t j = 0; j < kc; ++j) {
          const float pj = p[tk[j]];
          pk[i * kc + j] = pj > thr ? pj : 0.0f;
        }
      }
      const uint8_t* rows = e.Row(t0);
      if (!dense_range) {
        uint8_t* gathered = s_->sc_rows.data();
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < kc; ++j) std::memcpy(gathered + j * rb, e.Row(tk[j]), rb);
        rows = gathered;
      }
      float* dst = first ? soft : s_->dense.data();
      gemm::LinearT(gemm_, pk, c, kc, gemm::WeightView{e.type, rows, kc, d}, dst, d);
      if (!first) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < c; ++i) {
          kernels::AddScaled(soft + i * d, dst + i * d, 1.0f, static_cast<size_t>(d));
        }
      }
      first = false;
    }
    if (first) std::fill(soft, soft + c * d, 0.0f);  // nothing kept
  } else {
    gemm::LinearT(gemm_, sc_probs, c, hp.n_vocab, View(g.token_embd), soft, d);
  }
  const float scale = std::sqrt(static_cast<float>(d));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c; ++i) {
    float* row = soft + i * d;
    kernels::Scale(row, scale, static_cast<size_t>(d));
    kernels::RmsNorm(row, g.self_cond_pre_norm.data(), row, static_cast<size_t>(d), hp.rms_eps);
  }
  float* gate = s_->g.data();
  float* up = s_->u.data();
  gemm::Linear(gemm_, soft, c, d, View(g.self_cond_gate), gate, n_sc);
  gemm::Linear(gemm_, soft, c, d, View(g.self_cond_up), up, n_sc);
  kernels::GeluTanhMul(gate, up, gate, static_cast<size_t>(c * n_sc));
  gemm::Linear(gemm_, gate, c, n_sc, View(g.self_cond_down), x, d, /*accumulate=*/true);
}

void Forward::Denoise(const int32_t* canvas, int64_t c, const float* sc_probs,
                      const KvCache& cache, float* logits, ForwardTrace* trace) {
  using Clock = std::chrono::steady_clock;
  CheckTokens(canvas, c);
  if (c > max_rows_) {
    Throw(ErrorCode::kInvalidArgument, "canvas of " + std::to_string(c) +
                                           " rows exceeds this pass's capacity of " +
                                           std::to_string(max_rows_));
  }
  const HParams& hp = model_.hparams();
  const int64_t d = hp.n_embd;
  float* h = s_->h.data();
  const auto t0 = Clock::now();
  Embed(canvas, c, h);
  if (sc_probs) SelfCondition(sc_probs, c, h);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c; ++i) {
    kernels::RmsNorm(h + i * d, nullptr, h + i * d, static_cast<size_t>(d), hp.rms_eps);
  }
  const auto t1 = Clock::now();
  if (trace) {
    trace->input.assign(h, h + c * d);
    trace->layers.assign(static_cast<size_t>(hp.n_layer), {});
  }
  const int64_t pos0 = cache.n_tokens();
  timing_.per_layer.resize(static_cast<size_t>(hp.n_layer));
  timing_.parts = Timing::Parts();
  for (int il = 0; il < hp.n_layer; ++il) {
    const auto tl = Clock::now();
    Layer(il, Mode::kDenoise, h, c, pos0, nullptr, &cache.layer(il), false);
    timing_.per_layer[static_cast<size_t>(il)] =
        std::chrono::duration<double>(Clock::now() - tl).count();
    if (trace) trace->layers[static_cast<size_t>(il)].assign(h, h + c * d);
  }
  const auto t2 = Clock::now();
  // Final norm, tied output head, soft-cap.
  float* n = s_->a.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < c; ++i) {
    kernels::RmsNorm(h + i * d, model_.global().output_norm.data(), n + i * d,
                     static_cast<size_t>(d), hp.rms_eps);
  }
  gemm::Linear(gemm_, n, c, d, View(model_.global().token_embd), logits, hp.n_vocab);
  if (hp.final_softcap > 0) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < c; ++i) {
      kernels::SoftCap(logits + i * hp.n_vocab, static_cast<size_t>(hp.n_vocab),
                       hp.final_softcap);
    }
  }
  const auto t3 = Clock::now();
  timing_.self_cond = std::chrono::duration<double>(t1 - t0).count();
  timing_.layers = std::chrono::duration<double>(t2 - t1).count();
  timing_.head = std::chrono::duration<double>(t3 - t2).count();
}

void Forward::Layer(int il, Mode mode, float* h, int64_t m, int64_t pos0,
                    KvCache::Layer* enc_cache, const KvCache::Layer* dec_cache, bool kv_only) {
  const HParams& hp = model_.hparams();
  const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
  const int64_t d = hp.n_embd;
  Timing::Parts& parts = timing_.parts;
  auto mark = std::chrono::steady_clock::now();
  float* a = s_->a.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    kernels::RmsNorm(h + i * d, w.attn_norm.data(), a + i * d, static_cast<size_t>(d),
                     hp.rms_eps);
  }
  Lap(parts.qkv, &mark);
  float* o = s_->o.data();
  Attention(il, mode, a, m, pos0, enc_cache, dec_cache, kv_only, o);
  if (kv_only) return;
  mark = std::chrono::steady_clock::now();
  // h += RMSNorm(o; post_attention_norm)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    kernels::RmsNorm(o + i * d, w.post_attention_norm.data(), o + i * d, static_cast<size_t>(d),
                     hp.rms_eps);
    kernels::AddScaled(h + i * d, o + i * d, 1.0f, static_cast<size_t>(d));
  }
  Lap(parts.combine, &mark);
  FeedForward(il, h, m);
  mark = std::chrono::steady_clock::now();
  const float scale = mode == Mode::kEncode ? w.enc_layer_output_scale : w.layer_output_scale;
  kernels::Scale(h, scale, static_cast<size_t>(m * d));
  Lap(parts.combine, &mark);
}

}  // namespace dllm
