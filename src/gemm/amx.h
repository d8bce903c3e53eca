// Intel AMX (Advanced Matrix Extensions) availability for the int8 path of the quantized Linear
// and the BF16 few-rows Linear (amx_bf16.cc).
// AMX is not a Highway target: the int8 path's AVX3_DL copy carries an AMX-INT8 kernel (tile
// matmuls of 16 activation rows × 16 weight columns per block group) that it uses when the CPU
// has AMX-TILE and AMX-INT8, the OS saves tile state (XCR0) and Linux grants the process the
// tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM, requested once). Internal to src/gemm.
#pragma once

namespace dllm {
namespace gemm {
namespace amx {

// Whether this process can execute AMX-INT8 (Usable) or AMX-BF16 (UsableBf16) instructions
// (checked, and the tile permission requested, once).
bool Usable();
bool UsableBf16();

// Process-wide switch (tests and benchmarks compare the kernels): the int8 path and the BF16
// few-rows Linear use AMX only while Enabled() (and Usable() / UsableBf16()). Default: enabled.
// Never flip it while matmuls run.
bool Enabled();
void SetEnabled(bool enabled);

}  // namespace amx
}  // namespace gemm
}  // namespace dllm
