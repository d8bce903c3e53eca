#include "tokenizer/tokenizer.h"

#include <limits>

#include "tokenizer/bpe.h"
#include "tokenizer/special_matcher.h"
#include "tokenizer/spm_model.h"
#include "tokenizer/tables.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace dllm::tokenizer {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁"

// "<0xXX>" -> XX, else -1.
int ParseBytePiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + d;
  }
  return value;
}

// A run of one whitespace symbol that Gemma's SentencePiece model declared user-defined:
// newlines or tabs (any length), or two or more "▁".
bool IsWhitespaceRunSymbol(std::string_view piece) {
  if (piece.empty()) return false;
  if (piece.find_first_not_of('\n') == std::string_view::npos) return true;
  if (piece.find_first_not_of('\t') == std::string_view::npos) return true;
  if (piece.size() < 2 * kSpaceSymbol.size() || piece.size() % kSpaceSymbol.size() != 0) {
    return false;
  }
  for (size_t i = 0; i < piece.size(); i += kSpaceSymbol.size()) {
    if (piece.compare(i, kSpaceSymbol.size(), kSpaceSymbol) != 0) return false;
  }
  return true;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void CheckSpecialId(const char* key, int32_t id, size_t n) {
  if (id < -1 || (id >= 0 && static_cast<size_t>(id) >= n)) {
    Throw(ErrorCode::kFormat, std::string("tokenizer.ggml.") + key + " = " + std::to_string(id) +
                                  " is out of range for " + std::to_string(n) + " tokens");
  }
}

bool IsSpecialType(TokenType t) { return t == TokenType::kControl || t == TokenType::kUnknown; }

}  // namespace

struct Tokenizer::Impl {
  enum class Kind { kLlama, kGemma4 };
  Kind kind = Kind::kGemma4;
  std::string model;
  std::unique_ptr<PieceTable> pieces;  // id -> piece, piece -> id
  std::vector<TokenType> types;
  // Text bytes of every token ("▁" -> " ", byte tokens -> their byte; empty for control and
  // unknown tokens): decoded[decoded_offset[id], decoded_offset[id + 1]).
  std::string decoded;
  std::vector<uint32_t> decoded_offset;
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, mask = -1;
  bool add_bos = false, add_space_prefix = false;
  SpecialMatcher matcher;  // whole-token strings matched on the raw text
  std::unique_ptr<BpeModel> bpe;
  std::unique_ptr<SpmModel> spm;

  // Encodes text between whole-token matches. `at_text_start`: the segment begins the text.
  void EncodeSegment(std::string_view segment, bool at_text_start, BpeModel::Workspace* ws,
                     std::vector<int32_t>* out) const;
};

void Tokenizer::Impl::EncodeSegment(std::string_view segment, bool at_text_start,
                                    BpeModel::Workspace* ws, std::vector<int32_t>* out) const {
  if (segment.empty()) return;
  if (kind == Kind::kLlama) {
    // SentencePiece adds the dummy prefix itself (add_dummy_prefix), to every segment: after a
    // control token as at the start of the text, which is llama.cpp's rule too.
    spm->Encode(segment, out);
    return;
  }
  // gemma4: spaces to "▁", then runs of newlines vs everything else.
  std::string escaped;
  escaped.reserve(segment.size() + segment.size() / 4);
  if (add_space_prefix && at_text_start) escaped.append(kSpaceSymbol);
  for (char c : segment) {
    if (c == ' ') {
      escaped.append(kSpaceSymbol);
    } else {
      escaped.push_back(c);
    }
  }
  const std::string_view text(escaped);
  size_t i = 0;
  while (i < text.size()) {
    const bool newlines = text[i] == '\n';
    size_t j = i;
    while (j < text.size() && (text[j] == '\n') == newlines) ++j;
    const std::string_view run = text.substr(i, j - i);
    const int32_t whole = newlines ? pieces->Find(run) : -1;
    if (whole >= 0) {
      out->push_back(whole);
    } else {
      bpe->Encode(run, ws, out);
    }
    i = j;
  }
}

namespace {

using Impl = Tokenizer::Impl;

void CheckShape(const VocabData& vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) Throw(ErrorCode::kFormat, "tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    Throw(ErrorCode::kFormat, "tokenizer.ggml.tokens has too many entries");
  }
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    Throw(ErrorCode::kFormat, "tokenizer.ggml.scores has " + std::to_string(vocab.scores.size()) +
                                  " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  if (!vocab.token_types.empty() && vocab.token_types.size() != n) {
    Throw(ErrorCode::kFormat, "tokenizer.ggml.token_type has " +
                                  std::to_string(vocab.token_types.size()) +
                                  " entries but tokenizer.ggml.tokens has " + std::to_string(n));
  }
  for (size_t i = 0; i < vocab.token_types.size(); ++i) {
    const int32_t ty = vocab.token_types[i];
    if (ty < 1 || ty > 6) {
      Throw(ErrorCode::kFormat, "tokenizer.ggml.token_type[" + std::to_string(i) + "] = " +
                                    std::to_string(ty) + " is not a token type (1..6)");
    }
  }
  CheckSpecialId("bos_token_id", vocab.bos_id, n);
  CheckSpecialId("eos_token_id", vocab.eos_id, n);
  CheckSpecialId("unknown_token_id", vocab.unk_id, n);
  CheckSpecialId("padding_token_id", vocab.pad_id, n);
  CheckSpecialId("mask_token_id", vocab.mask_id, n);
}

// Fills byte_ids from the BYTE tokens (for gemma4 vocabularies without any, from NORMAL tokens
// of the form <0xXX>, which are re-typed). Returns true if all 256 bytes have a token.
bool FindByteTokens(Impl* t, int32_t byte_ids[256]) {
  const PieceTable& pieces = *t->pieces;
  const size_t n = pieces.size();
  for (int b = 0; b < 256; ++b) byte_ids[b] = -1;
  bool any_byte_typed = false;
  for (size_t i = 0; i < n; ++i) {
    if (t->types[i] != TokenType::kByte) continue;
    any_byte_typed = true;
    const int b = ParseBytePiece(pieces.Piece(i));
    if (b < 0) {
      Throw(ErrorCode::kFormat, "token " + std::to_string(i) + " \"" +
                                    std::string(pieces.Piece(i)) +
                                    "\" is typed BYTE but is not of the form <0xXX>");
    }
    byte_ids[b] = static_cast<int32_t>(i);
  }
  if (!any_byte_typed && t->kind == Impl::Kind::kGemma4) {
    for (size_t i = 0; i < n; ++i) {
      const int b = ParseBytePiece(pieces.Piece(i));
      if (b >= 0 && t->types[i] == TokenType::kNormal) {
        t->types[i] = TokenType::kByte;
        byte_ids[b] = static_cast<int32_t>(i);
      }
    }
  }
  bool all = true;
  for (int b = 0; b < 256; ++b) all &= byte_ids[b] >= 0;
  return all;
}

void BuildGemma4(const VocabData& vocab, const int32_t byte_ids[256], Impl* t) {
  if (vocab.merges.empty()) {
    Throw(ErrorCode::kFormat, "tokenizer.ggml.merges is missing (required by model gemma4)");
  }
  const PieceTable& pieces = *t->pieces;
  t->bpe = std::make_unique<BpeModel>(pieces, vocab.merges, byte_ids, t->unk);
  // Recover user-defined tokens typed NORMAL (see VocabData::token_types).
  const std::vector<bool>& produced = t->bpe->produced();
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (t->types[i] != TokenType::kNormal || !pieces.Winner(i)) continue;
    const std::string_view p = pieces.Piece(i);
    if ((CodePointCount(p) >= 2 && !produced[i]) || IsWhitespaceRunSymbol(p)) {
      t->types[i] = TokenType::kUserDefined;
    }
  }
}

void BuildLlama(const VocabData& vocab, bool all_bytes, Impl* t) {
  // SentencePiece needs unique, non-empty pieces and exactly one unknown piece. Pieces that
  // text can never map to (empty ones, duplicates that lose) become unique CONTROL
  // placeholders so that ids keep their positions. Byte tokens count only as a full set.
  if (t->unk < 0) {
    Throw(ErrorCode::kFormat, "llama vocabulary has no unknown token (no "
                              "tokenizer.ggml.unknown_token_id and no token typed UNKNOWN)");
  }
  const PieceTable& pieces = *t->pieces;
  const size_t n = pieces.size();
  std::vector<SpmPiece> sp(n);
  for (size_t i = 0; i < n; ++i) {
    SpmPiece& p = sp[i];
    p.score = vocab.scores.empty() ? 0.0f : vocab.scores[i];
    p.type = t->types[i];
    if (static_cast<int32_t>(i) == t->unk) {
      p.type = TokenType::kUnknown;
    } else if (p.type == TokenType::kUnknown) {
      p.type = TokenType::kControl;
    }
    if (p.type == TokenType::kByte && !all_bytes) p.type = TokenType::kControl;
    if (pieces.Winner(i)) {
      p.piece = std::string(pieces.Piece(i));
    } else {
      p.type = TokenType::kControl;
      std::string placeholder = "\xEE\x80\x80" "dllm-unreachable-" + std::to_string(i);
      while (pieces.Find(placeholder) >= 0) placeholder += "\xEE\x80\x80";
      p.piece = std::move(placeholder);
    }
  }
  t->spm = std::make_unique<SpmModel>(SerializeSpmModel(sp, all_bytes, t->add_space_prefix));
}

// Whole-token matcher: control (and unknown) tokens need parse_special; user-defined ones are
// always matched for gemma4 (for llama, SentencePiece matches them itself).
void BuildMatcher(Impl* t) {
  const PieceTable& pieces = *t->pieces;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (!pieces.Winner(i)) continue;
    const TokenType ty = t->types[i];
    if (IsSpecialType(ty)) {
      t->matcher.Add(pieces.Piece(i), static_cast<int32_t>(i), /*control=*/true);
    } else if (ty == TokenType::kUserDefined && t->kind == Impl::Kind::kGemma4) {
      t->matcher.Add(pieces.Piece(i), static_cast<int32_t>(i), /*control=*/false);
    }
  }
}

void BuildDecodeTable(Impl* t) {
  const PieceTable& pieces = *t->pieces;
  const size_t n = pieces.size();
  t->decoded.reserve(pieces.bytes());
  t->decoded_offset.resize(n + 1);
  for (size_t i = 0; i < n; ++i) {
    t->decoded_offset[i] = static_cast<uint32_t>(t->decoded.size());
    const TokenType ty = t->types[i];
    if (IsSpecialType(ty)) continue;
    if (ty == TokenType::kByte) {
      t->decoded.push_back(static_cast<char>(ParseBytePiece(pieces.Piece(i))));
      continue;
    }
    const std::string_view p = pieces.Piece(i);
    for (size_t k = 0; k < p.size();) {
      if (p.compare(k, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
        t->decoded.push_back(' ');
        k += kSpaceSymbol.size();
      } else {
        t->decoded.push_back(p[k++]);
      }
    }
  }
  // Never longer than the pieces ("▁" shrinks), which PieceTable keeps below 4 GiB.
  t->decoded_offset[n] = static_cast<uint32_t>(t->decoded.size());
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::Create(const VocabData& vocab) {
  auto impl = std::make_unique<Impl>();
  Impl& t = *impl;
  if (vocab.model == "gemma4") {
    t.kind = Impl::Kind::kGemma4;
  } else if (vocab.model == "llama") {
    t.kind = Impl::Kind::kLlama;
  } else {
    Throw(ErrorCode::kUnsupported, "tokenizer.ggml.model \"" + vocab.model +
                                       "\" is not supported (supported: llama, gemma4)");
  }
  CheckShape(vocab);
  t.model = vocab.model;
  t.bos = vocab.bos_id;
  t.eos = vocab.eos_id;
  t.unk = vocab.unk_id;
  t.pad = vocab.pad_id;
  t.mask = vocab.mask_id;
  t.add_bos = vocab.add_bos;
  t.add_space_prefix = vocab.add_space_prefix;
  t.pieces = std::make_unique<PieceTable>(vocab.tokens);
  const size_t n = vocab.tokens.size();
  t.types.assign(n, TokenType::kNormal);
  for (size_t i = 0; i < vocab.token_types.size(); ++i) {
    t.types[i] = static_cast<TokenType>(vocab.token_types[i]);
  }
  int32_t byte_ids[256];
  const bool all_bytes = FindByteTokens(&t, byte_ids);
  for (size_t i = 0; i < n && t.unk < 0; ++i) {
    if (t.types[i] == TokenType::kUnknown) t.unk = static_cast<int32_t>(i);
  }
  if (t.kind == Impl::Kind::kGemma4) {
    BuildGemma4(vocab, byte_ids, &t);
  } else {
    BuildLlama(vocab, all_bytes, &t);
  }
  BuildMatcher(&t);
  BuildDecodeTable(&t);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& t = *impl_;
  if (text.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    Throw(ErrorCode::kInvalidArgument,
          "text of " + std::to_string(text.size()) + " bytes is too long to tokenize (max 2 GiB)");
  }
  std::string repaired;
  if (!utf8::IsValid(text)) {
    utf8::AppendSanitized(text, &repaired);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (options.add_bos && t.bos >= 0) out.push_back(t.bos);
  size_t pos = 0;
  SpecialMatcher::Match m;
  BpeModel::Workspace ws;
  while (t.matcher.FindNext(text, pos, options.parse_special, &m)) {
    t.EncodeSegment(text.substr(pos, m.pos - pos), pos == 0, &ws, &out);
    out.push_back(m.id);
    pos = m.pos + m.len;
  }
  t.EncodeSegment(text.substr(pos), pos == 0, &ws, &out);
  return out;
}

bool Tokenizer::AppendPieceBytes(int32_t id, bool at_start, const DecodeOptions& options,
                                 std::string* out) const {
  const Impl& t = *impl_;
  const TokenType ty = t.types[id];
  if (IsSpecialType(ty)) {
    if (options.render_special) out->append(t.pieces->Piece(id));
    return false;
  }
  size_t begin = t.decoded_offset[id];
  const size_t end = t.decoded_offset[id + 1];
  // SentencePiece drops the dummy-prefix space of the first text piece (not of byte tokens).
  if (t.add_space_prefix && at_start && ty != TokenType::kByte && begin < end &&
      t.decoded[begin] == ' ') {
    ++begin;
  }
  out->append(t.decoded, begin, end - begin);
  return true;
}

std::string Tokenizer::Decode(const int32_t* ids, size_t count,
                              const DecodeOptions& options) const {
  std::string raw;
  bool at_start = true;
  for (size_t i = 0; i < count; ++i) {
    if (ids[i] < 0 || ids[i] >= size()) {
      Throw(ErrorCode::kInvalidArgument, "token id " + std::to_string(ids[i]) + " at position " +
                                             std::to_string(i) + " is out of range [0, " +
                                             std::to_string(size()) + ")");
    }
    if (AppendPieceBytes(ids[i], at_start, options, &raw)) at_start = false;
  }
  if (utf8::IsValid(raw)) return raw;
  std::string out;
  utf8::AppendSanitized(raw, &out);
  return out;
}

int32_t Tokenizer::size() const { return static_cast<int32_t>(impl_->pieces->size()); }
const std::string& Tokenizer::model() const { return impl_->model; }

std::string_view Tokenizer::Piece(int32_t id) const {
  if (id < 0 || id >= size()) {
    Throw(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is out of range");
  }
  return impl_->pieces->Piece(id);
}

TokenType Tokenizer::Type(int32_t id) const {
  if (id < 0 || id >= size()) {
    Throw(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is out of range");
  }
  return impl_->types[id];
}

int32_t Tokenizer::PieceToId(std::string_view piece) const { return impl_->pieces->Find(piece); }

int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
int32_t Tokenizer::unk_id() const { return impl_->unk; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
int32_t Tokenizer::mask_id() const { return impl_->mask; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, const DecodeOptions& options)
    : tokenizer_(&tokenizer), options_(options) {}

std::string StreamDecoder::Push(int32_t id) {
  if (id < 0 || id >= tokenizer_->size()) {
    Throw(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) + " is out of range [0, " +
                                           std::to_string(tokenizer_->size()) + ")");
  }
  if (tokenizer_->AppendPieceBytes(id, at_start_, options_, &pending_)) at_start_ = false;
  const size_t complete = utf8::CompletePrefix(pending_);
  std::string out;
  utf8::AppendSanitized(std::string_view(pending_).substr(0, complete), &out);
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::Finish() {
  std::string out;
  utf8::AppendSanitized(pending_, &out);
  pending_.clear();
  at_start_ = true;
  return out;
}

}  // namespace dllm::tokenizer
