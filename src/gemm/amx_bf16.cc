// Linear with BF16 weights and few activation rows on AMX-BF16 tiles (see backends.h).
//
// The weights are the tiles' A operand in their stored layout (16 weight rows × 32 K values per
// tile, read straight from the mapping); the activations, rounded to bf16 once per call, are
// packed as B (K pairs × 16 rows × 2); each 16×16 f32 C tile accumulates a weight-row block ×
// activation-row block over all of K, so the weights are streamed exactly once per call and
// nothing is repacked. That is what the routed experts need: ~16 rows against a weight matrix
// read from memory every step, where oneDNN's small-M matmul reached about half the machine's
// read bandwidth.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gemm/amx.h"
#include "gemm/amx_tiles.h"
#include "gemm/backends.h"
#include "gemm/convert.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DLLM_AMX_BF16 1
#include <immintrin.h>
#endif

namespace dllm {
namespace gemm {

#if defined(DLLM_AMX_BF16)
namespace {

using amx::TileConfig;

// Tiles: 0..3 C (C[a][b]: weight half a × activation half b), 4/5 A (weight halves), 6/7 B.
void Configure() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) cfg.Set(t, 16, 64);
  cfg.Load();
}

// One block of 32 weight rows (row r at w + r·ldw, bf16) against the packed activations
// (bp: [2 halves][k/2][16][2] bf16); c_out: 4 tiles of 16×16 f32 (C[a][b] at c_out + 256·(2a+b),
// row = weight row, column = activation row). next: the thread's next block of 32 rows (same
// ldw) or null; its first values are prefetched during this block's last K steps.
void Block(const uint16_t* w, int64_t ldw, const uint16_t* bp, int64_t k, bool two_halves,
           const uint16_t* next, float* c_out) {
  const long wstride = static_cast<long>(ldw * 2);
  const uint16_t* b1 = bp + k * 16;  // the second activation half's packing
  DLLM_TILE_ZERO(0);
  DLLM_TILE_ZERO(1);
  DLLM_TILE_ZERO(2);
  DLLM_TILE_ZERO(3);
  for (int64_t k0 = 0; k0 < k; k0 += 32) {
    // Prefetch 16 K steps ahead (1 KiB) in each of the 32 weight rows.
    if (k0 + 512 < k) {
      for (int r = 0; r < 32; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(w + r * ldw + k0 + 512), _MM_HINT_T0);
      }
    } else if (next != nullptr && k0 + 512 - k < k) {
      // The same distance ahead, into the next block's rows.
      for (int r = 0; r < 32; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(next + r * ldw + (k0 + 512 - k)),
                     _MM_HINT_T0);
      }
    }
    DLLM_TILE_LOAD(6, bp + k0 * 16, 64);
    DLLM_TILE_LOAD(4, w + k0, wstride);
    DLLM_TILE_LOAD(5, w + 16 * ldw + k0, wstride);
    DLLM_TILE_DPBF16PS(0, 4, 6);
    DLLM_TILE_DPBF16PS(2, 5, 6);
    if (two_halves) {
      DLLM_TILE_LOAD(7, b1 + k0 * 16, 64);
      DLLM_TILE_DPBF16PS(1, 4, 7);
      DLLM_TILE_DPBF16PS(3, 5, 7);
    }
  }
  DLLM_TILE_STORE(0, c_out, 64);
  DLLM_TILE_STORE(1, c_out + 256, 64);
  DLLM_TILE_STORE(2, c_out + 512, 64);
  DLLM_TILE_STORE(3, c_out + 768, 64);
}

}  // namespace
#endif

bool LinearBf16AmxApplies(const Context::Impl& ctx, int64_t m, const WeightView& w) {
#if defined(DLLM_AMX_BF16)
  return ctx.options.bf16_amx_small_m && m <= kBf16AmxMaxRows && w.k % 32 == 0 &&
         amx::Enabled() && amx::UsableBf16();
#else
  (void)ctx, (void)m, (void)w;
  return false;
#endif
}

void LinearBf16Amx(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                   float* y, int64_t ldy, bool accumulate) {
#if defined(DLLM_AMX_BF16)
  const int64_t k = w.k, n = w.n;
  // Scratch: the packed activations ([2][k/2][16][2] bf16, zero rows beyond m), then one bf16 row
  // of k for the rounding, then the zero-padded copy of a last partial block of weight rows.
  const int64_t pack = 2 * k * 16, tail_rows = n % 32;
  auto* buf = static_cast<uint16_t*>(ctx.act_scratch.Get(
      static_cast<size_t>(pack + k + (tail_rows ? 32 * k : 0)) * sizeof(uint16_t),
      &ctx.scratch_growths));
  uint16_t* bp = buf;
  uint16_t* row16 = buf + pack;
  std::memset(bp, 0, static_cast<size_t>(pack) * sizeof(uint16_t));
  for (int64_t i = 0; i < m; ++i) {
    ConvertRowsToBf16(x + i * ldx, 1, k, ldx, row16);
    uint16_t* half = bp + (i / 16) * k * 16;
    const int64_t col = i % 16;
    for (int64_t p = 0; p < k / 2; ++p) {
      half[p * 32 + 2 * col] = row16[2 * p];
      half[p * 32 + 2 * col + 1] = row16[2 * p + 1];
    }
  }
  const auto* wdata = static_cast<const uint16_t*>(w.data);
  uint16_t* tail = buf + pack + k;
  if (tail_rows) {  // the last rows, zero-padded to a whole block
    std::memset(tail, 0, static_cast<size_t>(32 * k) * sizeof(uint16_t));
    std::memcpy(tail, wdata + (n - tail_rows) * k, static_cast<size_t>(tail_rows * k) * 2);
  }
  const bool two_halves = m > 16;
  const int64_t blocks = (n + 31) / 32;
  const bool parallel = omp_get_max_threads() > 1 && !omp_in_parallel() && blocks >= 4;
#pragma omp parallel if (parallel)
  {
    Configure();
    alignas(64) float c[4 * 256];
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t n0 = 32 * b;
      const bool partial = n0 + 32 > n;
      // A static schedule gives each thread consecutive blocks: b + 1 is its next one (if any).
      const uint16_t* next = b + 1 >= blocks ? nullptr
                             : n0 + 64 > n   ? tail
                                             : wdata + (n0 + 32) * k;
      Block(partial ? tail : wdata + n0 * k, k, bp, k, two_halves, next, c);
      const int64_t cols = std::min<int64_t>(32, n - n0);
      for (int64_t i = 0; i < m; ++i) {
        float* yr = y + i * ldy + n0;
        const float* ci = c + 256 * (i / 16) + (i % 16);  // C[a][i/16], column i % 16
        for (int64_t j = 0; j < cols; ++j) {
          const float v = ci[512 * (j / 16) + 16 * (j % 16)];
          yr[j] = accumulate ? yr[j] + v : v;
        }
      }
    }
    amx::ReleaseTiles();
  }
#else
  (void)ctx, (void)x, (void)m, (void)ldx, (void)w, (void)y, (void)ldy, (void)accumulate;
#endif
}

}  // namespace gemm
}  // namespace dllm
