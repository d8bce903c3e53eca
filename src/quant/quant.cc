// Validation and dispatch for quant.h; the kernels live in dequant.cc, quantize.cc and
// quantize_k.cc.
#include "quant/quant.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "quant/internal.h"
#include "util/error.h"

namespace dllm {
namespace quant {
namespace {

using DequantFn = void (*)(const uint8_t*, float*, int64_t);
using QuantFn = void (*)(const float*, uint8_t*, int64_t);

void DequantizeF32(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void QuantizeF32(const float* src, uint8_t* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

// One entry per supported type. The kernels take a count of blocks (values for the
// one-value-per-block types, where the two coincide).
struct Kernels {
  GgmlType type;
  DequantFn dequantize;
  QuantFn quantize;
};

constexpr Kernels kKernels[] = {
    {GgmlType::kF32, DequantizeF32, QuantizeF32},
    {GgmlType::kF16, internal::DequantizeF16, internal::QuantizeF16},
    {GgmlType::kBF16, internal::DequantizeBf16, internal::QuantizeBf16},
    {GgmlType::kQ4_0, internal::DequantizeQ4_0, internal::QuantizeQ4_0},
    {GgmlType::kQ4_1, internal::DequantizeQ4_1, internal::QuantizeQ4_1},
    {GgmlType::kQ5_0, internal::DequantizeQ5_0, internal::QuantizeQ5_0},
    {GgmlType::kQ5_1, internal::DequantizeQ5_1, internal::QuantizeQ5_1},
    {GgmlType::kQ8_0, internal::DequantizeQ8_0, internal::QuantizeQ8_0},
    {GgmlType::kQ2_K, internal::DequantizeQ2_K, internal::QuantizeQ2_K},
    {GgmlType::kQ3_K, internal::DequantizeQ3_K, internal::QuantizeQ3_K},
    {GgmlType::kQ4_K, internal::DequantizeQ4_K, internal::QuantizeQ4_K},
    {GgmlType::kQ5_K, internal::DequantizeQ5_K, internal::QuantizeQ5_K},
    {GgmlType::kQ6_K, internal::DequantizeQ6_K, internal::QuantizeQ6_K},
};

const Kernels* Find(GgmlType type) {
  for (const Kernels& k : kKernels) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

// Checks the arguments of a (de)quantization call and returns the kernels and the block count.
const Kernels& Validate(const char* what, GgmlType type, const void* src, const void* dst,
                        int64_t n, int64_t* n_blocks) {
  const Kernels* k = Find(type);
  if (k == nullptr) {
    Throw(ErrorCode::kUnsupported,
          std::string(what) + ": tensor type " + GgmlTypeName(type) + " is not supported");
  }
  if (n < 0) {
    Throw(ErrorCode::kInvalidArgument,
          std::string(what) + ": negative value count " + std::to_string(n));
  }
  const uint32_t block = FindGgmlType(static_cast<uint32_t>(type))->block_size;
  if (n % block != 0) {
    Throw(ErrorCode::kInvalidArgument, std::string(what) + ": " + std::to_string(n) +
                                           " values are not a whole number of " +
                                           GgmlTypeName(type) + " blocks of " +
                                           std::to_string(block));
  }
  if (n > 0 && (src == nullptr || dst == nullptr)) {
    Throw(ErrorCode::kInvalidArgument, std::string(what) + ": null buffer for " +
                                           std::to_string(n) + " values of " +
                                           GgmlTypeName(type));
  }
  *n_blocks = n / block;
  return *k;
}

}  // namespace

bool CanDequantize(GgmlType type) { return Find(type) != nullptr; }

bool CanQuantize(GgmlType type) { return Find(type) != nullptr; }

void DequantizeRow(GgmlType type, const void* src, float* dst, int64_t n) {
  int64_t nb = 0;
  const Kernels& k = Validate("DequantizeRow", type, src, dst, n, &nb);
  if (nb > 0) k.dequantize(static_cast<const uint8_t*>(src), dst, nb);
}

void QuantizeRow(GgmlType type, const float* src, void* dst, int64_t n) {
  int64_t nb = 0;
  const Kernels& k = Validate("QuantizeRow", type, src, dst, n, &nb);
  if (nb > 0) k.quantize(src, static_cast<uint8_t*>(dst), nb);
}

size_t RowBytes(GgmlType type, int64_t n) {
  const GgmlTypeTraits* t = FindGgmlType(static_cast<uint32_t>(type));
  if (t == nullptr) {
    Throw(ErrorCode::kUnsupported, "RowBytes: unknown tensor type " + GgmlTypeName(type));
  }
  uint64_t bytes = 0;
  if (n < 0 || !GgmlRowBytes(static_cast<uint32_t>(type), static_cast<uint64_t>(n), &bytes) ||
      bytes > SIZE_MAX) {
    Throw(ErrorCode::kInvalidArgument, "RowBytes: " + std::to_string(n) + " values of " +
                                           GgmlTypeName(type) +
                                           " are not a whole number of blocks or overflow");
  }
  return static_cast<size_t>(bytes);
}

}  // namespace quant
}  // namespace dllm
