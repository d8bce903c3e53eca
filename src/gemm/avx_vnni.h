// AVX-VNNI (the VEX-encoded vpdpbusd on 256-bit registers: Intel Alder Lake and later client
// CPUs, Sapphire Rapids and later servers, AMD Zen 5) for the int8 path's AVX2 kernels. It is not
// a Highway target: the AVX2 copy of the int8 path carries a second micro-kernel that uses it when
// the CPU has it (CPUID.(7,1):EAX bit 4, with the OS saving AVX state). Internal to src/gemm.
#pragma once

namespace dllm {
namespace gemm {
namespace avx_vnni {

// Whether this process can execute AVX-VNNI instructions (checked once).
bool Usable();

// Process-wide switch (tests and benchmarks compare the kernels): the AVX2 int8 kernels use
// AVX-VNNI only while Enabled() (and Usable()). Default: enabled. Never flip it while matmuls run.
bool Enabled();
void SetEnabled(bool enabled);

}  // namespace avx_vnni
}  // namespace gemm
}  // namespace dllm
