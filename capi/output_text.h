// Turns generated ids into the three texts of dllm_result / dllm_canvas_info, incrementally:
// the raw transcript (control tokens rendered), the thought channel and the answer.
//
// Gemma 4 writes its reasoning as "<|channel>thought\n ... <channel|>" before the answer. Ids
// between <|channel> and <channel|> go to the thought text, minus the channel's name line
// ("thought\n"); every other id goes to the answer, with control tokens omitted. Each text is
// decoded by its own stream, so each is complete UTF-8 on its own.
#pragma once

#include <cstdint>
#include <string>

#include "text_codec.h"

namespace dllm {
namespace capi {

class OutputText {
 public:
  struct Pieces {
    std::string text, thought, answer;
  };

  explicit OutputText(const TextCodec& codec);
  // Text completed by these ids.
  Pieces Push(const int32_t* ids, size_t n);
  // Everything still held back (an incomplete UTF-8 sequence becomes U+FFFD).
  Pieces Finish();

 private:
  void AppendThought(const std::string& s, std::string* out);

  const SpecialIds& specials_;
  TextCodec::Stream raw_, thought_, answer_;
  bool in_channel_ = false;
  bool header_done_ = false;
  std::string header_;
};

}  // namespace capi
}  // namespace dllm
