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
  // A quantization target of quant/mix.h ("Q4_K_M", "Q5_K_M", "Q8_0", "BF16", ...). When set,
  // every tensor's type comes from the target's rules exactly as dllm-quantize would choose it
  // for this model written in F32 (router and vectors F32), and weight_type / embedding_type are
  // ignored; the file is then byte-identical to `dllm-quantize <f32 file> out <target>`.
  std::string quant_target;
  // With quant_target set: overrides the rules' choice for token_embd.weight (kF32 .. kQ6_K);
  // -1 (default) keeps the rules' choice.
  int embedding_type_override = -1;
  // Standard deviation of the embedding entries. The tied output head makes logits ~
  // N(0, D·sigma²): large enough that distributions are peaked and entropies spread out, as in
  // a trained model, so tests of sampling decisions are not at the mercy of round-off.
  float embedding_sigma = 0.5f;
  // Mean of the q_norm / k_norm weights. The attention scale is 1.0 and q, k are RMS-normed per
  // head, so a score has standard deviation ~ sqrt(head_dim)·mean²: 1.0 (the default) makes
  // attention nearly hard at head dims >= 64, where outputs jump under tiny weight changes.
  // (The released model's learned q/k norm scalars play this role.)
  float qk_norm_mean = 1.0f;

  // A few-MB model for unit tests.
  static SyntheticConfig Tiny();
  // A ~27 MB f32 model whose rows are multiples of 256 exactly where the released model's are
  // (D 256, head dims 64/128, q widths 256/512) and multiples of 32 but not 256 where the
  // released model's are not (dense and self-conditioning FFN 288 ~ 2112, expert width 96 ~
  // 704), so every quantization target resolves to the released file's per-role types and
  // fallbacks. 6 layers (5 sliding, 1 global), 8 experts top-2, vocabulary 512. q/k norms of
  // mean 0.4 keep attention scores at a standard deviation of ~1.3-1.8 (soft attention), so
  // the model responds smoothly to weight perturbations (quantization tests measure that).
  static SyntheticConfig TinyQuant();
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
