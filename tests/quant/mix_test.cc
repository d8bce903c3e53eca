// The per-tensor type rules of the quantization targets (quant/mix.h) against the type counts of
// the published DiffusionGemma GGUF (spec §7.4: Q4_K_M holds Q4_K 194, Q5_0 33, Q6_K 14, Q8_0 28,
// F32 423 of its 692 tensors) on the released model's exact tensor list (spec §7.3).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "quant/mix.h"
#include "util/error.h"

using dllm::GgmlType;
using dllm::GgmlTypeName;
namespace quant = dllm::quant;

namespace {

using TensorList = std::vector<std::pair<std::string, std::vector<uint64_t>>>;

// The 692 tensors of the released model in the converter's order (spec §7.3).
TensorList ReleasedTensors() {
  const uint64_t d = 2816, v = 262144, ff = 2112, fe = 704, ne = 128;
  TensorList t;
  t.push_back({"token_embd.weight", {d, v}});
  t.push_back({"output_norm.weight", {d}});
  t.push_back({"rope_freqs.weight", {256}});
  t.push_back({"self_cond_pre_norm.weight", {d}});
  t.push_back({"self_cond_gate.weight", {d, ff}});
  t.push_back({"self_cond_up.weight", {d, ff}});
  t.push_back({"self_cond_down.weight", {ff, d}});
  for (int i = 0; i < 30; ++i) {
    const bool global = i % 6 == 5;
    const uint64_t hd = global ? 512 : 256, kv = global ? 2 : 8;
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_norm.weight", {d}});
    t.push_back({b + "attn_q.weight", {d, 16 * hd}});
    t.push_back({b + "attn_k.weight", {d, kv * hd}});
    if (!global) t.push_back({b + "attn_v.weight", {d, kv * hd}});
    t.push_back({b + "attn_output.weight", {16 * hd, d}});
    t.push_back({b + "attn_q_norm.weight", {hd}});
    t.push_back({b + "attn_k_norm.weight", {hd}});
    t.push_back({b + "post_attention_norm.weight", {d}});
    t.push_back({b + "ffn_norm.weight", {d}});
    t.push_back({b + "ffn_gate.weight", {d, ff}});
    t.push_back({b + "ffn_up.weight", {d, ff}});
    t.push_back({b + "ffn_down.weight", {ff, d}});
    t.push_back({b + "post_ffw_norm_1.weight", {d}});
    t.push_back({b + "ffn_gate_inp.weight", {d, ne}});
    t.push_back({b + "ffn_gate_inp.scale", {d}});
    t.push_back({b + "pre_ffw_norm_2.weight", {d}});
    t.push_back({b + "ffn_gate_up_exps.weight", {d, 2 * fe, ne}});
    t.push_back({b + "ffn_down_exps.weight", {fe, d, ne}});
    t.push_back({b + "ffn_down_exps.scale", {ne}});
    t.push_back({b + "post_ffw_norm_2.weight", {d}});
    t.push_back({b + "post_ffw_norm.weight", {d}});
    t.push_back({b + "layer_output_scale.weight", {1}});
    t.push_back({b + "enc_layer_output_scale.weight", {1}});
  }
  return t;
}

// Type name -> tensor count, with tensors the rules keep counted as F32 (their source type in
// the released BF16 conversion).
std::map<std::string, int> Histogram(const std::string& target_name) {
  quant::MixTarget target;
  REQUIRE(quant::ParseMixTarget(target_name, &target));
  const TensorList t = ReleasedTensors();
  const std::vector<quant::TypeChoice> plan = quant::PlanTypes(target, t, 30);
  std::map<std::string, int> h;
  for (const quant::TypeChoice& c : plan) h[c.quantize ? GgmlTypeName(c.type) : "F32"]++;
  return h;
}

GgmlType TypeOf(const std::string& target_name, const std::string& name) {
  quant::MixTarget target;
  REQUIRE(quant::ParseMixTarget(target_name, &target));
  const TensorList t = ReleasedTensors();
  const std::vector<quant::TypeChoice> plan = quant::PlanTypes(target, t, 30);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].first == name) return plan[i].quantize ? plan[i].type : GgmlType::kF32;
  }
  FAIL("no tensor " << name);
  return GgmlType::kF32;
}

}  // namespace

TEST_CASE("released tensor list has 692 tensors") { CHECK(ReleasedTensors().size() == 692); }

TEST_CASE("Q4_K_M reproduces the published file's type counts") {
  const std::map<std::string, int> want = {
      {"Q4_K", 194}, {"Q5_0", 33}, {"Q6_K", 14}, {"Q8_0", 28}, {"F32", 423}};
  CHECK(Histogram("Q4_K_M") == want);
  // The roles the published file's notes name (spec §7.4).
  CHECK(TypeOf("Q4_K_M", "token_embd.weight") == GgmlType::kQ6_K);
  CHECK(TypeOf("Q4_K_M", "blk.3.ffn_gate_up_exps.weight") == GgmlType::kQ4_K);
  CHECK(TypeOf("Q4_K_M", "blk.3.ffn_gate.weight") == GgmlType::kQ4_K);
  CHECK(TypeOf("Q4_K_M", "blk.3.attn_k.weight") == GgmlType::kQ4_K);
  CHECK(TypeOf("Q4_K_M", "blk.3.ffn_gate_inp.weight") == GgmlType::kF32);
  // ffn_down rows (2112) and expert down rows (704) are not whole Q4_K/Q6_K super-blocks: the
  // schedule's Q6_K layers fall back to Q8_0, the others to Q5_0.
  CHECK(TypeOf("Q4_K_M", "blk.0.ffn_down.weight") == GgmlType::kQ8_0);
  CHECK(TypeOf("Q4_K_M", "blk.0.ffn_down_exps.weight") == GgmlType::kQ8_0);
  CHECK(TypeOf("Q4_K_M", "blk.3.ffn_down_exps.weight") == GgmlType::kQ5_0);
  CHECK(TypeOf("Q4_K_M", "blk.5.ffn_down_exps.weight") == GgmlType::kQ8_0);
  CHECK(TypeOf("Q4_K_M", "self_cond_down.weight") == GgmlType::kQ5_0);
  // attn_v: the schedule runs over the 25 V tensors (sliding layers only).
  CHECK(TypeOf("Q4_K_M", "blk.0.attn_v.weight") == GgmlType::kQ6_K);
  CHECK(TypeOf("Q4_K_M", "blk.3.attn_v.weight") == GgmlType::kQ4_K);
}

TEST_CASE("other targets on the released layout") {
  CHECK(Histogram("Q5_K_M") ==
        std::map<std::string, int>{{"Q5_K", 194}, {"Q5_1", 33}, {"Q6_K", 14}, {"Q8_0", 28},
                                   {"F32", 423}});
  // Q6_K: rows of 2112 and 704 fall back to Q8_0 (30 dense + 30 expert + 1 self-cond down).
  CHECK(Histogram("Q6_K") ==
        std::map<std::string, int>{{"Q6_K", 208}, {"Q8_0", 61}, {"F32", 423}});
  CHECK(Histogram("Q8_0") == std::map<std::string, int>{{"Q8_0", 269}, {"F32", 423}});
  CHECK(Histogram("BF16") == std::map<std::string, int>{{"BF16", 269}, {"F32", 423}});
  CHECK(Histogram("q4_0") == std::map<std::string, int>{{"Q4_0", 269}, {"F32", 423}});
  CHECK(Histogram("Q2_K") == std::map<std::string, int>{{"Q2_K", 208}, {"Q4_0", 61}, {"F32", 423}});
}

TEST_CASE("target names") {
  quant::MixTarget t;
  CHECK(quant::ParseMixTarget("q4_k_m", &t));
  CHECK(t.name == "Q4_K_M");
  CHECK(t.file_type == 15);
  CHECK(t.base == GgmlType::kQ4_K);
  CHECK(quant::ParseMixTarget("Bf16", &t));
  CHECK(t.file_type == 32);
  CHECK(quant::ParseMixTarget("Q8_0", &t));
  CHECK(t.file_type == 7);
  CHECK_FALSE(quant::ParseMixTarget("IQ4_NL", &t));
  CHECK_FALSE(quant::ParseMixTarget("Q8_K", &t));
  CHECK_FALSE(quant::ParseMixTarget("", &t));
  CHECK_FALSE(quant::ParseMixTarget("Q4_K_M ", &t));
  CHECK(quant::MixTargetNames().size() == 15);
}

TEST_CASE("row-length fallback") {
  CHECK(quant::FallbackType(GgmlType::kQ4_K, 2816) == GgmlType::kQ4_K);
  CHECK(quant::FallbackType(GgmlType::kQ4_K, 704) == GgmlType::kQ5_0);
  CHECK(quant::FallbackType(GgmlType::kQ5_K, 704) == GgmlType::kQ5_1);
  CHECK(quant::FallbackType(GgmlType::kQ6_K, 2112) == GgmlType::kQ8_0);
  CHECK(quant::FallbackType(GgmlType::kQ2_K, 96) == GgmlType::kQ4_0);
  CHECK(quant::FallbackType(GgmlType::kQ3_K, 96) == GgmlType::kQ4_0);
  CHECK(quant::FallbackType(GgmlType::kQ4_K, 48) == GgmlType::kF16);
  CHECK(quant::FallbackType(GgmlType::kQ8_0, 48) == GgmlType::kF16);
  CHECK(quant::FallbackType(GgmlType::kBF16, 3) == GgmlType::kBF16);
}

TEST_CASE("what gets quantized and the layer schedule") {
  CHECK(quant::IsQuantizableTensor("blk.0.attn_q.weight", 2));
  CHECK(quant::IsQuantizableTensor("blk.0.ffn_down_exps.weight", 3));
  CHECK_FALSE(quant::IsQuantizableTensor("blk.0.attn_norm.weight", 1));
  CHECK_FALSE(quant::IsQuantizableTensor("blk.0.attn_q_norm.weight", 2));
  CHECK_FALSE(quant::IsQuantizableTensor("blk.0.ffn_gate_inp.weight", 2));
  CHECK_FALSE(quant::IsQuantizableTensor("blk.0.ffn_down_exps.scale", 2));
  CHECK(quant::LayerOfTensor("blk.17.ffn_down.weight") == 17);
  CHECK(quant::LayerOfTensor("token_embd.weight") == -1);
  CHECK(quant::LayerOfTensor("blk.x.ffn_down.weight") == -1);
  CHECK(quant::LayerOfTensor("blk.3") == -1);
  // 30 layers: 0-2, 26-29 and every third from 5: 14 layers.
  int n = 0;
  for (int i = 0; i < 30; ++i) n += quant::UseMoreBits(i, 30) ? 1 : 0;
  CHECK(n == 14);
  // A mix needs the layer of an ffn_down tensor.
  quant::MixTarget t;
  REQUIRE(quant::ParseMixTarget("Q4_K_M", &t));
  quant::MixContext ctx;
  ctx.n_layer = 4;
  CHECK_THROWS_AS(quant::ChooseType(t, "ffn_down.weight", {256, 256}, ctx), dllm::Error);
  CHECK_THROWS_AS(quant::ChooseType(t, "blk.9.ffn_down.weight", {256, 256}, ctx), dllm::Error);
  CHECK(quant::ChooseType(t, "blk.1.ffn_down.weight", {256, 256}, ctx).type == GgmlType::kQ4_K);
}
