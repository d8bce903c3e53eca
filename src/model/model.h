// A loaded DiffusionGemma model: hyperparameters, weight views into the memory-mapped GGUF file
// and the tokenizer vocabulary. Immutable after Load, so any number of sessions on any threads
// may share one Model (hold it by std::shared_ptr<const Model>).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/hparams.h"
#include "model/weights.h"

namespace dllm {
namespace gguf {
class File;
}

struct ModelLoadOptions {
  bool use_mmap = true;  // false: read the whole file into memory instead
  // Called with a fraction in [0, 1] as loading proceeds (from the loading thread).
  std::function<void(float)> progress;
};

// Parameter and memory accounting (dllm-cli info).
struct ModelStats {
  uint64_t total_params = 0;      // every weight element (rope_freqs excluded: not a parameter)
  uint64_t active_params = 0;     // used per token: experts counted n_expert_used / n_expert
  uint64_t expert_params = 0;     // routed experts only
  uint64_t embedding_params = 0;  // token_embd (tied with the output head, counted once)
  std::map<std::string, int> type_histogram;  // ggml type name -> tensor count
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;      // bytes of tensor data
};

class Model {
 public:
  // Loads and validates a GGUF file of architecture "diffusion-gemma". Throws dllm::Error naming
  // what is wrong: missing/extra/mis-shaped tensors, wrong metadata types, unsupported tensor
  // types (naming the tensor and type), absurd hyperparameters.
  static std::shared_ptr<const Model> Load(const std::string& path,
                                           const ModelLoadOptions& options = {});
  // Same, from an already opened file (tests build files in memory).
  static std::shared_ptr<const Model> FromFile(std::unique_ptr<gguf::File> file,
                                               const ModelLoadOptions& options = {});
  ~Model();

  const HParams& hparams() const { return hparams_; }
  const SamplerDefaults& sampler_defaults() const { return sampler_defaults_; }
  const GlobalWeights& global() const { return global_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const gguf::File& file() const { return *file_; }
  // Token ids that end generation: eos, eot/eom when given, and <turn|> / <|tool_response>
  // when the vocabulary has them (the released model's {1, 106, 50}).
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  ModelStats Stats() const;

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  Model() = default;
  void LoadHParams();
  void LoadWeights(const ModelLoadOptions& options);
  void LoadEogIds();

  std::unique_ptr<gguf::File> file_;
  HParams hparams_;
  SamplerDefaults sampler_defaults_;
  GlobalWeights global_;
  std::vector<LayerWeights> layers_;
  std::vector<int32_t> eog_ids_;
};

// Weight types the engine can compute with (matrices: embedding, attention, dense FFN, experts,
// router, self-conditioning): F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K. They stay in the file's format in the mapping (no dequantized copy). Other types (IQ*,
// Q8_K, TQ*, MXFP4, ...) load-fail with kUnsupported naming the tensor and the type. Norm and
// scale vectors must be F32, F16 or BF16.
bool IsSupportedWeightType(GgmlType type);

// Rows of one forward pass over the prompt (a session encodes longer prompts in passes of this
// many rows): two canvases, at least 512. Each pass reads every touched expert's weights once,
// so longer passes give the grouped expert matmuls more rows per weight byte (the real-dims
// 2-layer models' 512-token prompt, interleaved runs: 10-15 % less time in one pass than in two
// of 256 — Q8_0 324 against 362 ms, Q4_K_M 359 against 420, BF16 397 against 433).
// Bounds the activation scratch and the sliding-window cache.
int64_t EncodePassRows(const HParams& hp);

// Bytes of f32 KV cache a session with `n_ctx` tokens of context needs (sliding layers keep only
// their window plus one encode pass, EncodePassRows).
uint64_t KvCacheBytes(const HParams& hp, int64_t n_ctx);

}  // namespace dllm
