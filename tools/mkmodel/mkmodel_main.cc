// dllm-mkmodel: writes a random-weight DiffusionGemma GGUF (for tests and benchmarks).
//
//   dllm-mkmodel [--preset tiny|real-dims] [--layers N] [--type f32|f16|bf16|q8_0]
//                [--seed S] [--embd D] [--vocab V] [--canvas C] [--window W] [--experts E]
//                [--experts-used K] [--split-experts] -o OUT.gguf
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "synthetic.h"
#include "util/error.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: dllm-mkmodel [--preset tiny|real-dims] [--layers N] "
               "[--type f32|f16|bf16|q8_0]\n"
               "                    [--embedding-type T] [--seed S] [--embd D] [--vocab V] "
               "[--canvas C]\n"
               "                    [--window W] [--experts E] [--experts-used K] "
               "[--split-experts] -o OUT.gguf\n");
}

bool ParseType(const std::string& s, dllm::GgmlType* t) {
  if (s == "f32") *t = dllm::GgmlType::kF32;
  else if (s == "f16") *t = dllm::GgmlType::kF16;
  else if (s == "bf16") *t = dllm::GgmlType::kBF16;
  else if (s == "q8_0") *t = dllm::GgmlType::kQ8_0;
  else return false;
  return true;
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
  } else if (preset == "real-dims") {
    c = dllm::SyntheticConfig::RealDims(layers > 0 ? layers : 2);
  } else {
    std::fprintf(stderr, "dllm-mkmodel: unknown preset '%s' (tiny, real-dims)\n", preset.c_str());
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
  if (!type.empty() && !ParseType(type, &c.weight_type)) {
    std::fprintf(stderr, "dllm-mkmodel: unknown --type '%s' (f32, f16, bf16, q8_0)\n",
                 type.c_str());
    return 2;
  }
  if (!embedding_type.empty() && !ParseType(embedding_type, &c.embedding_type)) {
    std::fprintf(stderr, "dllm-mkmodel: unknown --embedding-type '%s'\n", embedding_type.c_str());
    return 2;
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
