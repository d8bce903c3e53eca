// Internal error type of the engine. Engine code reports failures by throwing dllm::Error; the
// C ABI shim (capi/) catches every exception and turns it into a dllm_status plus a message.
// Nothing in the engine aborts or exits on bad input.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace dllm {

// Mirrors the public dllm_status values (capi maps them 1:1).
enum class ErrorCode : int {
  kInvalidArgument = 1,  // a caller passed something invalid (NULL, bad size, NaN, range)
  kIo = 2,               // the operating system failed (open, mmap, read, write)
  kFormat = 3,           // a file is malformed (truncated, hostile counts, wrong shapes)
  kUnsupported = 4,      // valid but not supported (tensor type, architecture, version)
  kOutOfMemory = 5,      // an allocation failed or would be absurd
  kCancelled = 6,        // the caller cancelled a running operation
  kInternal = 7,         // a bug in dllm
};

const char* ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Throws Error(code, message). Kept out of line so call sites stay small.
[[noreturn]] void Throw(ErrorCode code, const std::string& message);

// Overflow-safe arithmetic for sizes read from files: return false on overflow.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

}  // namespace dllm
