// ggml tensor types as GGUF files store them: ids, names and block geometry.
// A tensor row of n values of type t occupies n / BlockSize(t) * TypeSize(t) bytes, and n must be
// a multiple of BlockSize(t).
#pragma once

#include <cstdint>
#include <string>

namespace dllm {

// Ids are fixed by the GGUF format (ggml.h). Ids 4 and 5 (old Q4_2/Q4_3) are retired.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
};

struct GgmlTypeTraits {
  const char* name;     // "Q4_K", as ggml names it
  uint32_t block_size;  // values per block
  uint32_t type_size;   // bytes per block
};

// Geometry of a known type, or nullptr when the id is not a ggml type we know the layout of.
const GgmlTypeTraits* FindGgmlType(uint32_t id);

// "Q4_K" for known ids, "unknown type 77" otherwise.
std::string GgmlTypeName(uint32_t id);
inline std::string GgmlTypeName(GgmlType t) { return GgmlTypeName(static_cast<uint32_t>(t)); }

// Bytes for `n` values of type `t` laid out as whole blocks. Returns false when `n` is not a
// multiple of the block size, the type is unknown, or the size overflows.
bool GgmlRowBytes(uint32_t type_id, uint64_t n, uint64_t* bytes);

}  // namespace dllm
