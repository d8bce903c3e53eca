// Row-oriented f32 kernels of the engine (norms, RoPE, activations, softmax, sampling).
//
// dllm::kernels::*      SIMD implementations (Highway, runtime dispatch to the best target the
//                       CPU supports; see kernels.cc). This header does not include Highway.
// dllm::kernels::ref::* Straightforward scalar implementations of the same functions. They are
//                       the test oracles and accumulate in double; they may allocate.
//
// Common contract (unless a function says otherwise):
// - Pointers are caller-owned, used only during the call, and must cover n elements (NULL is
//   allowed only where stated, or when n == 0). Outputs may not alias inputs unless stated.
// - No function allocates, throws or keeps state; all are thread-safe on disjoint outputs.
// - Inputs are finite unless stated; NaN inputs give unspecified values (never out-of-range
//   indices or out-of-bounds accesses).
// - Accuracy: the SIMD versions agree with ref:: to a few float ulps per element (sums: relative
//   1e-6 of the sum of magnitudes); tests/kernels/kernels_test.cc states each tolerance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dllm::kernels {

// y = x · (mean(x²) + eps)^(-1/2) · w (w NULL: no weight). x and y may be the same array.
void RmsNorm(const float* x, const float* w, float* y, size_t n, float eps);
// RmsNorm in place on `rows` rows of n elements, row r starting at x + r·stride (stride ≥ n),
// e.g. per-head q/k norm with rows = heads, stride = head_dim.
void RmsNormRows(float* x, size_t rows, size_t n, size_t stride, const float* w, float eps);

// Split-half (NeoX) rotary embedding in place on n_heads consecutive heads of head_dim
// (even) elements: for j < h = head_dim/2, y[j] = x[j]·cos[j] − x[j+h]·sin[j],
// y[j+h] = x[j+h]·cos[j] + x[j]·sin[j]. cos/sin have h elements (see RopeTable).
void RopeNeox(float* x, size_t head_dim, size_t n_heads, const float* cos, const float* sin);
// cos[j], sin[j] (j < head_dim/2) of φ_j = position·ω_j, ω_j = theta^(−2j/head_dim) / divisor_j
// (freq_divisors NULL: all 1), all in double, rounded to float at the end. Angles with
// |φ| < 1e-20 give exactly (1, 0), so llama.cpp's divisor 1e30 ("pair not rotated") is the
// exact identity, as HF's ω_j = 0. Scalar (called once per position and layer kind).
void RopeTable(int64_t position, size_t head_dim, float theta, const float* freq_divisors,
               float* cos, float* sin);

// y = gelu_tanh(g) · u, gelu_tanh(x) = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
// Any of y, g, u may be the same array.
void GeluTanhMul(const float* g, const float* u, float* y, size_t n);
// x = cap · tanh(x / cap) in place (cap > 0; evaluated as x·(1/cap), ≤ 1 ulp apart).
void SoftCap(float* x, size_t n, float cap);
// x = softmax(x) in place. Entries may be −inf (weight 0); a row that is entirely −inf
// becomes all zeros (nothing to attend to). Weights exp(x − max) below 2.6e-38 count as 0.
void Softmax(float* x, size_t n);
// y += a·x (y and x may be the same array).
void AddScaled(float* y, const float* x, float a, size_t n);
// x *= a.
void Scale(float* x, float a, size_t n);
// Σ a[i]·b[i], accumulated in f32 over several vector accumulators.
float Dot(const float* a, const float* b, size_t n);

// Per-row result of SampleRow (docs/sampler.md steps 1–3).
struct RowStats {
  int32_t argmax;  // lowest index of the maximum of z
  int32_t sample;  // inverse-CDF sample (== argmax in argmax-only mode)
  float entropy;   // nats
};

// One vocabulary row, exactly docs/sampler.md steps 1–3 with z = raw·inv_t in float32:
// m = max z, argmax = lowest index of m, e_v = exp(z_v − m), S = Σ e_v,
// entropy = log S − Σ π_v (z_v − m), sample = smallest v with Σ_{j≤v} e_j > u·S, else the
// last v with e_v > 0. argmax_only: sample = argmax and the sampling scan is skipped.
// probs_out (nullable, n floats): receives softmax(z) as float32. It may be raw itself (the row
// is then overwritten in place) but must not overlap it otherwise.
//
// inv_t > 0 and finite; u in [0, 1). raw may contain −inf (probability 0). n ≤ INT32_MAX.
// Degenerate rows: n == 0 gives {−1, −1, NaN}; every z = −inf gives {0, 0, NaN} and NaN
// probabilities.
// Precision: z and z − m are f32; e_v = exp(z_v − m) is f32 within ~1.5 ulp of the exact
// exponential of the f32 difference, and exactly 0 where z_v − m < −86.5 (e_v < 2.6e-38:
// no subnormals; such entries count as e_v = 0 also for the "last e_v > 0" fallback). S, the
// entropy and the cumulative sums are formed from f32 partial sums of ≤ 64 terms added in
// double; entries equal to m are counted apart, log S = log(n_max) + log1p(S_rest / n_max),
// so small entropies keep their relative precision (≤ 1e-6 relative to ref:: on the test
// rows). The sample equals the exact-arithmetic one unless u·S lies within ~1e-6·S of a
// boundary of the cumulative sum. probs_out = exp(z − m − log S) in f32 (≤ (2e-6 + 1.2e-7·|z − m|)
// relative; values below 2.6e-38 are written as 0).
// Cost: one read pass (max and sums, block-wise online rescaling); the sample is located from
// per-chunk sums kept on the stack plus a rescan of one chunk; writing probs is a second pass
// (non-temporal stores).
RowStats SampleRow(const float* raw, size_t n, float inv_t, float u, bool argmax_only,
                   float* probs_out);

// docs/sampler.md step 4: order positions by (entropy, position) ascending; the position of
// rank k gets accepted[p] = 1 iff the float64 sum of the entropies of ranks < k is ≤ bound,
// else 0. The first rank is always accepted. NaN entropies order last. Scalar, no allocation,
// O(n · accepted) (selection in rank order; n is the canvas length).
void EntropyBoundAccept(const float* entropy, size_t n, double bound, uint8_t* accepted);

// ---- Dispatch control (tests, benchmarks, diagnostics) ----------------------------------------
// Highway target bits compiled into dllm_kernels and supported by this CPU, best first
// (x86-64: AVX3_DL, AVX3, AVX2, SSE4, SSSE3, SCALAR as available). While SetTargetForTest is
// in force the list is just that target: query it first.
std::vector<int64_t> SupportedTargets();
// Human-readable name of a target bit ("AVX3_DL", "AVX2", "SCALAR", ...).
const char* TargetName(int64_t target);
// The target the kernels dispatch to now.
const char* ActiveTargetName();
// Makes every subsequent call dispatch to `target` (one of SupportedTargets()); 0 restores the
// automatic choice. Process-wide: for tests and benchmarks only, never while other threads
// run kernels.
void SetTargetForTest(int64_t target);

namespace ref {

void RmsNorm(const float* x, const float* w, float* y, size_t n, float eps);
void RmsNormRows(float* x, size_t rows, size_t n, size_t stride, const float* w, float eps);
void RopeNeox(float* x, size_t head_dim, size_t n_heads, const float* cos, const float* sin);
void RopeTable(int64_t position, size_t head_dim, float theta, const float* freq_divisors,
               float* cos, float* sin);
void GeluTanhMul(const float* g, const float* u, float* y, size_t n);
void SoftCap(float* x, size_t n, float cap);
void Softmax(float* x, size_t n);
void AddScaled(float* y, const float* x, float a, size_t n);
void Scale(float* x, float a, size_t n);
float Dot(const float* a, const float* b, size_t n);
// e_v, S, entropy and the cumulative sums in double (the numpy reference's precision).
RowStats SampleRow(const float* raw, size_t n, float inv_t, float u, bool argmax_only,
                   float* probs_out);
void EntropyBoundAccept(const float* entropy, size_t n, double bound, uint8_t* accepted);

}  // namespace ref
}  // namespace dllm::kernels
