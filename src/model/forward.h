// The DiffusionGemma forward pass (spec §3-§4): one weight stack used in two modes.
//   Encode  - causal over new rows (prompt, or a committed canvas), appends K/V to the cache,
//             uses enc_layer_output_scale; prompt rows enter as E[t]·√D.
//   Denoise - bidirectional over [cached context | canvas], reads but never writes the cache,
//             input RMSNormNoScale(E[t]·√D + SC), uses layer_output_scale, returns logits.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "model/kv_cache.h"
#include "model/model.h"

namespace dllm {
namespace gemm {
class Context;
}

// Optional record of the residual stream, for tests against the reference implementation.
struct ForwardTrace {
  std::vector<float> input;               // [rows, D] what enters layer 0
  std::vector<std::vector<float>> layers; // per layer: [rows, D] residual after the layer
};

class Forward {
 public:
  // `max_rows` bounds the rows of one pass (canvas length, encode chunk).
  Forward(const Model& model, gemm::Context& gemm, int64_t max_rows);
  ~Forward();

  // Encodes `m` tokens at positions cache.n_tokens() ... (causal, chunked by max_rows) and
  // appends their K/V. With `trace`, every layer is computed in full and recorded (chunks are
  // appended); without it the last layer stops after its K/V (nothing later reads the rest).
  void Encode(const int32_t* tokens, int64_t m, KvCache& cache, ForwardTrace* trace = nullptr);

  // Denoises a canvas of `c` tokens at positions cache.n_tokens() ... . `sc_probs` is the
  // previous step's softmax over the vocabulary [c, V], or nullptr for "no self-conditioning"
  // (the first step of a canvas: the signal is then exactly zero). Writes soft-capped logits
  // [c, V] to `logits`. sc_probs may be the same array as logits (it is read completely before
  // the output head writes).
  void Denoise(const int32_t* canvas, int64_t c, const float* sc_probs, const KvCache& cache,
               float* logits, ForwardTrace* trace = nullptr);

  // Truncated self-conditioning: with threshold > 0 the soft embedding sums only the
  // probabilities above it, Σ_{v: π_v > threshold} π_v·E[v] (no renormalisation), visiting one
  // embedding row per kept probability instead of multiplying by the whole [V, D] matrix. 0
  // (the default) is the exact dense product. Must be finite and in [0, 1).
  void set_self_cond_threshold(float threshold);
  float self_cond_threshold() const { return sc_threshold_; }

  // Time spent in the parts of the last Denoise call, seconds.
  struct Timing {
    double self_cond = 0, layers = 0, head = 0;
    std::vector<double> per_layer;  // seconds of each layer
    // The layers' time split by component, summed over all layers (seconds).
    struct Parts {
      double qkv = 0;        // Q/K/V projections + q/k/v norms + RoPE
      double attn_core = 0;  // QKᵀ, mask, softmax, PV
      double attn_out = 0;   // output projection
      double dense = 0;      // dense GeGLU MLP (incl. its pre-norm)
      double router = 0;     // router norm, logits, softmax, top-k, grouping, gather
      double experts = 0;    // the experts' matmuls + GeGLU
      double combine = 0;    // weighted expert sum, norms, residual updates
    } parts;
  };
  const Timing& last_timing() const { return timing_; }

 private:
  enum class Mode { kEncode, kDenoise };
  struct Scratch;

  void Embed(const int32_t* tokens, int64_t m, float* x) const;
  void SelfCondition(const float* sc_probs, int64_t c, float* x);
  void Layer(int il, Mode mode, float* h, int64_t m, int64_t pos0, KvCache::Layer* enc_cache,
             const KvCache::Layer* dec_cache, bool kv_only);
  void Attention(int il, Mode mode, const float* a, int64_t m, int64_t pos0,
                 KvCache::Layer* enc_cache, const KvCache::Layer* dec_cache, bool kv_only,
                 float* out);
  void FeedForward(int il, float* h, int64_t m);
  void Moe(int il, const float* h, int64_t m, float* out);
  void CheckTokens(const int32_t* tokens, int64_t m) const;
  // Adds the time since *mark to `part` and moves *mark to now.
  static void Lap(double& part, std::chrono::steady_clock::time_point* mark);

  const Model& model_;
  gemm::Context& gemm_;
  // One matmul context per OpenMP thread, for work split across threads in which each thread
  // runs its own small single-threaded matmuls (MoE experts, attention heads).
  std::vector<std::unique_ptr<gemm::Context>> thread_gemm_;
  int64_t max_rows_;
  std::unique_ptr<Scratch> s_;
  Timing timing_;
  float sc_threshold_ = 0.0f;
};

}  // namespace dllm
