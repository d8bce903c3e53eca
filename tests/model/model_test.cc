#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "gguf/gguf.h"
#include "gguf_edit.h"
#include "model/model.h"
#include "synthetic.h"
#include "util/error.h"

using dllm::ErrorCode;
using dllm::GgmlType;
using dllm::Model;
using dllm::SyntheticConfig;

namespace {

const std::vector<uint8_t>& TinyBytes() {
  static const std::vector<uint8_t> bytes = dllm::SyntheticModelBytes(SyntheticConfig::Tiny());
  return bytes;
}

std::shared_ptr<const Model> LoadBytes(const std::vector<uint8_t>& bytes) {
  return Model::FromFile(dllm::gguf::File::FromBuffer(bytes));
}

// Loading must fail with `code` and a message containing `needle`.
void ExpectLoadError(const std::vector<uint8_t>& bytes, ErrorCode code, const std::string& needle) {
  try {
    LoadBytes(bytes);
    FAIL("loaded a model that should have been rejected (expected: " << needle << ")");
  } catch (const dllm::Error& e) {
    CHECK_MESSAGE(e.code() == code, e.what());
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
}

dllm::test::GgufEdit DropTensor(const std::string& name) {
  dllm::test::GgufEdit e;
  e.tensor = [name](const std::string& n, uint32_t&, std::vector<uint64_t>&,
                    std::vector<uint8_t>&) { return n != name; };
  return e;
}

dllm::test::GgufEdit SetKey(const std::string& key, dllm::gguf::Value v) {
  dllm::test::GgufEdit e;
  e.key = [key, v](const std::string& k, dllm::gguf::Value& value) {
    if (k == key) value = v;
    return true;
  };
  return e;
}

}  // namespace

TEST_CASE("synthetic tiny model loads with the configured hyperparameters") {
  const SyntheticConfig c = SyntheticConfig::Tiny();
  auto m = LoadBytes(TinyBytes());
  const dllm::HParams& hp = m->hparams();
  CHECK(hp.architecture == "diffusion-gemma");
  CHECK(hp.n_embd == c.n_embd);
  CHECK(hp.n_layer == c.n_layer);
  CHECK(hp.n_vocab == c.n_vocab);
  CHECK(hp.canvas_length == c.canvas_length);
  CHECK(hp.n_expert == c.n_expert);
  CHECK(hp.n_expert_used == c.n_expert_used);
  REQUIRE(hp.layers.size() == static_cast<size_t>(c.n_layer));
  const std::vector<bool> pattern = c.Pattern();
  for (size_t i = 0; i < hp.layers.size(); ++i) {
    CHECK(hp.layers[i].sliding == pattern[i]);
    CHECK(hp.layers[i].has_v == pattern[i]);
    CHECK(hp.layers[i].head_dim == (pattern[i] ? c.head_dim_sliding : c.head_dim_global));
    CHECK(hp.layers[i].n_kv_head == (pattern[i] ? c.n_kv_sliding : c.n_kv_global));
  }
  CHECK(m->global().rope_freqs.size() == static_cast<size_t>(c.head_dim_global / 2));
  CHECK(m->sampler_defaults().max_steps == 48);
  // <eos> = 1 and <turn|> = 6 in the synthetic vocabulary.
  CHECK(m->eog_ids() == std::vector<int32_t>{1, 6});
}

TEST_CASE("dg-tiny-f32.gguf from another writer loads") {
  auto m = Model::Load(std::string(DLLM_SHARED_TESTDATA_DIR) + "/dg-tiny-f32.gguf");
  const dllm::HParams& hp = m->hparams();
  CHECK(hp.n_embd == 256);
  CHECK(hp.n_layer == 6);
  CHECK(hp.n_vocab == 4096);
  CHECK(hp.canvas_length == 256);
  CHECK(hp.sliding_window == 1024);
  CHECK(hp.n_expert == 8);
  CHECK(hp.n_expert_used == 2);
  CHECK(hp.n_ff_exp == 64);
  CHECK(hp.final_softcap == doctest::Approx(30.0));
  for (int i = 0; i < 5; ++i) {
    CHECK(hp.layers[i].sliding);
    CHECK(hp.layers[i].head_dim == 64);
    CHECK(hp.layers[i].n_kv_head == 2);
    CHECK(hp.layers[i].rope_base == doctest::Approx(10000.0));
  }
  CHECK_FALSE(hp.layers[5].sliding);
  CHECK_FALSE(hp.layers[5].has_v);
  CHECK(hp.layers[5].head_dim == 128);
  CHECK(hp.layers[5].n_kv_head == 1);
  CHECK(hp.layers[5].rope_base == doctest::Approx(1e6));
  REQUIRE(m->global().rope_freqs.size() == 64);
  CHECK(m->global().rope_freqs[15] == 1.0f);
  CHECK(m->global().rope_freqs[16] == 1e30f);
  CHECK(m->layers()[0].fused_gate_up());
  CHECK(m->sampler_defaults().max_steps == 48);
  CHECK(m->sampler_defaults().t_max == doctest::Approx(0.8));
  // Special tokens: eos 2 (</s>); no <turn|> in this vocabulary.
  CHECK(m->eog_ids() == std::vector<int32_t>{2});
  const dllm::ModelStats s = m->Stats();
  CHECK(s.type_histogram.at("F32") == 144);
  CHECK(s.file_bytes == 24446816u);
}

TEST_CASE("model loads without mmap and reports progress") {
  const std::string path = std::string(DLLM_SHARED_TESTDATA_DIR) + "/dg-tiny-f32.gguf";
  std::vector<float> seen;
  dllm::ModelLoadOptions o;
  o.use_mmap = false;
  o.progress = [&](float f) { seen.push_back(f); };
  auto m = Model::Load(path, o);
  CHECK(m->hparams().n_layer == 6);
  REQUIRE(seen.size() >= 2);
  CHECK(seen.front() == 0.0f);
  CHECK(seen.back() == 1.0f);
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] >= seen[i - 1]);
}

TEST_CASE("split expert tensors and other weight types load") {
  for (GgmlType t : {GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0}) {
    SyntheticConfig c = SyntheticConfig::Tiny();
    c.weight_type = t;
    c.embedding_type = t;
    c.fused_gate_up = false;
    auto m = LoadBytes(dllm::SyntheticModelBytes(c));
    CHECK_FALSE(m->layers()[0].fused_gate_up());
    CHECK(m->layers()[0].ffn_gate_exps.type == t);
    CHECK(m->global().token_embd.type == t);
  }
}

TEST_CASE("bad model files are rejected with a clear error") {
  const auto& good = TinyBytes();
  using dllm::gguf::Value;
  SUBCASE("missing tensor") {
    ExpectLoadError(dllm::test::EditGguf(good, DropTensor("blk.2.ffn_up.weight")),
                    ErrorCode::kFormat, "missing tensor 'blk.2.ffn_up.weight'");
  }
  SUBCASE("missing V on a sliding layer") {
    ExpectLoadError(dllm::test::EditGguf(good, DropTensor("blk.0.attn_v.weight")),
                    ErrorCode::kFormat, "blk.0.attn_v.weight");
  }
  SUBCASE("extra tensor") {
    dllm::test::GgufEdit e;
    e.extra = [](dllm::gguf::Writer& w) {
      const float x[4] = {1, 2, 3, 4};
      w.AddTensor("blk.0.mystery.weight", 0, {4}, x, sizeof(x));
    };
    ExpectLoadError(dllm::test::EditGguf(good, e), ErrorCode::kFormat,
                    "unexpected tensor 'blk.0.mystery.weight'");
  }
  SUBCASE("wrong shape") {
    dllm::test::GgufEdit e;
    e.tensor = [](const std::string& n, uint32_t&, std::vector<uint64_t>& dims,
                  std::vector<uint8_t>&) {
      if (n == "blk.5.attn_q.weight") std::swap(dims[0], dims[1]);
      return true;
    };
    ExpectLoadError(dllm::test::EditGguf(good, e), ErrorCode::kFormat,
                    "tensor 'blk.5.attn_q.weight' has shape");
  }
  SUBCASE("unsupported tensor type names the tensor and the type") {
    dllm::test::GgufEdit e;
    e.tensor = [](const std::string& n, uint32_t& type, std::vector<uint64_t>& dims,
                  std::vector<uint8_t>& bytes) {
      if (n == "blk.0.ffn_down.weight") {
        // IQ4_NL: 32 values in 18 bytes; dims [96, 64] -> 64 rows of 3 blocks.
        type = 20;
        bytes.assign(dims[1] * (dims[0] / 32) * 18, 0);
      }
      return true;
    };
    ExpectLoadError(dllm::test::EditGguf(good, e), ErrorCode::kUnsupported,
                    "tensor 'blk.0.ffn_down.weight' has type IQ4_NL");
  }
  SUBCASE("wrong metadata type") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion-gemma.block_count",
                                                      Value::Str("six"))),
                    ErrorCode::kFormat, "diffusion-gemma.block_count");
  }
  SUBCASE("canvas length 0") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion.canvas_length", Value::U32(0))),
                    ErrorCode::kFormat, "diffusion.canvas_length");
  }
  SUBCASE("missing canvas length") {
    dllm::test::GgufEdit e;
    e.key = [](const std::string& k, Value&) { return k != "diffusion.canvas_length"; };
    ExpectLoadError(dllm::test::EditGguf(good, e), ErrorCode::kFormat,
                    "missing metadata key 'diffusion.canvas_length'");
  }
  SUBCASE("per-layer array of the wrong length") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion-gemma.attention.head_count_kv",
                                                      Value::I32Array({2, 2}))),
                    ErrorCode::kFormat, "head_count_kv");
  }
  SUBCASE("head count not a multiple of the KV heads") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion-gemma.attention.head_count_kv",
                                                      Value::I32Array({3, 3, 3, 3, 3, 3}))),
                    ErrorCode::kFormat, "head_count");
  }
  SUBCASE("other architecture") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("general.architecture", Value::Str("llama"))),
                    ErrorCode::kUnsupported, "architecture 'llama'");
  }
  SUBCASE("absurd expert count") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion-gemma.expert_used_count",
                                                      Value::U32(99))),
                    ErrorCode::kFormat, "expert_used_count");
  }
  SUBCASE("non-finite norm weight") {
    dllm::test::GgufEdit e;
    e.tensor = [](const std::string& n, uint32_t&, std::vector<uint64_t>&,
                  std::vector<uint8_t>& bytes) {
      if (n == "output_norm.weight") {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(bytes.data() + 8, &nan, 4);
      }
      return true;
    };
    ExpectLoadError(dllm::test::EditGguf(good, e), ErrorCode::kFormat, "output_norm.weight");
  }
  SUBCASE("eos id outside the vocabulary") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("tokenizer.ggml.eos_token_id",
                                                      Value::U32(100000))),
                    ErrorCode::kFormat, "eos_token_id");
  }
  SUBCASE("invalid sampler defaults") {
    ExpectLoadError(dllm::test::EditGguf(good, SetKey("diffusion.eb_t_min", Value::F32(2.0f))),
                    ErrorCode::kFormat, "diffusion.eb_");
  }
}

TEST_CASE("KV cache size accounting") {
  auto m = LoadBytes(TinyBytes());
  const dllm::HParams& hp = m->hparams();
  // Tiny: 5 sliding layers (2 KV heads x 16) and 1 global (1 x 32); window 32, canvas 32. A
  // sliding layer keeps its window (31 rows) plus one prompt pass (at least 512 rows).
  CHECK(dllm::EncodePassRows(hp) == 512);
  const uint64_t sliding_rows = 31 + 512;
  const uint64_t expect = 5 * sliding_rows * 2 * 16 * 2 * 4 + 1 * 1000 * 1 * 32 * 2 * 4;
  CHECK(dllm::KvCacheBytes(hp, 1000) == expect);
  CHECK(dllm::KvCacheBytes(hp, 100) == 5 * 100 * 2 * 16 * 2 * 4 + 1 * 100 * 1 * 32 * 2 * 4);
}
