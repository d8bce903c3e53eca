// Versioned structs of the C ABI (dllm.h, "Versioned structs"): every struct starts with
// uint32_t struct_size. A caller built against an older header passes a smaller size (rejected
// while only version 1 exists), one built against a newer header a larger one (accepted when the
// bytes this library does not know are zero). Sizes beyond kMaxStructGrowth bytes over ours are
// treated as uninitialized memory rather than read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "status.h"

namespace dllm {
namespace capi {

constexpr size_t kMaxStructGrowth = 1024;

// Checks a caller-provided struct_size for struct `what` of this library's size `ours`.
inline void CheckStructSize(size_t size, size_t ours, const char* what) {
  if (size < ours) {
    InvalidArgument(std::string(what) + ".struct_size = " + std::to_string(size) +
                    " is smaller than this library's " + std::to_string(ours) +
                    " (not initialized, or built against an incompatible header)");
  }
  if (size > ours + kMaxStructGrowth) {
    InvalidArgument(std::string(what) + ".struct_size = " + std::to_string(size) +
                    " is implausibly large (not initialized?)");
  }
}

// Copies an input struct, checking its size and that fields unknown to this library are zero.
template <class T>
T ReadStruct(const T& in, const char* what) {
  const size_t size = in.struct_size;
  CheckStructSize(size, sizeof(T), what);
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&in);
  for (size_t i = sizeof(T); i < size; ++i) {
    if (bytes[i] != 0) {
      Fail(DLLM_ERROR_UNSUPPORTED,
           std::string(what) + " sets fields this library (dllm " DLLM_VERSION_STRING
                               ") does not know (non-zero byte at offset " +
               std::to_string(i) + ")");
    }
  }
  T out;
  std::memcpy(&out, &in, sizeof(T));
  return out;
}

// Validates an output struct's size before any work is done.
template <class T>
void CheckOutStruct(const T* out, const char* what) {
  if (!out) InvalidArgument(std::string(what) + " is NULL");
  CheckStructSize(out->struct_size, sizeof(T), what);
}

// Writes `value` into a caller's output struct (already checked), zeroing the caller's tail.
template <class T>
void WriteStruct(T* out, const T& value) {
  const size_t size = out->struct_size;
  std::memcpy(out, &value, sizeof(T));
  std::memset(reinterpret_cast<unsigned char*>(out) + sizeof(T), 0, size - sizeof(T));
  out->struct_size = static_cast<uint32_t>(size);
}

// *_init: defaults into a struct the caller says is `size` bytes.
template <class T>
void InitStruct(T* out, size_t size, const T& defaults, const char* what) {
  if (!out) InvalidArgument(std::string(what) + " is NULL");
  CheckStructSize(size, sizeof(T), what);
  std::memcpy(out, &defaults, sizeof(T));
  std::memset(reinterpret_cast<unsigned char*>(out) + sizeof(T), 0, size - sizeof(T));
  out->struct_size = static_cast<uint32_t>(size);
}

// Text given as (pointer, length or DLLM_NUL_TERMINATED).
inline std::string TextArg(const char* text, size_t len, const char* what) {
  if (len == DLLM_NUL_TERMINATED) {
    if (!text) InvalidArgument(std::string(what) + " is NULL");
    return std::string(text);
  }
  if (!text && len > 0) {
    InvalidArgument(std::string(what) + " is NULL but its length is " + std::to_string(len));
  }
  return len ? std::string(text, len) : std::string();
}

// Copies `s` into a caller buffer of `capacity` bytes with a NUL, or reports the needed length.
inline void CopyOut(const std::string& s, char* buffer, size_t capacity, size_t* length,
                    const char* what) {
  *length = s.size();
  if (capacity < s.size() + 1) {
    Fail(DLLM_ERROR_BUFFER_TOO_SMALL, std::string(what) + " needs " +
                                          std::to_string(s.size() + 1) + " bytes, capacity is " +
                                          std::to_string(capacity));
  }
  if (!buffer) InvalidArgument(std::string(what) + " buffer is NULL with capacity > 0");
  std::memcpy(buffer, s.data(), s.size());
  buffer[s.size()] = '\0';
}

}  // namespace capi
}  // namespace dllm
