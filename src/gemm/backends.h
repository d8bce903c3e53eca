// The matmul backends behind gemm.h's entry points. gemm.cc validates arguments and picks one
// backend per weight type; each backend assumes valid arguments and m > 0.
//
//   oneDNN direct    F32 and BF16 weights: the mmapped weight is a oneDNN operand as it is.
//   dequant tiles    F16 and GGUF block types: tiles of weight rows decoded to f32 once per
//                    call, then the f32 oneDNN matmul over all activation rows.
//
// A future int8 backend for Q8_0 / K-quants (activations quantized per row, VNNI dot products
// over an unpacked weight tile) slots in as another pair of functions here, chosen in gemm.cc
// before the dequant-tile fallback.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gemm/context.h"

namespace dllm {
namespace gemm {

// y[m×N] (+)= x[m×K] · Wᵀ with F32 or BF16 weights.
void LinearOnednn(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                  float* y, int64_t ldy, bool accumulate);
// y[m×K] = x[m×N] · W with F32 or BF16 weights.
void LinearTOnednn(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                   const WeightView& w, float* y, int64_t ldy);

// The same through f32 tiles of dequantized weight rows; row_bytes is the stored size of a row.
void LinearDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                   const WeightView& w, size_t row_bytes, float* y, int64_t ldy, bool accumulate);
void LinearTDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                    const WeightView& w, size_t row_bytes, float* y, int64_t ldy);

}  // namespace gemm
}  // namespace dllm
