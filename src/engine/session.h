// A generation session: the KV cache, the canvas, the RNG, scratch and metrics for one
// conversation with a shared Model. One thread at a time (the C API detects concurrent use).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/decoder.h"
#include "engine/generate_params.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "util/rng.h"

namespace dllm {
namespace gemm {
class Context;
}

struct SessionOptions {
  int64_t n_ctx = 0;   // most tokens of context (prompt + generated); 0: the model's context
  int n_threads = 0;   // 0: all cores (omp_get_num_procs)
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& options);
  ~Session();

  // Generates after `prompt`, which continues the session's context (multi-turn: the cache
  // keeps earlier turns). Throws dllm::Error on invalid input or parameters; a cancelled run
  // returns with stop_reason kCancelled and the tokens committed so far.
  GenerateResult Generate(const std::vector<int32_t>& prompt, const GenerateParams& params,
                          const GenerateCallbacks& callbacks = {});

  // Forgets the context (keeps allocations).
  void Reset();

  // Tokens in the context, including committed output not yet encoded.
  int64_t n_past() const { return cache_.n_tokens() + static_cast<int64_t>(pending_.size()); }
  const Metrics& metrics() const { return metrics_; }
  const Model& model() const { return *model_; }
  int n_threads() const { return n_threads_; }

  // Low-level access for tests and benchmarks.
  void Encode(const std::vector<int32_t>& tokens, ForwardTrace* trace = nullptr);
  // Denoise a canvas after the current context; logits [canvas, V].
  void Denoise(const std::vector<int32_t>& canvas, const float* sc_probs, float* logits,
               ForwardTrace* trace = nullptr);
  Forward& forward() { return *forward_; }

 private:
  void EncodePending();
  void Validate(const std::vector<int32_t>& prompt, const GenerateParams& params) const;

  std::shared_ptr<const Model> model_;
  int64_t n_ctx_;
  int n_threads_;
  std::unique_ptr<gemm::Context> gemm_;
  std::unique_ptr<Forward> forward_;
  KvCache cache_;
  Rng rng_;
  std::vector<int32_t> pending_;  // committed output not yet encoded into the cache
  Metrics metrics_;
  std::unique_ptr<CanvasDecoder> decoder_;
};

}  // namespace dllm
