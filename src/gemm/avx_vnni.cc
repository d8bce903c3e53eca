#include "gemm/avx_vnni.h"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace dllm {
namespace gemm {
namespace avx_vnni {
namespace {

std::atomic<bool> g_enabled{true};

bool Detect() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  // CPUID.1:ECX bits 27 (OSXSAVE) and 28 (AVX).
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || ((ecx >> 27) & 3u) != 3u) return false;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6u) != 6u) return false;  // XCR0: SSE and AVX state saved by the OS
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return ((eax >> 4) & 1u) != 0;  // AVX-VNNI
#else
  return false;
#endif
}

}  // namespace

bool Usable() {
  static const bool usable = Detect();
  return usable;
}

bool Enabled() { return g_enabled.load(std::memory_order_relaxed); }
void SetEnabled(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }

}  // namespace avx_vnni
}  // namespace gemm
}  // namespace dllm
