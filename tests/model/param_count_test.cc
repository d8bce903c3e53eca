// Parameter counts of a generated model at the released model's exact dimensions, checked
// against a hand calculation (spec §1: 25.2B total / 3.8B active for 30 layers).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "model/model.h"
#include "synthetic.h"

TEST_CASE("real-dims parameter counts match the hand calculation") {
  // Two layers: one sliding, one global (the released model's two layer kinds). Q8_0 keeps the
  // file at ~2.5 GB.
  dllm::SyntheticConfig c = dllm::SyntheticConfig::RealDims(2);
  c.weight_type = dllm::GgmlType::kQ8_0;
  c.embedding_type = dllm::GgmlType::kQ8_0;
  const std::string path = std::string(DLLM_BINARY_DIR) + "/real-dims-2l-q8_0.gguf";
  dllm::WriteSyntheticModel(c, path);
  const auto m = dllm::Model::Load(path);
  const dllm::ModelStats s = m->Stats();

  // By hand. D = 2816, V = 262144, 16 heads; sliding: head dim 256, 8 KV heads, with V;
  // global: head dim 512, 2 KV heads, no V; dense FFN 2112; 128 experts x 704, top 8;
  // self-conditioning MLP 2112 wide.
  const uint64_t D = 2816, V = 262144, F = 2112, E = 128, Fe = 704;
  const uint64_t embedding = V * D;                            // 738,197,504 (tied head)
  const uint64_t global = D /*output_norm*/ + D /*sc pre-norm*/ + 3 * D * 2112 /*sc MLP*/;
  const uint64_t per_layer_common = 8 * D /*norms + router scale*/ + 2 /*layer scalars*/ +
                                    3 * D * F /*dense GeGLU*/ + D * E /*router*/ +
                                    E /*per-expert scale*/;
  const uint64_t experts_per_layer = 3 * D * Fe * E;             // 761,266,176
  const uint64_t sliding_attn = D * 4096 + 2 * D * 2048 + 4096 * D + 2 * 256;  // q, k, v, o, norms
  const uint64_t global_attn = D * 8192 + D * 1024 + 8192 * D + 2 * 512;       // q, k, o, norms
  const uint64_t total = embedding + global + 2 * per_layer_common + 2 * experts_per_layer +
                         sliding_attn + global_attn;
  const uint64_t active = total - 2 * experts_per_layer + 2 * experts_per_layer / E * 8;
  CHECK(total == 2398653700ull);
  CHECK(s.total_params == total);
  CHECK(s.active_params == active);
  CHECK(s.embedding_params == embedding);
  CHECK(s.expert_params == 2 * experts_per_layer);
  // The same formulas for 30 layers (25 sliding + 5 global) give 25,250,986,812 total and
  // 3,840,375,612 active: the published "25.2B total / 3.8B active".
  const uint64_t total30 = embedding + global + 30 * per_layer_common + 30 * experts_per_layer +
                           25 * sliding_attn + 5 * global_attn;
  const uint64_t active30 = total30 - 30 * experts_per_layer + 30 * experts_per_layer / E * 8;
  CHECK(total30 / 100000000 == 252);   // 25.2B
  CHECK(active30 / 100000000 == 38);   // 3.8B

  // dllm-cli info reports the same counts (it prints 3 significant digits).
  CHECK(active == 971279620ull);
  const std::string cmd = std::string(DLLM_CLI_PATH) + " info -m " + path;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), p)) out += buf;
    CHECK(pclose(p) == 0);
  }
  INFO(out);
  CHECK(out.find("2.40B total, 971.28M active per token") != std::string::npos);
  CHECK(out.find("layer pattern   SG") != std::string::npos);
  std::remove(path.c_str());
}
