// Writes the tiny synthetic model the wrapper, example and CLI tests run on.
#include <cstdio>
#include <exception>

#include "synthetic.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: capi_make_model OUT.gguf\n");
    return 2;
  }
  try {
    dllm::WriteSyntheticModel(dllm::SyntheticConfig::Tiny(), argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capi_make_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
