// Feed-forward block of one layer (spec §3.4): the dense GeGLU MLP in parallel with the routed
// mixture of experts, their post-norms, and the residual update.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "gemm/gemm.h"
#include "kernels/kernels.h"
#include "model/forward.h"
#include "model/graph_util.h"

namespace dllm {

void Forward::FeedForward(int il, float* h, int64_t m) {
  const HParams& hp = model_.hparams();
  const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
  const int64_t d = hp.n_embd, f = hp.n_ff;
  const size_t du = static_cast<size_t>(d);
  Timing::Parts& parts = timing_.parts;
  auto mark = std::chrono::steady_clock::now();

  // Dense branch: RMSNorm -> GeGLU -> RMSNorm.
  float* a = s_->a.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    kernels::RmsNorm(h + i * d, w.ffn_norm.data(), a + i * d, du, hp.rms_eps);
  }
  float* g = s_->g.data();
  float* u = s_->u.data();
  float* dense = s_->dense.data();
  gemm::Linear(gemm_, a, m, d, View(w.ffn_gate), g, f);
  gemm::Linear(gemm_, a, m, d, View(w.ffn_up), u, f);
  kernels::GeluTanhMul(g, u, g, static_cast<size_t>(m * f));
  gemm::Linear(gemm_, g, m, f, View(w.ffn_down), dense, d);
  Lap(parts.dense, &mark);

  float* moe = s_->moe.data();
  Moe(il, h, m, moe);
  mark = std::chrono::steady_clock::now();

  // h += RMSNorm(RMSNorm(dense; post_ffw_norm_1) + moe; post_ffw_norm)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = dense + i * d;
    kernels::RmsNorm(row, w.post_ffw_norm_1.data(), row, du, hp.rms_eps);
    kernels::AddScaled(row, moe + i * d, 1.0f, du);
    kernels::RmsNorm(row, w.post_ffw_norm.data(), row, du, hp.rms_eps);
    kernels::AddScaled(h + i * d, row, 1.0f, du);
  }
  Lap(parts.combine, &mark);
}

void Forward::Moe(int il, const float* h, int64_t m, float* out) {
  const HParams& hp = model_.hparams();
  const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
  const int64_t d = hp.n_embd, n_exp = hp.n_expert, k = hp.n_expert_used, fe = hp.n_ff_exp;
  const size_t du = static_cast<size_t>(d);
  Timing::Parts& parts = timing_.parts;
  auto mark = std::chrono::steady_clock::now();

  // Router on the un-normed residual: RMSNormNoScale(h) ⊙ scale · D^-1/2, softmax, top-k,
  // renormalise, times the per-expert output scale.
  float* r = s_->a.data();
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = r + i * d;
    kernels::RmsNorm(h + i * d, w.ffn_gate_inp_scale.data(), row, du, hp.rms_eps);
    kernels::Scale(row, inv_sqrt_d, du);
  }
  float* logits = s_->router.data();
  gemm::Linear(gemm_, r, m, d, View(w.ffn_gate_inp), logits, n_exp);
  int32_t* top_e = s_->topk_expert.data();
  float* top_w = s_->topk_weight.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* p = logits + i * n_exp;
    kernels::Softmax(p, static_cast<size_t>(n_exp));
    // Top-k by probability, ties to the lower expert index; partial selection sort (k small).
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t best = -1;
      for (int64_t e = 0; e < n_exp; ++e) {
        bool taken = false;
        for (int64_t t = 0; t < j; ++t) taken |= top_e[i * k + t] == e;
        if (!taken && (best < 0 || p[e] > p[best])) best = e;
      }
      top_e[i * k + j] = static_cast<int32_t>(best);
      top_w[i * k + j] = p[best];
      sum += p[best];
    }
    for (int64_t j = 0; j < k; ++j) {
      top_w[i * k + j] = top_w[i * k + j] / sum * w.ffn_down_exps_scale[static_cast<size_t>(top_e[i * k + j])];
    }
  }

  // Expert input.
  float* x2 = s_->x2.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    kernels::RmsNorm(h + i * d, w.pre_ffw_norm_2.data(), x2 + i * d, du, hp.rms_eps);
  }

  // Group the (row, slot) pairs by expert: counting sort, stable in row order.
  int64_t* offset = s_->expert_offset.data();
  std::fill(offset, offset + n_exp + 1, 0);
  for (int64_t s = 0; s < m * k; ++s) offset[top_e[s] + 1]++;
  for (int64_t e = 0; e < n_exp; ++e) offset[e + 1] += offset[e];
  int32_t* slot_of = s_->expert_slot.data();  // grouped position -> (row * k + j)
  int32_t* pos_of = s_->expert_rows.data();   // (row * k + j) -> grouped position
  {
    std::vector<int64_t>& fill = s_->fill;
    fill.assign(offset, offset + n_exp);
    for (int64_t s = 0; s < m * k; ++s) {
      const int64_t at = fill[static_cast<size_t>(top_e[s])]++;
      slot_of[at] = static_cast<int32_t>(s);
      pos_of[s] = static_cast<int32_t>(at);
    }
  }

  float* gathered = s_->gathered.data();
#pragma omp parallel for schedule(static)
  for (int64_t at = 0; at < m * k; ++at) {
    std::memcpy(gathered + at * d, x2 + (slot_of[at] / k) * d, du * sizeof(float));
  }
  Lap(parts.router, &mark);
  float* gu = s_->gu.data();
  float* act = s_->act.data();
  float* ye = s_->ye.data();
  // Experts in parallel, each thread running one expert's matmuls single-threaded (an expert
  // sees only ~rows*k/E rows: too few to split one matmul across threads efficiently).
  const int threads = std::min<int>(omp_get_max_threads(), static_cast<int>(thread_gemm_.size()));
  ParallelFor(n_exp, threads, [&](int64_t e, int t) {
    const int64_t rows = offset[e + 1] - offset[e];
    if (rows == 0) return;
    gemm::Context& ctx = *thread_gemm_[static_cast<size_t>(t)];
    const float* xe = gathered + offset[e] * d;
    float* gue = gu + offset[e] * 2 * fe;
    if (w.fused_gate_up()) {
      // Fused [gate; up] rows of expert e: gate first.
      gemm::Linear(ctx, xe, rows, d, RowsView(w.ffn_gate_up_exps, e * 2 * fe, 2 * fe), gue,
                   2 * fe);
    } else {
      gemm::Linear(ctx, xe, rows, d, RowsView(w.ffn_gate_exps, e * fe, fe), gue, 2 * fe);
      gemm::Linear(ctx, xe, rows, d, RowsView(w.ffn_up_exps, e * fe, fe), gue + fe, 2 * fe);
    }
    float* acte = act + offset[e] * fe;
    for (int64_t i = 0; i < rows; ++i) {
      kernels::GeluTanhMul(gue + i * 2 * fe, gue + i * 2 * fe + fe, acte + i * fe,
                           static_cast<size_t>(fe));
    }
    gemm::Linear(ctx, acte, rows, fe, RowsView(w.ffn_down_exps, e * d, d), ye + offset[e] * d, d);
  });

  Lap(parts.experts, &mark);

  // out[row] = Σ_j weight_j · y_j, in slot order (deterministic), then the MoE post-norm.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* row = out + i * d;
    std::memset(row, 0, du * sizeof(float));
    for (int64_t j = 0; j < k; ++j) {
      kernels::AddScaled(row, ye + static_cast<int64_t>(pos_of[i * k + j]) * d, top_w[i * k + j],
                         du);
    }
    kernels::RmsNorm(row, w.post_ffw_norm_2.data(), row, du, hp.rms_eps);
  }
  Lap(parts.combine, &mark);
}

}  // namespace dllm
