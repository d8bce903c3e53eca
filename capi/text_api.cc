// dllm_tokenize, dllm_detokenize, dllm_chat_apply_template.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dllm/dllm.h"
#include "handles.h"
#include "status.h"
#include "structs.h"

namespace dllm {
namespace capi {

std::vector<ChatMessage> ChatMessages(const dllm_chat_message* messages, size_t n) {
  if (!messages && n > 0) InvalidArgument("messages is NULL but n_messages is " + std::to_string(n));
  std::vector<ChatMessage> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!messages[i].role) InvalidArgument(where + ".role is NULL");
    if (!messages[i].content) InvalidArgument(where + ".content is NULL");
    const char* role = messages[i].role;
    ChatMessage m;
    if (std::strcmp(role, "system") == 0 || std::strcmp(role, "developer") == 0) {
      m.role = Role::kSystem;
    } else if (std::strcmp(role, "user") == 0) {
      m.role = Role::kUser;
    } else if (std::strcmp(role, "assistant") == 0 || std::strcmp(role, "model") == 0) {
      m.role = Role::kModel;
    } else {
      InvalidArgument(where + ".role \"" + std::string(role) +
                      "\" is not one of system, developer, user, assistant, model");
    }
    m.content = messages[i].content;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace capi
}  // namespace dllm

using dllm::capi::Guard;
using dllm::capi::InvalidArgument;

namespace {

void CheckFlags(uint32_t flags, uint32_t known) {
  if (flags & ~known) {
    InvalidArgument("unknown flag bits 0x" + [](uint32_t v) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%x", v);
      return std::string(buf);
    }(flags & ~known));
  }
}

}  // namespace

extern "C" {

dllm_status dllm_tokenize(const dllm_model* model, const char* text, size_t text_len,
                          uint32_t flags, int32_t* ids, size_t capacity, size_t* n_ids) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    if (!n_ids) InvalidArgument("n_ids is NULL");
    CheckFlags(flags, DLLM_TOKENIZE_ADD_BOS | DLLM_TOKENIZE_PARSE_SPECIAL);
    const std::string s = dllm::capi::TextArg(text, text_len, "text");
    const std::vector<int32_t> out = m->codec->Tokenize(
        s, (flags & DLLM_TOKENIZE_ADD_BOS) != 0, (flags & DLLM_TOKENIZE_PARSE_SPECIAL) != 0);
    *n_ids = out.size();
    if (capacity < out.size()) {
      dllm::capi::Fail(DLLM_ERROR_BUFFER_TOO_SMALL,
                       std::to_string(out.size()) + " ids do not fit a capacity of " +
                           std::to_string(capacity));
    }
    if (!out.empty()) {
      if (!ids) InvalidArgument("ids is NULL with capacity > 0");
      std::memcpy(ids, out.data(), out.size() * sizeof(int32_t));
    }
  });
}

dllm_status dllm_detokenize(const dllm_model* model, const int32_t* ids, size_t n_ids,
                            uint32_t flags, char* text, size_t capacity, size_t* text_len) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    if (!text_len) InvalidArgument("text_len is NULL");
    if (!ids && n_ids > 0) InvalidArgument("ids is NULL but n_ids is " + std::to_string(n_ids));
    CheckFlags(flags, DLLM_DETOKENIZE_RENDER_SPECIAL);
    const int64_t n_vocab = m->codec->n_vocab();
    for (size_t i = 0; i < n_ids; ++i) {
      if (ids[i] < 0 || ids[i] >= n_vocab) {
        InvalidArgument("ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                        " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
      }
    }
    const std::string s =
        m->codec->Detokenize(ids, n_ids, (flags & DLLM_DETOKENIZE_RENDER_SPECIAL) != 0);
    dllm::capi::CopyOut(s, text, capacity, text_len, "text");
  });
}

dllm_status dllm_chat_apply_template(const dllm_model* model, const dllm_chat_message* messages,
                                     size_t n_messages, uint32_t flags, char* text,
                                     size_t capacity, size_t* text_len) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    if (!text_len) InvalidArgument("text_len is NULL");
    CheckFlags(flags, DLLM_CHAT_THINKING | DLLM_CHAT_NO_GENERATION_PROMPT);
    const auto msgs = dllm::capi::ChatMessages(messages, n_messages);
    const std::string s = m->codec->RenderChat(msgs, (flags & DLLM_CHAT_THINKING) != 0,
                                               (flags & DLLM_CHAT_NO_GENERATION_PROMPT) == 0);
    dllm::capi::CopyOut(s, text, capacity, text_len, "text");
  });
}

}  // extern "C"
