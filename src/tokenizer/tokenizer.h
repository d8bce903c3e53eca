// Text <-> token ids for dllm models, built from a GGUF-style vocabulary (tokenizer.ggml.*).
//
// Two vocabulary models are supported:
//   "gemma4"  Gemma 4's BPE: merges ranked by their position in the merge list (Hugging Face
//             semantics: lowest-rank adjacent pair first, leftmost on ties), spaces written as
//             U+2581 "▁", text split into runs of newlines vs other characters, characters
//             without a token fall back to <0xXX> byte tokens. Implemented here (bpe.h):
//             SentencePiece's BPE merges by piece score, which cannot reproduce pair ranks when
//             one piece is produced by several pairs (160,296 of the 236,339 merge results of the
//             Gemma vocabulary are).
//   "llama"   SentencePiece-style vocabularies with scores (BPE by score, byte fallback when the
//             256 byte tokens exist): delegated to SentencePiece itself, with its model rebuilt
//             in memory from the vocabulary (spm_model.h).
//
// Token kinds (tokenizer.ggml.token_type): control tokens (<bos>, <|turn>, ...) are recognised
// in input text only when EncodeOptions::parse_special is set; user-defined tokens (<table>,
// <unusedN>, runs of newlines/tabs/▁, ...) are always matched whole, on the raw text, before
// BPE runs (leftmost-longest, like the reference tokenizers' added-token splitter). Converters
// sometimes type user-defined tokens NORMAL; for "gemma4" they are recovered (see
// VocabData::token_types).
//
// Thread safety: a Tokenizer is immutable after Create(); all const methods may be called from
// any number of threads at once. A StreamDecoder is single-threaded state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dllm::tokenizer {

// tokenizer.ggml.token_type values (llama.cpp / SentencePiece numbering).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// The vocabulary as a GGUF file stores it. The model loader fills it from tokenizer.ggml.*;
// tests fill it directly. Create() copies what it needs, so the struct may be freed afterwards.
struct VocabData {
  std::string model;                 // tokenizer.ggml.model: "llama" | "gemma4"
  std::vector<std::string> tokens;   // piece strings, UTF-8 (byte tokens as "<0xXX>")
  std::vector<float> scores;         // empty, or one per token (used by "llama")
  // Empty (all normal), or one per token, values of TokenType. For "gemma4", NORMAL pieces are
  // re-typed user-defined when (a) they have two or more characters and no merge produces them
  // (<table>, <unused0>, ...), or (b) they are runs of newlines or tabs, or of two or more "▁"
  // (Gemma's whitespace user symbols). Pieces of the form <0xXX> count as byte tokens when no
  // token is typed BYTE.
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;   // "left right" (split at the first space after the first
                                     // byte); rank = index. Required for "gemma4".
  int32_t bos_id = -1;               // -1 if absent
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  int32_t mask_id = -1;
  bool add_bos = false;              // tokenizer.ggml.add_bos_token (the model's default)
  bool add_space_prefix = false;     // tokenizer.ggml.add_space_prefix
};

struct EncodeOptions {
  bool add_bos = false;        // prepend bos_id (no effect if the vocabulary has none)
  bool parse_special = false;  // recognise control-token strings ("<bos>", "<|turn>") in the text
};

struct DecodeOptions {
  // Control and unknown tokens decode to nothing by default; with this set, to their piece text
  // ("<|channel>"), which chat parsing (chat.h) needs.
  bool render_special = false;
};

class Tokenizer {
 public:
  // Builds a tokenizer. Throws dllm::Error: kUnsupported for a model other than "llama" /
  // "gemma4"; kFormat for an inconsistent vocabulary (no tokens, array lengths that differ,
  // special ids out of range, merges naming missing pieces, a "llama" vocabulary without an
  // unknown token). Duplicate pieces are accepted: text maps to the highest id holding the
  // string (llama.cpp's rule), and every id still decodes to its piece. Empty pieces are
  // accepted and never produced by Encode.
  static std::unique_ptr<Tokenizer> Create(const VocabData& vocab);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text to ids. Invalid UTF-8 is not rejected: each maximal invalid subsequence is replaced by
  // U+FFFD first (as SentencePiece's normaliser does), so Decode(Encode(x)) is x with that
  // replacement. NUL bytes are ordinary characters. Runs in O(n log n) time for any input;
  // working memory is about 20 bytes per character of the longest stretch that merges could
  // join (ordinary text is cut at most spaces; a 10 MB line of "aaaa..." needs ~200 MB).
  std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Ids to text: the bytes of every piece ("▁" -> " ", <0xXX> -> the byte), then any invalid
  // UTF-8 (unpaired byte tokens) replaced by U+FFFD. With add_space_prefix, one leading space
  // is removed from the first piece that produces text (SentencePiece's rule). Throws
  // dllm::Error(kInvalidArgument) for an id outside [0, size()).
  std::string Decode(const int32_t* ids, size_t count, const DecodeOptions& options = {}) const;
  std::string Decode(const std::vector<int32_t>& ids, const DecodeOptions& options = {}) const {
    return Decode(ids.data(), ids.size(), options);
  }

  int32_t size() const;                         // number of tokens
  const std::string& model() const;             // "llama" | "gemma4"
  std::string_view Piece(int32_t id) const;     // throws kInvalidArgument if out of range
  TokenType Type(int32_t id) const;             // effective type (after recovery)
  int32_t PieceToId(std::string_view piece) const;  // -1 if absent
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t unk_id() const;
  int32_t pad_id() const;
  int32_t mask_id() const;
  bool add_bos() const;                         // the vocabulary's default for add_bos

  // Implementation detail shared with StreamDecoder: appends the raw bytes of token `id` as
  // Decode emits them (before UTF-8 repair). `at_start` is true while no text token has been
  // decoded yet; returns true if `id` is a text token (anything but control and unknown), which
  // ends the start state. `id` must be in range.
  bool AppendPieceBytes(int32_t id, bool at_start, const DecodeOptions& options,
                        std::string* out) const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Incremental detokenizer for streaming generation. Push() ids one at a time; each call returns
// only complete, valid UTF-8: bytes of a code point split across byte tokens are held back until
// the code point is complete, and invalid sequences become U+FFFD. The concatenation of all
// Push() results and Finish() equals Tokenizer::Decode of the same ids.
class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer, const DecodeOptions& options = {});

  // Returns the text that became complete with `id` (often empty for byte tokens). Throws
  // dllm::Error(kInvalidArgument) for an out-of-range id (the decoder state is unchanged).
  std::string Push(int32_t id);
  // Returns held-back bytes (an incomplete sequence, as U+FFFD) and resets to the start state.
  std::string Finish();

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;   // bytes not yet emitted: a prefix of one possibly-valid sequence
  bool at_start_ = true;  // no text emitted yet (for the add_space_prefix rule)
};

}  // namespace dllm::tokenizer
