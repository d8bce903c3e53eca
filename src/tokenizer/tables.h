// Flat, cache-friendly lookup tables for the tokenizer: the vocabulary's pieces in one buffer
// with an open-addressing string index, and an open-addressing 64-bit map (merge pairs). With
// 262,144 pieces and 514,906 merges, node-based std::unordered_map cost several cache misses
// per lookup and most of the load time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dllm::tokenizer {

// Open-addressing hash map from 64-bit keys (not kEmpty) to 64-bit values, linear probing,
// load factor <= 1/2. Key and value share a slot, so a lookup touches one cache line.
class U64Map {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  void Reserve(size_t n);
  // Inserts if absent; returns false (keeping the old value) if the key exists.
  bool Insert(uint64_t key, uint64_t value);
  void Prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Slot(key)]);
  }
  const uint64_t* Find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    size_t i = Slot(key);
    while (true) {
      const Entry& e = slots_[i];
      if (e.key == key) return &e.value;
      if (e.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t key;
    uint64_t value;
  };
  size_t Slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  std::vector<Entry> slots_;
  size_t mask_ = 0, size_ = 0;
  int shift_ = 0;
};

// The vocabulary's pieces (ids 0..n-1) in one buffer, and string -> id. When a string occurs
// more than once, the highest id wins (llama.cpp's rule); Winner(id) tells whether id is it.
class PieceTable {
 public:
  // Throws dllm::Error(kFormat) if the pieces total 4 GiB or more.
  explicit PieceTable(const std::vector<std::string>& pieces);

  size_t size() const { return offsets_.size() - 1; }
  std::string_view Piece(size_t id) const {
    return std::string_view(blob_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  int32_t Find(std::string_view piece) const { return Find(piece, Hash(piece)); }  // -1: absent
  // Batched lookups (hide memory latency): Hash, then PrefetchSlot, then PrefetchPiece, then
  // Find with the hash, each stage over a batch of pieces.
  static uint64_t Hash(std::string_view s);
  int32_t Find(std::string_view piece, uint64_t hash) const;
  void PrefetchSlot(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  void PrefetchPiece(uint64_t hash) const {
    const Slot& s = slots_[hash & mask_];
    if (s.id >= 0) __builtin_prefetch(blob_.data() + s.offset);
  }
  bool Winner(size_t id) const { return winner_[id]; }
  size_t bytes() const { return blob_.size(); }

 private:
  // A slot holds the piece's location too, so a lookup touches the slot and the bytes only.
  struct Slot {
    uint32_t tag;     // high half of the hash
    int32_t id;       // -1: empty
    uint32_t offset;  // into blob_
    uint32_t size;
  };
  std::string blob_;
  std::vector<uint32_t> offsets_;
  std::vector<Slot> slots_;
  std::vector<bool> winner_;
  size_t mask_ = 0;
};

}  // namespace dllm::tokenizer
