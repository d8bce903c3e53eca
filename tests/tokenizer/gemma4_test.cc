// The gemma4 vocabulary model against an independent implementation: the corpus ids were made
// by @lenml/tokenizers (transformers.js) from the same tokenizer.json the committed vocabulary
// was converted from (tools/tokenizer/regenerate.sh).
#include <doctest/doctest.h>

#include <random>
#include <unordered_map>

#include "test_data.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace dllm::tokenizer {
namespace {

using testing::Corpus;
using testing::DataPath;
using testing::Gemma4;
using testing::Gemma4Vocab;
using testing::IdsToString;
using testing::ReadIdLines;

void CheckCorpus(const Tokenizer& tok) {
  const auto& corpus = Corpus();
  const auto expected = ReadIdLines(DataPath("corpus-gemma4-ids.txt"));
  REQUIRE(expected.size() == corpus.size());
  EncodeOptions opt;
  opt.parse_special = true;  // the reference's default
  size_t mismatches = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::vector<int32_t> got = tok.Encode(corpus[i], opt);
    if (got != expected[i]) {
      ++mismatches;
      INFO("corpus line " << i + 1);
      CHECK(IdsToString(got) == IdsToString(expected[i]));
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("gemma4: vocabulary as converted") {
  const Tokenizer& tok = Gemma4();
  CHECK(tok.size() == 262144);
  CHECK(tok.model() == "gemma4");
  CHECK(tok.bos_id() == 2);
  CHECK(tok.eos_id() == 1);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.unk_id() == 3);
  CHECK(tok.mask_id() == 4);
  CHECK(Gemma4Vocab().merges.size() == 514906);
  CHECK(tok.PieceToId("<|turn>") == 105);
  CHECK(tok.PieceToId("<turn|>") == 106);
  CHECK(tok.PieceToId("\n") == 107);
  CHECK(tok.PieceToId("\xE2\x96\x81") == 236743);
  CHECK(tok.Type(105) == TokenType::kControl);
  CHECK(tok.Type(168) == TokenType::kUserDefined);  // <table>
  CHECK(tok.Type(238) == TokenType::kByte);         // <0x00>
}

TEST_CASE("gemma4: corpus ids equal the reference implementation's") { CheckCorpus(Gemma4()); }

TEST_CASE("gemma4: user-defined tokens typed NORMAL are recovered") {
  // The Gemma 4 GGUFs in circulation type <table>, <unusedN>, newline/tab/▁ runs etc. NORMAL
  // (only 7 tokens user-defined). Re-type every user-defined token NORMAL: same ids.
  VocabData v = Gemma4Vocab();
  int retyped = 0;
  for (int32_t& t : v.token_types) {
    if (t == static_cast<int32_t>(TokenType::kUserDefined)) {
      t = static_cast<int32_t>(TokenType::kNormal);
      ++retyped;
    }
  }
  CHECK(retyped == 6394);
  const auto tok = Tokenizer::Create(v);
  int recovered = 0;
  for (int32_t i = 0; i < tok->size(); ++i) {
    recovered += tok->Type(i) == TokenType::kUserDefined;
    if (Gemma4().Type(i) == TokenType::kUserDefined) {
      INFO("token " << i);
      CHECK(tok->Type(i) == TokenType::kUserDefined);
    }
  }
  CHECK(recovered == 6394);
  CheckCorpus(*tok);
}

TEST_CASE("gemma4: byte tokens typed NORMAL are found by their <0xXX> form") {
  VocabData v = Gemma4Vocab();
  for (int32_t& t : v.token_types) {
    if (t == static_cast<int32_t>(TokenType::kByte)) t = static_cast<int32_t>(TokenType::kNormal);
  }
  const auto tok = Tokenizer::Create(v);
  CHECK(tok->Type(238 + 0x41) == TokenType::kByte);
  CheckCorpus(*tok);
}

TEST_CASE("gemma4: chat fixture (spec section 6)") {
  const std::vector<int32_t> expected = {2,   105, 2364, 107, 11355, 563,   506, 7217, 3730, 236881,
                                         106, 107, 105,  4368, 107,  100, 45518, 107,  101};
  const std::vector<ChatMessage> messages = {{"user", "Why is the sky blue?"}};
  ChatOptions options;  // thinking off, generation prompt, <bos>
  CHECK(IdsToString(EncodeChat(Gemma4(), messages, options)) == IdsToString(expected));
  // The reference's way: render the template to text, tokenize with special-token parsing.
  const std::string text = RenderChat(messages, options);
  CHECK(text ==
        "<bos><|turn>user\nWhy is the sky blue?<turn|>\n<|turn>model\n<|channel>thought\n"
        "<channel|>");
  EncodeOptions parse;
  parse.parse_special = true;
  CHECK(IdsToString(Gemma4().Encode(text, parse)) == IdsToString(expected));
  CHECK(IdsToString(RawPromptIds(Gemma4(), text, false, true)) == IdsToString(expected));
}

TEST_CASE("gemma4: control tokens need parse_special, user-defined tokens do not") {
  const Tokenizer& tok = Gemma4();
  EncodeOptions plain, parse;
  parse.parse_special = true;
  CHECK(tok.Encode("<|turn>", parse) == std::vector<int32_t>{105});
  const std::vector<int32_t> as_text = tok.Encode("<|turn>", plain);
  CHECK(as_text.size() > 1);
  CHECK(tok.Decode(as_text) == "<|turn>");
  // User-defined: always whole.
  CHECK(tok.Encode("<table>", plain) == std::vector<int32_t>{168});
  CHECK(tok.Encode("</s>", plain) == std::vector<int32_t>{212});
  CHECK(tok.Encode("\n\n\n", plain) == std::vector<int32_t>{109});
  // Leftmost-longest: 40 newlines = 31 + 9.
  CHECK(tok.Encode(std::string(40, '\n'), plain) ==
        std::vector<int32_t>{tok.PieceToId(std::string(31, '\n')),
                             tok.PieceToId(std::string(9, '\n'))});
  // BOS only on request.
  EncodeOptions bos;
  bos.add_bos = true;
  CHECK(tok.Encode("a", bos).front() == 2);
  CHECK(tok.Encode("", bos) == std::vector<int32_t>{2});
  CHECK(tok.Encode("", plain).empty());
}

TEST_CASE("gemma4: decode of the corpus ids gives the corpus back") {
  const Tokenizer& tok = Gemma4();
  const auto expected = ReadIdLines(DataPath("corpus-gemma4-ids.txt"));
  DecodeOptions render;
  render.render_special = true;
  for (size_t i = 0; i < Corpus().size(); ++i) {
    const std::string& line = Corpus()[i];
    // Literal "▁" is written as a space by every SentencePiece-style decoder.
    if (line.find("\xE2\x96\x81") != std::string::npos) continue;
    INFO("corpus line " << i + 1);
    CHECK(tok.Decode(expected[i], render) == line);
  }
}

// A deliberately naive BPE straight from the definition (quadratic, string keys): repeatedly
// merge the adjacent pair with the lowest rank, the leftmost on ties; then byte fallback.
std::vector<int32_t> NaiveBpe(const VocabData& v, const std::string& word) {
  static const auto* ranks = [&] {
    auto* m = new std::unordered_map<std::string, size_t>();
    for (size_t r = 0; r < v.merges.size(); ++r) m->emplace(v.merges[r], r);  // first rank wins
    return m;
  }();
  static const auto* ids = [&] {
    auto* m = new std::unordered_map<std::string, int32_t>();
    for (size_t i = 0; i < v.tokens.size(); ++i) (*m)[v.tokens[i]] = static_cast<int32_t>(i);
    return m;
  }();
  std::vector<std::string> sym;
  for (size_t i = 0; i < word.size();) {
    uint32_t cp;
    size_t len;
    utf8::Decode(word.data() + i, word.size() - i, &cp, &len);
    sym.push_back(word.substr(i, len));
    i += len;
  }
  while (true) {
    size_t best = SIZE_MAX, at = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      const auto it = ranks->find(sym[i] + " " + sym[i + 1]);
      if (it != ranks->end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == SIZE_MAX) break;
    sym[at] += sym[at + 1];
    sym.erase(sym.begin() + at + 1);
  }
  std::vector<int32_t> out;
  for (const std::string& s : sym) {
    const auto it = ids->find(s);
    if (it != ids->end()) {
      out.push_back(it->second);
    } else {
      for (unsigned char c : s) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", c);
        out.push_back(ids->at(buf));
      }
    }
  }
  return out;
}

TEST_CASE("gemma4: long runs agree with a naive BPE") {
  // Runs without whitespace or markup are single BPE runs: up to thousands of characters go
  // through the tree path of the encoder. Alphabets are chosen so that almost every adjacent
  // pair can merge.
  const std::vector<std::string> alphabets = {
      "abcdefghijklmnopqrstuvwxyz", "aaaaaaaab", "0123456789", "=-=-+*",
      "\xD0\xB0\xD0\xB1\xD0\xB2\xD0\xB3\xD0\xB4\xD0\xB5",  // Cyrillic а..е
      "ab\xE4\xB8\xAD\xE6\x96\x87",                           // a b 中 文
  };
  std::mt19937 rng(5);
  for (const std::string& alphabet : alphabets) {
    std::vector<std::string> chars;
    for (size_t i = 0; i < alphabet.size();) {
      uint32_t cp;
      size_t len;
      utf8::Decode(alphabet.data() + i, alphabet.size() - i, &cp, &len);
      chars.push_back(alphabet.substr(i, len));
      i += len;
    }
    for (size_t length : {40, 100, 700, 3000}) {
      std::string word;
      for (size_t i = 0; i < length; ++i) {
        word += chars[std::uniform_int_distribution<size_t>(0, chars.size() - 1)(rng)];
      }
      INFO("word: " << word);
      CHECK(IdsToString(Gemma4().Encode(word)) == IdsToString(NaiveBpe(Gemma4Vocab(), word)));
    }
  }
}

}  // namespace
}  // namespace dllm::tokenizer
