// Internals shared by the files of the forward pass (forward.cc, attention.cc, ffn.cc).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

#include "gemm/gemm.h"
#include "model/forward.h"

namespace dllm {

// Runs f(i, thread) for i in [0, n) on up to `threads` OpenMP threads, dynamically scheduled
// (items differ in cost). An exception thrown by any item is rethrown here after the loop
// (exceptions must not escape an OpenMP region).
template <class F>
void ParallelFor(int64_t n, int threads, const F& f) {
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = 0; i < n; ++i) {
    try {
      f(i, omp_get_thread_num());
    } catch (...) {
#pragma omp critical(dllm_parallel_for_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// The whole matrix (or stack of matrices) as one weight of rows() rows.
inline gemm::WeightView View(const WeightTensor& w) {
  return gemm::WeightView{w.type, w.data, w.rows(), w.row_len()};
}
// Rows [first, first + count) of a weight.
inline gemm::WeightView RowsView(const WeightTensor& w, int64_t first, int64_t count) {
  return gemm::WeightView{w.type, w.Row(first), count, w.row_len()};
}

// Vocabulary range per matmul of truncated self-conditioning (bounds its gathered scratch).
constexpr int64_t kSelfCondChunk = 8192;

// Buffers of one Forward, sized once for the largest pass so the step loop never allocates.
struct Forward::Scratch {
  std::vector<float> h, a, o;          // residual, normed input, attention/branch output [R, D]
  std::vector<float> q, k, v, attn;    // projections [R, H*hd] / [R, KV*hd], head outputs
  std::vector<float> cos, sin;         // RoPE tables [R, hd/2]
  std::vector<std::vector<float>> thread_scores;  // per thread: attention [block, keys]; grows
  std::vector<float> g, u, dense;      // GeGLU [R, F] x2, dense output [R, D]
  std::vector<float> router;           // router logits / weights [R, E]
  std::vector<float> x2, moe;          // MoE input and output [R, D]
  std::vector<float> gathered, gu, act, ye;  // per-expert rows [R, D], [R, 2Fe], [R, Fe], [R, D]
  std::vector<int32_t> topk_expert;    // [R, k]
  std::vector<float> topk_weight;      // [R, k]
  std::vector<int32_t> expert_rows;    // rows grouped by expert
  std::vector<int32_t> expert_slot;    // the (row, k) slot of each grouped entry
  std::vector<int64_t> expert_offset;  // [E + 1]
  std::vector<int64_t> fill;           // [E] counting-sort cursors
  // bf16 attention (models whose matrices are not F32/F16): q [R, H*hd] and the keys/values a
  // call sees [keys, KV*hd] rounded to bf16; per thread the probabilities [block, keys]. Grow
  // to the largest call, then stay.
  std::vector<uint16_t> q16, k16, v16;
  std::vector<std::vector<uint16_t>> thread_probs16;
  // Truncated self-conditioning: the kept-token mask [V], one vocabulary range's kept tokens,
  // probability columns [R, chunk] and gathered embedding rows (file bytes). Grow on first use,
  // then stay.
  std::vector<uint8_t> sc_keep;
  std::vector<int32_t> sc_tokens;
  std::vector<float> sc_p;
  std::vector<uint8_t> sc_rows;

  void Size(const HParams& hp, const GlobalWeights& gw, int64_t r) {
    int64_t q_width = 0, kv_width = 0, half = 0;
    for (const LayerShape& l : hp.layers) {
      q_width = std::max<int64_t>(q_width, int64_t{l.n_head} * l.head_dim);
      kv_width = std::max<int64_t>(kv_width, int64_t{l.n_kv_head} * l.head_dim);
      half = std::max<int64_t>(half, l.head_dim / 2);
    }
    const int64_t d = hp.n_embd;
    const int64_t f = std::max<int64_t>(hp.n_ff, gw.self_cond_gate.ne[1]);
    const int64_t top_k = hp.n_expert_used;
    auto sz = [](int64_t n) { return static_cast<size_t>(n); };
    h.resize(sz(r * d));
    a.resize(sz(r * d));
    o.resize(sz(r * d));
    q.resize(sz(r * q_width));
    k.resize(sz(r * kv_width));
    v.resize(sz(r * kv_width));
    attn.resize(sz(r * q_width));
    cos.resize(sz(r * half));
    sin.resize(sz(r * half));
    g.resize(sz(r * f));
    u.resize(sz(r * f));
    dense.resize(sz(r * d));
    router.resize(sz(r * hp.n_expert));
    x2.resize(sz(r * d));
    moe.resize(sz(r * d));
    gathered.resize(sz(r * top_k * d));
    gu.resize(sz(r * top_k * 2 * hp.n_ff_exp));
    act.resize(sz(r * top_k * hp.n_ff_exp));
    ye.resize(sz(r * top_k * d));
    topk_expert.resize(sz(r * top_k));
    topk_weight.resize(sz(r * top_k));
    expert_rows.resize(sz(r * top_k));
    expert_slot.resize(sz(r * top_k));
    expert_offset.resize(sz(hp.n_expert + 1));
    fill.resize(sz(hp.n_expert));
  }

};

}  // namespace dllm
