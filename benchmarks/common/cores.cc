#include "cores.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "gemm/amx.h"
#include "gemm/amx_tiles.h"
#include "gemm/avx_vnni.h"
#include "gemm/cpu.h"
#include "gemm/gemm.h"
#include "gemm/qgemm.h"
#include "hwy/targets.h"

namespace dllm::bench {
namespace {

// ---- Vector loops ------------------------------------------------------------------------------
// Inline assembly, not intrinsics: with an accumulator array GCC 12 may keep the accumulators in
// memory (a load and a store per instruction), which would time the caches instead. Ten
// independent accumulators (registers 0-9; operands in 10 and 11) cover every one of these
// instructions' latency × ports on current x86 cores. Each iteration issues ten instructions.

#define DLLM_ZERO10(Z, R)                                                               \
  Z " %%" R "0, %%" R "0, %%" R "0\n\t" Z " %%" R "1, %%" R "1, %%" R "1\n\t" Z " %%" R \
    "2, %%" R "2, %%" R "2\n\t" Z " %%" R "3, %%" R "3, %%" R "3\n\t" Z " %%" R "4, %%" R \
    "4, %%" R "4\n\t" Z " %%" R "5, %%" R "5, %%" R "5\n\t" Z " %%" R "6, %%" R "6, %%" R \
    "6\n\t" Z " %%" R "7, %%" R "7, %%" R "7\n\t" Z " %%" R "8, %%" R "8, %%" R "8\n\t" Z \
    " %%" R "9, %%" R "9, %%" R "9\n\t"
#define DLLM_OP10(OP, R)                                                                      \
  OP " %%" R "11, %%" R "10, %%" R "0\n\t" OP " %%" R "11, %%" R "10, %%" R "1\n\t" OP " %%" R \
     "11, %%" R "10, %%" R "2\n\t" OP " %%" R "11, %%" R "10, %%" R "3\n\t" OP " %%" R         \
     "11, %%" R "10, %%" R "4\n\t" OP " %%" R "11, %%" R "10, %%" R "5\n\t" OP " %%" R         \
     "11, %%" R "10, %%" R "6\n\t" OP " %%" R "11, %%" R "10, %%" R "7\n\t" OP " %%" R         \
     "11, %%" R "10, %%" R "8\n\t" OP " %%" R "11, %%" R "10, %%" R "9\n\t"
// NAME(n, ab, out): registers 10 and 11 = the 32-bit patterns ab[0] and ab[1] broadcast, the
// accumulators zeroed, then n iterations of OP (acc_i = OP(acc_i, reg10, reg11)); accumulators 0
// and 9 are stored to out (2 × BYTES bytes).
#define DLLM_VECTOR_LOOP(NAME, R, ZERO, OP, BYTES)                                             \
  void NAME(int64_t n, const uint32_t* ab, void* out) {                                        \
    __asm__ volatile("vbroadcastss (%[ab]), %%" R "10\n\t"                                      \
                     "vbroadcastss 4(%[ab]), %%" R "11\n\t" DLLM_ZERO10(ZERO, R) "1:\n\t"         \
                     DLLM_OP10(OP, R) "dec %[n]\n\t"                                            \
                     "jnz 1b\n\t"                                                               \
                     "vmovups %%" R "0, (%[out])\n\t"                                           \
                     "vmovups %%" R "9, " BYTES "(%[out])\n\t"                                  \
                     "vzeroupper"                                                               \
                     : [n] "+r"(n)                                                              \
                     : [ab] "r"(ab), [out] "r"(out)                                             \
                     : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",  \
                       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");                               \
  }

DLLM_VECTOR_LOOP(Fma512, "zmm", "vpxord", "vfmadd231ps", "64")
DLLM_VECTOR_LOOP(Fma256, "ymm", "vpxor", "vfmadd231ps", "32")
DLLM_VECTOR_LOOP(Bf16Dot512, "zmm", "vpxord", "vdpbf16ps", "64")
DLLM_VECTOR_LOOP(Vnni512, "zmm", "vpxord", "vpdpbusd", "64")
DLLM_VECTOR_LOOP(AvxVnni256, "ymm", "vpxor", "%{vex%} vpdpbusd", "32")

#undef DLLM_VECTOR_LOOP
#undef DLLM_OP10
#undef DLLM_ZERO10

// ---- AMX loop ----------------------------------------------------------------------------------
// Six independent accumulator tiles (0-5) += tile 6 · tile 7, n times: enough products in
// flight to keep the tile unit busy (four left it at half its rate here). int8: all ones, K =
// kBytes (each product adds kBytes to every int32); bf16: 1.0 × 2^-5 over 32 pairs (adds 1.0).
// Tiles 0 and 5 are stored to out (2 × 1 KiB).
template <bool kBf16, int kBytes>
void AmxLoop(int64_t n, void* out) {
  gemm::amx::TileConfig cfg;
  for (int t = 0; t < 6; ++t) cfg.Set(t, 16, 64);
  cfg.Set(6, 16, kBytes);     // A: 16 rows × kBytes
  cfg.Set(7, kBytes / 4, 64);  // B: kBytes / 4 rows of 16 × 4 bytes
  cfg.Load();
  alignas(64) uint8_t a[1024], b[1024];
  if (kBf16) {
    const uint16_t one = 0x3F80, step = 0x3D00;  // 1.0, 2^-5
    for (int i = 0; i < 512; ++i) {
      std::memcpy(a + 2 * i, &one, 2);
      std::memcpy(b + 2 * i, &step, 2);
    }
  } else {
    std::memset(a, 1, sizeof(a));
    std::memset(b, 1, sizeof(b));
  }
  DLLM_TILE_LOAD(6, a, kBytes);
  DLLM_TILE_LOAD(7, b, 64);
  DLLM_TILE_ZERO(0);
  DLLM_TILE_ZERO(1);
  DLLM_TILE_ZERO(2);
  DLLM_TILE_ZERO(3);
  DLLM_TILE_ZERO(4);
  DLLM_TILE_ZERO(5);
#define DLLM_SIX_PRODUCTS(OP) \
  OP(0, 6, 7);                 \
  OP(1, 6, 7);                 \
  OP(2, 6, 7);                 \
  OP(3, 6, 7);                 \
  OP(4, 6, 7);                 \
  OP(5, 6, 7)
  for (int64_t i = 0; i < n; ++i) {
    if (kBf16) {
      DLLM_SIX_PRODUCTS(DLLM_TILE_DPBF16PS);
    } else {
      DLLM_SIX_PRODUCTS(DLLM_TILE_DPBSSD);
    }
  }
#undef DLLM_SIX_PRODUCTS
  auto* o = static_cast<uint8_t*>(out);
  DLLM_TILE_STORE(0, o, 64);
  DLLM_TILE_STORE(5, o + 1024, 64);
  gemm::amx::ReleaseTiles();
}

// Iterations per run: about 15-20 ms per thread here, and few enough for every result to stay
// exact (f32 sums of multiples of a power of two below 2^24 steps; int32 far from overflow).
constexpr int64_t kVectorIters = 4'000'000;
constexpr int64_t kAmxIters = 300'000;

// Whether the `count` 4-byte values (float or int32_t) at data all equal `want`.
template <class T>
bool AllEqual(const void* data, int count, T want) {
  static_assert(sizeof(T) == 4, "4-byte lanes");
  for (int i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, static_cast<const uint8_t*>(data) + 4 * i, 4);
    if (v != want) return false;
  }
  return true;
}

// One thread's run of the loop: the operations it did (multiply-adds × 2), or 0 when its
// result is not what that arithmetic gives.
double RunOnce(CoreLoop loop) {
  alignas(64) uint8_t out[2048];
  const double n = static_cast<double>(kVectorIters), na = static_cast<double>(kAmxIters);
  // 32-bit patterns: f32 1.0 and 2^-12; bf16 pairs 1.0 and 2^-6; int8 quadruples of 1.
  static const uint32_t kFma[2] = {0x3F800000u, 0x39800000u};
  static const uint32_t kBf16[2] = {0x3F803F80u, 0x3C803C80u};
  static const uint32_t kInt8[2] = {0x01010101u, 0x01010101u};
  switch (loop) {
    case CoreLoop::kFma512:
      Fma512(kVectorIters, kFma, out);
      return AllEqual(out, 32, static_cast<float>(n / 4096)) ? 2 * 10 * 16 * n : 0;
    case CoreLoop::kFma256:
      Fma256(kVectorIters, kFma, out);
      return AllEqual(out, 16, static_cast<float>(n / 4096)) ? 2 * 10 * 8 * n : 0;
    case CoreLoop::kBf16Dot512:  // each lane adds 2 · 2^-6 per instruction
      Bf16Dot512(kVectorIters, kBf16, out);
      return AllEqual(out, 32, static_cast<float>(n / 32)) ? 2 * 10 * 32 * n : 0;
    case CoreLoop::kVnni512:  // each lane adds 4 per instruction
      Vnni512(kVectorIters, kInt8, out);
      return AllEqual(out, 32, static_cast<int32_t>(4 * kVectorIters)) ? 2 * 10 * 64 * n : 0;
    case CoreLoop::kAvxVnni256:
      AvxVnni256(kVectorIters, kInt8, out);
      return AllEqual(out, 16, static_cast<int32_t>(4 * kVectorIters)) ? 2 * 10 * 32 * n : 0;
    case CoreLoop::kAmxBf16:
      AmxLoop<true, 64>(kAmxIters, out);
      return AllEqual(out, 512, static_cast<float>(na)) ? 2 * 6 * 16 * 16 * 32 * na : 0;
    case CoreLoop::kAmxInt8:
      AmxLoop<false, 64>(kAmxIters, out);
      return AllEqual(out, 512, static_cast<int32_t>(64 * kAmxIters)) ? 2 * 6 * 16 * 16 * 64 * na
                                                                        : 0;
    case CoreLoop::kAmxInt8K32:
      AmxLoop<false, 32>(kAmxIters, out);
      return AllEqual(out, 512, static_cast<int32_t>(32 * kAmxIters)) ? 2 * 6 * 16 * 16 * 32 * na
                                                                        : 0;
  }
  return 0;
}

}  // namespace

const char* CoreLoopName(CoreLoop loop) {
  switch (loop) {
    case CoreLoop::kFma512: return "512-bit f32 FMAs";
    case CoreLoop::kFma256: return "256-bit f32 FMAs";
    case CoreLoop::kBf16Dot512: return "512-bit bf16 dot products";
    case CoreLoop::kVnni512: return "512-bit VNNI int8 dot products";
    case CoreLoop::kAvxVnni256: return "256-bit AVX-VNNI int8 dot products";
    case CoreLoop::kAmxBf16: return "AMX-BF16 tile products";
    case CoreLoop::kAmxInt8: return "AMX-INT8 tile products";
    case CoreLoop::kAmxInt8K32: return "AMX-INT8 tile products at K = 32";
  }
  return "";
}

bool CoreLoopSupported(CoreLoop loop) {
  switch (loop) {
    case CoreLoop::kFma512: return __builtin_cpu_supports("avx512f");
    case CoreLoop::kFma256: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CoreLoop::kBf16Dot512: return __builtin_cpu_supports("avx512bf16");
    case CoreLoop::kVnni512: return __builtin_cpu_supports("avx512vnni");
    // CPUID and OS state, as the int8 path checks it (clang 14 has no "avxvnni" here).
    case CoreLoop::kAvxVnni256: return gemm::avx_vnni::Usable();
    case CoreLoop::kAmxBf16: return gemm::amx::UsableBf16();
    case CoreLoop::kAmxInt8:
    case CoreLoop::kAmxInt8K32: return gemm::amx::Usable();
  }
  return false;
}

CoreLoop CoreLoopFor(PeakKind kind) {
  try {
    gemm::ApplyCpuLimit();
  } catch (...) {
    // A bad DLLM_CPU is reported where the benchmark creates its gemm::Context.
  }
  const bool amx = gemm::amx::Enabled();
  // (q8::SupportedTargets, not hwy::SupportedTargets, which would lift DLLM_CPU's limit.)
  bool avx512 = false;
  for (int64_t t : gemm::q8::SupportedTargets()) {
    avx512 = avx512 || t == HWY_AVX3 || t == HWY_AVX3_DL;
  }
  switch (kind) {
    case PeakKind::kInt8:
      if (amx && CoreLoopSupported(CoreLoop::kAmxInt8)) return CoreLoop::kAmxInt8;
      if (avx512 && CoreLoopSupported(CoreLoop::kVnni512)) return CoreLoop::kVnni512;
      if (gemm::avx_vnni::Enabled() && CoreLoopSupported(CoreLoop::kAvxVnni256)) {
        return CoreLoop::kAvxVnni256;
      }
      break;  // no int8 dot-product instruction: f32 FMAs
    case PeakKind::kBf16:
      // Without bf16 instructions under the limit, dllm forms bf16 products with f32 matmuls.
      if (!gemm::Bf16MatmulAvailable()) break;
      if (amx && CoreLoopSupported(CoreLoop::kAmxBf16)) return CoreLoop::kAmxBf16;
      if (avx512 && CoreLoopSupported(CoreLoop::kBf16Dot512)) return CoreLoop::kBf16Dot512;
      break;
    case PeakKind::kF32:
      break;
  }
  return avx512 && CoreLoopSupported(CoreLoop::kFma512) ? CoreLoop::kFma512 : CoreLoop::kFma256;
}

double CoreLoopGops(CoreLoop loop, int threads, int reps) {
  if (!CoreLoopSupported(loop)) return 0;
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    double slowest = 0, ops = 0;
    bool ok = true;
#pragma omp parallel num_threads(threads) reduction(max : slowest) reduction(+ : ops) \
    reduction(&& : ok)
    {
#pragma omp barrier
      const double t0 = Now();
      const double done = RunOnce(loop);
      slowest = Now() - t0;
      ops = done;
      ok = done > 0;
    }
    if (!ok) return 0;
    if (slowest > 0) best = std::max(best, ops / slowest * 1e-9);
  }
  return best;
}

}  // namespace dllm::bench
