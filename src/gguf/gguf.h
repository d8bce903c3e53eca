// GGUF reader: validates a whole GGUF v2/v3 file up front and then gives zero-copy access to its
// metadata and tensor data.
//
// Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv key/value pairs,
// n_tensors tensor infos (name, u32 n_dims, u64 dims[n_dims] row length first, u32 ggml type,
// u64 offset relative to the data section), zero padding up to the alignment, the data section.
//
// Everything read from the file is treated as hostile: every count, length, dim, size and offset is
// checked against the file size with overflow-safe arithmetic before anything is allocated or
// read, so a corrupt or truncated file gives Error(kFormat) (or kUnsupported for a valid file using
// a version or tensor type dllm does not know) naming what is wrong and where, never a crash or a
// huge allocation.
//
// Accepted beyond what llama.cpp itself accepts: tensor offsets in any order and with gaps (they
// must still be aligned and must not overlap), nested arrays (depth <= kMaxArrayDepth), tensor names
// of any length, and a file that ends right after the last tensor's bytes (without the final
// padding). Rejected although llama.cpp accepts it: n_dims == 0 and dims equal to 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gguf/value.h"

namespace dllm {
namespace gguf {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
// Arrays nest at most this deep (an array of scalars has depth 1).
constexpr uint32_t kMaxArrayDepth = 8;
// Upper bound on the number of array elements in all metadata together. Each parsed element costs
// sizeof(Value) bytes of memory although it may occupy 1 byte in the file, so this caps the memory
// a hostile file can make the reader allocate (real files hold < 2 million: vocabularies, merges).
constexpr uint64_t kMaxMetadataElements = uint64_t{1} << 24;
// llama.cpp rejects tensor names of this many bytes or more (GGML_MAX_NAME); the writer enforces it.
constexpr size_t kMaxTensorNameBytes = 63;
constexpr const char* kAlignmentKey = "general.alignment";

struct TensorInfo {
  std::string name;
  uint32_t type_id = 0;         // ggml type id (see gguf/types.h); always a known type
  std::vector<uint64_t> dims;   // ne0 (row length) first; 1..4 dims, each >= 1
  uint64_t n_elements = 0;      // product of dims
  uint64_t offset = 0;          // relative to the data section; a multiple of the alignment
  uint64_t n_bytes = 0;         // bytes of data, from dims and the type's block geometry
  const uint8_t* data = nullptr;  // view into the File's bytes; valid while the File lives
};

class FileBytes;  // the mapping or buffer holding the file's bytes (gguf/file_bytes.h)

// An opened, fully validated GGUF file. Immutable after Open/FromBuffer: any number of threads
// may read it (and its tensor data) concurrently. Movable, not copyable.
class File {
 public:
  // Opens and validates `path`. With use_mmap the file is mapped read-only (tensor data is paged in
  // on first touch); otherwise it is read whole into an owned 64-byte-aligned buffer. Either way
  // tensor data pointers are aligned to min(alignment(), 64) bytes. Throws Error(kIo) when the file
  // cannot be opened, mapped or read, and the validation errors described above.
  // The file must not be truncated by another process while mapped (that would raise SIGBUS).
  static std::unique_ptr<File> Open(const std::string& path, bool use_mmap = true);
  // Parses bytes held in memory (tests, embedded models). Tensor data pointers point into the
  // moved-in vector, so they are only as aligned as the vector's allocation.
  static std::unique_ptr<File> FromBuffer(std::vector<uint8_t> bytes);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();  // unmaps / frees the bytes; invalidates every TensorInfo::data pointer

  uint32_t version() const { return version_; }
  uint64_t file_size() const { return file_size_; }
  uint32_t alignment() const { return alignment_; }
  // Byte offset of the data section (end of the tensor infos rounded up to the alignment).
  uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  // nullptr when the key is absent.
  const Value* Find(const std::string& key) const;
  // The value of a required key; throws Error(kFormat) "missing metadata key '<key>'".
  const Value& Get(const std::string& key) const;

  // Typed getters: throw Error(kFormat) naming the key when it is missing or its value does not
  // convert (message includes the found type), with Value's conversion rules (e.g. GetU32 accepts
  // any integer type holding a value in [0, 2^32)). The overloads with a default return it when
  // the key is absent (a present key of the wrong type still throws).
  uint32_t GetU32(const std::string& key) const;
  uint32_t GetU32(const std::string& key, uint32_t default_value) const;
  uint64_t GetU64(const std::string& key) const;
  int32_t GetI32(const std::string& key) const;
  int64_t GetI64(const std::string& key) const;
  float GetF32(const std::string& key) const;
  float GetF32(const std::string& key, float default_value) const;
  double GetF64(const std::string& key) const;
  bool GetBool(const std::string& key) const;
  bool GetBool(const std::string& key, bool default_value) const;
  const std::string& GetString(const std::string& key) const;
  std::string GetString(const std::string& key, const std::string& default_value) const;
  std::vector<std::string> GetStringArray(const std::string& key) const;
  std::vector<float> GetF32Array(const std::string& key) const;
  std::vector<int64_t> GetI64Array(const std::string& key) const;
  std::vector<bool> GetBoolArray(const std::string& key) const;

  // Tensors in file order (the order of the tensor infos, not of the data).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorInfo* FindTensor(const std::string& name) const;

 private:
  File();
  static std::unique_ptr<File> Parse(std::unique_ptr<FileBytes> bytes);
  void ParseOrThrow();

  std::unique_ptr<FileBytes> bytes_;
  uint32_t version_ = 0;
  uint64_t file_size_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace gguf
}  // namespace dllm
