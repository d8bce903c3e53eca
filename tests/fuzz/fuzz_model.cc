// Fuzz target: a GGUF file as bytes → parse → load as a DiffusionGemma model → (small models)
// a short generation. Hostile files must end in a dllm::Error, never in a crash, a sanitizer
// report or a hang; a file that loads must generate without one either, whatever its weights
// hold (NaN or infinite scales and values included), and every generated id must lie in the
// vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "engine/session.h"
#include "fuzz_util.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "util/error.h"

namespace {

// Loaded models above these sizes are only loaded: a generation on them would make one input
// take seconds. Inputs are at most a few hundred KiB, so real models never reach this far.
constexpr int64_t kMaxVocab = 4096;
constexpr int64_t kMaxEmbd = 512;
constexpr int64_t kMaxLayers = 4;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<const dllm::Model> model;
  try {
    model = dllm::Model::FromFile(
        dllm::gguf::File::FromBuffer(std::vector<uint8_t>(data, data + size)));
  } catch (const dllm::Error& e) {
    if (dllm::fuzz::Verbose()) std::fprintf(stderr, "load: %s\n", e.what());
    return 0;  // rejected with a clear error: what a hostile file must get
  }
  const dllm::HParams& hp = model->hparams();
  if (hp.n_vocab > kMaxVocab || hp.n_embd > kMaxEmbd || hp.n_layer > kMaxLayers) return 0;
  try {
    dllm::Session session(model, dllm::SessionOptions{64, 1});
    dllm::GenerateParams p = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
    p.max_steps = 3;
    p.max_new_tokens = 2 * hp.canvas_length;
    p.seed = 7;
    const std::vector<int32_t> prompt = {2, 3, 5, 7};
    const dllm::GenerateResult r = session.Generate(prompt, p);
    for (int32_t id : r.tokens) {
      if (id < 0 || id >= hp.n_vocab) std::abort();  // an id outside the vocabulary: a bug
    }
    if (dllm::fuzz::Verbose()) {
      std::fprintf(stderr, "generated %zu tokens in %zu canvases\n", r.tokens.size(),
                   r.steps_per_canvas.size());
    }
  } catch (const dllm::Error& e) {
    if (dllm::fuzz::Verbose()) std::fprintf(stderr, "generate: %s\n", e.what());
    // A loaded model may still be refused at run time (a context too small for its canvas, a
    // prompt id outside a tiny vocabulary): an error, not a crash, is all that is required.
  }
  return 0;
}
