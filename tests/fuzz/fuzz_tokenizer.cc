// Fuzz target: the tokenizer on arbitrary bytes (invalid UTF-8, NUL, special-token look-alikes),
// with the real Gemma 4 vocabulary and a SentencePiece-trained one (tests/data/tokenizer). What
// tokenizer.h promises must hold: every id is in the vocabulary; invalid UTF-8 encodes as its
// U+FFFD repair does; Decode(Encode(x)) is that repair of x (for text without U+2581, which
// SentencePiece vocabularies decode as a space), with control tokens parsed and rendered too
// (Gemma 4); and streaming decode (StreamDecoder) gives Decode's text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

using dllm::tokenizer::DecodeOptions;
using dllm::tokenizer::EncodeOptions;
using dllm::tokenizer::StreamDecoder;
using dllm::tokenizer::Tokenizer;

const Tokenizer& Spm() {
  static const auto tok = Tokenizer::Create(dllm::tokenizer::testing::VocabFromSpmModel(
      dllm::tokenizer::testing::DataPath("spm-a.model")));
  return *tok;
}

[[noreturn]] void Fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "fuzz_tokenizer: %s; text (%zu bytes):", what, text.size());
  for (unsigned char c : text) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool gemma = data[0] & 1;
  const bool special = gemma && (data[0] & 2);  // parse and render control tokens
  const Tokenizer& tok = gemma ? dllm::tokenizer::testing::Gemma4() : Spm();
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  EncodeOptions enc;
  enc.parse_special = special;
  DecodeOptions dec;
  dec.render_special = special;
  const std::vector<int32_t> ids = tok.Encode(text, enc);
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.size()) Fail("id outside the vocabulary", text);
  }
  std::string repaired;
  dllm::tokenizer::utf8::AppendSanitized(text, &repaired);
  if (!dllm::tokenizer::utf8::IsValid(repaired)) Fail("U+FFFD repair is not valid UTF-8", text);
  if (repaired != text && tok.Encode(repaired, enc) != ids) {
    Fail("invalid UTF-8 encodes unlike its repair", text);
  }
  const std::string decoded = tok.Decode(ids, dec);
  if (repaired.find("\xE2\x96\x81") == std::string::npos && decoded != repaired) {
    Fail("Decode(Encode(x)) differs from x", text);
  }
  StreamDecoder stream(tok, dec);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.Push(id);
  streamed += stream.Finish();
  if (streamed != decoded) Fail("streamed text differs from Decode", text);
  return 0;
}
