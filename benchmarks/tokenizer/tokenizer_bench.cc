// Tokenizer benchmark: building the Gemma 4 tokenizer from its 262,144-token vocabulary, then
// encoding 1 MB of mixed text (the test corpus: many scripts, code, whitespace runs, emoji,
// byte-fallback characters, special-token look-alikes) and decoding it back, whole and
// streamed; also one 10 MB line of prose and one 10 MB line with no merge boundary at all.
// Times are the best of several runs of the calling thread's CPU time (the project's machine is
// shared by parallel builds, which inflates wall time but not CPU time). The floor for
// comparison is a UTF-8 validation pass over the same text (every encoder reads its input once).
//
//   tokenizer_bench [gemma4-vocab.txt]
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "test_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

using dllm::tokenizer::DecodeOptions;
using dllm::tokenizer::EncodeOptions;
using dllm::tokenizer::StreamDecoder;
using dllm::tokenizer::Tokenizer;
using dllm::tokenizer::VocabData;
namespace testing = dllm::tokenizer::testing;

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double BestMs(int runs, const std::function<void()>& f) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const double t0 = ThreadCpuMs();
    f();
    best = std::min(best, ThreadCpuMs() - t0);
  }
  return best;
}

void Row(const char* what, double bytes, double ms, size_t tokens) {
  std::printf("%-44s %10.1f ms %9.1f MB/s", what, ms, bytes / 1e6 / (ms / 1e3));
  if (tokens) std::printf(" %8.0f ns/token", ms * 1e6 / tokens);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path =
      argc > 1 ? argv[1] : std::string(DLLM_TOKENIZER_VOCAB_DIR) + "/gemma4-vocab.txt";
  VocabData vocab;
  const double read_ms = BestMs(1, [&] { vocab = testing::ReadVocabFile(path); });
  std::printf("vocabulary: %zu tokens, %zu merges (read from %s in %.0f ms, not counted)\n\n",
              vocab.tokens.size(), vocab.merges.size(), path.c_str(), read_ms);

  std::unique_ptr<Tokenizer> tok;
  const double load_ms = BestMs(3, [&] { tok = Tokenizer::Create(vocab); });
  std::printf("%-44s %10.1f ms\n", "load: Tokenizer::Create (gemma4, 262k)", load_ms);

  // 1 MB of mixed text: the corpus, repeated.
  // (Lines with a literal U+2581 are left out: it decodes to a space, so they cannot round-trip.)
  std::string text;
  while (text.size() < (1u << 20)) {
    for (const std::string& line : testing::Corpus()) {
      if (line.find("\xE2\x96\x81") == std::string::npos) text += line + "\n";
    }
  }
  text.resize(1u << 20);
  while (!dllm::tokenizer::utf8::IsValid(text)) text.pop_back();  // do not cut a character
  EncodeOptions parse;
  parse.parse_special = true;
  DecodeOptions render;
  render.render_special = true;

  std::printf("\n%-44s %10s    %9s %17s\n", "1 MB mixed text", "time", "input", "");
  volatile bool valid = false;
  Row("floor: UTF-8 validation", text.size(),
      BestMs(5, [&] { valid = dllm::tokenizer::utf8::IsValid(text); }), 0);
  std::vector<int32_t> ids;
  const double enc_ms = BestMs(5, [&] { ids = tok->Encode(text, parse); });
  Row("encode (parse_special)", text.size(), enc_ms, ids.size());
  std::string back;
  const double dec_ms = BestMs(5, [&] { back = tok->Decode(ids, render); });
  Row("decode (render_special)", text.size(), dec_ms, ids.size());
  std::string streamed;
  const double stream_ms = BestMs(5, [&] {
    StreamDecoder s(*tok, render);
    streamed.clear();
    for (int32_t id : ids) streamed += s.Push(id);
    streamed += s.Finish();
  });
  Row("decode, streamed one id at a time", text.size(), stream_ms, ids.size());
  std::printf("  %zu bytes -> %zu tokens (%.2f bytes/token); round trip %s, stream %s\n",
              text.size(), ids.size(), double(text.size()) / ids.size(),
              back == text ? "exact" : "DIFFERS", streamed == back ? "identical" : "DIFFERS");

  // The llama path for comparison: SentencePiece's BPE on a small test model.
  const auto spm = Tokenizer::Create(testing::VocabFromSpmModel(testing::DataPath("spm-b.model")));
  std::vector<int32_t> spm_ids;
  const double spm_ms = BestMs(3, [&] { spm_ids = spm->Encode(text); });
  Row("encode, llama path (SentencePiece, 1.2k)", text.size(), spm_ms, spm_ids.size());

  std::printf("\n%-44s\n", "10 MB single lines");
  std::string prose;
  for (const std::string& line : testing::Corpus()) {
    if (line.size() > 4000) prose = line;  // the ~5 KB paragraph
  }
  std::string line10;
  while (line10.size() < 10u << 20) line10 += prose + " ";
  std::vector<int32_t> ids10;
  Row("encode: prose, no newline", line10.size(), BestMs(2, [&] { ids10 = tok->Encode(line10); }),
      ids10.size());
  // No hard boundary anywhere: one BPE run of 10M characters through the heap.
  std::string runs;
  const char* kAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint32_t x = 12345;
  while (runs.size() < 10u << 20) {
    x = x * 1664525u + 1013904223u;
    runs.push_back(kAlnum[(x >> 24) % 62]);
  }
  Row("encode: random alphanumerics (one BPE run)", runs.size(),
      BestMs(2, [&] { ids10 = tok->Encode(runs); }), ids10.size());
  std::string as = std::string(10u << 20, 'a');
  Row("encode: 'a' x 10M", as.size(), BestMs(2, [&] { ids10 = tok->Encode(as); }), ids10.size());
  return valid ? 0 : 1;
}
