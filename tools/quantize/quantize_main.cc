// dllm-quantize: converts an F32 / F16 / BF16 DiffusionGemma GGUF to a quantization target.
//
//   dllm-quantize IN.gguf OUT.gguf TYPE [--quiet]
//
// TYPE: Q4_K_M, Q5_K_M (llama.cpp's mixes, as in the published files), or a single type F32, F16,
// BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (case-insensitive). See
// docs/quantization.md for the per-tensor rules. Prints the tensor count and size per output
// type. Progress goes to stderr: one line rewritten in place on a terminal, a line per tensor
// otherwise (a log). Exit status 0 on success, 1 on an error (message on stderr), 2 on bad usage.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

#include "quant/mix.h"
#include "quantize.h"

namespace {

void Usage() {
  std::string names;
  for (const std::string& n : dllm::quant::MixTargetNames()) names += (names.empty() ? "" : ", ") + n;
  std::fprintf(stderr,
               "usage: dllm-quantize IN.gguf OUT.gguf TYPE [--quiet]\n"
               "TYPE: %s\n",
               names.c_str());
}

double MiB(uint64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  std::string args[3];
  int n = 0;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    }
    if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (n < 3) {
      args[n++] = a;
    } else {
      std::fprintf(stderr, "dllm-quantize: unexpected argument '%s'\n", a.c_str());
      Usage();
      return 2;
    }
  }
  if (n != 3) {
    Usage();
    return 2;
  }
  dllm::quant::MixTarget target;
  if (!dllm::quant::ParseMixTarget(args[2], &target)) {
    std::fprintf(stderr, "dllm-quantize: unknown type '%s'\n", args[2].c_str());
    Usage();
    return 2;
  }
  dllm::QuantizeOptions options;
  const bool tty = isatty(fileno(stderr)) != 0;
  if (!quiet) {
    if (tty) {
      options.progress = [](size_t done, size_t total, const std::string& name) {
        std::fprintf(stderr, "\r[%zu/%zu] %-48s", done, total, name.c_str());
        if (done == total) std::fprintf(stderr, "\n");
      };
    } else {
      options.progress = [](size_t done, size_t total, const std::string& name) {
        std::fprintf(stderr, "[%zu/%zu] %s\n", done, total, name.c_str());
      };
    }
  }
  dllm::QuantizeReport r;
  try {
    r = dllm::QuantizeModelFile(args[0], args[1], args[2], options);
  } catch (const std::exception& e) {
    if (!quiet && tty) std::fprintf(stderr, "\n");  // ends the progress line
    std::fprintf(stderr, "dllm-quantize: %s\n", e.what());
    return 1;
  }
  std::printf("%s -> %s (%s, general.file_type %u)\n", args[0].c_str(), args[1].c_str(),
              r.target.c_str(), r.file_type);
  std::printf("%-6s %8s %12s\n", "type", "tensors", "MiB");
  int tensors = 0;
  uint64_t bytes = 0;
  for (const auto& [type, pt] : r.by_type) {
    std::printf("%-6s %8d %12.2f\n", type.c_str(), pt.tensors, MiB(pt.bytes));
    tensors += pt.tensors;
    bytes += pt.bytes;
  }
  std::printf("%-6s %8d %12.2f\n", "total", tensors, MiB(bytes));
  std::printf("quantized %d tensors, copied %d; file %.2f MiB -> %.2f MiB\n", r.quantized,
              r.copied, MiB(r.input_bytes), MiB(r.output_bytes));
  if (!r.fallbacks.empty()) {
    std::printf("%zu tensors fell back to another type (row length not a multiple of the block):\n",
                r.fallbacks.size());
    if (!quiet) {
      for (const std::string& f : r.fallbacks) std::printf("  %s\n", f.c_str());
    }
  }
  return 0;
}
