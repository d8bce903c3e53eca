// The per-step decisions of the entropy-bound sampler (docs/sampler.md, spec §5.3).
#pragma once

#include <cstdint>

namespace dllm {

// t_i = t_min + (t_max - t_min) * (N - i) / N, computed in double, returned as float.
float StepTemperature(float t_min, float t_max, int max_steps, int step);

// For each of `rows` positions: argmax, sample (inverse CDF with uniforms[p]; the argmax in
// argmax-only mode) and entropy of softmax(logits * inv_t); optionally writes that softmax to
// `probs` [rows, vocab] (the next step's self-conditioning input). Parallel over positions.
// `probs` (nullable) may be `logits` itself: each row is then replaced by its softmax.
void SampleCanvas(const float* logits, int64_t rows, int64_t vocab, float inv_t,
                  const float* uniforms, bool argmax_only, float* probs, int32_t* argmax,
                  int32_t* sample, float* entropy);

// Entropy-bounded acceptance: positions in order of (entropy, index); the one of rank k is
// accepted iff the entropies of ranks < k sum to <= bound. The lowest always is.
void AcceptByEntropy(const float* entropy, int64_t rows, double bound, uint8_t* accepted);

}  // namespace dllm
