// What the CPU (as oneDNN and dllm's kernels see it) can do, and the DLLM_CPU limit. Internal to
// src/gemm, except Bf16MatmulAvailable, which gemm.h re-exports.
//
// DLLM_CPU (environment variable, read once, when the first gemm::Context is created) makes dllm
// run as on a smaller CPU, for reproducing a user's machine or testing the fallbacks:
//   avx2       Highway kernels up to AVX2, no AVX-VNNI, no AMX; oneDNN up to AVX2
//   avx2_vnni  the same with the AVX-VNNI int8 kernel (where the CPU has it); oneDNN AVX2_VNNI
//   avx512     Highway kernels up to AVX3_DL, no AMX; oneDNN up to AVX512_CORE_VNNI (so no bf16
//              instructions: Cascade Lake / Ice Lake class)
// Unset, empty or "native": everything the CPU has. Another value throws kInvalidArgument from
// the Context constructor. oneDNN honours a limit only before its first primitive in the process:
// if the application ran oneDNN before, its ISA stays unlimited (dllm's own kernels are limited).
// The kernels' limit is Highway's process-wide DisableTargets. Highway 1.0's
// hwy::SupportedTargets() re-chooses the dispatch target from everything the CPU has, so dllm's
// target lists (kernels::SupportedTargets, q8::SupportedTargets) choose again after listing; an
// application calling hwy::SupportedTargets() itself lifts the limit on dllm's kernels (until
// one of those lists is taken). DLLM_CPU is a tool for tests and for reproducing a machine.
#pragma once

namespace dllm {
namespace gemm {

// Applies DLLM_CPU (once per process; later calls return at once). Throws on a bad value.
void ApplyCpuLimit();

// Whether oneDNN runs bf16 matmuls here with bf16 instructions (AVX512_BF16 or AMX-BF16 in its
// effective ISA, under DLLM_CPU's limit) and can create one (checked once). Below that it has
// none (AVX2) or emulates them at a fraction of its f32 rate (AVX512 without BF16).
bool Bf16MatmulSupported();

}  // namespace gemm
}  // namespace dllm
