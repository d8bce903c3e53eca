#include "text_codec.h"

#include <string>

#include "gguf/gguf.h"
#include "tokenizer/chat.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace dllm {
namespace capi {
namespace {

// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t FirstInvalidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    size_t len = 0;
    if (tokenizer::utf8::Decode(s.data() + i, s.size() - i, &cp, &len) !=
        tokenizer::utf8::Status::kValid) {
      return i;
    }
    i += len;
  }
  return std::string::npos;
}

void CheckUtf8(const std::string& s, const char* what) {
  const size_t bad = FirstInvalidUtf8(s);
  if (bad != std::string::npos) {
    Throw(ErrorCode::kInvalidArgument,
          std::string(what) + " is not valid UTF-8 (at byte " + std::to_string(bad) + ")");
  }
}

std::vector<tokenizer::ChatMessage> ToTokenizer(const std::vector<ChatMessage>& messages) {
  std::vector<tokenizer::ChatMessage> out;
  out.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    CheckUtf8(messages[i].content, ("messages[" + std::to_string(i) + "].content").c_str());
    const char* role = messages[i].role == Role::kSystem ? "system"
                       : messages[i].role == Role::kUser ? "user"
                                                         : "model";
    out.push_back({role, messages[i].content});
  }
  return out;
}

}  // namespace

TextCodec::~TextCodec() = default;

std::unique_ptr<TextCodec> TextCodec::FromFile(const gguf::File& file, int64_t n_vocab) {
  std::unique_ptr<TextCodec> c(new TextCodec());
  c->tokenizer_ = tokenizer::Tokenizer::Create(tokenizer::VocabFromGguf(file));
  const tokenizer::Tokenizer& t = *c->tokenizer_;
  if (t.size() != n_vocab) {
    Throw(ErrorCode::kFormat, "the vocabulary has " + std::to_string(t.size()) +
                                  " tokens but the model's embedding has " +
                                  std::to_string(n_vocab) + " rows");
  }
  c->n_vocab_ = n_vocab;
  SpecialIds& s = c->specials_;
  s.bos = t.bos_id();
  s.eos = t.eos_id();
  s.pad = t.pad_id();
  s.unk = t.unk_id();
  s.mask = t.mask_id();
  s.add_bos = t.add_bos();
  if (file.Find("tokenizer.ggml.eot_token_id")) {
    const uint64_t eot = file.GetU64("tokenizer.ggml.eot_token_id");
    if (eot < static_cast<uint64_t>(n_vocab)) s.eot = static_cast<int32_t>(eot);
  }
  s.turn_open = t.PieceToId("<|turn>");
  s.turn_close = t.PieceToId("<turn|>");
  s.channel_open = t.PieceToId("<|channel>");
  s.channel_close = t.PieceToId("<channel|>");
  return c;
}

std::vector<int32_t> TextCodec::Tokenize(const std::string& text, bool add_bos,
                                         bool parse_special) const {
  CheckUtf8(text, "text");
  tokenizer::EncodeOptions o;
  o.add_bos = add_bos;
  o.parse_special = parse_special;
  return tokenizer_->Encode(text, o);
}

std::string TextCodec::Detokenize(const int32_t* ids, size_t n, bool render_special) const {
  tokenizer::DecodeOptions o;
  o.render_special = render_special;
  return tokenizer_->Decode(ids, n, o);
}

bool TextCodec::has_chat_format() const {
  return specials_.turn_open >= 0 && specials_.turn_close >= 0 && specials_.channel_open >= 0 &&
         specials_.channel_close >= 0;
}

std::string TextCodec::RenderChat(const std::vector<ChatMessage>& messages, bool thinking,
                                  bool generation_prompt) const {
  if (!has_chat_format()) {
    Throw(ErrorCode::kUnsupported, "the model's vocabulary has no Gemma 4 chat tokens");
  }
  tokenizer::ChatOptions o;
  o.thinking = thinking;
  o.add_generation_prompt = generation_prompt;
  return tokenizer::RenderChat(ToTokenizer(messages), o);
}

std::vector<int32_t> TextCodec::EncodeChat(const std::vector<ChatMessage>& messages,
                                           bool thinking, bool generation_prompt) const {
  if (!has_chat_format()) {
    Throw(ErrorCode::kUnsupported, "the model's vocabulary has no Gemma 4 chat tokens");
  }
  tokenizer::ChatOptions o;
  o.thinking = thinking;
  o.add_generation_prompt = generation_prompt;
  return tokenizer::EncodeChat(*tokenizer_, ToTokenizer(messages), o);
}

std::vector<int32_t> TextCodec::EncodeContinuation(const std::vector<ChatMessage>& messages,
                                                   bool thinking, bool generation_prompt,
                                                   bool turn_open) const {
  if (!has_chat_format()) {
    Throw(ErrorCode::kUnsupported, "the model's vocabulary has no Gemma 4 chat tokens");
  }
  const tokenizer::EncodeOptions plain;
  std::vector<int32_t> ids;
  auto text = [&](const char* t) {
    const std::vector<int32_t> v = tokenizer_->Encode(t, plain);
    ids.insert(ids.end(), v.begin(), v.end());
  };
  if (turn_open) ids.push_back(specials_.turn_close);
  text("\n");
  // The turns alone: no <bos>, no system turn for thinking (that belongs to the conversation's
  // start), no generation prompt (added below, where thinking decides the empty channel).
  tokenizer::ChatOptions o;
  o.thinking = false;
  o.add_generation_prompt = false;
  o.add_bos = false;
  const std::vector<int32_t> turns = tokenizer::EncodeChat(*tokenizer_, ToTokenizer(messages), o);
  ids.insert(ids.end(), turns.begin(), turns.end());
  if (generation_prompt) {
    ids.push_back(specials_.turn_open);
    text("model\n");
    if (!thinking) {
      ids.push_back(specials_.channel_open);
      text("thought\n");
      ids.push_back(specials_.channel_close);
    }
  }
  return ids;
}

TextCodec::Stream::Stream(const TextCodec& codec, bool render_special)
    : decoder_(*codec.tokenizer_, [render_special] {
        tokenizer::DecodeOptions o;
        o.render_special = render_special;
        return o;
      }()) {}

}  // namespace capi
}  // namespace dllm
