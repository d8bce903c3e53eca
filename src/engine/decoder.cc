#include "engine/decoder.h"

#include <algorithm>
#include <chrono>

#include "engine/sampler.h"

namespace dllm {
namespace {
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

CanvasDecoder::CanvasDecoder(int64_t canvas_length, int64_t vocab)
    : length_(canvas_length), vocab_(vocab) {
  const size_t c = static_cast<size_t>(canvas_length);
  logits_.resize(c * static_cast<size_t>(vocab));
  entropy_.resize(c);
  uniforms_.resize(c);
  canvas_.resize(c);
  argmax_.resize(c);
  prev_argmax_.resize(c);
  sample_.resize(c);
  renoise_.resize(c);
  accepted_.resize(c);
}

CanvasDecoder::Outcome CanvasDecoder::Run(const Denoiser& denoise, const GenerateParams& p,
                                          Rng& rng, const GenerateCallbacks& cb,
                                          int canvas_index, Metrics* metrics) {
  const uint32_t v = static_cast<uint32_t>(vocab_);
  for (int32_t& t : canvas_) t = static_cast<int32_t>(rng.UniformInt(v));
  Outcome out;
  int stable = 0;
  for (int step = 0; step < p.max_steps; ++step) {
    const auto t0 = Clock::now();
    // After step 0, logits_ holds the previous step's softmax: the self-conditioning input.
    denoise(canvas_.data(), step == 0 ? nullptr : logits_.data(), logits_.data());
    const auto ts = Clock::now();
    for (float& u : uniforms_) u = rng.Uniform01();
    for (int32_t& r : renoise_) r = static_cast<int32_t>(rng.UniformInt(v));
    const float inv_t = 1.0f / StepTemperature(p.t_min, p.t_max, p.max_steps, step);
    // The softmax is the next step's self-conditioning input; the last step needs none.
    const bool need_probs = step + 1 < p.max_steps;
    SampleCanvas(logits_.data(), length_, vocab_, inv_t, uniforms_.data(), p.argmax_only,
                 need_probs ? logits_.data() : nullptr, argmax_.data(), sample_.data(),
                 entropy_.data());
    AcceptByEntropy(entropy_.data(), length_, p.entropy_bound, accepted_.data());
    double mean_h = 0;
    for (float h : entropy_) mean_h += h;
    mean_h /= static_cast<double>(length_);
    stable = (step > 0 && argmax_ == prev_argmax_) ? stable + 1 : 0;
    const bool converged = !p.fixed_steps && (step > 0 || p.stability_threshold == 0) &&
                           stable >= p.stability_threshold && mean_h < p.confidence_threshold;
    for (size_t i = 0; i < canvas_.size(); ++i) {
      canvas_[i] = accepted_[i] ? sample_[i] : renoise_[i];
    }
    prev_argmax_ = argmax_;
    if (metrics) {
      metrics->sampling_seconds += Since(ts);
      metrics->denoise_seconds += Since(t0);
      ++metrics->steps;
    }
    ++out.steps;
    out.cancelled = cb.cancel && cb.cancel->load(std::memory_order_relaxed);
    const bool last = converged || out.cancelled || step + 1 == p.max_steps;
    if (cb.on_step) {
      StepInfo info;
      info.canvas_index = canvas_index;
      info.step = step;
      info.length = length_;
      info.argmax = argmax_.data();
      info.next = canvas_.data();
      info.accepted = accepted_.data();
      info.entropy = entropy_.data();
      info.mean_entropy = mean_h;
      info.final = last;
      if (!cb.on_step(info)) out.stop_requested = true;
    }
    if (last || out.stop_requested) break;
  }
  return out;
}

}  // namespace dllm
