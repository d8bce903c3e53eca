// GGUF block formats: decoding rows to float32 and encoding float32 rows, scalar reference code.
//
// Both directions reproduce ggml's C reference bit for bit (llama.cpp commit c3fb9724, see
// /work/shared/testdata/README.md):
//   * DequantizeRow evaluates each format's formula exactly as ggml writes it (e.g. Q4_0 is
//     d * (q - 8), Q4_K is d*sc*q - dmin*m), so every output is that formula rounded once to
//     float32, and -0.0 appears exactly where the reference produces it.
//   * QuantizeRow follows the reference quantizers (quantize_row_*_ref, including the scale
//     searches of the K-quants) operation for operation, so it writes the reference's bytes.
//     The library is compiled with -ffp-contract=off so no multiply-add is fused: a fused result
//     differs in the last bit and can flip the searches' comparisons.
//
// A "row" is n consecutive values; n must be a multiple of the type's block size (1 for F32, F16,
// BF16; 32 for Q4_0..Q8_0; 256 for the K-quants). Rows need no alignment.
// Non-finite inputs to QuantizeRow are memory-safe but produce unspecified blocks (F16/BF16
// excepted: they convert Inf and NaN as fp16.h describes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/types.h"

namespace dllm {
namespace quant {

// True for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
bool CanDequantize(GgmlType type);

// Decodes n values of `type` at `src` into dst[0..n). Throws Error(kUnsupported) naming the type
// when !CanDequantize(type), Error(kInvalidArgument) when n is negative or not a multiple of the
// block size, or when a pointer is null and n > 0. Thread-safe (no shared state).
void DequantizeRow(GgmlType type, const void* src, float* dst, int64_t n);

// True for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
bool CanQuantize(GgmlType type);

// Encodes src[0..n) as `type` into RowBytes(type, n) bytes at `dst`. Same errors as
// DequantizeRow. Thread-safe (no shared state).
void QuantizeRow(GgmlType type, const float* src, void* dst, int64_t n);

// Bytes that n values of `type` occupy. Throws Error(kInvalidArgument) when n is negative or not a
// multiple of the block size, or the size overflows; Error(kUnsupported) for an unknown type id.
size_t RowBytes(GgmlType type, int64_t n);

}  // namespace quant
}  // namespace dllm
