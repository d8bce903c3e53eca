// The Linear / LinearT backends (see backends.h).
#include <omp.h>

#include <algorithm>
#include <exception>

#include "gemm/backends.h"
#include "gemm/convert.h"
#include "gemm/cpu.h"
#include "gemm/qgemm.h"

namespace dllm {
namespace gemm {
namespace {

using dt = dnnl::memory::data_type;

// c[m×n] (+)= a[m×k] · op(b) in f32, where b is either a K×N row-major operand (trans_b false)
// or N rows of K values (trans_b true), with leading dimension ldb. Applies the fixed-M policy:
// with options.fixed_m_f32, full blocks of row_block rows go through a primitive specialised to
// that M and these leading dimensions, and only the remainder through the runtime-M one.
void F32Rows(Context::Impl& ctx, const float* a, int64_t m, int64_t lda, const float* b,
             int64_t n, int64_t k, int64_t ldb, bool trans_b, float* c, int64_t ldc, bool sum) {
  MatmulKey key;
  key.a_type = key.b_type = dt::f32;
  key.n = n;
  key.k = k;
  key.ldb = ldb;
  key.trans_b = trans_b;
  key.sum = sum;
  key.beta = 1.0f;
  MatmulCall call;
  call.b = b;
  call.n = n;
  call.k = k;
  call.ldb = ldb;
  call.lda = lda;
  call.ldc = ldc;

  const int64_t block = ctx.options.row_block;
  int64_t r0 = 0;
  if (ctx.options.fixed_m_f32) {
    MatmulKey fixed = key;
    fixed.m = block;
    fixed.lda = lda;
    fixed.ldc = ldc;
    for (; r0 + block <= m; r0 += block) {
      call.a = a + r0 * lda;
      call.c = c + r0 * ldc;
      call.m = block;
      ctx.Matmul(fixed, call);
    }
  }
  if (r0 < m) {
    call.a = a + r0 * lda;
    call.c = c + r0 * ldc;
    call.m = m - r0;
    ctx.Matmul(key, call);
  }
}

// c[m×n] (+)= a[m×k] · b[k×n], both operands row-major (b un-transposed, the LinearT layout),
// runtime M; `type` is f32 or bf16 for both; `sum` accumulates into c.
void MatmulKxN(Context::Impl& ctx, dt type, const void* a, int64_t m, int64_t lda, const void* b,
               int64_t k, int64_t n, int64_t ldb, float* c, int64_t ldc, bool sum) {
  MatmulKey key;
  key.a_type = key.b_type = type;
  key.n = n;
  key.k = k;
  key.ldb = ldb;
  key.sum = sum;
  key.beta = 1.0f;
  MatmulCall call;
  call.a = a;
  call.b = b;
  call.c = c;
  call.m = m;
  call.n = n;
  call.k = k;
  call.lda = lda;
  call.ldb = ldb;
  call.ldc = ldc;
  ctx.Matmul(key, call);
}

// MatmulKxN with the output columns split across the calling thread's OpenMP team: thread t
// runs columns [c0, c1) (whole 64-column blocks) single-threaded on its own context
// (Context::Impl::ThreadImpl). LinearT's products (M = 256, N = the embedding width, K a chunk
// of the vocabulary) are its callers: oneDNN's own parallel matmul scaled only 1.2-1.3x from
// one thread to two there; split by columns, each thread reads and packs only its part of b
// (interleaved runs at M 256, K 3072, N 2816, bf16: 12-25 % faster on 2 threads; the BF16
// self-conditioning product over the whole vocabulary 8-41 %). Each column's products are
// those of a narrower matmul of the same K, so results are deterministic per thread count, like
// oneDNN's. Falls back to MatmulKxN on one thread, inside a parallel region, or below 512
// columns.
void MatmulKxNSplit(Context::Impl& ctx, dt type, const void* a, int64_t m, int64_t lda,
                    const void* b, int64_t k, int64_t n, int64_t ldb, float* c, int64_t ldc,
                    bool sum) {
  constexpr int64_t kBlock = 64, kMinCols = 256;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int parts = static_cast<int>(std::min<int64_t>(threads, n / kMinCols));
  if (parts < 2) {
    MatmulKxN(ctx, type, a, m, lda, b, k, n, ldb, c, ldc, sum);
    return;
  }
  const int64_t per = ((n + parts - 1) / parts + kBlock - 1) / kBlock * kBlock;
  const size_t elem = type == dt::bf16 ? 2 : 4;
  for (int t = 0; t < parts; ++t) ctx.ThreadImpl(t);  // created outside the region
  std::exception_ptr error;
#pragma omp parallel num_threads(parts)
  {
    const int t = omp_get_thread_num();
    const int64_t c0 = std::min(n, t * per), c1 = std::min(n, c0 + per);
    if (c1 > c0) {
      try {
        MatmulKxN(ctx.ThreadImpl(t), type, a, m, lda,
                  static_cast<const uint8_t*>(b) + static_cast<size_t>(c0) * elem, k, c1 - c0,
                  ldb, c + c0, ldc, sum);
      } catch (...) {
#pragma omp critical(dllm_matmul_split_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

// Linear with BF16 weights where the CPU has no bf16 instructions (Bf16MatmulSupported false):
// the bf16 matmul's own products in f32 — activation rows rounded to bf16 values (a row block at
// a time), weight rows widened to f32 a tile at a time (exact), f32 matmuls.
void LinearBf16Emulated(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                        const WeightView& w, float* y, int64_t ldy, bool accumulate) {
  const Options& o = ctx.options;
  const int64_t block = std::min(o.row_block, m);
  const int64_t tile_rows = std::min(o.linear_tile_rows, w.n);
  auto* act = static_cast<float*>(ctx.act_scratch.Get(
      static_cast<size_t>(block * w.k) * sizeof(float), &ctx.scratch_growths));
  auto* tile = static_cast<float*>(ctx.tile_scratch.Get(
      static_cast<size_t>(tile_rows * w.k) * sizeof(float), &ctx.scratch_growths));
  const auto* weights = static_cast<const uint16_t*>(w.data);
  for (int64_t r0 = 0; r0 < m; r0 += block) {
    const int64_t rows = std::min(block, m - r0);
    RoundRowsToBf16Values(x + r0 * ldx, rows, w.k, ldx, act);
    for (int64_t n0 = 0; n0 < w.n; n0 += tile_rows) {
      const int64_t cols = std::min(tile_rows, w.n - n0);
      WidenBf16Rows(weights + n0 * w.k, cols, w.k, w.k, tile);
      F32Rows(ctx, act, rows, w.k, tile, cols, w.k, w.k, /*trans_b=*/true, y + r0 * ldy + n0, ldy,
              accumulate);
    }
  }
}

}  // namespace

void LinearOnednn(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
                  float* y, int64_t ldy, bool accumulate) {
  if (w.type == GgmlType::kF32) {
    F32Rows(ctx, x, m, ldx, static_cast<const float*>(w.data), w.n, w.k, w.k, /*trans_b=*/true,
            y, ldy, accumulate);
    return;
  }
  if (!Bf16MatmulSupported()) {
    LinearBf16Emulated(ctx, x, m, ldx, w, y, ldy, accumulate);
    return;
  }
  // BF16: activation rows are rounded to bf16 one block at a time, which bounds the scratch to
  // row_block × K values; the weight is read in place.
  const Options& o = ctx.options;
  const int64_t block = std::min(o.row_block, m);
  auto* act = static_cast<uint16_t*>(
      ctx.act_scratch.Get(static_cast<size_t>(block * w.k) * sizeof(uint16_t),
                          &ctx.scratch_growths));
  MatmulKey key;
  key.a_type = key.b_type = dt::bf16;
  key.n = w.n;
  key.k = w.k;
  key.ldb = w.k;
  key.trans_b = true;
  key.sum = accumulate;
  key.beta = 1.0f;
  MatmulCall call;
  call.a = act;
  call.b = w.data;
  call.n = w.n;
  call.k = w.k;
  call.lda = w.k;
  call.ldb = w.k;
  call.ldc = ldy;
  for (int64_t r0 = 0; r0 < m; r0 += block) {
    const int64_t rows = std::min(block, m - r0);
    ConvertRowsToBf16(x + r0 * ldx, rows, w.k, ldx, act);
    call.m = rows;
    call.c = y + r0 * ldy;
    MatmulKey k = key;
    if (o.fixed_m_bf16 && rows == o.row_block) {
      k.m = rows;
      k.lda = w.k;
      k.ldc = ldy;
    }
    ctx.Matmul(k, call);
  }
}

void LinearTOnednn(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                   const WeightView& w, float* y, int64_t ldy) {
  // The weight's w.n rows of w.k values form the row-major [reduction × output] operand as
  // stored: reduction over w.n, output width w.k.
  if (w.type == GgmlType::kF32) {
    MatmulKxN(ctx, dt::f32, x, m, ldx, w.data, w.n, w.k, w.k, y, ldy, /*sum=*/false);
    return;
  }
  if (!Bf16MatmulSupported()) {  // the same products in f32 (LinearTDequant's emulation)
    const size_t row_bytes = static_cast<size_t>(w.k) * sizeof(uint16_t);
    LinearTDequant(ctx, x, m, ldx, w, row_bytes, y, ldy);
    return;
  }
  // BF16: convert (row block × reduction chunk) pieces of x and accumulate chunk by chunk, so
  // the scratch stays bounded even for a vocabulary-wide reduction.
  const Options& o = ctx.options;
  const int64_t block = std::min(o.row_block, m);
  const int64_t chunk = std::min(o.linear_t_bf16_chunk, w.n);
  auto* act = static_cast<uint16_t*>(
      ctx.act_scratch.Get(static_cast<size_t>(block * chunk) * sizeof(uint16_t),
                          &ctx.scratch_growths));
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  const size_t row_bytes = static_cast<size_t>(w.k) * sizeof(uint16_t);
  for (int64_t r0 = 0; r0 < m; r0 += block) {
    const int64_t rows = std::min(block, m - r0);
    for (int64_t c0 = 0; c0 < w.n; c0 += chunk) {
      const int64_t cs = std::min(chunk, w.n - c0);
      ConvertRowsToBf16(x + r0 * ldx + c0, rows, cs, ldx, act);
      MatmulKxNSplit(ctx, dt::bf16, act, rows, cs, wbytes + static_cast<size_t>(c0) * row_bytes,
                     cs, w.k, w.k, y + r0 * ldy, ldy, /*sum=*/c0 > 0);
    }
  }
}

void LinearDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                   const WeightView& w, size_t row_bytes, float* y, int64_t ldy, bool accumulate) {
  // Tile-outer: each weight tile is decoded once and used for all m rows.
  const int64_t tile_rows = std::min(ctx.options.linear_tile_rows, w.n);
  auto* tile = static_cast<float*>(ctx.tile_scratch.Get(
      static_cast<size_t>(tile_rows * w.k) * sizeof(float), &ctx.scratch_growths));
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  for (int64_t n0 = 0; n0 < w.n; n0 += tile_rows) {
    const int64_t rows = std::min(tile_rows, w.n - n0);
    DequantizeRows(w.type, wbytes + static_cast<size_t>(n0) * row_bytes, row_bytes, rows, w.k,
                   tile);
    F32Rows(ctx, x, m, ldx, tile, rows, w.k, w.k, /*trans_b=*/true, y + n0, ldy, accumulate);
  }
}

void LinearTDequant(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx,
                    const WeightView& w, size_t row_bytes, float* y, int64_t ldy) {
  // Tiles along the reduction dimension (weight rows); the first overwrites y, later ones add.
  // Block types in bf16 mode decode straight to bf16 (no f32 tile), in tiles of
  // linear_t_bf16_tile_rows rows: longer reductions per matmul call, the same scratch size.
  // BF16 weights always multiply as bf16 (LinearTOnednn's numerics); without bf16 instructions
  // (Bf16MatmulSupported false) the bf16 products are formed in f32 from bf16-rounded values
  // (emulate16).
  const bool want16 = ctx.options.linear_t_bf16_tiles || w.type == GgmlType::kBF16;
  const bool bf16 = want16 && Bf16MatmulSupported();
  const bool emulate16 = want16 && !bf16;
  const bool direct16 = bf16 && q8::Supported(w.type);
  // Emulated, block types decode to bf16 in registers too (the same values), then widen.
  const bool decode16 = emulate16 && q8::Supported(w.type);
  const int64_t tile_rows =
      std::min(direct16 ? ctx.options.linear_t_bf16_tile_rows : ctx.options.linear_t_tile_rows, w.n);
  const size_t tile_floats = static_cast<size_t>(tile_rows * w.k);
  // One scratch: the f32 tile (unless direct16), then (bf16 mode, decode16) the bf16 tile.
  const size_t f32_floats = direct16 ? 0 : tile_floats;
  auto* tile = static_cast<float*>(ctx.tile_scratch.Get(
      f32_floats * sizeof(float) + (bf16 || decode16 ? tile_floats * sizeof(uint16_t) : 0),
      &ctx.scratch_growths));
  uint16_t* tile16 = bf16 || decode16 ? reinterpret_cast<uint16_t*>(tile + f32_floats) : nullptr;
  uint16_t* act = bf16 ? static_cast<uint16_t*>(ctx.act_scratch.Get(
                             static_cast<size_t>(m * tile_rows) * sizeof(uint16_t),
                             &ctx.scratch_growths))
                       : nullptr;
  float* act32 = emulate16 ? static_cast<float*>(ctx.act_scratch.Get(
                                 static_cast<size_t>(m * tile_rows) * sizeof(float),
                                 &ctx.scratch_growths))
                           : nullptr;
  const auto* wbytes = static_cast<const uint8_t*>(w.data);
  for (int64_t n0 = 0; n0 < w.n; n0 += tile_rows) {
    const int64_t rows = std::min(tile_rows, w.n - n0);
    const uint8_t* tile_bytes = wbytes + static_cast<size_t>(n0) * row_bytes;
    if (bf16) {
      if (direct16) {  // block types: straight to bf16, decoded in registers
        q8::DequantizeRowsBf16(w.type, tile_bytes, row_bytes, rows, w.k, tile16);
      } else {
        DequantizeRows(w.type, tile_bytes, row_bytes, rows, w.k, tile);
        ConvertRowsToBf16(tile, rows, w.k, w.k, tile16);
      }
      ConvertRowsToBf16(x + n0, m, rows, ldx, act);
      MatmulKxNSplit(ctx, dt::bf16, act, m, rows, tile16, rows, w.k, w.k, y, ldy, /*sum=*/n0 > 0);
      continue;
    }
    if (decode16) {
      q8::DequantizeRowsBf16(w.type, tile_bytes, row_bytes, rows, w.k, tile16);
      WidenBf16Rows(tile16, rows, w.k, w.k, tile);
    } else {
      DequantizeRows(w.type, tile_bytes, row_bytes, rows, w.k, tile);
    }
    if (emulate16) {
      if (!decode16 && w.type != GgmlType::kBF16) {
        RoundRowsToBf16Values(tile, rows, w.k, w.k, tile);
      }
      RoundRowsToBf16Values(x + n0, m, rows, ldx, act32);
      MatmulKxN(ctx, dt::f32, act32, m, rows, tile, rows, w.k, w.k, y, ldy, /*sum=*/n0 > 0);
      continue;
    }
    MatmulKxN(ctx, dt::f32, x + n0, m, ldx, tile, rows, w.k, w.k, y, ldy, /*sum=*/n0 > 0);
  }
}

}  // namespace gemm
}  // namespace dllm
