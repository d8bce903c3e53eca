// dllm's matrix multiplications: y = x · Wᵀ with GGUF weights in their file type, and a general
// f32 GEMM for attention. Plain C++: no oneDNN or Highway types leak through this header, so the
// model code stays dispatch-free.
//
// Layouts. Activations are f32, row-major, with a leading dimension (elements between the starts
// of consecutive rows) that may exceed the row width. A weight is a GGUF tensor of ggml dims
// [K, N]: N rows of K values, row n contiguous at data + n * row_bytes, in its file type.
//
// Numerics. F32 weights: f32 products, f32 accumulation. BF16 weights: the activation rows are
// rounded to bf16 (round to nearest even), products and accumulation in f32, so each product
// carries a relative error of at most 2^-8 from the activation rounding. On CPUs without bf16
// instructions (Bf16MatmulAvailable false: AVX2, and AVX-512 before AVX512_BF16) every bf16
// product of this header is formed in f32 from the same bf16-rounded values (exact in f32, so
// the products are identical; only the order of the f32 sums may differ, as it does between
// oneDNN's kernels). F16 weights, and Linear with Options::int8_quantized off: rows are
// dequantized exactly to f32, then as for F32.
// LinearT with F16 or block-quantized weights (the self-conditioning product over a quantized
// embedding): rows are dequantized exactly, then — with Options::linear_t_bf16_tiles (default)
// — the dequantized tile and the activations are rounded to bf16 and multiplied as for BF16
// weights (each product within 2^-8 relative of the exact one; the quantization error of the
// weights themselves is far larger), or without it multiplied in f32.
//
// Linear with block-quantized weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K; K ≤ 2^24) runs
// the int8 path (gemm/qgemm.h), whose result is exactly this computation, bit for bit on every
// CPU target:
//   1. each activation row is quantized per block of 32 values: d = max|x| / 127 (f32),
//      q = clamp(round_half_even(x · (1/d)), −127, 127) (q = 0 when d = 0);
//   2. each weight group (32 values; 16 for Q2_K, Q3_K, Q6_K) is read as value = s·q_w + o
//      with int8 q_w, f32 s (and f32 o for Q4_1, Q5_1, Q2_K, Q4_K, Q5_K) — exactly the values
//      the GGUF dequantizer produces;
//   3. per output, over the groups in order: acc = fma(f32(Σ q·q_w) · d, s, acc), then for
//      types with o: acc = fma(d · f32(Σ q), o, acc); the integer sums are exact (int32);
//   4. y = acc, or y + acc with accumulate.
// So y = Σ x̂·w with x̂ = d·q the quantized activations (|x − x̂| ≤ 0.50004·d per element) and
// w the exact dequantized weights, up to f32 rounding of about (2·K/group + 4)·2^-24·Σ|x̂ s q_w|
// (tests/gemm/qgemm_test.cc checks both statements).
//
// Threads. Work runs on the calling thread's OpenMP team (omp_set_num_threads on that thread
// sets its size). A Context is used by one thread at a time; different Contexts may run
// concurrently on different threads. The only state shared between Contexts is oneDNN's own
// thread-safe primitive cache.
//
// Errors. Invalid arguments (null pointers with m > 0, negative sizes, leading dimensions smaller
// than the row width, a K that is not a whole number of blocks) throw dllm::Error
// kInvalidArgument; weight types without a kernel throw kUnsupported. Nothing aborts.
#pragma once

#include <cstdint>
#include <memory>

#include "gguf/types.h"

namespace dllm {
namespace gemm {

// A weight matrix: `n` rows of `k` values of `type`, row i at data + i * GgmlRowBytes(type, k).
// Non-owning; the memory (usually a read-only mmap) must outlive the call.
struct WeightView {
  GgmlType type = GgmlType::kF32;
  const void* data = nullptr;
  int64_t n = 0;  // rows (output features of Linear)
  int64_t k = 0;  // values per row (input features of Linear)
};

// Tuning knobs. The defaults are what the benchmark found best on the reference machine; tests
// shrink the tiles to exercise the tiling logic on small shapes.
struct Options {
  // Linear with F32/BF16 weights runs in blocks of at most `row_block` activation rows. Bounds
  // the bf16 activation scratch (row_block × K × 2 bytes) and is the M of the fixed-M primitives.
  int64_t row_block = 256;
  // Run full row blocks through a primitive specialised to exactly row_block rows (and the
  // call's leading dimensions), which lets oneDNN pick its brgemm kernels; the remaining rows use
  // the runtime-M primitive. Costs one extra primitive per (weight shape, ldx, ldy).
  bool fixed_m_f32 = true;
  bool fixed_m_bf16 = true;
  // Weight rows dequantized per tile in the dequantizing paths (F16 and quantized weights).
  int64_t linear_tile_rows = 256;
  int64_t linear_t_tile_rows = 1024;
  // LinearT with F16/quantized weights: bf16 matmuls on the dequantized tiles (true; AMX-speed)
  // or f32 matmuls (false; exact products of the dequantized values).
  bool linear_t_bf16_tiles = true;
  // Weight rows per bf16 tile of LinearT over block types (decoded straight to bf16, so a tile
  // of 3 × linear_t_tile_rows rows takes the scratch of one f32 + bf16 tile).
  int64_t linear_t_bf16_tile_rows = 3072;
  // Reduction-dimension chunk of LinearT with BF16 weights (bounds its bf16 activation scratch).
  int64_t linear_t_bf16_chunk = 16384;
  // Linear with block-quantized weights: the int8 path (true) or f32 dequantized tiles (false,
  // the linear_tile_rows path above). The int8 path unpacks int8_tile_cols weight rows at a time
  // (rounded up to the kernel's column block) into about int8_tile_cols × K × 1.4 bytes.
  bool int8_quantized = true;
  int64_t int8_tile_cols = 256;
  // On CPUs with AMX-INT8 (gemm/amx.h) the int8 path's AVX3_DL kernels compute the group dot
  // products with tile matmuls (the same results, bit for bit); false keeps the VNNI kernels.
  bool int8_amx = true;
  // Linear with BF16 weights and at most 32 activation rows (the routed experts) runs on AMX-BF16
  // tiles straight from the weights where the CPU has them (the same products, summed in another
  // order than oneDNN's); false always uses oneDNN.
  bool bf16_amx_small_m = true;
};

// Per-session matmul state: the oneDNN engine and stream, a cache of primitives keyed by
// (data types, N, K, transposition, post-ops) with M a runtime dimension, and scratch buffers
// that grow to the largest call and are then reused. Not thread-safe; one per session.
class Context {
 public:
  explicit Context(const Options& options = Options());
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Options& options() const;

  // Observability for tests and benchmarks: oneDNN primitives this Context has created, and the
  // number of times a scratch buffer had to grow. Both stay constant once every shape class in
  // use has been seen.
  int64_t primitives_created() const;
  int64_t scratch_growths() const;

  struct Impl;  // defined in gemm/context.h (oneDNN-aware code only)
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// y[m×N] = x[m×K] · Wᵀ, or y += x · Wᵀ when `accumulate`. x has leading dimension ldx >= K, y has
// ldy >= N; columns of y beyond N are not touched. m == 0 is a no-op. x and y must not overlap.
void Linear(Context& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y,
            int64_t ldy, bool accumulate = false);

// y[m×K] = x[m×N] · W: the weight used un-transposed (e.g. probabilities over the vocabulary
// times the embedding matrix). ldx >= N, ldy >= K. x and y must not overlap.
void LinearT(Context& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y,
             int64_t ldy);

// c[m×n] = alpha · op(a) · op(b) + beta · c, all f32 row-major. op(a) is m×k: a is stored m×k
// (lda >= k) or, with trans_a, k×m (lda >= m). op(b) is k×n: b is stored k×n (ldb >= n) or, with
// trans_b, n×k (ldb >= k). ldc >= n. With beta == 0, c is only written (NaNs in it do not
// propagate). Primitives are cached per (trans_a, trans_b, beta, alpha != 1); m, n, k and the
// leading dimensions are runtime values.
void Sgemm(Context& ctx, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           bool trans_a, const float* b, int64_t ldb, bool trans_b, float* c, int64_t ldc,
           float alpha, float beta);

// Whether this CPU runs bf16 matmuls with bf16 instructions (AVX512_BF16 or AMX-BF16: Cooper
// Lake, Sapphire Rapids and later, Zen 4 and later; not AVX2-only CPUs or Skylake-SP to Ice
// Lake, where oneDNN has no bf16 matmul or emulates one at a fraction of its f32 rate; not under
// DLLM_CPU=avx2 or avx512, see gemm/cpu.h). Without them the bf16 products are formed in f32
// from the same bf16 values (see Numerics above); the model also keeps attention in f32.
bool Bf16MatmulAvailable();

// Sgemm with bf16 operands (raw bit patterns): products of the bf16 values are exact in f32,
// accumulation and c are f32 (oneDNN's bf16 matmul; AMX or AVX512-BF16 where present; without
// Bf16MatmulAvailable the operands are widened to f32, which gives the same products, and
// multiplied as by Sgemm). Same layouts, arguments and errors as Sgemm.
void GemmBf16(Context& ctx, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              bool trans_a, const uint16_t* b, int64_t ldb, bool trans_b, float* c, int64_t ldc,
              float alpha, float beta);

// dst[r·ld_dst + c] = bf16(x[r·ldx + c]) (round to nearest even; NaN stays NaN) for r < rows,
// c < cols. Runs on the calling thread only (for use inside parallel loops).
void RoundToBf16(const float* x, int64_t rows, int64_t cols, int64_t ldx, uint16_t* dst,
                 int64_t ld_dst);

}  // namespace gemm
}  // namespace dllm
