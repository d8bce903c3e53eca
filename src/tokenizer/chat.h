// The Gemma 4 chat format (spec §6):
//
//   <bos>
//   [<|turn>system\n [<|think|>\n] {system text} <turn|>\n]   if a system message or thinking
//   <|turn>{user|model}\n{content}<turn|>\n                   per message (assistant -> model)
//   [<|turn>model\n [<|channel>thought\n<channel|>]]          generation prompt; the empty
//                                                             thought channel when thinking is off
//
// Contents are trimmed (the checkpoint template's `| trim`); earlier model turns lose their
// thought channels (<|channel>...<channel|>). A first message with role "system" or
// "developer" becomes the system turn; later system messages are turns of their own.
//
// Two ways in: EncodeChat builds ids from messages, RawPromptIds takes text as is. EncodeChat
// writes the turn markers as token ids and encodes every content with parse_special off, so a
// message that contains "<turn|>" cannot forge a turn; for ordinary text the ids equal those of
// RenderChat's string encoded with parse_special on (the reference's way).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace dllm::tokenizer {

struct ChatMessage {
  std::string role;     // "system" | "developer" | "user" | "assistant" | "model"
  std::string content;  // UTF-8 text
};

struct ChatOptions {
  bool thinking = false;               // enable the model's thought channel (<|think|>)
  bool add_generation_prompt = true;   // end with "<|turn>model\n" (+ empty channel if !thinking)
  bool add_bos = true;                 // start with <bos>
};

// The template as text, markers written out. Throws dllm::Error(kInvalidArgument) for an
// unknown role.
std::string RenderChat(const std::vector<ChatMessage>& messages, const ChatOptions& options);

// The template as ids. Throws dllm::Error(kInvalidArgument) for an unknown role and
// dllm::Error(kUnsupported) if the vocabulary lacks a marker token (<|turn>, <turn|>, and
// <|channel>, <channel|>, <|think|>, <bos> where used).
std::vector<int32_t> EncodeChat(const Tokenizer& tokenizer,
                                const std::vector<ChatMessage>& messages,
                                const ChatOptions& options);

// Raw-prompt mode: the text goes to the model as written, with <bos> first if add_bos; control
// markers in the text are recognised when parse_special is set.
std::vector<int32_t> RawPromptIds(const Tokenizer& tokenizer, std::string_view prompt,
                                  bool add_bos, bool parse_special);

// Removes every thought channel "<|channel>...<channel|>" (an unterminated one to the end) and
// trims the result. Used for earlier model turns.
std::string StripThinking(std::string_view text);

// Generated text (decoded with DecodeOptions::render_special) split into thought and answer.
struct ModelReply {
  std::string thought;          // the channel's text without its "thought\n" label
  std::string answer;           // text outside the channel, up to <turn|> / <eos>, trimmed
  bool has_thought = false;     // a channel was opened
  bool thought_complete = false;  // ... and closed with <channel|>
  bool turn_complete = false;   // <turn|> or <eos> was reached
};
ModelReply SplitReply(std::string_view generated);

}  // namespace dllm::tokenizer
