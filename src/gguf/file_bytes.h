// The bytes of a file held for the lifetime of a gguf::File: a read-only memory mapping, an owned
// 64-byte-aligned copy, or a moved-in vector. Internal to the gguf library.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dllm {
namespace gguf {

class FileBytes {
 public:
  // Map `path` read-only. Throws Error(kIo) naming the path and the OS error.
  static std::unique_ptr<FileBytes> Map(const std::string& path);
  // Read `path` whole into a 64-byte-aligned buffer. Throws Error(kIo) / Error(kOutOfMemory).
  static std::unique_ptr<FileBytes> Read(const std::string& path);
  static std::unique_ptr<FileBytes> FromVector(std::vector<uint8_t> bytes);

  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes();

  // Never nullptr (an empty file points at a static byte); `size()` bytes are readable.
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  enum class Kind { kMapped, kAligned, kVector };
  FileBytes() = default;

  Kind kind_ = Kind::kVector;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  void* owned_ = nullptr;      // mapping address (kMapped) or aligned buffer (kAligned)
  std::vector<uint8_t> vec_;   // kVector storage
};

}  // namespace gguf
}  // namespace dllm
