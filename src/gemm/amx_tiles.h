// AMX tile instructions as inline assembly (no compiler flags needed; only ever executed after
// amx::Usable / amx::UsableBf16) and the tile configuration. Internal to src/gemm.
//
// Tile numbers are immediates. Stores clobber memory; loads are marked as reading it, so the
// compiler keeps the stores of the data they read.
#pragma once

#include <cstdint>

#define DLLM_TILE_LOAD(t, base, stride)                                                 \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(static_cast<const void*>(base)), \
                   "r"(static_cast<long>(stride))                                        \
                   : "memory")
#define DLLM_TILE_STORE(t, base, stride)                                                 \
  __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(static_cast<void*>(base)), \
                   "r"(static_cast<long>(stride))                                        \
                   : "memory")
#define DLLM_TILE_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::)
// c += a · b: int8 × int8 → int32 (dpbssd), bf16 pairs → f32 (dpbf16ps).
#define DLLM_TILE_DPBSSD(c, a, b) __asm__ volatile("tdpbssd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)
#define DLLM_TILE_DPBF16PS(c, a, b) \
  __asm__ volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

namespace dllm {
namespace gemm {
namespace amx {

// The 64-byte palette-1 configuration: rows and bytes per row of each of the 8 tiles.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};

  void Set(int tile, int n_rows, int bytes_per_row) {
    rows[tile] = static_cast<uint8_t>(n_rows);
    colsb[tile] = static_cast<uint16_t>(bytes_per_row);
  }
  // Loads it into this thread's tile state (ldtilecfg).
  void Load() const { __asm__ volatile("ldtilecfg %0" ::"m"(*this)); }
};

// Returns this thread's tiles to the init state (tilerelease) after a kernel used them, so the
// kernel need not save tile data when it switches threads.
inline void ReleaseTiles() { __asm__ volatile("tilerelease" ::); }

}  // namespace amx
}  // namespace gemm
}  // namespace dllm
