// The matmul backends behind gemm.h's entry points. gemm.cc validates arguments and picks one
// backend per weight type; each backend assumes valid arguments and m > 0.
//
//   oneDNN direct    F32 and BF16 weights: the mmapped weight is a oneDNN operand as it is.
//   AMX-BF16         Linear with BF16 weights and m <= 32 on CPUs with AMX-BF16 (amx_bf16.cc):
//                    the weight rows are tile operands in place, streamed once per call.
//   int8             Linear with GGUF block types (q8::Linear, gemm/qgemm.h): activations
//                    quantized to int8 per 32-block, weight tiles unpacked once to int8 + scales,
//                    int8 dot products (AMX-INT8 / VNNI / AVX2 / portable, Highway dispatch).
//   dequant tiles    F16 weights, LinearT with GGUF block types, and Linear with
//                    Options::int8_quantized off: tiles of weight rows decoded to f32 once per
//                    call, then the f32 oneDNN matmul over all activation rows.
//
// LinearT stays on dequantized tiles: its reduction runs over weight rows, each with its own
// per-group scales, so no scale can be factored out of an integer dot product along the reduction
// (the int8 scheme needs the scales constant along K). It is used once per step (self-
// conditioning probs·E); the f32 matmul over dequantized tiles runs at the f32 peak.
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

// y[m×N] (+)= bf16(x)[m×K] · Wᵀ with BF16 weights on AMX-BF16 tiles, for calls with at most
// kBf16AmxMaxRows rows (amx_bf16.cc): the weights stream once, in place; f32 accumulation over K
// (the products are exact, the order of the sums differs from oneDNN's). Used when
// LinearBf16AmxApplies.
constexpr int64_t kBf16AmxMaxRows = 32;
bool LinearBf16AmxApplies(const Context::Impl& ctx, int64_t m, const WeightView& w);
void LinearBf16Amx(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                   float* y, int64_t ldy, bool accumulate);

// The same through f32 tiles of dequantized weight rows; row_bytes is the stored size of a row.
void LinearDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                   const WeightView& w, size_t row_bytes, float* y, int64_t ldy, bool accumulate);
void LinearTDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                    const WeightView& w, size_t row_bytes, float* y, int64_t ldy);

}  // namespace gemm
}  // namespace dllm
