// Random-weight DiffusionGemma GGUF files, written with dllm's own GGUF writer: for tests
// ("tiny") and for benchmarks at the released model's exact layer dimensions ("real-dims").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace dllm {

struct SyntheticConfig {
  std::string name = "synthetic";
  uint64_t seed = 1;
  int64_t n_embd = 64;
  int64_t n_layer = 6;
  int64_t n_ff = 96;                 // dense GeGLU width
  int64_t n_ff_sc = 96;              // self-conditioning MLP width
  int64_t n_vocab = 512;
  int64_t n_head = 4;
  int64_t n_kv_sliding = 2;
  int64_t n_kv_global = 1;
  int64_t head_dim_sliding = 16;
  int64_t head_dim_global = 32;
  int64_t n_expert = 8;
  int64_t n_expert_used = 2;
  int64_t n_ff_exp = 32;
  int64_t sliding_window = 32;
  int64_t canvas_length = 32;
  int64_t context_length = 4096;
  std::vector<bool> sliding_pattern;  // per layer, true = sliding; empty: 5 sliding then 1 global
  bool fused_gate_up = true;
  bool with_sampler_keys = true;      // write diffusion.eb_* keys
  GgmlType weight_type = GgmlType::kF32;  // matrices; norms and scales are always F32
  GgmlType embedding_type = GgmlType::kF32;
  // Standard deviation of the embedding entries. The tied output head makes logits ~
  // N(0, D·sigma²): large enough that distributions are peaked and entropies spread out, as in
  // a trained model, so tests of sampling decisions are not at the mercy of round-off.
  float embedding_sigma = 0.5f;

  // A few-MB model for unit tests.
  static SyntheticConfig Tiny();
  // The released model's per-layer dimensions (E 2816, 16 heads, head dims 256/512, KV heads
  // 8/2, dense FFN 2112, 128 experts x 704 top-8, vocab 262144) with `n_layers` layers, the
  // last one global.
  static SyntheticConfig RealDims(int64_t n_layers);

  std::vector<bool> Pattern() const;
};

// Writes the model to `path` (atomically). Throws dllm::Error on bad configs or I/O errors.
void WriteSyntheticModel(const SyntheticConfig& config, const std::string& path);
// The same file in memory.
std::vector<uint8_t> SyntheticModelBytes(const SyntheticConfig& config);

}  // namespace dllm
