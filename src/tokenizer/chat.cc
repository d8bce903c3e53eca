#include "tokenizer/chat.h"

#include "util/error.h"

namespace dllm::tokenizer {
namespace {

constexpr std::string_view kBos = "<bos>";
constexpr std::string_view kTurnOpen = "<|turn>";
constexpr std::string_view kTurnClose = "<turn|>";
constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kThink = "<|think|>";
constexpr std::string_view kEos = "<eos>";
constexpr std::string_view kThoughtLabel = "thought\n";

// Jinja's `trim`: Python str.strip(), i.e. Unicode whitespace; ASCII whitespace covers what
// chat contents carry in practice.
std::string_view Trim(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

enum class Role { kSystem, kUser, kModel };

Role ParseRole(const std::string& role, size_t index) {
  if (role == "system" || role == "developer") return Role::kSystem;
  if (role == "user") return Role::kUser;
  if (role == "assistant" || role == "model") return Role::kModel;
  Throw(ErrorCode::kInvalidArgument, "chat message " + std::to_string(index) + " has role \"" +
                                         role + "\" (expected system, developer, user, "
                                         "assistant or model)");
}

// The template as a sequence of parts: marker tokens and text.
struct Part {
  bool marker;
  std::string text;
};

std::vector<Part> BuildParts(const std::vector<ChatMessage>& messages,
                             const ChatOptions& options) {
  std::vector<Part> parts;
  auto marker = [&](std::string_view m) { parts.push_back({true, std::string(m)}); };
  auto text = [&](std::string_view t) {
    if (t.empty()) return;
    if (!parts.empty() && !parts.back().marker) {
      parts.back().text.append(t);
    } else {
      parts.push_back({false, std::string(t)});
    }
  };
  std::vector<Role> roles;
  roles.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) roles.push_back(ParseRole(messages[i].role, i));

  if (options.add_bos) marker(kBos);
  size_t first = 0;
  const bool system_first = !messages.empty() && roles[0] == Role::kSystem;
  if (system_first || options.thinking) {
    marker(kTurnOpen);
    text("system\n");
    if (options.thinking) {
      marker(kThink);
      text("\n");
    }
    if (system_first) {
      text(Trim(messages[0].content));
      first = 1;
    }
    marker(kTurnClose);
    text("\n");
  }
  for (size_t i = first; i < messages.size(); ++i) {
    marker(kTurnOpen);
    switch (roles[i]) {
      case Role::kSystem:
        text("system\n");
        text(Trim(messages[i].content));
        break;
      case Role::kUser:
        text("user\n");
        text(Trim(messages[i].content));
        break;
      case Role::kModel:
        text("model\n");
        text(StripThinking(messages[i].content));
        break;
    }
    marker(kTurnClose);
    text("\n");
  }
  if (options.add_generation_prompt) {
    marker(kTurnOpen);
    text("model\n");
    if (!options.thinking) {
      marker(kChannelOpen);
      text(kThoughtLabel);
      marker(kChannelClose);
    }
  }
  return parts;
}

}  // namespace

std::string RenderChat(const std::vector<ChatMessage>& messages, const ChatOptions& options) {
  std::string out;
  for (const Part& p : BuildParts(messages, options)) out += p.text;
  return out;
}

std::vector<int32_t> EncodeChat(const Tokenizer& tokenizer,
                                const std::vector<ChatMessage>& messages,
                                const ChatOptions& options) {
  std::vector<int32_t> ids;
  EncodeOptions plain;  // contents: no special-token parsing, no BOS
  for (const Part& p : BuildParts(messages, options)) {
    if (p.marker) {
      const int32_t id = tokenizer.PieceToId(p.text);
      if (id < 0) {
        Throw(ErrorCode::kUnsupported,
              "the vocabulary has no \"" + p.text + "\" token (not a Gemma 4 chat vocabulary)");
      }
      ids.push_back(id);
    } else {
      const std::vector<int32_t> t = tokenizer.Encode(p.text, plain);
      ids.insert(ids.end(), t.begin(), t.end());
    }
  }
  return ids;
}

std::vector<int32_t> RawPromptIds(const Tokenizer& tokenizer, std::string_view prompt,
                                  bool add_bos, bool parse_special) {
  EncodeOptions o;
  o.add_bos = add_bos;
  o.parse_special = parse_special;
  return tokenizer.Encode(prompt, o);
}

std::string StripThinking(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find(kChannelOpen, pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    const size_t close = text.find(kChannelClose, open + kChannelOpen.size());
    if (close == std::string_view::npos) break;
    pos = close + kChannelClose.size();
  }
  return std::string(Trim(out));
}

ModelReply SplitReply(std::string_view generated) {
  ModelReply r;
  size_t end = generated.size();
  for (std::string_view stop : {kTurnClose, kEos}) {
    const size_t p = generated.find(stop);
    if (p != std::string_view::npos && p < end) {
      end = p;
      r.turn_complete = true;
    }
  }
  const std::string_view text = generated.substr(0, end);
  const size_t open = text.find(kChannelOpen);
  if (open == std::string_view::npos) {
    r.answer = std::string(Trim(text));
    return r;
  }
  r.has_thought = true;
  const size_t start = open + kChannelOpen.size();
  const size_t close = text.find(kChannelClose, start);
  std::string_view inner =
      text.substr(start, (close == std::string_view::npos ? text.size() : close) - start);
  if (inner.substr(0, kThoughtLabel.size()) == kThoughtLabel) {
    inner.remove_prefix(kThoughtLabel.size());
  }
  r.thought = std::string(inner);
  r.thought_complete = close != std::string_view::npos;
  std::string answer(text.substr(0, open));
  if (r.thought_complete) answer.append(text.substr(close + kChannelClose.size()));
  r.answer = std::string(Trim(answer));
  return r;
}

}  // namespace dllm::tokenizer
