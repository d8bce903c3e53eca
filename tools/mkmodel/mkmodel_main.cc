// dllm-mkmodel: writes a random-weight DiffusionGemma GGUF (for tests and benchmarks).
//
//   dllm-mkmodel [--preset tiny|tiny-quant|real-dims] [--layers N] [--type TARGET]
//                [--embedding-type TYPE] [--seed S] [--embd D] [--vocab V] [--canvas C]
//                [--window W] [--experts E] [--experts-used K] [--split-experts] -o OUT.gguf
//
// TARGET is any dllm-quantize target (docs/quantization.md): Q4_K_M, Q5_K_M, F32, F16, BF16,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (case-insensitive). Tensor types then
// follow that target's rules (router and vectors F32), so e.g. `--preset real-dims --type
// q4_k_m` has the published Q4_K_M file's type mix. Without --type: tiny/tiny-quant are all F32,
// real-dims has BF16 matrices (router included) as before.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "quant/mix.h"
#include "synthetic.h"
#include "util/error.h"

namespace {

std::string TargetList() {
  std::string s;
  for (const std::string& n : dllm::quant::MixTargetNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void Usage() {
  std::fprintf(stderr,
               "usage: dllm-mkmodel [--preset tiny|tiny-quant|real-dims] [--layers N] "
               "[--type TARGET]\n"
               "                    [--embedding-type TYPE] [--seed S] [--embd D] [--vocab V] "
               "[--canvas C]\n"
               "                    [--window W] [--experts E] [--experts-used K] "
               "[--split-experts] -o OUT.gguf\n"
               "TARGET / TYPE: %s\n",
               TargetList().c_str());
}

int64_t ParseInt(const char* flag, const char* s) {
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (!end || *end || v < 0) {
    std::fprintf(stderr, "dllm-mkmodel: %s needs a non-negative integer, got '%s'\n", flag, s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "tiny", out, type, embedding_type;
  int64_t layers = -1, seed = -1, embd = -1, vocab = -1, canvas = -1, window = -1, experts = -1,
          experts_used = -1;
  bool split = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dllm-mkmodel: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--preset") preset = value();
    else if (a == "--layers") layers = ParseInt("--layers", value());
    else if (a == "--type") type = value();
    else if (a == "--embedding-type") embedding_type = value();
    else if (a == "--seed") seed = ParseInt("--seed", value());
    else if (a == "--embd") embd = ParseInt("--embd", value());
    else if (a == "--vocab") vocab = ParseInt("--vocab", value());
    else if (a == "--canvas") canvas = ParseInt("--canvas", value());
    else if (a == "--window") window = ParseInt("--window", value());
    else if (a == "--experts") experts = ParseInt("--experts", value());
    else if (a == "--experts-used") experts_used = ParseInt("--experts-used", value());
    else if (a == "--split-experts") split = true;
    else if (a == "-o" || a == "--output") out = value();
    else if (a == "-h" || a == "--help") { Usage(); return 0; }
    else {
      std::fprintf(stderr, "dllm-mkmodel: unknown argument '%s'\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (out.empty()) {
    Usage();
    return 2;
  }
  dllm::SyntheticConfig c;
  if (preset == "tiny") {
    c = dllm::SyntheticConfig::Tiny();
  } else if (preset == "tiny-quant") {
    c = dllm::SyntheticConfig::TinyQuant();
  } else if (preset == "real-dims") {
    c = dllm::SyntheticConfig::RealDims(layers > 0 ? layers : 2);
  } else {
    std::fprintf(stderr, "dllm-mkmodel: unknown preset '%s' (tiny, tiny-quant, real-dims)\n",
                 preset.c_str());
    return 2;
  }
  if (layers > 0) c.n_layer = layers;
  if (seed >= 0) c.seed = static_cast<uint64_t>(seed);
  if (embd > 0) c.n_embd = embd;
  if (vocab > 0) c.n_vocab = vocab;
  if (canvas > 0) c.canvas_length = canvas;
  if (window > 0) c.sliding_window = window;
  if (experts > 0) c.n_expert = experts;
  if (experts_used > 0) c.n_expert_used = experts_used;
  if (split) c.fused_gate_up = false;
  dllm::quant::MixTarget target;
  if (!type.empty()) {
    if (!dllm::quant::ParseMixTarget(type, &target)) {
      std::fprintf(stderr, "dllm-mkmodel: unknown --type '%s' (%s)\n", type.c_str(),
                   TargetList().c_str());
      return 2;
    }
    c.quant_target = target.name;
  }
  if (!embedding_type.empty()) {
    dllm::quant::MixTarget e;
    if (!dllm::quant::ParseMixTarget(embedding_type, &e) ||
        e.kind != dllm::quant::MixTarget::Kind::kSingle) {
      std::fprintf(stderr, "dllm-mkmodel: unknown --embedding-type '%s' (a single type)\n",
                   embedding_type.c_str());
      return 2;
    }
    c.embedding_type = e.base;
    c.embedding_type_override = static_cast<int>(e.base);
  }
  try {
    dllm::WriteSyntheticModel(c, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dllm-mkmodel: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
