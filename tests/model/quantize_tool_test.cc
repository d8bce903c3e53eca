// dllm-quantize (tools/quantize) on the TinyQuant synthetic model: every target's output loads,
// every tensor has the type the rules choose, the quantized bytes are exactly
// quant::QuantizeRow of the source rows, metadata survives, the layout is what llama.cpp's
// loader requires, the in-process generator writes the same file, and bad inputs fail cleanly.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "model/model.h"
#include "quant/mix.h"
#include "quant/quant.h"
#include "quantize.h"
#include "synthetic.h"
#include "util/error.h"

namespace fs = std::filesystem;
using dllm::ErrorCode;
using dllm::GgmlType;
using dllm::SyntheticConfig;

namespace {

// A scratch directory removed at the end of the test run.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::path(DLLM_BINARY_DIR) / ("quantize_tool_test." + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

const TempDir& Dir() {
  static TempDir d;
  return d;
}

const std::string& F32Path() {
  static const std::string p = [] {
    const std::string path = Dir() / "tiny-quant-f32.gguf";
    dllm::WriteSyntheticModel(SyntheticConfig::TinyQuant(), path);
    return path;
  }();
  return p;
}

void ExpectError(const std::function<void()>& f, ErrorCode code, const std::string& needle) {
  try {
    f();
    FAIL("no error (expected: " << needle << ")");
  } catch (const dllm::Error& e) {
    CHECK_MESSAGE(e.code() == code, e.what());
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
}

uint64_t Pad(uint64_t n, uint64_t a) { return (a - n % a) % a; }

}  // namespace

TEST_CASE("dllm-quantize: every target follows the rules with the reference quantizers") {
  const auto src = dllm::gguf::File::Open(F32Path());
  const int n_layer = static_cast<int>(src->GetU32("diffusion-gemma.block_count"));
  std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes;
  for (const auto& t : src->tensors()) shapes.emplace_back(t.name, t.dims);

  for (const std::string& name : dllm::quant::MixTargetNames()) {
    CAPTURE(name);
    dllm::quant::MixTarget target;
    REQUIRE(dllm::quant::ParseMixTarget(name, &target));
    const std::string out = Dir() / (name + ".gguf");
    const dllm::QuantizeReport r = dllm::QuantizeModelFile(F32Path(), out, name);
    CHECK(r.target == name);

    // Loads as a model; keeps the types (the model holds views into the mapping).
    auto model = dllm::Model::Load(out);
    CHECK(model->hparams().n_layer == n_layer);
    const auto& f = model->file();
    CHECK(f.GetU32("general.file_type") == target.file_type);

    // Metadata: the input's keys in order with the same values, then only the two markers.
    size_t k = 0;
    for (const auto& [key, value] : src->metadata()) {
      REQUIRE(k < f.metadata().size());
      CHECK(f.metadata()[k].first == key);
      if (key != "general.file_type") CHECK(f.metadata()[k].second == value);
      ++k;
    }
    bool block_quantized = false;
    for (const auto& t : f.tensors()) {
      const GgmlType ty = static_cast<GgmlType>(t.type_id);
      block_quantized |= ty != GgmlType::kF32 && ty != GgmlType::kF16 && ty != GgmlType::kBF16;
    }
    CHECK(f.metadata().size() == k + (block_quantized ? 1 : 0));
    if (block_quantized) CHECK(f.GetU32("general.quantization_version") == 2);

    // Layout llama.cpp's loader requires: offsets are the running sum of padded sizes, the
    // data section is aligned and the file ends after the last tensor's padding.
    uint64_t offset = 0;
    for (const auto& t : f.tensors()) {
      CHECK(t.offset == offset);
      offset += t.n_bytes + Pad(t.n_bytes, f.alignment());
    }
    CHECK(f.data_offset() % f.alignment() == 0);
    CHECK(f.data_offset() + offset == f.file_size());
    CHECK(r.output_bytes == f.file_size());

    // Types and bytes.
    const auto plan = dllm::quant::PlanTypes(target, shapes, n_layer);
    REQUIRE(f.tensors().size() == src->tensors().size());
    int quantized = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
      const auto& s = src->tensors()[i];
      const auto& t = f.tensors()[i];
      CAPTURE(t.name);
      CHECK(t.name == s.name);
      CHECK(t.dims == s.dims);
      if (!plan[i].quantize) {
        CHECK(t.type_id == s.type_id);
        CHECK(std::memcmp(t.data, s.data, s.n_bytes) == 0);
        continue;
      }
      ++quantized;
      CHECK(t.type_id == static_cast<uint32_t>(plan[i].type));
      // The row length decides whether the rule's type was kept.
      const uint32_t block = dllm::FindGgmlType(static_cast<uint32_t>(plan[i].preferred))->block_size;
      CHECK(plan[i].fallback() == (t.dims[0] % block != 0));
      const int64_t row = static_cast<int64_t>(t.dims[0]);
      const size_t rb = dllm::quant::RowBytes(plan[i].type, row);
      std::vector<uint8_t> want(rb);
      bool same = true;
      for (uint64_t rr = 0; rr < t.n_elements / t.dims[0] && same; ++rr) {
        dllm::quant::QuantizeRow(plan[i].type, reinterpret_cast<const float*>(s.data) + rr * row,
                                 want.data(), row);
        same = std::memcmp(want.data(), t.data + rr * rb, rb) == 0;
      }
      CHECK_MESSAGE(same, "bytes differ from quant::QuantizeRow of the source");
    }
    CHECK(quantized == r.quantized);
    int counted = 0;
    for (const auto& [type, pt] : r.by_type) counted += pt.tensors;
    CHECK(counted == static_cast<int>(plan.size()));

    // The generator writes the same file for the same target.
    SyntheticConfig c = SyntheticConfig::TinyQuant();
    c.quant_target = name;
    const std::vector<uint8_t> direct = dllm::SyntheticModelBytes(c);
    auto fd = dllm::gguf::File::Open(out, /*use_mmap=*/false);
    std::vector<uint8_t> tool(direct.size());
    {
      std::FILE* fp = std::fopen(out.c_str(), "rb");
      REQUIRE(fp != nullptr);
      const size_t got = std::fread(tool.data(), 1, tool.size(), fp);
      std::fclose(fp);
      CHECK(got == direct.size());
    }
    CHECK(fd->file_size() == direct.size());
    CHECK_MESSAGE(tool == direct, "dllm-mkmodel --type " << name << " differs from dllm-quantize");
  }
}

TEST_CASE("dllm-quantize: the Q4_K_M mix on the TinyQuant layout") {
  const std::string out = Dir() / "mix.gguf";
  const dllm::QuantizeReport r = dllm::QuantizeModelFile(F32Path(), out, "q4_k_m");
  // 6 layers: the ffn_down schedule picks layers 2 and 5 (Q6_K -> Q8_0 fallback on rows of
  // 288 / 96), the others Q5_0; the attn_v schedule (5 V tensors) picks V tensors 2 and 4.
  auto m = dllm::Model::Load(out);
  const auto& L = m->layers();
  CHECK(m->global().token_embd.type == GgmlType::kQ6_K);
  CHECK(m->global().self_cond_gate.type == GgmlType::kQ4_K);
  CHECK(m->global().self_cond_down.type == GgmlType::kQ5_0);
  CHECK(L[0].attn_q.type == GgmlType::kQ4_K);
  CHECK(L[0].attn_output.type == GgmlType::kQ4_K);
  CHECK(L[0].attn_v.type == GgmlType::kQ4_K);
  CHECK(L[2].attn_v.type == GgmlType::kQ6_K);
  CHECK(L[4].attn_v.type == GgmlType::kQ6_K);
  CHECK(L[0].ffn_down.type == GgmlType::kQ5_0);
  CHECK(L[0].ffn_down_exps.type == GgmlType::kQ5_0);
  CHECK(L[2].ffn_down.type == GgmlType::kQ8_0);
  CHECK(L[5].ffn_down_exps.type == GgmlType::kQ8_0);
  CHECK(L[1].ffn_gate_up_exps.type == GgmlType::kQ4_K);
  CHECK(L[1].ffn_gate_inp.type == GgmlType::kF32);
  CHECK(r.by_type.at("Q4_K").tensors == 41);
  CHECK(r.by_type.at("Q5_0").tensors == 9);
  CHECK(r.by_type.at("Q6_K").tensors == 3);
  CHECK(r.by_type.at("Q8_0").tensors == 4);
  CHECK(r.fallbacks.size() == 13);
  // Per-expert slices of a quantized stack start at whole rows.
  CHECK(L[1].ffn_down_exps.row_bytes == dllm::quant::RowBytes(GgmlType::kQ5_0, 96));
  CHECK(L[1].ffn_down_exps.Matrix(3) ==
        L[1].ffn_down_exps.data + 3 * 256 * L[1].ffn_down_exps.row_bytes);
}

TEST_CASE("dllm-quantize: a file from another writer (dg-tiny-f32.gguf)") {
  const std::string in = std::string(DLLM_SHARED_TESTDATA_DIR) + "/dg-tiny-f32.gguf";
  const std::string out = Dir() / "dg-tiny-q4km.gguf";
  const dllm::QuantizeReport r = dllm::QuantizeModelFile(in, out, "Q4_K_M");
  auto m = dllm::Model::Load(out);
  CHECK(m->hparams().n_vocab == 4096);
  CHECK(m->global().token_embd.type == GgmlType::kQ6_K);
  CHECK(m->layers()[0].ffn_down_exps.type == GgmlType::kQ5_0);  // rows of 64
  CHECK(r.copied == 144 - r.quantized);
  CHECK(m->file().GetString("tokenizer.ggml.model") == "llama");
  CHECK(m->file().GetStringArray("tokenizer.ggml.tokens").size() == 4096);
}

TEST_CASE("dllm-quantize: errors") {
  SUBCASE("missing input") {
    ExpectError([] { dllm::QuantizeModelFile(Dir() / "nope.gguf", Dir() / "x.gguf", "Q8_0"); },
                ErrorCode::kIo, "nope.gguf");
  }
  SUBCASE("bad type name lists the valid ones") {
    ExpectError([] { dllm::QuantizeModelFile(F32Path(), Dir() / "x.gguf", "Q4_K_Z"); },
                ErrorCode::kInvalidArgument, "Q4_K_M, Q5_K_M");
    ExpectError([] { dllm::QuantizeModelFile(F32Path(), Dir() / "x.gguf", "IQ4_NL"); },
                ErrorCode::kInvalidArgument, "'IQ4_NL'");
  }
  SUBCASE("requantizing an already quantized tensor") {
    const std::string q = Dir() / "q4_0-input.gguf";
    dllm::QuantizeModelFile(F32Path(), q, "Q4_0");
    ExpectError([&] { dllm::QuantizeModelFile(q, Dir() / "x.gguf", "Q8_0"); },
                ErrorCode::kUnsupported, "is already quantized (Q4_0)");
    // Same type everywhere is a plain copy, not a requantization.
    CHECK_NOTHROW(dllm::QuantizeModelFile(q, Dir() / "x.gguf", "Q4_0"));
  }
  SUBCASE("another architecture") {
    dllm::gguf::Writer w;
    w.AddMetadata("general.architecture", dllm::gguf::Value::Str("llama"));
    w.WriteToFile(Dir() / "llama.gguf");
    ExpectError([] { dllm::QuantizeModelFile(Dir() / "llama.gguf", Dir() / "x.gguf", "Q8_0"); },
                ErrorCode::kUnsupported, "architecture 'llama'");
  }
  SUBCASE("not a GGUF file") {
    {
      std::FILE* fp = std::fopen((Dir() / "junk.gguf").c_str(), "wb");
      std::fputs("this is not a gguf file at all", fp);
      std::fclose(fp);
    }
    ExpectError([] { dllm::QuantizeModelFile(Dir() / "junk.gguf", Dir() / "x.gguf", "Q8_0"); },
                ErrorCode::kFormat, "");
  }
  // No scratch or temporary file is left behind.
  for (const auto& e : fs::directory_iterator(Dir().path)) {
    const std::string n = e.path().filename().string();
    CHECK_MESSAGE(n.find(".data.") == std::string::npos, n);
    CHECK_MESSAGE(n.find(".tmp.") == std::string::npos, n);
  }
}
