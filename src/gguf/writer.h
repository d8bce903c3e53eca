// GGUF writer with llama.cpp's layout: header, key/value pairs in insertion order, tensor infos in
// insertion order with offsets relative to the data section, zero padding up to the alignment,
// then each tensor's bytes followed by zero padding up to the alignment (the last one too). Tensor
// offsets are the running sum of the padded sizes, which is exactly what llama.cpp's loader
// requires, so the files load in llama.cpp (as long as they use no nested arrays, which its C
// loader rejects). Reading a file written by the gguf Python package or by ggml and adding the
// same keys and tensors in the same order reproduces it byte for byte.
//
// Not thread-safe; a Writer is a builder used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/value.h"

namespace dllm {
namespace gguf {

class Writer {
 public:
  // `version` must be 2 or 3 (their layouts are identical); otherwise Error(kInvalidArgument).
  explicit Writer(uint32_t version = 3);

  // Sets the data alignment (a power of two > 0, else Error(kInvalidArgument)) and records it as
  // the UINT32 key `general.alignment`: appended to the metadata now if absent, updated in place
  // if present. Without a call the alignment is 32 and no key is written (like the gguf Python
  // package and ggml, which only write the key when asked to).
  void SetAlignment(uint32_t alignment);
  uint32_t alignment() const { return alignment_; }

  // Appends a key/value pair. Errors (kInvalidArgument): duplicate key; arrays nested deeper than
  // kMaxArrayDepth; `general.alignment` that is not a UINT32 power of two (a valid one also sets
  // the alignment, as SetAlignment would).
  void AddMetadata(std::string key, Value v);

  // Appends a tensor and copies its bytes. `dims` is row length first (1..4 dims, each >= 1).
  // Errors (kInvalidArgument): duplicate or over-long name (>= 64 bytes, llama.cpp's limit),
  // unknown type id, bad dims, row length not a multiple of the type's block size, or `n_bytes`
  // different from the size the dims and type imply.
  void AddTensor(std::string name, uint32_t type_id, std::vector<uint64_t> dims, const void* data,
                 size_t n_bytes);
  // As AddTensor but without copying: `data` must stay valid and unchanged until the last
  // WriteToBuffer/WriteToFile call (for writing large models without holding a second copy).
  void AddTensorView(std::string name, uint32_t type_id, std::vector<uint64_t> dims,
                     const void* data, size_t n_bytes);

  size_t n_metadata() const { return metadata_.size(); }
  size_t n_tensors() const { return tensors_.size(); }
  // Total size of the file that Write* produces.
  uint64_t FileSize() const;

  // The whole file in memory. Error(kOutOfMemory) when it cannot be allocated.
  std::vector<uint8_t> WriteToBuffer() const;
  // Streams the file to a temporary file in the same directory (`<path>.tmp.<pid>.<n>`), flushes
  // it to disk and renames it over `path`, so readers never see a partial file. Errors: kIo
  // (naming the path and the OS error); the temporary file is removed on failure.
  void WriteToFile(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    uint32_t type_id;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> owned;  // empty for views
    const uint8_t* data;
    uint64_t n_bytes;
  };

  void AddTensorImpl(std::string name, uint32_t type_id, std::vector<uint64_t> dims,
                     const void* data, size_t n_bytes, bool copy);
  // Header, metadata, tensor infos and the padding up to the data section.
  std::vector<uint8_t> SerializeHead() const;
  // Bytes of the data section (every tensor padded to the alignment).
  uint64_t DataBytes() const;

  uint32_t version_;
  uint32_t alignment_ = kDefaultAlignment;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<PendingTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace gguf
}  // namespace dllm
