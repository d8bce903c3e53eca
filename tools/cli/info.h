#pragma once

#include "dllm/dllm.hpp"
#include "options.h"

namespace cli {
// dllm-cli info: prints what the model is and what running it will need.
void PrintInfo(const dllm::Model& model, const std::string& path, const Options& options);
}  // namespace cli
