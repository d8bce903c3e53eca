// Bad input: malformed text, hostile sizes and broken vocabularies get clear errors or
// well-defined results.
#include <doctest/doctest.h>

#include <string>

#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace dllm::tokenizer {
namespace {

using testing::Gemma4;

// A small gemma4 vocabulary: specials, 256 byte tokens, a few pieces and merges.
VocabData TinyGemma4() {
  VocabData v;
  v.model = "gemma4";
  v.tokens = {"<pad>", "<eos>", "<bos>", "<unk>", "<|turn>"};
  v.token_types = {3, 3, 3, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.token_types.push_back(6);
  }
  for (const char* p : {"a", "b", "c", "ab", "abc", "\xE2\x96\x81", "\xE2\x96\x81" "a", "\n",
                        "<tag>"}) {
    v.tokens.push_back(p);
    v.token_types.push_back(1);
  }
  v.merges = {"a b", "ab c", "\xE2\x96\x81 a"};
  v.pad_id = 0;
  v.eos_id = 1;
  v.bos_id = 2;
  v.unk_id = 3;
  return v;
}

// A small llama vocabulary (SentencePiece BPE by score).
VocabData TinyLlama() {
  VocabData v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab"};
  v.scores = {0, 0, 0, -1, -2, -3, -0.5f, -0.25f};
  v.token_types = {2, 3, 3, 1, 1, 1, 1, 1};
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  return v;
}

void CheckThrows(const VocabData& v, ErrorCode code, const std::string& fragment) {
  try {
    Tokenizer::Create(v);
    FAIL("no error for: " << fragment);
  } catch (const Error& e) {
    CHECK(e.code() == code);
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(fragment) != std::string::npos);
  }
}

TEST_CASE("bad input: the tiny vocabularies work") {
  const auto g = Tokenizer::Create(TinyGemma4());
  CHECK(g->Encode("abc") == std::vector<int32_t>{g->PieceToId("abc")});
  CHECK(g->Decode(g->Encode("ab a\nz")) == "ab a\nz");
  CHECK(g->Type(g->PieceToId("<tag>")) == TokenType::kUserDefined);  // recovered
  const auto l = Tokenizer::Create(TinyLlama());
  CHECK(l->Decode(l->Encode("ab ab")) == "ab ab");
}

TEST_CASE("bad input: invalid UTF-8 is replaced by U+FFFD (not rejected)") {
  const std::string bad = "a\xFF\xFE" "b\xE2\x96" "c\xC0\x80\xED\xA0\x80" "d\xE2\x96";
  std::string repaired;
  utf8::AppendSanitized(bad, &repaired);
  CHECK(utf8::IsValid(repaired));
  const auto spm = Tokenizer::Create(testing::VocabFromSpmModel(testing::DataPath("spm-a.model")));
  for (const Tokenizer* t : {&Gemma4(), static_cast<const Tokenizer*>(spm.get())}) {
    CHECK(t->Encode(bad) == t->Encode(repaired));
    CHECK(t->Decode(t->Encode(bad)) == repaired);
  }
  CHECK(repaired == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD"
                    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d\xEF\xBF\xBD");
}

TEST_CASE("bad input: embedded NUL bytes are ordinary characters") {
  const std::string text("a\0b\0\0c", 6);
  const auto spm = Tokenizer::Create(testing::VocabFromSpmModel(testing::DataPath("spm-a.model")));
  for (const Tokenizer* t : {&Gemma4(), static_cast<const Tokenizer*>(spm.get())}) {
    const std::vector<int32_t> ids = t->Encode(text);
    CHECK(ids.size() >= 4);
    CHECK(t->Decode(ids) == text);
  }
  CHECK(Gemma4().Encode(std::string(1, '\0')).size() == 1);
}

TEST_CASE("bad input: a 10 MB single line") {
  const Tokenizer& tok = Gemma4();
  std::string paragraph;
  for (const std::string& line : testing::Corpus()) {
    if (line.size() > 4000) paragraph = line;
  }
  REQUIRE(!paragraph.empty());
  std::string line;
  while (line.size() < (10u << 20)) line += paragraph + " ";
  const std::vector<int32_t> ids = tok.Encode(line);
  CHECK(ids.size() > line.size() / 8);
  CHECK(tok.Decode(ids) == line);
  // No merge boundary at all: one BPE run of a million characters (the heap path).
  const std::string run(1u << 20, 'a');
  const std::vector<int32_t> run_ids = tok.Encode(run);
  CHECK(tok.Decode(run_ids) == run);
  // The same run in pieces: the heap and the short-word path agree with each other.
  const std::vector<int32_t> short_ids = tok.Encode(std::string(64, 'a'));
  CHECK(std::vector<int32_t>(run_ids.begin(), run_ids.begin() + 2) ==
        std::vector<int32_t>(short_ids.begin(), short_ids.begin() + 2));
}

TEST_CASE("bad input: array lengths, empty vocabulary, token types") {
  VocabData v = TinyGemma4();
  v.tokens.clear();
  v.token_types.clear();
  CheckThrows(v, ErrorCode::kFormat, "tokenizer.ggml.tokens is empty");
  v = TinyGemma4();
  v.scores = {1.0f, 2.0f};
  CheckThrows(v, ErrorCode::kFormat, "tokenizer.ggml.scores has 2 entries");
  v = TinyGemma4();
  v.token_types.pop_back();
  CheckThrows(v, ErrorCode::kFormat, "tokenizer.ggml.token_type has");
  v = TinyGemma4();
  v.token_types[7] = 9;
  CheckThrows(v, ErrorCode::kFormat, "token_type[7] = 9");
  v = TinyGemma4();
  v.token_types[v.tokens.size() - 1] = 6;  // "<tag>" typed BYTE
  CheckThrows(v, ErrorCode::kFormat, "is typed BYTE but is not of the form <0xXX>");
}

TEST_CASE("bad input: special ids out of range") {
  for (int which = 0; which < 5; ++which) {
    for (int32_t bad : {-2, 100000}) {
      VocabData v = TinyGemma4();
      int32_t* ids[] = {&v.bos_id, &v.eos_id, &v.unk_id, &v.pad_id, &v.mask_id};
      *ids[which] = bad;
      CheckThrows(v, ErrorCode::kFormat, "is out of range for");
    }
  }
  VocabData v = TinyGemma4();
  v.mask_id = static_cast<int32_t>(v.tokens.size());
  CheckThrows(v, ErrorCode::kFormat, "tokenizer.ggml.mask_token_id");
}

TEST_CASE("bad input: unsupported tokenizer.ggml.model") {
  for (const char* model : {"gpt2", "bert", "t5", "", "Gemma4"}) {
    VocabData v = TinyGemma4();
    v.model = model;
    CheckThrows(v, ErrorCode::kUnsupported, "is not supported");
  }
}

TEST_CASE("bad input: broken merges") {
  VocabData v = TinyGemma4();
  v.merges.clear();
  CheckThrows(v, ErrorCode::kFormat, "tokenizer.ggml.merges is missing");
  v = TinyGemma4();
  v.merges.push_back("abc");
  CheckThrows(v, ErrorCode::kFormat, "is not of the form \"left right\"");
  v = TinyGemma4();
  v.merges.push_back("a q");
  CheckThrows(v, ErrorCode::kFormat, "names \"q\", which is not in tokenizer.ggml.tokens");
  v = TinyGemma4();
  v.merges.push_back("b c");  // "bc" is not a token
  CheckThrows(v, ErrorCode::kFormat, "names \"bc\"");
  // A repeated merge keeps its first rank (accepted).
  v = TinyGemma4();
  v.merges.push_back("a b");
  CHECK_NOTHROW(Tokenizer::Create(v));
}

TEST_CASE("bad input: missing and duplicate pieces") {
  // Duplicates: text maps to the highest id; every id still decodes.
  VocabData v = TinyGemma4();
  v.tokens.push_back("ab");
  v.token_types.push_back(1);
  const int32_t dup = static_cast<int32_t>(v.tokens.size() - 1);
  auto g = Tokenizer::Create(v);
  CHECK(g->PieceToId("ab") == dup);
  CHECK(g->Encode("ab") == std::vector<int32_t>{dup});
  CHECK(g->Decode({dup, dup - 1}) == "ab<tag>");
  CHECK(g->Decode(std::vector<int32_t>{g->PieceToId("<0x61>")}) == "a");
  // The same for the SentencePiece path (SentencePiece itself refuses duplicates).
  VocabData l = TinyLlama();
  l.tokens.push_back("ab");
  l.scores.push_back(-0.1f);
  l.token_types.push_back(1);
  const auto lt = Tokenizer::Create(l);
  CHECK(lt->PieceToId("ab") == 8);
  CHECK(lt->Decode(lt->Encode("ab")) == "ab");
  CHECK(lt->Decode({7, 8}) == "abab");
  // Empty pieces: accepted, never produced.
  v = TinyGemma4();
  v.tokens[4] = "";
  g = Tokenizer::Create(v);
  CHECK(g->Decode(g->Encode("abc")) == "abc");
  l = TinyLlama();
  l.tokens[5] = "";
  CHECK(Tokenizer::Create(l)->Decode(Tokenizer::Create(l)->Encode("a")) == "a");
  // Missing byte tokens: a character that cannot be byte-encoded becomes <unk>.
  v = TinyGemma4();
  v.tokens[5 + 0xE2] = "<0xE2>x";
  v.token_types[5 + 0xE2] = 1;
  g = Tokenizer::Create(v);
  CHECK(g->Encode("\xE2\x82\xAC") == std::vector<int32_t>{3});  // "€" needs 0xE2
  CHECK(g->Encode("\xC3\xA9") == std::vector<int32_t>{5 + 0xC3, 5 + 0xA9});  // "é" does not
  // A llama vocabulary needs an unknown token.
  l = TinyLlama();
  l.unk_id = -1;
  l.token_types[0] = 3;
  CheckThrows(l, ErrorCode::kFormat, "has no unknown token");
}

TEST_CASE("bad input: ids out of range in Decode, Piece, Type") {
  const Tokenizer& tok = Gemma4();
  const std::vector<int32_t> bad = {5, -1};
  CHECK_THROWS_AS(tok.Decode(bad), Error);
  try {
    tok.Decode(std::vector<int32_t>{5, 262144});
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(e.what()).find("262144 at position 1") != std::string::npos);
  }
  CHECK_THROWS_AS(tok.Piece(-1), Error);
  CHECK_THROWS_AS(tok.Type(262144), Error);
  CHECK(tok.PieceToId("no such piece") == -1);
  CHECK(tok.PieceToId("") == -1);
}

}  // namespace
}  // namespace dllm::tokenizer
