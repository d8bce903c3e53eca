// The int8 path of gemm::Linear for GGUF block-quantized weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K..Q6_K). Internal to src/gemm; the numerics contract is stated in gemm.h.
//
// Per call:
//   1. Activations: each row is quantized in blocks of 32 values: amax = max|x| (NaN when the
//      block holds a NaN, so that the row's outputs are NaN as an f32 product's would be),
//      d = amax / 127 (f32), id = d != 0 ? 1 / d : 0, q = clamp(nearest_even(x · id), −127, 127)
//      (−127 for a NaN product).
//      Per weight group g (G = 32 values, or 16 for Q2_K/Q3_K/Q6_K; a group lies inside one
//      activation block) the kernel uses d_g (its block's d) and, for types with an offset,
//      e_g = d_g · float(Σ_{j∈g} q_j).
//   2. Weights: a tile of columns (weight rows) is decoded once (qdecode.h: value = s·q + o per
//      group) into an interleaved int8 layout plus per-(group, column) s, o and −128·Σq, kept
//      in the Context's scratch and used for every activation row.
//   3. Per (row i, column n): acc = 0; for each group g in order:
//        p   = Σ_{j∈g} q_x[j] · q_w[j]            (exact int32)
//        acc = fma(float(p) · d_g, s_g, acc)      (float(p) exact; the product rounds once)
//        acc = fma(e_g, o_g, acc)                 (offset types only)
//      y = acc, or y + acc with accumulate (one more rounding).
//   Every target computes exactly these operations (VNNI, and AVX-VNNI in the AVX2 copy: u8 =
//   q_x + 128 times s8 q_w with the int32 accumulator started at −128·Σq_w; AMX: s8 × s8 tile
//   matmuls of 16 rows × 16 columns per group; AVX-512BW: |q_w| times sign-transferred q_x;
//   AVX2: the same for Q8_0, q_w as it is for the offset types (q_w ≥ 0), u8 q_x + 128 times
//   s8 q_w from −128·Σq_w for the other signed types, adding up to 8 steps' pair sums in int16
//   where they cannot overflow (qdecode.h: ShiftedOnAvx2, Int16Span); portable: scalar), so
//   results are bit-identical across targets and to ref::Linear.
#pragma once

#include <cstdint>
#include <vector>

#include "gemm/context.h"
#include "gemm/gemm.h"

namespace dllm {
namespace gemm {
namespace q8 {

// Whether the int8 path handles `type`.
bool Supported(GgmlType type);
// Longest row the int8 path takes (its unpacking indexes a column block with int32); longer rows
// go through the dequantized tiles.
constexpr int64_t kMaxK = int64_t{1} << 24;

// The int8 Linear (arguments validated by gemm.cc, m > 0, Supported(w.type)). Runs on the
// calling thread's OpenMP team; scratch from ctx (act_scratch, tile_scratch).
void Linear(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
            size_t row_bytes, float* y, int64_t ldy, bool accumulate);

// Decodes `rows` rows of k values (Supported(type), k a whole number of blocks), row r at
// data + r · row_bytes, into dst[r · k + c] = bf16 (round to nearest even, gemm::F32ToBf16) of
// the reference dequantizer's f32 value: the bf16 tiles of LinearT without an f32 round trip.
// Runs on the calling thread's OpenMP team.
void DequantizeRowsBf16(GgmlType type, const uint8_t* data, size_t row_bytes, int64_t rows,
                        int64_t k, uint16_t* dst);

// ---- Reference (the test oracle) and dispatch control ----------------------------------------
namespace ref {
// Quantizes one row of k (multiple of 32) values: q[0..k), d[0..k/32) as in step 1 above.
void QuantizeRow(const float* x, int64_t k, int8_t* q, float* d);
// Steps 1–3 in plain scalar code, straight from the GGUF bytes; the same result, bit for bit.
void Linear(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy,
            bool accumulate);
}  // namespace ref

// Highway targets compiled into the int8 path and supported by this CPU, best first (as
// kernels::SupportedTargets), the target it dispatches to now ("AVX3_DL+AMX" when the AVX3_DL
// copy runs its AMX kernel, see gemm/amx.h; "AVX2+VNNI" when the AVX2 copy runs its AVX-VNNI
// kernel, see gemm/avx_vnni.h), and a process-wide override for tests (0 restores the automatic
// choice; never while other threads run matmuls).
std::vector<int64_t> SupportedTargets();
const char* TargetName(int64_t target);
const char* ActiveTargetName();
void SetTargetForTest(int64_t target);

// ---- Benchmarks ---------------------------------------------------------------------------------
// Seconds for `iters` calls, on the calling thread, of the AMX-INT8 kernel alone as the fused
// path calls it at M = 256: 16 blocks of 16 activation rows times one 32-column block over one
// 256-value chunk (8 groups of 32), with (offsets) or without the offset term, every operand
// resident in cache and no unpacking, activation quantization or output rows: the ceiling of the
// int8 path's AMX scheme (gemm_bench). 0 when the dispatched target has no AMX kernel.
// Multiply-adds per call: 256 · 32 · 256.
double TimeAmxKernel(bool offsets, int64_t iters);

// Seconds for `iters` calls, on the calling thread, of the micro-kernel Linear dispatches to now
// for an M = 256 call on weights of `type`, alone: every operand resident in cache, no
// unpacking, activation quantization or output rows. It is the AMX kernel (TimeAmxKernel's call)
// where Linear would use it, else the register kernel as an M = 256 call runs it: 256 activation
// rows in blocks of kRows (4, or 6 on AVX3_DL) over one column block and K = 2816 (the
// activations then come from L2); on AVX2 for the types it runs two column blocks at a time
// (Q4_0, Q4_1, Q4_K, Q2_K, Q3_K), in blocks of 3 rows over two column blocks. ops: the operations (multiply-adds × 2) those calls perform;
// {0, 0} for a type the int8 path does not take (Supported). The ceiling of the int8 path for
// that weight type on this CPU (step_bench's kernel bound). Types of one group size and offset
// kind share a kernel, except on AVX2, whose kernel also depends on the values' range
// (Int16Span, ShiftedOnAvx2): Q4_0 and Q5_0 run faster ones than Q8_0, Q5_1 / Q5_K a slower one
// than Q4_1 / Q4_K, and Q3_K a faster one than Q6_K.
struct KernelTiming {
  double seconds = 0;
  double ops = 0;
};
KernelTiming TimeKernel(GgmlType type, int64_t iters);

}  // namespace q8
}  // namespace gemm
}  // namespace dllm
