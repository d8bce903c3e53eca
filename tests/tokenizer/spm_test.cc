// The "llama" vocabulary model against SentencePiece itself: tiny BPE models trained by
// tools/tokenizer/train_spm.py. The tokenizer is built from GGUF-style data (pieces, scores,
// types, as a converter extracts them from the .model) and must encode exactly as
// SentencePiece does with the original .model file: the committed ids (Python SentencePiece)
// and, live, the C++ SentencePieceProcessor on the corpus and on random text.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include <sentencepiece_processor.h>

#include "test_data.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

namespace dllm::tokenizer {
namespace {

using testing::Corpus;
using testing::DataPath;
using testing::IdsToString;

void CheckAgainstSentencePiece(const std::string& model_path, const std::string& ids_path) {
  const VocabData v = testing::VocabFromSpmModel(model_path);
  const auto tok = Tokenizer::Create(v);
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(model_path).ok());
  REQUIRE(tok->size() == sp.GetPieceSize());

  if (!ids_path.empty()) {
    const auto expected = testing::ReadIdLines(ids_path);
    REQUIRE(expected.size() == Corpus().size());
    for (size_t i = 0; i < Corpus().size(); ++i) {
      INFO("corpus line " << i + 1);
      CHECK(IdsToString(tok->Encode(Corpus()[i])) == IdsToString(expected[i]));
    }
  }
  std::mt19937 rng(1234);
  std::vector<std::string> texts = Corpus();
  for (int i = 0; i < 400; ++i) texts.push_back(testing::RandomText(rng, 120, false));
  size_t checked_decode = 0;
  for (const std::string& text : texts) {
    std::vector<int> sp_ids;
    REQUIRE(sp.Encode(text, &sp_ids).ok());
    const std::vector<int32_t> ids = tok->Encode(text);
    INFO("text: " << text);
    CHECK(IdsToString(ids) == IdsToString(std::vector<int32_t>(sp_ids.begin(), sp_ids.end())));
    // Decoding agrees with SentencePiece's when no <unk> was involved.
    bool has_unk = false;
    for (int id : sp_ids) has_unk |= sp.IsUnknown(id);
    if (!has_unk) {
      std::string sp_text;
      REQUIRE(sp.Decode(sp_ids, &sp_text).ok());
      CHECK(tok->Decode(ids) == sp_text);
      ++checked_decode;
    }
  }
  CHECK(checked_decode > 50);
}

TEST_CASE("llama: spm-a (byte fallback, no dummy prefix, user-defined symbols)") {
  CheckAgainstSentencePiece(DataPath("spm-a.model"), DataPath("corpus-spm-a-ids.txt"));
}

TEST_CASE("llama: spm-b (byte fallback, dummy prefix)") {
  CheckAgainstSentencePiece(DataPath("spm-b.model"), DataPath("corpus-spm-b-ids.txt"));
}

TEST_CASE("llama: spm-c (no byte tokens: unknown characters become <unk>)") {
  CheckAgainstSentencePiece(DataPath("spm-c.model"), DataPath("corpus-spm-c-ids.txt"));
}

TEST_CASE("llama: dllm's tiny task model (models/dg-tiny-tasks-tok.model), if present") {
  const std::string path = std::string(DLLM_SOURCE_DIR) + "/models/dg-tiny-tasks-tok.model";
  if (!std::ifstream(path)) {
    MESSAGE("skipped: " << path << " not found");
    return;
  }
  CheckAgainstSentencePiece(path, "");
  // Its prompts are built the way tools/train/tok.py builds them: markers as ids, text encoded
  // by SentencePiece. EncodeChat does the same.
  const auto tok = Tokenizer::Create(testing::VocabFromSpmModel(path));
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(path).ok());
  auto enc = [&](const std::string& s) {
    std::vector<int> ids;
    REQUIRE(sp.Encode(s, &ids).ok());
    return std::vector<int32_t>(ids.begin(), ids.end());
  };
  const std::string instruction = "Sort in ascending order: 42 7 19";
  std::vector<int32_t> expected = {2, tok->PieceToId("<|turn>")};
  for (int32_t id : enc("user\n" + instruction)) expected.push_back(id);
  expected.push_back(tok->PieceToId("<turn|>"));
  for (int32_t id : enc("\n")) expected.push_back(id);
  expected.push_back(tok->PieceToId("<|turn>"));
  for (int32_t id : enc("model\n")) expected.push_back(id);
  expected.push_back(tok->PieceToId("<|channel>"));
  for (int32_t id : enc("thought\n")) expected.push_back(id);
  expected.push_back(tok->PieceToId("<channel|>"));
  CHECK(IdsToString(EncodeChat(*tok, {{"user", instruction}}, ChatOptions())) ==
        IdsToString(expected));
}

TEST_CASE("llama: control tokens are parsed only on request; the dummy prefix follows them") {
  const auto tok = Tokenizer::Create(testing::VocabFromSpmModel(DataPath("spm-b.model")));
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(DataPath("spm-b.model")).ok());
  auto enc = [&](const std::string& s) {
    std::vector<int> ids;
    REQUIRE(sp.Encode(s, &ids).ok());
    return std::vector<int32_t>(ids.begin(), ids.end());
  };
  const int32_t turn = tok->PieceToId("<|turn>");
  REQUIRE(turn >= 0);
  EncodeOptions parse;
  parse.parse_special = true;
  // Each text segment gets SentencePiece's dummy prefix (llama.cpp does the same after a
  // special token).
  std::vector<int32_t> expected = enc("hello");
  expected.push_back(turn);
  for (int32_t id : enc("world")) expected.push_back(id);
  CHECK(IdsToString(tok->Encode("hello<|turn>world", parse)) == IdsToString(expected));
  CHECK(tok->Encode("hello<|turn>world") == enc("hello<|turn>world"));
  // Decoding drops the first dummy-prefix space only.
  CHECK(tok->Decode(tok->Encode(" two  spaces")) == " two  spaces");
  CHECK(tok->Decode(tok->Encode("x")) == "x");
}

}  // namespace
}  // namespace dllm::tokenizer
