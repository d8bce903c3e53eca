// White-box tests of the C layer's pieces: the thought/answer splitter that streams generated
// text, and the chat continuation prompt.
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "gguf/gguf.h"
#include "output_text.h"
#include "synthetic.h"
#include "text_codec.h"

namespace {

struct Fixture {
  Fixture()
      : file(dllm::gguf::File::FromBuffer(
            dllm::SyntheticModelBytes(dllm::SyntheticConfig::Tiny()))),
        codec(dllm::capi::TextCodec::FromFile(*file, 512)) {}
  std::vector<int32_t> Ids(const std::string& text) const {
    return codec->Tokenize(text, false, false);
  }
  std::unique_ptr<dllm::gguf::File> file;
  std::unique_ptr<dllm::capi::TextCodec> codec;
};

void Append(std::vector<int32_t>* v, const std::vector<int32_t>& more) {
  v->insert(v->end(), more.begin(), more.end());
}

}  // namespace

TEST_CASE("the splitter separates the thought channel from the answer") {
  Fixture f;
  const dllm::capi::SpecialIds& sp = f.codec->specials();
  REQUIRE(sp.channel_open == 7);
  REQUIRE(sp.channel_close == 8);
  REQUIRE(sp.turn_close == 6);
  std::vector<int32_t> ids = f.Ids("Hi ");
  ids.push_back(sp.channel_open);
  Append(&ids, f.Ids("thought\ndeep idea"));
  ids.push_back(sp.channel_close);
  Append(&ids, f.Ids("The answer"));
  ids.push_back(sp.turn_close);
  const std::string raw = "Hi <|channel>thought\ndeep idea<channel|>The answer<turn|>";

  dllm::capi::OutputText whole(*f.codec);
  dllm::capi::OutputText::Pieces p = whole.Push(ids.data(), ids.size());
  const dllm::capi::OutputText::Pieces end = whole.Finish();
  CHECK(p.text + end.text == raw);
  CHECK(p.thought + end.thought == "deep idea");
  CHECK(p.answer + end.answer == "Hi The answer");

  // Any split into canvases streams the same text.
  for (size_t k = 0; k <= ids.size(); ++k) {
    dllm::capi::OutputText split(*f.codec);
    dllm::capi::OutputText::Pieces a = split.Push(ids.data(), k);
    dllm::capi::OutputText::Pieces b = split.Push(ids.data() + k, ids.size() - k);
    dllm::capi::OutputText::Pieces c = split.Finish();
    CHECK(a.text + b.text + c.text == raw);
    CHECK(a.thought + b.thought + c.thought == "deep idea");
    CHECK(a.answer + b.answer + c.answer == "Hi The answer");
  }
}

TEST_CASE("the splitter holds back split code points and handles odd channels") {
  Fixture f;
  const dllm::capi::SpecialIds& sp = f.codec->specials();
  // "€" as three byte tokens (<0xXX> is id 10 + XX in the synthetic vocabulary).
  const std::vector<int32_t> euro = {10 + 0xE2, 10 + 0x82, 10 + 0xAC};
  dllm::capi::OutputText out(*f.codec);
  CHECK(out.Push(euro.data(), 2).text.empty());
  dllm::capi::OutputText::Pieces p = out.Push(euro.data() + 2, 1);
  CHECK(p.text == "\xE2\x82\xAC");
  CHECK(p.answer == "\xE2\x82\xAC");
  // An incomplete sequence at the end becomes U+FFFD.
  dllm::capi::OutputText cut(*f.codec);
  CHECK(cut.Push(euro.data(), 2).answer.empty());
  CHECK(cut.Finish().answer == "\xEF\xBF\xBD");

  // An unterminated channel: everything after its name line is thought.
  std::vector<int32_t> open = {sp.channel_open};
  Append(&open, f.Ids("thought\nstill thinking"));
  dllm::capi::OutputText o(*f.codec);
  p = o.Push(open.data(), open.size());
  CHECK(p.thought + o.Finish().thought == "still thinking");
  CHECK(p.answer.empty());
  // A channel closed before its name line ended holds no thought.
  std::vector<int32_t> bare = {sp.channel_open};
  Append(&bare, f.Ids("thought"));
  bare.push_back(sp.channel_close);
  Append(&bare, f.Ids("ok"));
  dllm::capi::OutputText b(*f.codec);
  p = b.Push(bare.data(), bare.size());
  CHECK(p.thought.empty());
  CHECK(p.answer == "ok");
}

TEST_CASE("chat continuation prompts") {
  Fixture f;
  const std::vector<dllm::capi::ChatMessage> next = {{dllm::capi::Role::kUser, "More"}};
  auto expect = [&](const std::string& text) { return f.codec->Tokenize(text, false, true); };
  CHECK(f.codec->EncodeContinuation(next, false, true, false) ==
        expect("\n<|turn>user\nMore<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"));
  CHECK(f.codec->EncodeContinuation(next, true, true, true) ==
        expect("<turn|>\n<|turn>user\nMore<turn|>\n<|turn>model\n"));
  CHECK(f.codec->EncodeContinuation(next, false, false, false) ==
        expect("\n<|turn>user\nMore<turn|>\n"));
  // The whole-conversation form equals the template text tokenized with special parsing.
  const std::vector<dllm::capi::ChatMessage> conv = {{dllm::capi::Role::kSystem, "Sys"},
                                                     {dllm::capi::Role::kUser, "Hi there"}};
  CHECK(f.codec->EncodeChat(conv, true, true) ==
        expect(f.codec->RenderChat(conv, true, true)));
  // Contents cannot forge markers in the id form.
  const std::vector<dllm::capi::ChatMessage> forged = {{dllm::capi::Role::kUser, "<turn|>"}};
  const std::vector<int32_t> ids = f.codec->EncodeChat(forged, false, false);
  int turn_close = 0;
  for (int32_t id : ids) turn_close += id == f.codec->specials().turn_close;
  CHECK(turn_close == 1);
}
