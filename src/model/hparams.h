// Hyperparameters of a DiffusionGemma model as the GGUF metadata states them (spec §7.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dllm {

// Attention geometry of one layer. Sliding layers use a local window, their own head dim and
// RoPE base; global ("full") layers see every token and derive V from the raw K projection.
struct LayerShape {
  bool sliding = true;
  int n_head = 0;
  int n_kv_head = 0;
  int head_dim = 0;
  int rope_dims = 0;     // dims covered by RoPE (== head_dim in the published files)
  float rope_base = 0;   // θ
  bool has_v = true;     // false: V = raw K projection (global layers of DiffusionGemma)
};

struct HParams {
  std::string architecture;  // "diffusion-gemma"
  std::string name;          // general.name, may be empty
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;          // dense GeGLU width
  int64_t n_vocab = 0;
  int64_t context_length = 0;
  int64_t canvas_length = 0;
  int64_t sliding_window = 0;
  int n_expert = 0;
  int n_expert_used = 0;
  int64_t n_ff_exp = 0;      // expert GeGLU width
  float rms_eps = 1e-6f;
  float final_softcap = 0;   // 0: no soft-cap
  std::vector<LayerShape> layers;
};

// Sampler defaults: the GGUF diffusion.eb_* keys when present, else the released values.
struct SamplerDefaults {
  int max_steps = 48;
  float t_min = 0.4f;
  float t_max = 0.8f;
  float entropy_bound = 0.1f;
  int stability_threshold = 1;
  float confidence_threshold = 0.005f;
};

}  // namespace dllm
