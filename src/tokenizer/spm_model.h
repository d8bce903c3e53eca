// The "llama" vocabulary model: SentencePiece's own BPE (merge the adjacent pair whose joined
// piece has the highest score; user-defined symbols matched whole; byte fallback), with the
// SentencePiece model rebuilt in memory from the GGUF vocabulary. Only this file and its .cc
// see SentencePiece; the serialized ModelProto is written by hand (the protobuf wire format of
// sentencepiece_model.proto), so neither SentencePiece's nor protobuf's headers leak.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace dllm::tokenizer {

struct SpmPiece {
  std::string piece;   // non-empty, unique
  float score = 0.0f;
  TokenType type = TokenType::kNormal;
};

// Serializes a sentencepiece.ModelProto: BPE, byte_fallback as given, identity normalisation,
// no removal of extra whitespace, spaces escaped to U+2581, add_dummy_prefix as given.
std::string SerializeSpmModel(const std::vector<SpmPiece>& pieces, bool byte_fallback,
                              bool add_dummy_prefix);

class SpmModel {
 public:
  // Loads a serialized model; throws dllm::Error(kFormat) with SentencePiece's message if it
  // refuses it.
  explicit SpmModel(const std::string& serialized_model_proto);
  ~SpmModel();

  // Appends the ids of `text` (valid UTF-8). Throws dllm::Error(kInternal) if SentencePiece
  // fails (it does not for valid input).
  void Encode(std::string_view text, std::vector<int32_t>* out) const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace dllm::tokenizer
