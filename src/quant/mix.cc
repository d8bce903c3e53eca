#include "quant/mix.h"

#include <cctype>
#include <cstdlib>

#include "quant/quant.h"
#include "util/error.h"

namespace dllm {
namespace quant {
namespace {

struct TargetEntry {
  const char* name;
  MixTarget::Kind kind;
  GgmlType base;
  uint32_t file_type;  // llama_ftype
};

// llama_ftype values: ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q4_1 3, Q8_0 7, Q5_0 8, Q5_1 9, Q2_K 10,
// Q3_K_S 11, Q4_K_S 14, Q4_K_M 15, Q5_K_S 16, Q5_K_M 17, Q6_K 18, BF16 32. The single K types
// record the llama.cpp file type whose default type they are (Q3_K -> Q3_K_S, ...).
constexpr TargetEntry kTargets[] = {
    {"Q4_K_M", MixTarget::Kind::kQ4_K_M, GgmlType::kQ4_K, 15},
    {"Q5_K_M", MixTarget::Kind::kQ5_K_M, GgmlType::kQ5_K, 17},
    {"F32", MixTarget::Kind::kSingle, GgmlType::kF32, 0},
    {"F16", MixTarget::Kind::kSingle, GgmlType::kF16, 1},
    {"BF16", MixTarget::Kind::kSingle, GgmlType::kBF16, 32},
    {"Q4_0", MixTarget::Kind::kSingle, GgmlType::kQ4_0, 2},
    {"Q4_1", MixTarget::Kind::kSingle, GgmlType::kQ4_1, 3},
    {"Q5_0", MixTarget::Kind::kSingle, GgmlType::kQ5_0, 8},
    {"Q5_1", MixTarget::Kind::kSingle, GgmlType::kQ5_1, 9},
    {"Q8_0", MixTarget::Kind::kSingle, GgmlType::kQ8_0, 7},
    {"Q2_K", MixTarget::Kind::kSingle, GgmlType::kQ2_K, 10},
    {"Q3_K", MixTarget::Kind::kSingle, GgmlType::kQ3_K, 11},
    {"Q4_K", MixTarget::Kind::kSingle, GgmlType::kQ4_K, 14},
    {"Q5_K", MixTarget::Kind::kSingle, GgmlType::kQ5_K, 16},
    {"Q6_K", MixTarget::Kind::kSingle, GgmlType::kQ6_K, 18},
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

uint32_t BlockSize(GgmlType t) { return FindGgmlType(static_cast<uint32_t>(t))->block_size; }
bool Fits(GgmlType t, int64_t row_len) { return row_len % BlockSize(t) == 0; }

}  // namespace

bool ParseMixTarget(const std::string& name, MixTarget* target) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const TargetEntry& e : kTargets) {
    if (upper == e.name) {
      target->kind = e.kind;
      target->base = e.base;
      target->name = e.name;
      target->file_type = e.file_type;
      return true;
    }
  }
  return false;
}

std::vector<std::string> MixTargetNames() {
  std::vector<std::string> names;
  for (const TargetEntry& e : kTargets) names.push_back(e.name);
  return names;
}

bool IsQuantizableTensor(const std::string& name, size_t n_dims) {
  return n_dims >= 2 && EndsWith(name, "weight") && !Contains(name, "_norm.weight") &&
         !Contains(name, "ffn_gate_inp.weight");
}

GgmlType FallbackType(GgmlType wanted, int64_t row_len) {
  if (Fits(wanted, row_len)) return wanted;
  GgmlType t = GgmlType::kF16;
  switch (wanted) {
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K: t = GgmlType::kQ4_0; break;
    case GgmlType::kQ4_K: t = GgmlType::kQ5_0; break;
    case GgmlType::kQ5_K: t = GgmlType::kQ5_1; break;
    case GgmlType::kQ6_K: t = GgmlType::kQ8_0; break;
    default: break;
  }
  return Fits(t, row_len) ? t : GgmlType::kF16;
}

bool UseMoreBits(int index, int count) {
  return index < count / 8 || index >= 7 * count / 8 || (index - count / 8) % 3 == 2;
}

int LayerOfTensor(const std::string& name) {
  if (name.compare(0, 4, "blk.") != 0) return -1;
  size_t i = 4;
  long v = 0;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) {
    v = v * 10 + (name[i] - '0');
    if (v > 1000000) return -1;
    ++i;
  }
  if (i >= name.size() || name[i] != '.') return -1;
  return static_cast<int>(v);
}

TypeChoice ChooseType(const MixTarget& target, const std::string& name,
                      const std::vector<uint64_t>& dims, const MixContext& context) {
  TypeChoice c;
  if (dims.empty() || !IsQuantizableTensor(name, dims.size())) return c;
  c.quantize = true;
  const int64_t row_len = static_cast<int64_t>(dims[0]);
  GgmlType t = target.base;
  if (target.kind != MixTarget::Kind::kSingle) {
    // llama.cpp's Q4_K_M / Q5_K_M rules as they apply to DiffusionGemma's tensors. The
    // embedding is tied to the output head, so it gets the output's type. llama.cpp's extra
    // rules for models with exactly 8 experts (a Mixtral heuristic: attn_k/attn_v Q8_0,
    // attn_output Q5_K) are deliberately left out so that small test models with 8 experts get
    // the published 128-expert file's mix.
    if (name == "token_embd.weight" || name == "output.weight") {
      t = Fits(target.base, row_len) ? GgmlType::kQ6_K : GgmlType::kQ8_0;
    } else if (Contains(name, "attn_v.weight")) {
      if (UseMoreBits(context.attn_v_index, context.n_attn_v)) t = GgmlType::kQ6_K;
    } else if (Contains(name, "ffn_down") && !Contains(name, "ffn_up") &&
               !Contains(name, "ffn_gate")) {
      const int layer = LayerOfTensor(name);
      if (layer < 0 || layer >= context.n_layer) {
        Throw(ErrorCode::kInvalidArgument,
              "tensor '" + name + "': cannot determine its layer (need blk.N. with N < " +
                  std::to_string(context.n_layer) + ") for the " + target.name + " rules");
      }
      if (UseMoreBits(layer, context.n_layer)) t = GgmlType::kQ6_K;
    }
  }
  c.preferred = t;
  c.type = FallbackType(t, row_len);
  return c;
}

std::vector<TypeChoice> PlanTypes(
    const MixTarget& target,
    const std::vector<std::pair<std::string, std::vector<uint64_t>>>& tensors, int n_layer) {
  MixContext ctx;
  ctx.n_layer = n_layer;
  for (const auto& t : tensors) {
    if (Contains(t.first, "attn_v.weight")) ++ctx.n_attn_v;
  }
  std::vector<TypeChoice> out;
  out.reserve(tensors.size());
  for (const auto& t : tensors) {
    out.push_back(ChooseType(target, t.first, t.second, ctx));
    if (Contains(t.first, "attn_v.weight")) ++ctx.attn_v_index;
  }
  return out;
}

}  // namespace quant
}  // namespace dllm
