// Files written by another GGUF writer (the gguf Python package of llama.cpp), see
// /work/shared/testdata/README.md: the reader must read them and the Writer must reproduce them.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/types.h"
#include "gguf/writer.h"
#include "raw_gguf.h"

using dllm::gguf::File;
using dllm::gguf::TensorInfo;
using dllm::gguf::ValueType;
using dllm::gguf::Writer;

namespace {

std::string Fixture(const std::string& name) {
  return std::string(DLLM_SHARED_TESTDATA_DIR) + "/" + name;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes the same keys and tensors, in the same order, with our Writer.
std::vector<uint8_t> Rewrite(const File& f) {
  Writer w(f.version());
  for (const auto& kv : f.metadata()) w.AddMetadata(kv.first, kv.second);
  for (const TensorInfo& ti : f.tensors()) {
    w.AddTensor(ti.name, ti.type_id, ti.dims, ti.data, ti.n_bytes);
  }
  return w.WriteToBuffer();
}

void CheckByteIdentical(const std::vector<uint8_t>& ours, const std::vector<uint8_t>& theirs) {
  REQUIRE(ours.size() == theirs.size());
  size_t first_diff = ours.size();
  for (size_t i = 0; i < ours.size(); ++i) {
    if (ours[i] != theirs[i]) {
      first_diff = i;
      break;
    }
  }
  INFO("first differing byte at offset " << first_diff);
  CHECK(first_diff == ours.size());
}

}  // namespace

TEST_CASE("dg-tiny-f32.gguf: header, metadata, tensors") {
  for (bool mmap : {true, false}) {
    INFO("mmap " << mmap);
    auto f = File::Open(Fixture("dg-tiny-f32.gguf"), mmap);
    CHECK(f->version() == 3);
    CHECK(f->file_size() == 24446816);
    CHECK(f->metadata().size() == 47);
    CHECK(f->tensors().size() == 144);
    CHECK(f->data_offset() == 93728);
    CHECK(f->alignment() == 32);
    CHECK(f->Find("general.alignment") == nullptr);

    CHECK(f->metadata()[0].first == "general.architecture");
    CHECK(f->GetString("general.architecture") == "diffusion-gemma");
    CHECK(f->GetString("general.name") == "random-diffusion-gemma-tiny");
    CHECK(f->Get("general.file_type").type() == ValueType::kUint32);
    CHECK(f->GetU32("general.file_type") == 0);
    CHECK(f->GetU32("diffusion-gemma.block_count") == 6);
    CHECK(f->GetU32("diffusion-gemma.embedding_length") == 256);
    CHECK(f->GetU32("diffusion-gemma.context_length") == 8192);
    CHECK(f->GetU32("diffusion-gemma.attention.sliding_window") == 1024);
    CHECK(f->GetU32("diffusion.canvas_length") == 256);
    CHECK(f->GetF32("diffusion-gemma.rope.freq_base") == 1000000.0f);
    CHECK(f->GetF32("diffusion-gemma.rope.freq_base_swa") == 10000.0f);
    CHECK(f->GetF32("diffusion-gemma.attention.layer_norm_rms_epsilon") == 1e-6f);
    CHECK(f->GetF64("diffusion-gemma.attention.layer_norm_rms_epsilon") == 9.999999974752427e-07);
    CHECK(f->GetF32("diffusion-gemma.final_logit_softcapping") == 30.0f);
    CHECK(f->GetF32("diffusion.eb_t_min") == 0.4f);
    CHECK_FALSE(f->GetBool("diffusion-gemma.attention.causal"));
    CHECK(f->GetBool("tokenizer.ggml.add_bos_token"));
    CHECK_FALSE(f->GetBool("tokenizer.ggml.add_eos_token"));
    CHECK(f->GetString("tokenizer.ggml.model") == "llama");
    CHECK(f->GetU32("tokenizer.ggml.mask_token_id") == 3);

    const dllm::gguf::Value& kv_heads = f->Get("diffusion-gemma.attention.head_count_kv");
    CHECK(kv_heads.array_type() == ValueType::kInt32);
    CHECK(kv_heads.AsI64Array() == std::vector<int64_t>{2, 2, 2, 2, 2, 1});
    CHECK(f->GetBoolArray("diffusion-gemma.attention.sliding_window_pattern") ==
          std::vector<bool>{true, true, true, true, true, false});

    const std::vector<std::string> tokens = f->GetStringArray("tokenizer.ggml.tokens");
    REQUIRE(tokens.size() == 4096);
    CHECK(tokens[0] == "<unk>");
    CHECK(tokens[1] == "<s>");
    CHECK(tokens[2] == "</s>");
    CHECK(tokens[3] == "<mask>");
    CHECK(tokens[4] == "<pad>");
    CHECK(tokens[5] == "<0x00>");
    CHECK(tokens[260] == "<0xFF>");
    const std::vector<float> scores = f->GetF32Array("tokenizer.ggml.scores");
    REQUIRE(scores.size() == 4096);
    for (size_t i = 0; i < scores.size(); ++i) {
      if (i <= 260) {
        CHECK(scores[i] == 0.0f);
      } else {
        CHECK(scores[i] >= -9.609375f);
        CHECK(scores[i] <= -8.43994140625f);
      }
    }
    const std::vector<int64_t> types = f->GetI64Array("tokenizer.ggml.token_type");
    REQUIRE(types.size() == 4096);
    std::map<int64_t, int> hist;
    for (int64_t t : types) ++hist[t];
    CHECK(hist == std::map<int64_t, int>{{1, 3835}, {2, 1}, {3, 4}, {6, 256}});

    auto dims = [&](const std::string& name) {
      const TensorInfo* t = f->FindTensor(name);
      REQUIRE_MESSAGE(t != nullptr, name);
      CHECK(t->type_id == 0);
      return t->dims;
    };
    using D = std::vector<uint64_t>;
    CHECK(dims("token_embd.weight") == D{256, 4096});
    CHECK(dims("rope_freqs.weight") == D{64});
    CHECK(dims("blk.5.attn_q.weight") == D{256, 512});
    CHECK(dims("blk.5.attn_output.weight") == D{512, 256});
    CHECK(dims("blk.0.attn_q.weight") == D{256, 256});
    CHECK(dims("blk.4.attn_v.weight") == D{256, 128});
    CHECK(dims("blk.0.ffn_gate_up_exps.weight") == D{256, 128, 8});
    CHECK(dims("blk.5.ffn_down_exps.weight") == D{64, 256, 8});
    CHECK(dims("blk.3.layer_output_scale.weight") == D{1});
    CHECK(f->FindTensor("blk.5.attn_v.weight") == nullptr);
    CHECK(f->tensors()[0].name == "token_embd.weight");
    CHECK(f->tensors()[0].offset == 0);
    CHECK(f->tensors()[0].n_bytes == 256 * 4096 * 4);

    uint64_t total = 0;
    for (const TensorInfo& t : f->tensors()) {
      CHECK(t.type_id == 0);
      total += t.n_bytes;
    }
    CHECK(total == 24352752);

    // rope_freqs: 16 x 1.0 then 48 x 1e30 (read through memcpy: data is a byte view).
    const TensorInfo* rf = f->FindTensor("rope_freqs.weight");
    std::vector<float> freqs(64);
    std::memcpy(freqs.data(), rf->data, 256);
    for (int i = 0; i < 64; ++i) CHECK(freqs[i] == (i < 16 ? 1.0f : 1e30f));
  }
}

TEST_CASE("dg-tiny-f32.gguf: the Writer reproduces the file byte for byte") {
  const std::string path = Fixture("dg-tiny-f32.gguf");
  auto f = File::Open(path);
  CheckByteIdentical(Rewrite(*f), ReadAll(path));
}

TEST_CASE("quant-vectors.gguf: 36 tensors with the documented types and sizes") {
  const std::string path = Fixture("quant-vectors.gguf");
  auto f = File::Open(path);
  CHECK(f->version() == 3);
  CHECK(f->file_size() == 220480);
  CHECK(f->metadata().size() == 3);
  CHECK(f->alignment() == 32);
  CHECK(f->GetString("general.architecture") == "testdata");
  CHECK_FALSE(f->GetString("testdata.description").empty());
  const std::vector<std::string> names = {"F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                          "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
  CHECK(f->GetStringArray("testdata.types") == names);
  const std::vector<uint32_t> ids = {1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14};
  const std::vector<uint64_t> raw_bytes = {4096, 4096, 1152, 1280, 1408, 1536,
                                           2176, 672,  880,  1152, 1408, 1680};
  REQUIRE(f->tensors().size() == 36);
  for (size_t k = 0; k < names.size(); ++k) {
    INFO("type " << names[k]);
    const TensorInfo& raw = f->tensors()[3 * k];
    const TensorInfo& expected = f->tensors()[3 * k + 1];
    const TensorInfo& source = f->tensors()[3 * k + 2];
    CHECK(raw.name == names[k] + ".raw");
    CHECK(raw.type_id == ids[k]);
    CHECK(dllm::GgmlTypeName(raw.type_id) == names[k]);
    CHECK(raw.n_bytes == raw_bytes[k]);
    CHECK(raw.dims == std::vector<uint64_t>{512, 4});
    CHECK(raw.n_elements == 2048);
    CHECK(expected.name == names[k] + ".expected");
    CHECK(source.name == names[k] + ".source");
    for (const TensorInfo* t : {&expected, &source}) {
      CHECK(t->type_id == 0);
      CHECK(t->dims == std::vector<uint64_t>{512, 4});
      CHECK(t->n_bytes == 8192);
    }
  }
  CheckByteIdentical(Rewrite(*f), ReadAll(path));
}

TEST_CASE("kquant-vectors.gguf: reads and round-trips byte for byte") {
  const std::string path = Fixture("kquant-vectors.gguf");
  auto f = File::Open(path, /*use_mmap=*/false);
  CHECK(f->file_size() == 88864);
  CHECK(f->tensors().size() == 15);
  CheckByteIdentical(Rewrite(*f), ReadAll(path));
}
