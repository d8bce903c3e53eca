// The KV cache of one session: for every layer, K (after k-norm and RoPE) and V (after the
// weightless v-norm) of every encoded token the layer can still see. Global layers keep all
// tokens; sliding layers keep only the last `sliding_window - 1` tokens (all a later query can
// reach) plus room for one chunk being encoded, compacting when full, so their memory is bounded.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hparams.h"

namespace dllm {

class KvCache {
 public:
  struct Layer {
    int64_t row_width = 0;  // n_kv_head * head_dim floats per token (row-major [row][kv][hd])
    int64_t first_pos = 0;  // absolute position of row 0
    int64_t rows = 0;       // rows held
    int64_t keep = 0;       // rows a sliding layer must keep (window - 1); 0 = keep everything
    std::vector<float> k, v;

    const float* K(int64_t row) const { return k.data() + row * row_width; }
    const float* V(int64_t row) const { return v.data() + row * row_width; }
    // Row holding absolute position `pos` (must be held).
    int64_t RowOf(int64_t pos) const { return pos - first_pos; }
    // Makes room for `m` more rows (compacting a sliding layer to its last `keep` rows) and
    // returns the first row to write; the caller writes m rows of K and V there.
    int64_t Reserve(int64_t m);
  };

  KvCache() = default;
  // Sizes the cache for a model; `max_chunk` is the most rows appended at once.
  void Init(const HParams& hp, int64_t max_chunk);
  void Reset();

  // Marks the tokens written by the last Reserve calls of every layer as appended.
  void Commit(int64_t m) { n_tokens_ += m; }

  int64_t n_tokens() const { return n_tokens_; }  // the next position
  Layer& layer(int il) { return layers_[static_cast<size_t>(il)]; }
  const Layer& layer(int il) const { return layers_[static_cast<size_t>(il)]; }
  int n_layers() const { return static_cast<int>(layers_.size()); }
  uint64_t BytesAllocated() const;

 private:
  std::vector<Layer> layers_;
  int64_t n_tokens_ = 0;
};

}  // namespace dllm
