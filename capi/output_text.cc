#include "output_text.h"

namespace dllm {
namespace capi {

OutputText::OutputText(const TextCodec& codec)
    : specials_(codec.specials()),
      raw_(codec, /*render_special=*/true),
      thought_(codec, /*render_special=*/false),
      answer_(codec, /*render_special=*/false) {}

void OutputText::AppendThought(const std::string& s, std::string* out) {
  if (header_done_) {
    *out += s;
    return;
  }
  // Until the channel's name line ends, text is the header ("thought\n"), not thought.
  header_ += s;
  const size_t nl = header_.find('\n');
  if (nl == std::string::npos) return;
  *out += header_.substr(nl + 1);
  header_.clear();
  header_done_ = true;
}

OutputText::Pieces OutputText::Push(const int32_t* ids, size_t n) {
  Pieces p;
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    p.text += raw_.Push(id);
    if (id == specials_.channel_open && specials_.channel_open >= 0) {
      // Leaving the answer: what it holds back can no longer complete.
      p.answer += answer_.Finish();
      in_channel_ = true;
      header_done_ = false;
      header_.clear();
    } else if (id == specials_.channel_close && specials_.channel_close >= 0) {
      AppendThought(thought_.Finish(), &p.thought);
      in_channel_ = false;
      header_.clear();  // a channel closed before its name line ended: the name was all of it
    } else if (in_channel_) {
      AppendThought(thought_.Push(id), &p.thought);
    } else {
      p.answer += answer_.Push(id);
    }
  }
  return p;
}

OutputText::Pieces OutputText::Finish() {
  Pieces p;
  p.text = raw_.Finish();
  AppendThought(thought_.Finish(), &p.thought);
  p.answer = answer_.Finish();
  return p;
}

}  // namespace capi
}  // namespace dllm
