// What the opaque handles of dllm.h are, and the registry that validates them.
//
// dllm_model owns the engine Model and the tokenizer (TextCodec). It is held by shared_ptr: the
// registry holds the caller's reference until dllm_model_free, and every session holds one, so
// the model lives until the last of them is gone (dllm.h "Lifetime").
//
// dllm_session owns an engine Session. `busy` is the cheap detector of concurrent use: every
// session call except dllm_session_cancel takes it with an atomic exchange and fails with
// DLLM_ERROR_BUSY when it is already taken.
//
// The registry maps live handle addresses to their shared_ptr. Every call looks its handle up
// (so NULL, freed and wrong-kind handles are rejected without touching their memory) and keeps
// the returned shared_ptr for the duration of the call (so a concurrent free cannot destroy the
// object under it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dllm/dllm.h"
#include "engine/session.h"
#include "model/model.h"
#include "text_codec.h"

struct dllm_model {
  std::shared_ptr<const dllm::Model> engine;
  std::unique_ptr<dllm::capi::TextCodec> codec;
  int n_threads = 0;  // load params: default for sessions that ask for 0
  // Stable storage for what dllm_model_info points to.
  std::vector<std::pair<std::string, uint64_t>> tensor_types;
  dllm::ModelStats stats;
  std::string tokenizer_model;
  bool has_chat_template = false;
};

struct dllm_session {
  std::shared_ptr<dllm_model> model;
  std::unique_ptr<dllm::Session> engine;
  int64_t n_ctx = 0;
  std::atomic<bool> busy{false};
  std::atomic<bool> cancel{false};
  // Storage of the last result (dllm_result / dllm_metrics point into it).
  std::vector<int32_t> tokens;
  std::string text, thought, answer;
  std::vector<int32_t> steps_per_canvas;
  int32_t stop_reason = DLLM_STOP_END_OF_GENERATION;
  int32_t n_canvases = 0;
  // How the last generation ended, for the next chat turn: whether the model closed its turn.
  bool turn_open = false;
};

namespace dllm {
namespace capi {

void RegisterModel(std::shared_ptr<dllm_model> model);
// The live model `handle`, or throws DLLM_ERROR_INVALID_ARGUMENT naming `what`.
std::shared_ptr<dllm_model> LookupModel(const dllm_model* handle, const char* what = "model");
// Removes the caller's reference; false if `handle` is not a live model.
bool UnregisterModel(const dllm_model* handle);

void RegisterSession(std::shared_ptr<dllm_session> session);
std::shared_ptr<dllm_session> LookupSession(const dllm_session* handle);
// Removes a live session that is not busy. Throws INVALID_ARGUMENT / BUSY.
std::shared_ptr<dllm_session> UnregisterSession(const dllm_session* handle);

// Sampler parameters: the released defaults, and a model's defaults applied over them.
dllm_sampler_params DefaultSamplerParams();
void ApplySamplerDefaults(const SamplerDefaults& defaults, dllm_sampler_params* params);

// Checks and converts chat messages (roles, NULL strings).
std::vector<ChatMessage> ChatMessages(const dllm_chat_message* messages, size_t n);

// Holds a session's busy flag for the lifetime of the object.
class BusyGuard {
 public:
  explicit BusyGuard(dllm_session& s);  // throws DLLM_ERROR_BUSY
  ~BusyGuard() { s_.busy.store(false, std::memory_order_release); }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  dllm_session& s_;
};

}  // namespace capi
}  // namespace dllm
