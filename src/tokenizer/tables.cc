#include "tokenizer/tables.h"

#include <cstring>

#include "util/error.h"

namespace dllm::tokenizer {

void U64Map::Reserve(size_t n) {
  size_t cap = 16;
  int bits = 4;
  while (cap < 2 * n) {
    cap <<= 1;
    ++bits;
  }
  slots_.assign(cap, Entry{kEmpty, 0});
  mask_ = cap - 1;
  shift_ = 64 - bits;
  size_ = 0;
}

bool U64Map::Insert(uint64_t key, uint64_t value) {
  if (2 * (size_ + 1) > slots_.size()) {
    std::vector<Entry> old = std::move(slots_);
    Reserve(old.empty() ? 8 : old.size());
    for (const Entry& e : old) {
      if (e.key != kEmpty) Insert(e.key, e.value);
    }
  }
  size_t i = Slot(key);
  while (slots_[i].key != kEmpty) {
    if (slots_[i].key == key) return false;
    i = (i + 1) & mask_;
  }
  slots_[i] = Entry{key, value};
  ++size_;
  return true;
}

uint64_t PieceTable::Hash(std::string_view s) {
  // FNV-1a over 8-byte words, then a final mix; pieces are short.
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

PieceTable::PieceTable(const std::vector<std::string>& pieces) {
  const size_t n = pieces.size();
  uint64_t total = 0;
  for (const std::string& p : pieces) total += p.size();
  if (total >= 0xFFFFFFFFull) Throw(ErrorCode::kFormat, "tokenizer.ggml.tokens is too large");
  blob_.reserve(total);
  offsets_.reserve(n + 1);
  for (const std::string& p : pieces) {
    offsets_.push_back(static_cast<uint32_t>(blob_.size()));
    blob_ += p;
  }
  offsets_.push_back(static_cast<uint32_t>(blob_.size()));

  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  slots_.assign(cap, Slot{0, -1, 0, 0});
  mask_ = cap - 1;
  winner_.assign(n, false);
  for (size_t id = 0; id < n; ++id) {
    const std::string_view p = Piece(id);
    if (p.empty()) continue;
    const uint64_t h = Hash(p);
    const auto tag = static_cast<uint32_t>(h >> 32);
    size_t i = h & mask_;
    while (true) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = Slot{tag, static_cast<int32_t>(id), offsets_[id], static_cast<uint32_t>(p.size())};
        winner_[id] = true;
        break;
      }
      if (s.tag == tag && Piece(s.id) == p) {
        winner_[s.id] = false;  // the higher id wins
        s.id = static_cast<int32_t>(id);
        s.offset = offsets_[id];
        winner_[id] = true;
        break;
      }
      i = (i + 1) & mask_;
    }
  }
}

int32_t PieceTable::Find(std::string_view piece, uint64_t h) const {
  if (piece.empty()) return -1;
  const auto tag = static_cast<uint32_t>(h >> 32);
  size_t i = h & mask_;
  while (true) {
    const Slot& s = slots_[i];
    if (s.id < 0) return -1;
    if (s.tag == tag && s.size == piece.size() &&
        std::memcmp(blob_.data() + s.offset, piece.data(), piece.size()) == 0) {
      return s.id;
    }
    i = (i + 1) & mask_;
  }
}

}  // namespace dllm::tokenizer
