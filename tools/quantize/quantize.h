// dllm-quantize as a library (the tool's main and the tests call it): converts an F32 / F16 / BF16
// DiffusionGemma GGUF to a quantization target of quant/mix.h, with the same quantizers the
// library tests check against ggml's reference (quant::QuantizeRow), so the bytes match what
// llama-quantize writes for the same choice of types.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dllm {

struct QuantizeOptions {
  // Called after each tensor with (tensors done, total tensors, tensor name).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct QuantizeReport {
  struct PerType {
    int tensors = 0;
    uint64_t bytes = 0;  // tensor data bytes (without alignment padding)
  };
  std::string target;                      // canonical target name
  uint32_t file_type = 0;                  // general.file_type written
  std::map<std::string, PerType> by_type;  // output ggml type name -> tensors and bytes
  int quantized = 0;                       // tensors converted (rules applied)
  int copied = 0;                          // tensors copied unchanged (vectors, router, ...)
  // "name: wanted -> stored" for every tensor whose row length forced a fallback type.
  std::vector<std::string> fallbacks;
  uint64_t input_bytes = 0, output_bytes = 0;  // file sizes
};

// Reads `input` (architecture diffusion-gemma), writes `output` atomically with every metadata
// key of the input in its order (general.file_type set to the target's llama_ftype, and
// general.quantization_version = 2 appended when a tensor is block-quantized and the key is
// absent), tensors in the input's order with the types the target's rules choose. Tensors the
// rules do not quantize are copied byte for byte.
// Errors (dllm::Error, nothing is left at `output`): kInvalidArgument for an unknown target name
// (the message lists the valid ones); kIo / kFormat from opening and parsing the input (missing
// file, not GGUF, corrupt); kUnsupported for another architecture or a tensor that would need
// requantizing (its source type is block-quantized and differs from the type the rules choose);
// kIo when the output cannot be written.
QuantizeReport QuantizeModelFile(const std::string& input, const std::string& output,
                                 const std::string& target, const QuantizeOptions& options = {});

}  // namespace dllm
