// Test helper: rewrite a GGUF file with edits (drop/replace keys and tensors), to build
// malformed or unusual model files from a valid one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/writer.h"

namespace dllm::test {

struct GgufEdit {
  // Return false to drop the key; may modify the value.
  std::function<bool(const std::string& key, gguf::Value& value)> key;
  // Return false to drop the tensor; may modify type, dims and bytes.
  std::function<bool(const std::string& name, uint32_t& type, std::vector<uint64_t>& dims,
                     std::vector<uint8_t>& bytes)>
      tensor;
  // Extra metadata and tensors appended at the end.
  std::function<void(gguf::Writer&)> extra;
};

inline std::vector<uint8_t> EditGguf(const std::vector<uint8_t>& original, const GgufEdit& edit) {
  auto f = gguf::File::FromBuffer(original);
  gguf::Writer w(f->version());
  for (const auto& [k, v] : f->metadata()) {
    gguf::Value value = v;
    if (edit.key && !edit.key(k, value)) continue;
    w.AddMetadata(k, value);
  }
  for (const gguf::TensorInfo& t : f->tensors()) {
    uint32_t type = t.type_id;
    std::vector<uint64_t> dims = t.dims;
    std::vector<uint8_t> bytes(t.data, t.data + t.n_bytes);
    if (edit.tensor && !edit.tensor(t.name, type, dims, bytes)) continue;
    w.AddTensor(t.name, type, dims, bytes.data(), bytes.size());
  }
  if (edit.extra) edit.extra(w);
  return w.WriteToBuffer();
}

}  // namespace dllm::test
