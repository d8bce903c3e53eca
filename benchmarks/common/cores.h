// The cores' own arithmetic throughput: loops of independent multiply-adds whose operands stay
// in registers (vectors or AMX tiles), with no memory access while they are timed. What the
// cores issue at the clock they run at right then; no matmul fed from memory reaches it, since
// every product there needs its operands loaded.
//
// Two uses:
//   - gemm_bench's instruction peaks (per instruction kind), next to the oneDNN yardstick;
//   - step_bench's thread scaling. The host this project is benchmarked on is a shared virtual
//     machine whose two vCPUs are not always two whole cores: per thread, the AMX loops here run
//     either at the tile unit's full rate or at half of it (~4500 or ~2100 GOP/s int8 at
//     2.45 GHz), and two threads get 1x to 2x one thread's rate at different moments, whatever
//     the code does. Run on one thread and on N right around a one-thread and an N-thread
//     measurement, the ratio is the scaling the machine itself offered then.
#pragma once

#include "peak.h"

namespace dllm::bench {

enum class CoreLoop {
  kFma512,      // f32 FMA on 512-bit vectors (vfmadd231ps zmm)
  kFma256,      // f32 FMA on 256-bit vectors (AVX2)
  kBf16Dot512,  // bf16 pair dot products into f32 (vdpbf16ps zmm, AVX512-BF16)
  kVnni512,     // u8 × s8 quadruple dot products into int32 (vpdpbusd zmm, AVX512-VNNI)
  kAvxVnni256,  // the same on 256 bits (AVX-VNNI)
  kAmxBf16,     // AMX bf16 tile products, 16 × 16 × 32 pairs (tdpbf16ps)
  kAmxInt8,     // AMX int8 tile products, K = 64 (tdpbssd, the tile unit's full width)
  kAmxInt8K32,  // the same with K = 32: one 32-value quantization group per tile product
};

// E.g. "AMX-INT8 tile products".
const char* CoreLoopName(CoreLoop loop);

// Whether this CPU and OS can run the loop (AMX: the process was granted tile data), whatever
// DLLM_CPU says.
bool CoreLoopSupported(CoreLoop loop);

// The loop the work of a peak kind runs on here under DLLM_CPU (gemm/cpu.h): for kInt8 AMX-INT8,
// else 512-bit VNNI (where dllm's kernels may use AVX-512), else AVX-VNNI (where dllm's AVX2
// kernel uses it); for kBf16 AMX-BF16, else AVX512-BF16 dot products (where dllm runs bf16
// products with bf16 instructions, gemm::Bf16MatmulAvailable); otherwise (kF32, or a CPU without
// those instructions) f32 FMAs on the widest vectors dllm's kernels may use.
CoreLoop CoreLoopFor(PeakKind kind);

// GOP/s (one multiply-add = 2 operations) of the loop on `threads` OpenMP threads at once, each
// thread running the same fixed number of iterations (about 15-20 ms here); the slowest thread's
// time, the best of `reps` runs. Each thread's result is checked against the arithmetic it must
// have done (exact by construction); 0 when it differs or the loop is not supported.
double CoreLoopGops(CoreLoop loop, int threads, int reps = 3);

}  // namespace dllm::bench
