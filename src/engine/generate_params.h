// What one generation call is asked to do, and what it reports back while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "model/hparams.h"

namespace dllm {

struct GenerateParams {
  // Sampler (docs/sampler.md). Defaults: the model's diffusion.eb_* keys or the released values.
  int max_steps = 48;
  float t_min = 0.4f;
  float t_max = 0.8f;
  float entropy_bound = 0.1f;
  int stability_threshold = 1;       // consecutive unchanged argmax steps needed to stop early
  float confidence_threshold = 0.005f;  // mean entropy (nats) below which a stable canvas stops
  uint64_t seed = 0;
  int64_t max_new_tokens = 4096;     // large enough for several canvases
  std::vector<int32_t> stop_ids;     // empty: the model's end-of-generation ids
  bool fixed_steps = false;          // always run max_steps (no early stop)
  bool argmax_only = false;          // accepted positions take the argmax instead of a sample
  // Truncated self-conditioning: probabilities <= sc_threshold are left out of the soft
  // embedding (Forward::set_self_cond_threshold). 0 = exact. In [0, 1). The default 1e-4 changes
  // none of the shipped tiny model's 200 held-out generations and moves its golden logits by
  // 1.6e-5 relative (tests/engine/tiny_model_test.cc). Its cost grows with the number of kept
  // probabilities: peaked (trained-model) distributions keep a handful per row instead of a
  // [V, D] product; on flat random-weight distributions it costs about as much as the exact
  // product (README, Performance).
  float sc_threshold = 1e-4f;

  static GenerateParams FromDefaults(const SamplerDefaults& d) {
    GenerateParams p;
    p.max_steps = d.max_steps;
    p.t_min = d.t_min;
    p.t_max = d.t_max;
    p.entropy_bound = d.entropy_bound;
    p.stability_threshold = d.stability_threshold;
    p.confidence_threshold = d.confidence_threshold;
    return p;
  }
};

// Reported after every denoising step. Pointers are valid during the callback only.
struct StepInfo {
  int canvas_index = 0;       // 0-based canvas of this generation
  int step = 0;               // 0-based step within the canvas
  int64_t length = 0;         // canvas length
  const int32_t* argmax = nullptr;    // argmax canvas of this step (what a commit would take)
  const int32_t* next = nullptr;      // the canvas the next step starts from (renoised)
  const uint8_t* accepted = nullptr;  // 1 where the entropy bound accepted the position
  const float* entropy = nullptr;     // per-position entropy (nats)
  double mean_entropy = 0;
  bool final = false;                 // this step ends the canvas
};

struct GenerateCallbacks {
  // Return false to stop generating after this step (the canvas is committed as it is).
  std::function<bool(const StepInfo&)> on_step;
  // A committed canvas (already truncated at the end-of-generation id or max_new_tokens).
  // Return false to stop after it.
  std::function<bool(int canvas_index, const int32_t* ids, int64_t n)> on_canvas;
  // Polled between steps; another thread may set it. Generation then ends with kCancelled.
  const std::atomic<bool>* cancel = nullptr;
};

enum class StopReason { kEndOfGeneration, kMaxTokens, kCallback, kCancelled };

struct GenerateResult {
  std::vector<int32_t> tokens;     // generated ids (committed canvases, truncated)
  StopReason stop_reason = StopReason::kMaxTokens;
  std::vector<int> steps_per_canvas;
};

struct Metrics {
  double prompt_seconds = 0;       // encoding the prompt (and pending tokens)
  int64_t prompt_tokens = 0;
  double commit_seconds = 0;       // encoding committed canvases
  double denoise_seconds = 0;      // all denoising steps (forward + sampling)
  double self_cond_seconds = 0, layers_seconds = 0, head_seconds = 0, sampling_seconds = 0;
  int64_t steps = 0;
  int64_t canvases = 0;
  int64_t generated_tokens = 0;
  double total_seconds = 0;
  double StepSeconds() const { return steps ? denoise_seconds / steps : 0; }
  double TokensPerSecond() const { return total_seconds > 0 ? generated_tokens / total_seconds : 0; }
};

}  // namespace dllm
