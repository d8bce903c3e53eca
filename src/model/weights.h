// Views of a model's weights. Matrices stay in the file's format, memory-mapped (zero-copy);
// small vectors (norm weights, scales) are converted to f32 at load.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace dllm {

// A weight matrix (or stack of matrices) as stored: ne[0] values per row, ne[1]*ne[2] rows.
struct WeightTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};
  const uint8_t* data = nullptr;  // into the model file's mapping; valid while the Model lives
  uint64_t n_bytes = 0;
  uint64_t row_bytes = 0;         // bytes of one row of ne[0] values

  bool present() const { return data != nullptr; }
  int64_t row_len() const { return ne[0]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  const uint8_t* Row(int64_t i) const { return data + static_cast<uint64_t>(i) * row_bytes; }
  // The i-th matrix of a 3-D stack (experts): ne[1] rows starting at row i*ne[1].
  const uint8_t* Matrix(int64_t i) const { return Row(i * ne[1]); }
};

struct LayerWeights {
  std::vector<float> attn_norm;            // [D]
  WeightTensor attn_q;                     // [D -> n_head*hd]
  WeightTensor attn_k;                     // [D -> n_kv*hd]
  WeightTensor attn_v;                     // [D -> n_kv*hd], absent on global layers
  WeightTensor attn_output;                // [n_head*hd -> D]
  std::vector<float> attn_q_norm;          // [hd]
  std::vector<float> attn_k_norm;          // [hd]
  std::vector<float> post_attention_norm;  // [D]

  std::vector<float> ffn_norm;             // dense pre-norm [D]
  WeightTensor ffn_gate, ffn_up;           // [D -> n_ff]
  WeightTensor ffn_down;                   // [n_ff -> D]
  std::vector<float> post_ffw_norm_1;      // dense post-norm [D]

  WeightTensor ffn_gate_inp;               // router [D -> n_expert]
  std::vector<float> ffn_gate_inp_scale;   // router input scale [D]
  std::vector<float> pre_ffw_norm_2;       // MoE pre-norm [D]
  WeightTensor ffn_gate_up_exps;           // fused [D -> 2*n_ff_exp, n_expert], gate rows first
  WeightTensor ffn_gate_exps, ffn_up_exps; // or split [D -> n_ff_exp, n_expert] each
  WeightTensor ffn_down_exps;              // [n_ff_exp -> D, n_expert]
  std::vector<float> ffn_down_exps_scale;  // per-expert output scale [n_expert] (1 if absent)
  std::vector<float> post_ffw_norm_2;      // MoE post-norm [D]
  std::vector<float> post_ffw_norm;        // norm of dense + MoE [D]

  float layer_output_scale = 1.0f;         // decoder (canvas) residual scalar
  float enc_layer_output_scale = 1.0f;     // encoder (prompt/commit) residual scalar

  bool fused_gate_up() const { return ffn_gate_up_exps.present(); }
};

struct GlobalWeights {
  WeightTensor token_embd;                 // [D, V]: V rows of D; also the tied output head
  std::vector<float> output_norm;          // [D]
  std::vector<float> rope_freqs;           // frequency divisors for global layers [hd/2]
  std::vector<float> self_cond_pre_norm;   // [D]
  WeightTensor self_cond_gate, self_cond_up;  // [D -> n_ff_sc]
  WeightTensor self_cond_down;             // [n_ff_sc -> D]
};

}  // namespace dllm
