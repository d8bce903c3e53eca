// One canvas of the block decoder (docs/sampler.md): random initial canvas, denoising steps
// with the entropy-bound rule, renoising, temperature schedule and the stable-and-confident
// stop. The denoiser is a function so the same loop runs the model (Session) and, in tests,
// stand-ins with fixed logits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/generate_params.h"
#include "util/rng.h"

namespace dllm {

// Writes raw (soft-capped) logits [canvas, vocab] for `canvas`; `sc_probs` is the previous
// step's softmax(Z) [canvas, vocab] or nullptr on a canvas's first step. sc_probs is the SAME
// buffer as logits (the decoder keeps one [canvas, vocab] array: 256 MiB at the released
// model's size): a denoiser must read sc_probs completely before it writes logits.
using Denoiser = std::function<void(const int32_t* canvas, const float* sc_probs, float* logits)>;

class CanvasDecoder {
 public:
  CanvasDecoder(int64_t canvas_length, int64_t vocab);

  struct Outcome {
    int steps = 0;
    bool cancelled = false;       // the cancel flag was seen; nothing should be committed
    bool stop_requested = false;  // on_step returned false
  };

  // Runs one canvas. Afterwards argmax() is the canvas to commit (the last step's argmax).
  Outcome Run(const Denoiser& denoise, const GenerateParams& params, Rng& rng,
              const GenerateCallbacks& callbacks, int canvas_index, Metrics* metrics);

  const std::vector<int32_t>& argmax() const { return argmax_; }

 private:
  int64_t length_, vocab_;
  std::vector<float> logits_, entropy_, uniforms_;  // logits_ holds the softmax after sampling
  std::vector<int32_t> canvas_, argmax_, prev_argmax_, sample_, renoise_;
  std::vector<uint8_t> accepted_;
};

}  // namespace dllm
