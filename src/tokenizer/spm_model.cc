#include "tokenizer/spm_model.h"

#include <cstring>

#include <sentencepiece_processor.h>

#include "util/error.h"

namespace dllm::tokenizer {
namespace {

// Protobuf wire format (proto2): tag = field << 3 | wire type.
enum WireType : uint32_t { kVarint = 0, kFixed32 = 5, kLengthDelimited = 2 };

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(uint32_t field, WireType type, std::string* out) {
  PutVarint((uint64_t{field} << 3) | type, out);
}

void PutBytes(uint32_t field, std::string_view bytes, std::string* out) {
  PutTag(field, kLengthDelimited, out);
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

void PutUint(uint32_t field, uint64_t v, std::string* out) {
  PutTag(field, kVarint, out);
  PutVarint(v, out);
}

void PutFloat(uint32_t field, float v, std::string* out) {
  PutTag(field, kFixed32, out);
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

// Field numbers of sentencepiece_model.proto.
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerByteFallback = 35;
constexpr uint32_t kTrainerModelTypeBpe = 2;
constexpr uint32_t kNormName = 1, kNormAddDummyPrefix = 3, kNormRemoveExtraWhitespaces = 4,
                   kNormEscapeWhitespaces = 5;

}  // namespace

std::string SerializeSpmModel(const std::vector<SpmPiece>& pieces, bool byte_fallback,
                              bool add_dummy_prefix) {
  std::string out, msg;
  for (const SpmPiece& p : pieces) {
    msg.clear();
    PutBytes(kPiecePiece, p.piece, &msg);
    PutFloat(kPieceScore, p.score, &msg);
    PutUint(kPieceType, static_cast<uint32_t>(p.type), &msg);
    PutBytes(kModelPieces, msg, &out);
  }
  msg.clear();
  PutUint(kTrainerModelType, kTrainerModelTypeBpe, &msg);
  PutUint(kTrainerByteFallback, byte_fallback ? 1 : 0, &msg);
  PutBytes(kModelTrainerSpec, msg, &out);
  msg.clear();
  PutBytes(kNormName, "identity", &msg);
  PutUint(kNormAddDummyPrefix, add_dummy_prefix ? 1 : 0, &msg);
  PutUint(kNormRemoveExtraWhitespaces, 0, &msg);
  PutUint(kNormEscapeWhitespaces, 1, &msg);
  PutBytes(kModelNormalizerSpec, msg, &out);
  return out;
}

SpmModel::SpmModel(const std::string& serialized_model_proto)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->LoadFromSerializedProto(serialized_model_proto);
  if (!status.ok()) {
    Throw(ErrorCode::kFormat,
          std::string("SentencePiece rejected the vocabulary: ") + status.ToString());
  }
}

SpmModel::~SpmModel() = default;

void SpmModel::Encode(std::string_view text, std::vector<int32_t>* out) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  if (!status.ok()) {
    Throw(ErrorCode::kInternal, std::string("SentencePiece failed to encode: ") +
                                    status.ToString());
  }
  out->insert(out->end(), ids.begin(), ids.end());
}

}  // namespace dllm::tokenizer
