// Helpers shared by the fuzz targets.
#pragma once

#include <cstdlib>

namespace dllm::fuzz {

// DLLM_FUZZ_VERBOSE=1: say what happened to each input (replaying a corpus by hand).
inline bool Verbose() {
  static const bool v = std::getenv("DLLM_FUZZ_VERBOSE") != nullptr;
  return v;
}

}  // namespace dllm::fuzz
