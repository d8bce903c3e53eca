#include "gemm/amx.h"

#include <atomic>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace dllm {
namespace gemm {
namespace amx {
namespace {

std::atomic<bool> g_enabled{true};

// CPUID.(7,0):EDX bits of AMX-BF16 (22), AMX-TILE (24), AMX-INT8 (25).
bool Detect(int feature_bit) {
#if defined(__x86_64__) && defined(__linux__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool tile = (edx >> 24) & 1u, feature = (edx >> feature_bit) & 1u;
  if (!tile || !feature) return false;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || ((ecx >> 27) & 1u) == 0) return false;  // OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  // XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA): the OS can save tile state.
  if (((lo >> 17) & 3u) != 3u) return false;
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  (void)feature_bit;
  return false;
#endif
}

}  // namespace

bool Usable() {
  static const bool usable = Detect(25);
  return usable;
}

bool UsableBf16() {
  static const bool usable = Detect(22);
  return usable;
}

bool Enabled() { return g_enabled.load(std::memory_order_relaxed); }
void SetEnabled(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }

}  // namespace amx
}  // namespace gemm
}  // namespace dllm
