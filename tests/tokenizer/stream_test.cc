// UTF-8 repair, streaming detokenization and round trips.
#include <doctest/doctest.h>

#include <random>

#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace dllm::tokenizer {
namespace {

using testing::Corpus;
using testing::Gemma4;

std::string Sanitized(std::string_view s) {
  std::string out;
  utf8::AppendSanitized(s, &out);
  return out;
}

TEST_CASE("utf8: strict decoding") {
  uint32_t cp;
  size_t len;
  auto status = [&](std::string_view s) { return utf8::Decode(s.data(), s.size(), &cp, &len); };
  CHECK(status("\xE2\x96\x81") == utf8::Status::kValid);
  CHECK(cp == 0x2581);
  CHECK(status("\xF0\x9F\x98\x80") == utf8::Status::kValid);
  CHECK(cp == 0x1F600);
  CHECK(status("\xC0\x80") == utf8::Status::kInvalid);          // overlong NUL
  CHECK(status("\xE0\x80\x80") == utf8::Status::kInvalid);      // overlong
  CHECK(status("\xED\xA0\x80") == utf8::Status::kInvalid);      // surrogate
  CHECK(status("\xF4\x90\x80\x80") == utf8::Status::kInvalid);  // > U+10FFFF
  CHECK(status("\xF5\x80\x80\x80") == utf8::Status::kInvalid);
  CHECK(status("\x80") == utf8::Status::kInvalid);
  CHECK(status("\xE2\x96") == utf8::Status::kIncomplete);
  CHECK(status("\xE2\x41") == utf8::Status::kInvalid);
  CHECK(len == 1);
}

TEST_CASE("utf8: repair replaces maximal subparts (Unicode Table 3-8)") {
  CHECK(Sanitized("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
        "b\xEF\xBF\xBD"
        "c\xEF\xBF\xBD\xEF\xBF\xBD"
        "d");
  CHECK(Sanitized("ok") == "ok");
  CHECK(Sanitized(std::string("a\0b", 3)) == std::string("a\0b", 3));
  CHECK(Sanitized("\xE2\x96") == "\xEF\xBF\xBD");  // truncated at the end: one U+FFFD
  CHECK(utf8::CompletePrefix("ab\xE2\x96") == 2);
  CHECK(utf8::CompletePrefix("ab\xE2\x96\x81") == 5);
  CHECK(utf8::CompletePrefix("ab\xF0\x9F\x98") == 2);
  CHECK(utf8::CompletePrefix("ab\x80\x80") == 4);
  CHECK(utf8::CompletePrefix("ab\xE2\x41") == 4);
}

// Feeds ids one by one: every piece must be valid UTF-8 and the pieces must add up to Decode.
void CheckStream(const Tokenizer& tok, const std::vector<int32_t>& ids,
                 const DecodeOptions& options = {}) {
  StreamDecoder stream(tok, options);
  std::string joined;
  for (int32_t id : ids) {
    const std::string piece = stream.Push(id);
    REQUIRE(utf8::IsValid(piece));
    joined += piece;
  }
  const std::string tail = stream.Finish();
  REQUIRE(utf8::IsValid(tail));
  joined += tail;
  CHECK(joined == tok.Decode(ids, options));
}

TEST_CASE("stream: corpus and random text, gemma4") {
  const Tokenizer& tok = Gemma4();
  DecodeOptions render;
  render.render_special = true;
  EncodeOptions parse;
  parse.parse_special = true;
  for (const std::string& line : Corpus()) {
    CheckStream(tok, tok.Encode(line, parse), render);
    CheckStream(tok, tok.Encode(line));
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) CheckStream(tok, tok.Encode(testing::RandomText(rng, 200)));
}

TEST_CASE("stream: random id sequences full of byte tokens never emit broken UTF-8") {
  const Tokenizer& tok = Gemma4();
  std::mt19937 rng(11);
  const int32_t first_byte = tok.PieceToId("<0x00>");
  REQUIRE(first_byte >= 0);
  std::uniform_int_distribution<int32_t> any(0, tok.size() - 1), byte(0, 255), kind(0, 9);
  for (int seq = 0; seq < 500; ++seq) {
    std::vector<int32_t> ids;
    const int n = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int i = 0; i < n; ++i) {
      const int k = kind(rng);
      if (k < 6) {
        ids.push_back(first_byte + byte(rng));
      } else if (k < 8) {
        // Lead bytes followed by valid continuations: real multi-byte characters.
        ids.push_back(first_byte + 0xF0);
        ids.push_back(first_byte + 0x9F);
        ids.push_back(first_byte + 0x98);
        if (k == 6) ids.push_back(first_byte + 0x80);
      } else {
        ids.push_back(any(rng));
      }
    }
    CheckStream(tok, ids);
    DecodeOptions render;
    render.render_special = true;
    CheckStream(tok, ids, render);
  }
}

TEST_CASE("stream: a code point split over byte tokens comes out whole") {
  const Tokenizer& tok = Gemma4();
  const int32_t b = tok.PieceToId("<0x00>");
  StreamDecoder s(tok);
  CHECK(s.Push(b + 0xF0).empty());
  CHECK(s.Push(b + 0x9F).empty());
  CHECK(s.Push(b + 0x98).empty());
  CHECK(s.Push(b + 0x80) == "\xF0\x9F\x98\x80");
  // An interrupted sequence becomes U+FFFD once it is known to be broken.
  CHECK(s.Push(b + 0xE2).empty());
  CHECK(s.Push(tok.PieceToId("a")) == "\xEF\xBF\xBD" "a");
  CHECK(s.Push(b + 0xE2).empty());
  CHECK(s.Finish() == "\xEF\xBF\xBD");
  CHECK_THROWS_AS(s.Push(-1), Error);
  CHECK_THROWS_AS(s.Push(tok.size()), Error);
}

TEST_CASE("round trip: decode(encode(x)) == x for valid UTF-8") {
  std::mt19937 rng(99);
  std::vector<std::string> texts;
  for (const std::string& line : Corpus()) {
    if (line.find("\xE2\x96\x81") == std::string::npos) texts.push_back(line);
  }
  for (int i = 0; i < 500; ++i) texts.push_back(testing::RandomText(rng, 150));
  const auto spm_a = Tokenizer::Create(testing::VocabFromSpmModel(testing::DataPath("spm-a.model")));
  const auto spm_b = Tokenizer::Create(testing::VocabFromSpmModel(testing::DataPath("spm-b.model")));
  EncodeOptions parse;
  parse.parse_special = true;
  DecodeOptions render;
  render.render_special = true;
  for (const std::string& text : texts) {
    INFO("text: " << text);
    CHECK(Gemma4().Decode(Gemma4().Encode(text)) == text);
    CHECK(Gemma4().Decode(Gemma4().Encode(text, parse), render) == text);
    CHECK(spm_a->Decode(spm_a->Encode(text)) == text);
    CHECK(spm_b->Decode(spm_b->Encode(text)) == text);
  }
}

}  // namespace
}  // namespace dllm::tokenizer
