#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace dllm {

void KvCache::Init(const HParams& hp, int64_t max_chunk) {
  layers_.assign(hp.layers.size(), Layer());
  for (size_t i = 0; i < hp.layers.size(); ++i) {
    const LayerShape& s = hp.layers[i];
    Layer& l = layers_[i];
    l.row_width = static_cast<int64_t>(s.n_kv_head) * s.head_dim;
    if (s.sliding) {
      l.keep = hp.sliding_window - 1;
      const int64_t cap = l.keep + max_chunk;
      l.k.resize(static_cast<size_t>(cap * l.row_width));
      l.v.resize(static_cast<size_t>(cap * l.row_width));
    }
  }
  n_tokens_ = 0;
}

void KvCache::Reset() {
  for (Layer& l : layers_) {
    l.first_pos = 0;
    l.rows = 0;
  }
  n_tokens_ = 0;
}

int64_t KvCache::Layer::Reserve(int64_t m) {
  Layer& l = *this;
  const size_t need = static_cast<size_t>((l.rows + m) * l.row_width);
  if (l.keep > 0) {
    const int64_t cap = static_cast<int64_t>(l.k.size()) / l.row_width;
    if (m > cap - l.keep) Throw(ErrorCode::kInternal, "KV cache chunk larger than reserved");
    if (l.rows + m > cap) {
      // Keep only the last `keep` rows: no later query can reach older ones.
      const int64_t drop = l.rows - std::min(l.rows, l.keep);
      const size_t bytes = static_cast<size_t>((l.rows - drop) * l.row_width) * sizeof(float);
      std::memmove(l.k.data(), l.K(drop), bytes);
      std::memmove(l.v.data(), l.V(drop), bytes);
      l.rows -= drop;
      l.first_pos += drop;
    }
  } else if (l.k.size() < need) {
    const size_t grown = std::max(need, l.k.size() + l.k.size() / 2);
    l.k.resize(grown);
    l.v.resize(grown);
  }
  const int64_t at = l.rows;
  l.rows += m;
  return at;
}

uint64_t KvCache::BytesAllocated() const {
  uint64_t total = 0;
  for (const Layer& l : layers_) total += (l.k.capacity() + l.v.capacity()) * sizeof(float);
  return total;
}

}  // namespace dllm
