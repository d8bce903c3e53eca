// Rank-ordered BPE (the "gemma4" vocabulary model), exact to the Hugging Face / llama.cpp merge
// semantics: repeatedly merge the adjacent pair with the lowest merge rank, the leftmost one on
// equal ranks, until no adjacent pair is a merge. Start symbols are Unicode characters; a final
// symbol without a token becomes its UTF-8 bytes as <0xXX> tokens (or the unknown token if a
// byte token is missing).
//
// Cost: a run of n characters takes O(n log n) time and about 20 bytes per character of
// working memory (short runs: a linear scan for the best pair; long runs: a tournament tree over
// blocks of per-position pair ranks, see EncodeChunk). Runs are first cut at "hard" boundaries:
// between characters x and y when no merge joins a left part ending in x to a right part
// starting with y, or when x or y has no token. No merge can cross such a boundary, so the
// pieces are independent and the result is unchanged; ordinary text is cut at most spaces and
// the heap stays small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tables.h"

namespace dllm::tokenizer {

class BpeModel {
 public:
  // byte_ids: id of <0xXX> for each byte or -1; unk_id: -1 if none. Throws
  // dllm::Error(kFormat) for a malformed merge or one naming a piece that does not exist.
  BpeModel(const PieceTable& pieces, const std::vector<std::string>& merges,
           const int32_t byte_ids[256], int32_t unk_id);

  // True for ids that some merge produces.
  const std::vector<bool>& produced() const { return produced_; }

  // Scratch memory for Encode; one per thread (the model itself is immutable).
  struct Workspace {
    std::vector<int32_t> chunk, prev, next;
    std::vector<uint32_t> pair_rank;
    std::vector<uint64_t> tree;
  };

  // Appends the ids of `word` (valid UTF-8, spaces already written as "▁").
  void Encode(std::string_view word, Workspace* ws, std::vector<int32_t>* out) const;

 private:
  int32_t CharId(uint32_t cp) const;
  bool Joinable(uint32_t left_cp, uint32_t right_cp) const;
  void EncodeChunk(Workspace* ws, std::vector<int32_t>* out) const;
  void EncodeSmallChunk(Workspace* ws, std::vector<int32_t>* out) const;
  void EmitFallback(uint32_t cp, std::vector<int32_t>* out) const;

  U64Map merges_;                         // (left << 32 | right) -> (rank << 32 | result)
  U64Map joinable_;                       // (last cp of left << 32 | first cp of right)
  std::vector<uint64_t> ascii_joinable_;  // 128 x 128 bit matrix for the common case
  std::vector<int32_t> bmp_char_id_;      // code point < 0x10000 -> single-character token id
  std::unordered_map<uint32_t, int32_t> astral_char_id_;
  std::vector<bool> produced_;
  int32_t byte_ids_[256];
  int32_t unk_id_;
};

}  // namespace dllm::tokenizer
