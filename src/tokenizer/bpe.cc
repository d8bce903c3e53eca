#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstddef>

#include "tokenizer/utf8.h"
#include "util/error.h"

namespace dllm::tokenizer {
namespace {

// First and last code point of a non-empty valid UTF-8 string.
uint32_t FirstCp(std::string_view s) {
  uint32_t cp = 0;
  size_t len;
  utf8::Decode(s.data(), s.size(), &cp, &len);
  return cp;
}

uint32_t LastCp(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  uint32_t cp = 0;
  size_t len;
  utf8::Decode(s.data() + start, s.size() - start, &cp, &len);
  return cp;
}

constexpr uint64_t PairKey(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }
constexpr uint32_t kNoPair = ~uint32_t{0};
constexpr size_t kSmallChunk = 32;  // chunks up to this length use a plain scan

}  // namespace

BpeModel::BpeModel(const PieceTable& pieces, const std::vector<std::string>& merges,
                   const int32_t byte_ids[256], int32_t unk_id)
    : ascii_joinable_(128 * 2, 0), bmp_char_id_(0x10000, -1),
      produced_(pieces.size(), false), unk_id_(unk_id) {
  std::copy(byte_ids, byte_ids + 256, byte_ids_);

  // Single-character tokens are the start symbols (the winning id of duplicates).
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string_view piece = pieces.Piece(id);
    uint32_t cp;
    size_t len;
    if (!pieces.Winner(id) ||
        utf8::Decode(piece.data(), piece.size(), &cp, &len) != utf8::Status::kValid ||
        len != piece.size()) {
      continue;
    }
    if (cp < 0x10000) {
      bmp_char_id_[cp] = static_cast<int32_t>(id);
    } else {
      astral_char_id_[cp] = static_cast<int32_t>(id);
    }
  }

  merges_.Reserve(merges.size());
  joinable_.Reserve(merges.size() / 2 + 16);
  // Merges are resolved in batches: three lookups per merge (left, right, joined) into tables
  // of tens of MB, so the loads are issued ahead of their use.
  constexpr size_t kBatch = 32;
  struct Item {
    std::string_view left, right;
    std::string joined;
    uint64_t hash[3];
    int32_t id[3];
  };
  std::vector<Item> batch(kBatch);
  for (size_t base = 0; base < merges.size(); base += kBatch) {
    const size_t count = std::min(kBatch, merges.size() - base);
    for (size_t k = 0; k < count; ++k) {
      const size_t rank = base + k;
      const std::string& m = merges[rank];
      // Split at the first space after the first byte (a piece may itself start with a space).
      const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (sp == std::string::npos || sp + 1 >= m.size()) {
        Throw(ErrorCode::kFormat, "tokenizer.ggml.merges[" + std::to_string(rank) + "] \"" +
                                      m + "\" is not of the form \"left right\"");
      }
      if (rank > 0xFFFFFFFEull) Throw(ErrorCode::kFormat, "tokenizer.ggml.merges is too long");
      Item& it = batch[k];
      it.left = std::string_view(m.data(), sp);
      it.right = std::string_view(m.data() + sp + 1, m.size() - sp - 1);
      it.joined.assign(it.left).append(it.right);
      it.hash[0] = PieceTable::Hash(it.left);
      it.hash[1] = PieceTable::Hash(it.right);
      it.hash[2] = PieceTable::Hash(it.joined);
      for (uint64_t h : it.hash) pieces.PrefetchSlot(h);
    }
    for (size_t k = 0; k < count; ++k) {
      for (uint64_t h : batch[k].hash) pieces.PrefetchPiece(h);
    }
    for (size_t k = 0; k < count; ++k) {
      Item& it = batch[k];
      it.id[0] = pieces.Find(it.left, it.hash[0]);
      it.id[1] = pieces.Find(it.right, it.hash[1]);
      it.id[2] = pieces.Find(it.joined, it.hash[2]);
      if (it.id[0] >= 0 && it.id[1] >= 0) {
        merges_.Prefetch(PairKey(static_cast<uint32_t>(it.id[0]), static_cast<uint32_t>(it.id[1])));
      }
    }
    for (size_t k = 0; k < count; ++k) {
      const size_t rank = base + k;
      const Item& it = batch[k];
      const int32_t l = it.id[0], r = it.id[1], j = it.id[2];
      if (l < 0 || r < 0 || j < 0) {
        const std::string_view missing =
            l < 0 ? it.left : r < 0 ? it.right : std::string_view(it.joined);
        Throw(ErrorCode::kFormat, "tokenizer.ggml.merges[" + std::to_string(rank) + "] \"" +
                                      merges[rank] + "\" names \"" + std::string(missing) +
                                      "\", which is not in tokenizer.ggml.tokens");
      }
      // A repeated pair keeps its first (lowest) rank.
      if (!merges_.Insert(PairKey(static_cast<uint32_t>(l), static_cast<uint32_t>(r)),
                          (uint64_t{rank} << 32) | static_cast<uint32_t>(j))) {
        continue;
      }
      produced_[j] = true;
      const uint32_t a = LastCp(it.left), b = FirstCp(it.right);
      if (a < 128 && b < 128) {
        ascii_joinable_[a * 2 + (b >> 6)] |= uint64_t{1} << (b & 63);
      } else {
        joinable_.Insert(PairKey(a, b), 1);
      }
    }
  }
}

int32_t BpeModel::CharId(uint32_t cp) const {
  if (cp < 0x10000) return bmp_char_id_[cp];
  const auto it = astral_char_id_.find(cp);
  return it == astral_char_id_.end() ? -1 : it->second;
}

bool BpeModel::Joinable(uint32_t a, uint32_t b) const {
  if (a < 128 && b < 128) return (ascii_joinable_[a * 2 + (b >> 6)] >> (b & 63)) & 1;
  return joinable_.Find(PairKey(a, b)) != nullptr;
}

void BpeModel::EmitFallback(uint32_t cp, std::vector<int32_t>* out) const {
  std::string bytes;
  utf8::Append(cp, &bytes);
  for (char c : bytes) {
    if (byte_ids_[static_cast<unsigned char>(c)] < 0) {
      // The reference emits <unk> when any byte token is missing; with no <unk> either, the
      // character is dropped (nothing can represent it).
      if (unk_id_ >= 0) out->push_back(unk_id_);
      return;
    }
  }
  for (char c : bytes) out->push_back(byte_ids_[static_cast<unsigned char>(c)]);
}

void BpeModel::EncodeSmallChunk(Workspace* ws, std::vector<int32_t>* out) const {
  // Words are short: scanning for the lowest rank (the first one wins ties, i.e. the leftmost)
  // beats any priority structure. Same result as the tree loop below.
  size_t n = ws->chunk.size();
  int32_t ids[kSmallChunk];
  uint32_t rank[kSmallChunk];   // rank[i]: pair (ids[i], ids[i + 1]), kNoPair if none
  int32_t result[kSmallChunk];
  std::copy(ws->chunk.begin(), ws->chunk.end(), ids);
  auto lookup = [&](size_t i) {
    const uint64_t* m =
        merges_.Find(PairKey(static_cast<uint32_t>(ids[i]), static_cast<uint32_t>(ids[i + 1])));
    rank[i] = m ? static_cast<uint32_t>(*m >> 32) : kNoPair;
    if (m) result[i] = static_cast<int32_t>(*m & 0xFFFFFFFF);
  };
  for (size_t i = 0; i + 1 < n; ++i) lookup(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;
    }
    if (rank[best] == kNoPair) break;
    ids[best] = result[best];
    // Remove symbol best + 1 and pair best + 1 (it shifts left).
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      rank[i] = rank[i + 1];
      result[i] = result[i + 1];
    }
    --n;
    if (best > 0) lookup(best - 1);
    if (best + 1 < n) lookup(best);
  }
  out->insert(out->end(), ids, ids + n);
}

void BpeModel::EncodeChunk(Workspace* ws, std::vector<int32_t>* out) const {
  const size_t n = ws->chunk.size();
  if (n == 1) {
    out->push_back(ws->chunk[0]);
    return;
  }
  if (n <= kSmallChunk) {
    EncodeSmallChunk(ws, out);
    return;
  }
  // Long runs. pair_rank[i] is the rank of the pair (i, next[i]) (kNoPair if none or if i was
  // merged away). The next merge is the minimum of (rank << 32 | position) over all i: the
  // lowest rank, leftmost on ties. It is kept in a tournament tree over blocks of kBlock
  // positions; a merge changes at most three entries, each costing one block scan (contiguous)
  // and a walk up the small tree. Memory: 16 bytes per character.
  std::vector<int32_t>& ids = ws->chunk;  // merged in place
  std::vector<int32_t>& prev = ws->prev;
  std::vector<int32_t>& next = ws->next;
  std::vector<uint32_t>& pair_rank = ws->pair_rank;
  std::vector<uint64_t>& tree = ws->tree;
  prev.resize(n);
  next.resize(n);
  pair_rank.assign(n, kNoPair);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  auto lookup = [&](int32_t left) -> const uint64_t* {
    const int32_t right = next[left];
    if (right < 0) return nullptr;
    return merges_.Find(PairKey(static_cast<uint32_t>(ids[left]),
                                static_cast<uint32_t>(ids[right])));
  };
  auto set_rank = [&](int32_t left) {
    const uint64_t* m = lookup(left);
    pair_rank[left] = m ? static_cast<uint32_t>(*m >> 32) : kNoPair;
  };
  for (size_t i = 0; i + 1 < n; ++i) set_rank(static_cast<int32_t>(i));

  constexpr size_t kBlock = 64;
  constexpr uint64_t kNone = ~uint64_t{0};
  const size_t blocks = (n + kBlock - 1) / kBlock;
  size_t leaves = 1;
  while (leaves < blocks) leaves <<= 1;
  tree.assign(2 * leaves, kNone);
  auto block_min = [&](size_t b) {
    const size_t lo = b * kBlock, hi = std::min(lo + kBlock, n);
    uint32_t best = kNoPair;
    size_t at = lo;
    for (size_t i = lo; i < hi; ++i) {
      if (pair_rank[i] < best) {
        best = pair_rank[i];
        at = i;
      }
    }
    return best == kNoPair ? kNone : (uint64_t{best} << 32) | at;
  };
  for (size_t b = 0; b < blocks; ++b) tree[leaves + b] = block_min(b);
  for (size_t i = leaves - 1; i >= 1; --i) tree[i] = std::min(tree[2 * i], tree[2 * i + 1]);
  // Call after every change of pair_rank[pos]. Keeps each leaf equal to the minimum of its
  // block; rescans a block only when its minimum got worse.
  auto touch = [&](size_t pos) {
    size_t i = leaves + pos / kBlock;
    const uint64_t key = pair_rank[pos] == kNoPair ? kNone : (uint64_t{pair_rank[pos]} << 32) | pos;
    if (key < tree[i]) {
      tree[i] = key;
    } else if (tree[i] != kNone && (tree[i] & 0xFFFFFFFF) == pos) {
      tree[i] = block_min(pos / kBlock);
    } else {
      return;
    }
    for (i >>= 1; i >= 1; i >>= 1) {
      const uint64_t v = std::min(tree[2 * i], tree[2 * i + 1]);
      if (tree[i] == v) break;
      tree[i] = v;
    }
  };
  while (tree[1] != kNone) {
    const auto left = static_cast<int32_t>(tree[1] & 0xFFFFFFFF);
    const int32_t right = next[left];
    ids[left] = static_cast<int32_t>(*lookup(left) & 0xFFFFFFFF);
    ids[right] = -1;
    pair_rank[right] = kNoPair;
    touch(static_cast<size_t>(right));
    const int32_t after = next[right];
    next[left] = after;
    if (after >= 0) prev[after] = left;
    set_rank(left);
    touch(static_cast<size_t>(left));
    if (prev[left] >= 0) {
      set_rank(prev[left]);
      touch(static_cast<size_t>(prev[left]));
    }
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out->push_back(ids[i]);
}

void BpeModel::Encode(std::string_view word, Workspace* ws, std::vector<int32_t>* out) const {
  std::vector<int32_t>& chunk = ws->chunk;  // ids of the current chunk (all >= 0)
  chunk.clear();
  uint32_t prev_cp = 0;
  size_t i = 0;
  while (i < word.size()) {
    uint32_t cp;
    size_t len;
    const auto b = static_cast<unsigned char>(word[i]);
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if (utf8::Decode(word.data() + i, word.size() - i, &cp, &len) !=
               utf8::Status::kValid) {
      cp = utf8::kReplacementChar;  // callers pass valid UTF-8; stay safe regardless
    }
    i += len;
    const int32_t id = CharId(cp);
    if (id < 0) {
      // No token: no merge can involve it, so it is a chunk of its own.
      if (!chunk.empty()) EncodeChunk(ws, out);
      chunk.clear();
      EmitFallback(cp, out);
      continue;
    }
    if (!chunk.empty() && !Joinable(prev_cp, cp)) {
      EncodeChunk(ws, out);
      chunk.clear();
    }
    chunk.push_back(id);
    prev_cp = cp;
  }
  if (!chunk.empty()) EncodeChunk(ws, out);
}

}  // namespace dllm::tokenizer
