// The kernels that need no SIMD: RoPE tables (once per position and layer kind) and the
// entropy-bound acceptance (once per denoising step over the canvas).
#include <cmath>
#include <cstring>

#include "kernels/kernels.h"

namespace dllm::kernels {

void RopeTable(int64_t position, size_t head_dim, float theta, const float* freq_divisors,
               float* cos, float* sin) {
  const size_t half = head_dim / 2;
  const double p = static_cast<double>(position);
  for (size_t j = 0; j < half; ++j) {
    // ω_j = theta^(−2j/head_dim) (exponent denominator = the full head dim, spec §3.3).
    double omega = std::pow(static_cast<double>(theta),
                            -2.0 * static_cast<double>(j) / static_cast<double>(head_dim));
    if (freq_divisors != nullptr) omega /= static_cast<double>(freq_divisors[j]);
    const double phi = p * omega;
    // A divisor of 1e30 marks an unrotated pair (llama.cpp's rope_freqs); HF has ω_j = 0.
    // Make that the exact identity instead of sin ≈ 1e-26.
    if (std::fabs(phi) < 1e-20) {
      cos[j] = 1.0f;
      sin[j] = 0.0f;
    } else {
      cos[j] = static_cast<float>(std::cos(phi));
      sin[j] = static_cast<float>(std::sin(phi));
    }
  }
}

namespace {

// Strict weak order of positions by (H, index), NaN after every number.
inline bool RankBefore(const float* h, size_t a, size_t b) {
  const bool na = std::isnan(h[a]), nb = std::isnan(h[b]);
  if (na != nb) return nb;
  if (!na && h[a] != h[b]) return h[a] < h[b];
  return a < b;
}

}  // namespace

void EntropyBoundAccept(const float* entropy, size_t n, double bound, uint8_t* accepted) {
  if (n == 0) return;
  std::memset(accepted, 0, n);
  // Selection in rank order without a scratch buffer: each round picks the smallest position
  // that ranks after the previous pick. The prefix sum is formed in rank order (float64), as
  // specified. With entropies ≥ 0 (always, from SampleRow) no rank after the first rejected
  // one can be accepted, so the loop stops there; negative inputs get the full O(n²) walk.
  bool any_negative = false;
  for (size_t p = 0; p < n; ++p) any_negative |= entropy[p] < 0.0f;
  double prefix = 0.0;
  size_t prev = n;  // n: none picked yet
  for (size_t k = 0; k < n; ++k) {
    const bool accept = k == 0 || prefix <= bound;
    if (!accept && !any_negative) break;
    size_t best = n;
    for (size_t p = 0; p < n; ++p) {
      if (prev != n && !RankBefore(entropy, prev, p)) continue;  // ranks at or before prev
      if (best == n || RankBefore(entropy, p, best)) best = p;
    }
    if (best == n) break;
    accepted[best] = accept ? 1 : 0;
    prefix += static_cast<double>(entropy[best]);
    prev = best;
  }
}

}  // namespace dllm::kernels
