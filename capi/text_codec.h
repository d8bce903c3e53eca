// The C layer's view of the tokenizer (src/tokenizer/): a Tokenizer built from the model file's
// tokenizer.ggml.* keys, plus what dllm.h needs on top of it — argument checks, the special ids,
// and chat prompts that continue a conversation already in a session's KV cache. Immutable
// after construction, so any number of threads may use one TextCodec (a Stream is one thread's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace dllm {
namespace gguf {
class File;
}
namespace capi {

enum class Role { kSystem, kUser, kModel };

struct ChatMessage {
  Role role;
  std::string content;
};

// Special token ids; -1 when the vocabulary lacks the token.
struct SpecialIds {
  int32_t bos = -1, eos = -1, eot = -1, pad = -1, unk = -1, mask = -1;
  int32_t turn_open = -1, turn_close = -1;        // <|turn>, <turn|>
  int32_t channel_open = -1, channel_close = -1;  // <|channel>, <channel|>
  bool add_bos = true;
};

class TextCodec {
 public:
  // Throws dllm::Error(kFormat) when the tokenizer keys are missing or malformed, or the
  // vocabulary's size differs from the model's n_vocab.
  static std::unique_ptr<TextCodec> FromFile(const gguf::File& file, int64_t n_vocab);
  ~TextCodec();

  // Throws kInvalidArgument for text that is not valid UTF-8 (naming the byte offset).
  std::vector<int32_t> Tokenize(const std::string& text, bool add_bos, bool parse_special) const;
  // Ids must be in [0, n_vocab).
  std::string Detokenize(const int32_t* ids, size_t n, bool render_special) const;
  int64_t n_vocab() const { return n_vocab_; }
  const SpecialIds& specials() const { return specials_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }

  // The Gemma 4 chat format needs <|turn>, <turn|>, <|channel> and <channel|>.
  bool has_chat_format() const;
  // A whole conversation from <bos>, as text with the markers written out, or as ids (markers
  // as their token ids, contents tokenized without special-token parsing). Throw kUnsupported
  // without a chat format, kInvalidArgument for contents that are not valid UTF-8.
  std::string RenderChat(const std::vector<ChatMessage>& messages, bool thinking,
                         bool generation_prompt) const;
  std::vector<int32_t> EncodeChat(const std::vector<ChatMessage>& messages, bool thinking,
                                  bool generation_prompt) const;
  // Further turns after a context whose last model turn is closed (`turn_open` false: the
  // context ends with <turn|>) or not (then <turn|> is written first).
  std::vector<int32_t> EncodeContinuation(const std::vector<ChatMessage>& messages,
                                          bool thinking, bool generation_prompt,
                                          bool turn_open) const;

  // Incremental decoding of generated ids into complete UTF-8.
  class Stream {
   public:
    Stream(const TextCodec& codec, bool render_special);
    std::string Push(int32_t id) { return decoder_.Push(id); }
    std::string Finish() { return decoder_.Finish(); }

   private:
    tokenizer::StreamDecoder decoder_;
  };

 private:
  TextCodec() = default;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  int64_t n_vocab_ = 0;
  SpecialIds specials_;
};

}  // namespace capi
}  // namespace dllm
