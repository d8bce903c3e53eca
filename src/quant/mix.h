// Quantization targets and the per-tensor type rules shared by dllm-quantize and dllm-mkmodel
// (docs/quantization.md has the table).
//
// A target is either a llama.cpp "mix" (Q4_K_M, Q5_K_M) whose per-role choices reproduce the
// published DiffusionGemma GGUF files, or a single type (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) applied to every weight matrix — llama-quantize's "--pure";
// for Q6_K, Q8_0, F16, BF16 and F32 that is also exactly what llama.cpp's file types of the same
// name produce.
//
// Which tensors are quantized at all follows llama-quantize: tensors with >= 2 dims whose name
// ends in "weight", except norms ("_norm.weight") and the MoE router ("ffn_gate_inp.weight").
// Everything else (norm vectors, scales, rope_freqs, the router) keeps its source type.
//
// Row-length fallback (llama.cpp's rule): a type whose block does not divide the row length is
// replaced by Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and when even that (or
// a 32-value type of the target itself) does not divide the row, F16.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf/types.h"

namespace dllm {
namespace quant {

struct MixTarget {
  enum class Kind { kSingle, kQ4_K_M, kQ5_K_M };
  Kind kind = Kind::kSingle;
  GgmlType base = GgmlType::kF32;  // the type of every matrix without a more specific rule
  std::string name;                // canonical spelling: "Q4_K_M", "BF16", ...
  uint32_t file_type = 0;          // llama.cpp's llama_ftype value for general.file_type
};

// Parses a target name (case-insensitive: "q4_k_m", "Q8_0", "bf16"). Returns false for names
// that are not targets (unknown names, and types dllm cannot quantize to such as IQ4_NL).
bool ParseMixTarget(const std::string& name, MixTarget* target);
// Every accepted canonical name, mixes first.
std::vector<std::string> MixTargetNames();

// Whether llama-quantize would quantize a tensor of this name and rank (see the header comment).
bool IsQuantizableTensor(const std::string& name, size_t n_dims);

// The type a row of `row_len` values gets when `wanted` does not fit it (see the header comment);
// `wanted` itself when it fits. Always a type whose block divides row_len.
GgmlType FallbackType(GgmlType wanted, int64_t row_len);

// llama.cpp's "use more bits" layer schedule of the _M mixes: the first and last eighth of the
// layers and every third layer in between.
bool UseMoreBits(int index, int count);

// The layer of a "blk.N.*" tensor, or -1 when the name has no such prefix.
int LayerOfTensor(const std::string& name);

struct TypeChoice {
  bool quantize = false;  // false: not a weight matrix; keep the source type (`type` unused)
  GgmlType preferred = GgmlType::kF32;  // the rule's choice
  GgmlType type = GgmlType::kF32;       // after the row-length fallback
  bool fallback() const { return quantize && type != preferred; }
};

// What the _M mixes need beyond a tensor's own name and dims.
struct MixContext {
  int n_layer = 0;       // block_count (ffn_down schedule)
  int n_attn_v = 0;      // attn_v tensors in the file (attn_v schedule)
  int attn_v_index = 0;  // this tensor's position among them, in file order (attn_v only)
};

// The storage type of one tensor. `dims` is row length first. Throws Error(kInvalidArgument)
// when a mix needs the layer of an ffn_down tensor whose name has none or a layer outside
// [0, n_layer).
TypeChoice ChooseType(const MixTarget& target, const std::string& name,
                      const std::vector<uint64_t>& dims, const MixContext& context);

// ChooseType for every tensor of a file, in file order (attn_v tensors are counted in that order,
// as llama-quantize does).
std::vector<TypeChoice> PlanTypes(
    const MixTarget& target,
    const std::vector<std::pair<std::string, std::vector<uint64_t>>>& tensors, int n_layer);

}  // namespace quant
}  // namespace dllm
