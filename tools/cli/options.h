// dllm-cli's command line: llama.cpp-style flags where they make sense.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dllm/dllm.hpp"

namespace cli {

struct Options {
  std::string command;        // generate | chat | info
  std::string model;          // -m
  std::string prompt;         // -p / -f
  bool have_prompt = false;
  std::string system;         // --system
  bool chat = false;          // generate --chat: the prompt is a user message
  bool think = false;         // --think
  bool visual = false;        // --visual
  bool raw = false;           // --raw: print the transcript with control tokens
  bool metrics = true;        // --no-metrics turns the summary off
  bool no_mmap = false;
  int verbosity = 0;          // -v: info logs, -vv: debug logs
  int64_t n_ctx = 0;          // -c
  int threads = 0;            // -t
  // Sampler overrides (unset: the model's defaults).
  std::optional<int> steps, stability;
  std::optional<float> temp, t_min, t_max, entropy_bound, confidence, sc_threshold;
  std::optional<uint64_t> seed;
  std::optional<int64_t> n_predict;
  std::vector<int32_t> stop_ids;
  bool fixed_steps = false, argmax = false;

  dllm::SamplerSettings Sampler(const dllm::Model& model) const;
};

// Parses argv; on a usage error prints it and returns nullopt with *exit_code set.
std::optional<Options> ParseOptions(int argc, char** argv, int* exit_code);

}  // namespace cli
