#include "engine/sampler.h"

#include "kernels/kernels.h"

namespace dllm {

float StepTemperature(float t_min, float t_max, int max_steps, int step) {
  const double t = static_cast<double>(t_min) + (static_cast<double>(t_max) - t_min) *
                                                    static_cast<double>(max_steps - step) /
                                                    static_cast<double>(max_steps);
  return static_cast<float>(t);
}

void SampleCanvas(const float* logits, int64_t rows, int64_t vocab, float inv_t,
                  const float* uniforms, bool argmax_only, float* probs, int32_t* argmax,
                  int32_t* sample, float* entropy) {
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < rows; ++i) {
    const kernels::RowStats st =
        kernels::SampleRow(logits + i * vocab, static_cast<size_t>(vocab), inv_t, uniforms[i],
                           argmax_only, probs ? probs + i * vocab : nullptr);
    argmax[i] = st.argmax;
    sample[i] = st.sample;
    entropy[i] = st.entropy;
  }
}

void AcceptByEntropy(const float* entropy, int64_t rows, double bound, uint8_t* accepted) {
  kernels::EntropyBoundAccept(entropy, static_cast<size_t>(rows), bound, accepted);
}

}  // namespace dllm
