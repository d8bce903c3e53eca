// Shared helpers of the C ABI tests: a tiny synthetic model file, RAII for handles, and a
// generation setup that yields a chosen number of full canvases whatever the random model says.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dllm/dllm.h"
#include "doctest/doctest.h"
#include "synthetic.h"

namespace capi_test {

// A tiny model (SyntheticConfig::Tiny) written once per process.
inline const std::string& TinyModelPath() {
  static const std::string path = [] {
    const std::string p = std::string(DLLM_BINARY_DIR) + "/tests/capi/tiny-" +
                          std::to_string(static_cast<long>(::getpid())) + ".gguf";
    dllm::WriteSyntheticModel(dllm::SyntheticConfig::Tiny(), p);
    return p;
  }();
  return path;
}

// Removes the per-process model file at exit.
struct TinyModelCleanup {
  ~TinyModelCleanup() { std::remove(TinyModelPath().c_str()); }
};

struct ModelFree {
  void operator()(dllm_model* m) const { dllm_model_free(m); }
};
struct SessionFree {
  void operator()(dllm_session* s) const { dllm_session_free(s); }
};
using ModelPtr = std::unique_ptr<dllm_model, ModelFree>;
using SessionPtr = std::unique_ptr<dllm_session, SessionFree>;

#define CHECK_OK(call)                                                                \
  do {                                                                                \
    const dllm_status status_ = (call);                                               \
    INFO(#call << ": " << dllm_status_string(status_) << " " << dllm_last_error());   \
    CHECK(status_ == DLLM_OK);                                                        \
  } while (0)
#define REQUIRE_OK(call)                                                              \
  do {                                                                                \
    const dllm_status status_ = (call);                                               \
    INFO(#call << ": " << dllm_status_string(status_) << " " << dllm_last_error());   \
    REQUIRE(status_ == DLLM_OK);                                                      \
  } while (0)

inline ModelPtr LoadTiny() {
  dllm_model* m = nullptr;
  const dllm_status st = dllm_model_load(TinyModelPath().c_str(), nullptr, &m);
  INFO(dllm_last_error());
  REQUIRE(st == DLLM_OK);
  return ModelPtr(m);
}

// One thread keeps the tests fast on a loaded machine (OpenMP spinning).
inline SessionPtr NewSession(const dllm_model* m, int64_t n_ctx = 0) {
  dllm_session_params p;
  REQUIRE(dllm_session_params_init(&p, sizeof p) == DLLM_OK);
  p.n_ctx = n_ctx;
  p.n_threads = 1;
  dllm_session* s = nullptr;
  const dllm_status st = dllm_session_create(m, &p, &s);
  INFO(dllm_last_error());
  REQUIRE(st == DLLM_OK);
  return SessionPtr(s);
}

// Quick sampler settings: few steps.
inline dllm_sampler_params FastParams(uint64_t seed = 7) {
  dllm_sampler_params p;
  dllm_sampler_params_init(&p, sizeof p);
  p.max_steps = 4;
  p.seed = seed;
  p.max_new_tokens = 64;
  return p;
}

inline dllm_result NewResult() {
  dllm_result r;
  r.struct_size = sizeof r;
  return r;
}

// Sets params->stop_ids to one id that the generation from `prompt` does not produce within
// `n_canvases` canvases (stop ids do not change what is sampled, only where output ends), and
// max_new_tokens to n_canvases canvases: a generation with these params then commits exactly
// n_canvases full canvases. `storage` keeps the id alive.
inline void StopIdForFullCanvases(const dllm_model* m, const std::vector<int32_t>& prompt,
                                  int n_canvases, dllm_sampler_params* params,
                                  std::vector<int32_t>* storage) {
  dllm_model_info info;
  info.struct_size = sizeof info;
  REQUIRE(dllm_model_get_info(m, &info) == DLLM_OK);
  params->max_new_tokens = n_canvases * info.canvas_length;
  std::vector<bool> seen(static_cast<size_t>(info.n_vocab), false);
  storage->assign(1, 0);
  for (int attempt = 0; attempt < 64; ++attempt) {
    int32_t candidate = -1;
    for (int32_t id = static_cast<int32_t>(info.n_vocab) - 1; id >= 0; --id) {
      if (!seen[static_cast<size_t>(id)]) {
        candidate = id;
        break;
      }
    }
    REQUIRE(candidate >= 0);
    (*storage)[0] = candidate;
    params->stop_ids = storage->data();
    params->n_stop_ids = 1;
    SessionPtr s = NewSession(m);
    dllm_result r = NewResult();
    REQUIRE(dllm_session_generate_tokens(s.get(), prompt.data(), prompt.size(), params, nullptr,
                                         &r) == DLLM_OK);
    if (r.n_tokens == static_cast<size_t>(params->max_new_tokens)) return;
    for (size_t i = 0; i < r.n_tokens; ++i) seen[static_cast<size_t>(r.tokens[i])] = true;
  }
  FAIL("no stop id found that lets the generation run its canvases");
}

}  // namespace capi_test
