// dllm.hpp — header-only C++17 layer over the C ABI (dllm.h), and nothing else: it calls only
// dllm_* functions, so a program built with any C++ compiler can use it against a prebuilt
// libdllm. RAII handles, std::string text, std::function callbacks.
//
// Errors: every operation has a Try* form that returns a Status (or an Expected<T> holding a
// value or a Status) and never throws. When exceptions are enabled (the default when the
// compiler has them; define DLLM_HPP_EXCEPTIONS=0 to opt out), the plain forms return the value
// and throw dllm::Error on failure. With -fno-exceptions only the Try* forms exist.
//
// Ownership, lifetime and threads follow dllm.h: a Model may be shared by threads (its methods
// are const); a Session serves one thread at a time (DLLM_ERROR_BUSY otherwise), except
// Session::Cancel, which any thread may call. A Session keeps its model alive, so it may outlive
// the Model object it was created from. Model and Session are move-only.
//
// A cancelled generation is not an error at this level: Generate returns the Result with
// stop_reason == DLLM_STOP_CANCELLED and the canvases committed before the cancel.
#ifndef DLLM_DLLM_HPP_
#define DLLM_DLLM_HPP_

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dllm/dllm.h"

#ifndef DLLM_HPP_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define DLLM_HPP_EXCEPTIONS 1
#else
#define DLLM_HPP_EXCEPTIONS 0
#endif
#endif

#if DLLM_HPP_EXCEPTIONS
#include <exception>
#include <stdexcept>
#endif

namespace dllm {

// A status code with the message dllm_last_error() gave for it.
class Status {
 public:
  Status() = default;
  Status(dllm_status code, std::string message) : code_(code), message_(std::move(message)) {}
  // The status of a C call that just returned `code` on this thread.
  static Status FromCall(dllm_status code) {
    return code == DLLM_OK ? Status() : Status(code, dllm_last_error());
  }

  bool ok() const { return code_ == DLLM_OK; }
  explicit operator bool() const { return ok(); }
  dllm_status code() const { return code_; }
  const std::string& message() const { return message_; }
  // "DLLM_ERROR_IO: dllm_model_load: cannot open ..."
  std::string ToString() const {
    return ok() ? std::string("DLLM_OK") : std::string(dllm_status_string(code_)) + ": " + message_;
  }

 private:
  dllm_status code_ = DLLM_OK;
  std::string message_;
};

#if DLLM_HPP_EXCEPTIONS
class Error : public std::runtime_error {
 public:
  explicit Error(Status status) : std::runtime_error(status.ToString()), status_(std::move(status)) {}
  dllm_status code() const { return status_.code(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};
#endif

namespace detail {
// Without exceptions, using the value of a failed Expected is a programming error.
[[noreturn]] inline void Raise(const Status& status) {
#if DLLM_HPP_EXCEPTIONS
  throw Error(status);
#else
  (void)status;
  std::abort();
#endif
}
}  // namespace detail

// A value or the Status explaining why there is none.
template <class T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status(DLLM_ERROR_INTERNAL, "Expected built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }
  // The value; throws Error (aborts without exceptions) when there is none.
  T& value() & {
    if (!ok()) detail::Raise(status_);
    return *value_;
  }
  const T& value() const& {
    if (!ok()) detail::Raise(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) detail::Raise(status_);
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

#if DLLM_HPP_EXCEPTIONS
namespace detail {
inline void Check(const Status& s) {
  if (!s.ok()) throw Error(s);
}
template <class T>
T Unwrap(Expected<T>&& e) {
  return std::move(e).value();
}
}  // namespace detail
#endif

inline std::string VersionString() { return dllm_version_string(); }

// Process-wide logging (dllm_log_set_callback); an empty function turns logging off. The
// callback may run on any thread that calls into dllm, and on several at once.
using LogFunction = std::function<void(int level, const char* message)>;
namespace detail {
struct LogState {
  std::mutex mutex;
  std::shared_ptr<const LogFunction> fn;
};
// Never destroyed (reachable, so not a leak): dllm may log from another thread during exit.
inline LogState& GetLogState() {
  static LogState* state = new LogState();
  return *state;
}
inline void LogTrampoline(int32_t level, const char* message, void*) {
  std::shared_ptr<const LogFunction> fn;
  {
    std::lock_guard<std::mutex> lock(GetLogState().mutex);
    fn = GetLogState().fn;
  }
  if (fn) (*fn)(level, message);
}
}  // namespace detail
inline Status TrySetLogCallback(LogFunction fn, int level = DLLM_LOG_INFO) {
  const bool on = static_cast<bool>(fn);
  {
    std::lock_guard<std::mutex> lock(detail::GetLogState().mutex);
    detail::GetLogState().fn = on ? std::make_shared<const LogFunction>(std::move(fn)) : nullptr;
  }
  return Status::FromCall(on ? dllm_log_set_callback(&detail::LogTrampoline, nullptr, level)
                             : dllm_log_set_callback(nullptr, nullptr, DLLM_LOG_NONE));
}
#if DLLM_HPP_EXCEPTIONS
inline void SetLogCallback(LogFunction fn, int level = DLLM_LOG_INFO) {
  detail::Check(TrySetLogCallback(std::move(fn), level));
}
#endif

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct LoadOptions {
  int n_threads = 0;   // default for sessions asking for 0; 0: every core
  bool use_mmap = true;
  std::function<bool(float fraction)> progress;  // return false to cancel loading
};

struct SessionOptions {
  int64_t n_ctx = 0;   // 0: the model's context length
  int n_threads = 0;   // 0: the model's load n_threads, else every core
};

struct LayerInfo {
  bool sliding = true;
  int n_head = 0, n_kv_head = 0, head_dim = 0;
  float rope_base = 0;
  bool has_v = true;
};

struct ModelInfo {
  std::string architecture, name, tokenizer_model;
  int64_t n_embd = 0, n_layer = 0, n_ff = 0, n_vocab = 0, context_length = 0, canvas_length = 0,
          sliding_window = 0, n_ff_expert = 0;
  int n_expert = 0, n_expert_used = 0;
  float rms_eps = 0, final_logit_softcap = 0;
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, pad_id = -1, unk_id = -1, mask_id = -1;
  std::vector<int32_t> eog_ids;
  bool add_bos = false, has_chat_template = false, has_chat_format = false;
  uint64_t n_params = 0, n_params_active = 0, n_params_expert = 0, n_params_embedding = 0;
  uint64_t file_bytes = 0, weight_bytes = 0;
  std::vector<LayerInfo> layers;
  std::vector<std::pair<std::string, uint64_t>> tensor_types;  // ggml type name, tensor count
};

struct MemoryEstimate {
  uint64_t weight_bytes = 0, kv_cache_bytes = 0, scratch_bytes = 0, total_bytes = 0;
};

// Sampler settings as a builder. Fields left unset take the model's defaults (its diffusion.eb_*
// keys) and dllm_sampler_params_init's values; see dllm_sampler_params for meanings and ranges.
class SamplerSettings {
 public:
  SamplerSettings& MaxSteps(int v) { return Set(max_steps_, v); }
  SamplerSettings& TMin(float v) { return Set(t_min_, v); }
  SamplerSettings& TMax(float v) { return Set(t_max_, v); }
  // One temperature for every step (t_min = t_max = t).
  SamplerSettings& Temperature(float t) { return TMin(t).TMax(t); }
  SamplerSettings& EntropyBound(float v) { return Set(entropy_bound_, v); }
  SamplerSettings& StabilityThreshold(int v) { return Set(stability_threshold_, v); }
  SamplerSettings& ConfidenceThreshold(float v) { return Set(confidence_threshold_, v); }
  SamplerSettings& Seed(uint64_t v) { return Set(seed_, v); }
  SamplerSettings& MaxNewTokens(int64_t v) { return Set(max_new_tokens_, v); }
  SamplerSettings& StopIds(std::vector<int32_t> ids) {
    stop_ids_ = std::move(ids);
    return *this;
  }
  SamplerSettings& FixedSteps(bool v = true) { return Set(fixed_steps_, v); }
  SamplerSettings& Argmax(bool v = true) { return Set(argmax_, v); }
  SamplerSettings& ScThreshold(float v) { return Set(sc_threshold_, v); }

  // Writes the set fields over `p` (stop_ids points into this object: keep it alive).
  void ApplyTo(dllm_sampler_params* p) const {
    if (max_steps_) p->max_steps = *max_steps_;
    if (t_min_) p->t_min = *t_min_;
    if (t_max_) p->t_max = *t_max_;
    if (entropy_bound_) p->entropy_bound = *entropy_bound_;
    if (stability_threshold_) p->stability_threshold = *stability_threshold_;
    if (confidence_threshold_) p->confidence_threshold = *confidence_threshold_;
    if (seed_) p->seed = *seed_;
    if (max_new_tokens_) p->max_new_tokens = *max_new_tokens_;
    if (!stop_ids_.empty()) {
      p->stop_ids = stop_ids_.data();
      p->n_stop_ids = stop_ids_.size();
    }
    if (fixed_steps_) p->fixed_steps = *fixed_steps_ ? 1 : 0;
    if (argmax_) p->argmax = *argmax_ ? 1 : 0;
    if (sc_threshold_) p->sc_threshold = *sc_threshold_;
  }

 private:
  template <class F, class V>
  SamplerSettings& Set(std::optional<F>& field, V v) {
    field = static_cast<F>(v);
    return *this;
  }
  std::optional<int> max_steps_, stability_threshold_;
  std::optional<float> t_min_, t_max_, entropy_bound_, confidence_threshold_, sc_threshold_;
  std::optional<uint64_t> seed_;
  std::optional<int64_t> max_new_tokens_;
  std::optional<bool> fixed_steps_, argmax_;
  std::vector<int32_t> stop_ids_;
};

// Views valid during the callback only (see dllm_step_info / dllm_canvas_info).
struct StepInfo {
  int canvas_index = 0, step = 0, max_steps = 0;
  bool is_final = false;
  int64_t length = 0;
  const int32_t* canvas = nullptr;
  const int32_t* next_canvas = nullptr;
  const uint8_t* accepted = nullptr;
  const float* entropy = nullptr;
  double mean_entropy = 0;
};

struct CanvasInfo {
  int canvas_index = 0, steps = 0;
  const int32_t* ids = nullptr;
  size_t n_ids = 0;
  std::string_view text, thought, answer;
};

// Return true to continue, false to stop after this step / canvas. With exceptions enabled, an
// exception thrown by a callback stops generation and is rethrown by Generate (Try* forms
// report it as DLLM_ERROR_INTERNAL with its message).
struct Callbacks {
  std::function<bool(const StepInfo&)> on_step;
  std::function<bool(const CanvasInfo&)> on_canvas;
};

struct Result {
  std::vector<int32_t> tokens;
  std::string text, thought, answer;
  dllm_stop_reason stop_reason = DLLM_STOP_END_OF_GENERATION;
  int n_canvases = 0;
  bool cancelled() const { return stop_reason == DLLM_STOP_CANCELLED; }
};

struct Metrics {
  int64_t prompt_tokens = 0, generated_tokens = 0, canvases = 0, steps = 0;
  double prompt_seconds = 0, step_seconds = 0, denoise_seconds = 0, commit_seconds = 0,
         total_seconds = 0, tokens_per_second = 0;
  std::vector<int32_t> steps_per_canvas;
};

struct SessionInfo {
  int64_t n_ctx = 0, n_past = 0;
  int n_threads = 0;
};

namespace detail {
inline std::vector<dllm_chat_message> CMessages(const std::vector<ChatMessage>& m) {
  std::vector<dllm_chat_message> out(m.size());
  for (size_t i = 0; i < m.size(); ++i) out[i] = {m[i].role.c_str(), m[i].content.c_str()};
  return out;
}
inline uint32_t ChatFlags(bool thinking, bool generation_prompt) {
  return (thinking ? DLLM_CHAT_THINKING : 0u) |
         (generation_prompt ? 0u : DLLM_CHAT_NO_GENERATION_PROMPT);
}
// Runs a (buffer, capacity, length) C function twice when the first guess is too small.
template <class Call>
Expected<std::string> FetchString(Call call) {
  std::string s(256, '\0');
  size_t len = 0;
  dllm_status st = call(&s[0], s.size(), &len);
  if (st == DLLM_ERROR_BUFFER_TOO_SMALL) {
    s.assign(len + 1, '\0');
    st = call(&s[0], s.size(), &len);
  }
  if (st != DLLM_OK) return Status::FromCall(st);
  s.resize(len);
  return s;
}
}  // namespace detail

class Session;

class Model {
 public:
  Model() = default;  // empty; only assignable
  Model(Model&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Model& operator=(Model&& o) noexcept {
    if (this != &o) {
      Reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() { Reset(); }

  static Expected<Model> TryLoad(const std::string& path, const LoadOptions& options = {}) {
    dllm_load_params p;
    dllm_status st = dllm_load_params_init(&p, sizeof p);
    if (st != DLLM_OK) return Status::FromCall(st);
    p.n_threads = options.n_threads;
    p.use_mmap = options.use_mmap ? 1 : 0;
    if (options.progress) {
      p.progress = [](float f, void* ud) {
        return (*static_cast<const std::function<bool(float)>*>(ud))(f) ? DLLM_CONTINUE
                                                                         : DLLM_STOP;
      };
      p.progress_user_data = const_cast<std::function<bool(float)>*>(&options.progress);
    }
    Model m;
    st = dllm_model_load(path.c_str(), &p, &m.h_);
    if (st != DLLM_OK) return Status::FromCall(st);
    return m;
  }

  dllm_model* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

  Expected<ModelInfo> TryInfo() const {
    dllm_model_info c;
    c.struct_size = sizeof c;
    dllm_status st = dllm_model_get_info(h_, &c);
    if (st != DLLM_OK) return Status::FromCall(st);
    ModelInfo i;
    i.architecture = c.architecture;
    i.name = c.name;
    i.tokenizer_model = c.tokenizer_model;
    i.n_embd = c.n_embd;
    i.n_layer = c.n_layer;
    i.n_ff = c.n_ff;
    i.n_vocab = c.n_vocab;
    i.context_length = c.context_length;
    i.canvas_length = c.canvas_length;
    i.sliding_window = c.sliding_window;
    i.n_ff_expert = c.n_ff_expert;
    i.n_expert = c.n_expert;
    i.n_expert_used = c.n_expert_used;
    i.rms_eps = c.rms_eps;
    i.final_logit_softcap = c.final_logit_softcap;
    i.bos_id = c.bos_id;
    i.eos_id = c.eos_id;
    i.eot_id = c.eot_id;
    i.pad_id = c.pad_id;
    i.unk_id = c.unk_id;
    i.mask_id = c.mask_id;
    i.eog_ids.assign(c.eog_ids, c.eog_ids + c.n_eog_ids);
    i.add_bos = c.add_bos != 0;
    i.has_chat_template = c.has_chat_template != 0;
    i.has_chat_format = c.has_chat_format != 0;
    i.n_params = c.n_params;
    i.n_params_active = c.n_params_active;
    i.n_params_expert = c.n_params_expert;
    i.n_params_embedding = c.n_params_embedding;
    i.file_bytes = c.file_bytes;
    i.weight_bytes = c.weight_bytes;
    for (int64_t l = 0; l < c.n_layer; ++l) {
      dllm_layer_info li;
      li.struct_size = sizeof li;
      st = dllm_model_get_layer_info(h_, l, &li);
      if (st != DLLM_OK) return Status::FromCall(st);
      i.layers.push_back({li.sliding != 0, li.n_head, li.n_kv_head, li.head_dim, li.rope_base,
                          li.has_v != 0});
    }
    for (int32_t t = 0; t < c.n_tensor_types; ++t) {
      const char* name = nullptr;
      uint64_t count = 0;
      st = dllm_model_get_tensor_type(h_, t, &name, &count);
      if (st != DLLM_OK) return Status::FromCall(st);
      i.tensor_types.emplace_back(name, count);
    }
    return i;
  }

  Expected<MemoryEstimate> TryEstimateMemory(int64_t n_ctx = 0) const {
    dllm_memory_estimate c;
    c.struct_size = sizeof c;
    const dllm_status st = dllm_model_estimate_memory(h_, n_ctx, &c);
    if (st != DLLM_OK) return Status::FromCall(st);
    return MemoryEstimate{c.weight_bytes, c.kv_cache_bytes, c.scratch_bytes, c.total_bytes};
  }

  Expected<std::vector<int32_t>> TryTokenize(std::string_view text, bool add_bos = false,
                                             bool parse_special = false) const {
    const uint32_t flags = (add_bos ? DLLM_TOKENIZE_ADD_BOS : 0u) |
                           (parse_special ? DLLM_TOKENIZE_PARSE_SPECIAL : 0u);
    std::vector<int32_t> ids(text.size() + 2);
    size_t n = 0;
    dllm_status st = dllm_tokenize(h_, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
    if (st == DLLM_ERROR_BUFFER_TOO_SMALL) {
      ids.resize(n);
      st = dllm_tokenize(h_, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
    }
    if (st != DLLM_OK) return Status::FromCall(st);
    ids.resize(n);
    return ids;
  }

  Expected<std::string> TryDetokenize(const std::vector<int32_t>& ids,
                                      bool render_special = false) const {
    return detail::FetchString([&](char* buf, size_t cap, size_t* len) {
      return dllm_detokenize(h_, ids.data(), ids.size(),
                             render_special ? DLLM_DETOKENIZE_RENDER_SPECIAL : 0u, buf, cap, len);
    });
  }

  Expected<std::string> TryApplyChatTemplate(const std::vector<ChatMessage>& messages,
                                             bool thinking = false,
                                             bool generation_prompt = true) const {
    const std::vector<dllm_chat_message> c = detail::CMessages(messages);
    return detail::FetchString([&](char* buf, size_t cap, size_t* len) {
      return dllm_chat_apply_template(h_, c.data(), c.size(),
                                      detail::ChatFlags(thinking, generation_prompt), buf, cap,
                                      len);
    });
  }

  // The model's sampler defaults as C parameters (what Session uses for unset settings).
  Expected<dllm_sampler_params> TrySamplerDefaults() const {
    dllm_sampler_params p;
    dllm_status st = dllm_sampler_params_init(&p, sizeof p);
    if (st == DLLM_OK) st = dllm_model_get_sampler_defaults(h_, &p);
    if (st != DLLM_OK) return Status::FromCall(st);
    return p;
  }

#if DLLM_HPP_EXCEPTIONS
  static Model Load(const std::string& path, const LoadOptions& options = {}) {
    return detail::Unwrap(TryLoad(path, options));
  }
  ModelInfo Info() const { return detail::Unwrap(TryInfo()); }
  MemoryEstimate EstimateMemory(int64_t n_ctx = 0) const {
    return detail::Unwrap(TryEstimateMemory(n_ctx));
  }
  std::vector<int32_t> Tokenize(std::string_view text, bool add_bos = false,
                                bool parse_special = false) const {
    return detail::Unwrap(TryTokenize(text, add_bos, parse_special));
  }
  std::string Detokenize(const std::vector<int32_t>& ids, bool render_special = false) const {
    return detail::Unwrap(TryDetokenize(ids, render_special));
  }
  std::string ApplyChatTemplate(const std::vector<ChatMessage>& messages, bool thinking = false,
                                bool generation_prompt = true) const {
    return detail::Unwrap(TryApplyChatTemplate(messages, thinking, generation_prompt));
  }
  dllm_sampler_params SamplerDefaults() const { return detail::Unwrap(TrySamplerDefaults()); }
#endif

 private:
  void Reset() {
    if (h_) dllm_model_free(h_);
    h_ = nullptr;
  }
  dllm_model* h_ = nullptr;
};

class Session {
 public:
  Session() = default;
  Session(Session&& o) noexcept
      : h_(std::exchange(o.h_, nullptr)), defaults_(o.defaults_) {}
  Session& operator=(Session&& o) noexcept {
    if (this != &o) {
      Free();
      h_ = std::exchange(o.h_, nullptr);
      defaults_ = o.defaults_;
    }
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { Free(); }

  static Expected<Session> TryCreate(const Model& model, const SessionOptions& options = {}) {
    Expected<dllm_sampler_params> defaults = model.TrySamplerDefaults();
    if (!defaults) return defaults.status();
    dllm_session_params p;
    dllm_status st = dllm_session_params_init(&p, sizeof p);
    if (st != DLLM_OK) return Status::FromCall(st);
    p.n_ctx = options.n_ctx;
    p.n_threads = options.n_threads;
    Session s;
    st = dllm_session_create(model.get(), &p, &s.h_);
    if (st != DLLM_OK) return Status::FromCall(st);
    s.defaults_ = *defaults;
    return s;
  }

  dllm_session* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

  // Generation continues the session's context (see dllm_session_generate_text).
  Expected<Result> TryGenerate(std::string_view prompt, const SamplerSettings& settings = {},
                               const Callbacks& callbacks = {}) {
    return GenerateText(prompt, settings, callbacks, false);
  }
  Expected<Result> TryGenerateTokens(const std::vector<int32_t>& ids,
                                     const SamplerSettings& settings = {},
                                     const Callbacks& callbacks = {}) {
    return GenerateIds(ids, settings, callbacks, false);
  }
  // On an empty session: the conversation so far; afterwards: only the new messages.
  Expected<Result> TryGenerateChat(const std::vector<ChatMessage>& messages, bool thinking = false,
                                   const SamplerSettings& settings = {},
                                   const Callbacks& callbacks = {}) {
    return GenerateMessages(messages, thinking, settings, callbacks, false);
  }

  // Thread-safe: stops the running generation within one step.
  Status TryCancel() { return Status::FromCall(dllm_session_cancel(h_)); }
  Status TryReset() { return Status::FromCall(dllm_session_reset(h_)); }

  Expected<SessionInfo> TryInfo() const {
    dllm_session_info c;
    c.struct_size = sizeof c;
    const dllm_status st = dllm_session_get_info(h_, &c);
    if (st != DLLM_OK) return Status::FromCall(st);
    return SessionInfo{c.n_ctx, c.n_past, c.n_threads};
  }

  Expected<Metrics> TryMetrics() const {
    dllm_metrics c;
    c.struct_size = sizeof c;
    const dllm_status st = dllm_session_get_metrics(h_, &c);
    if (st != DLLM_OK) return Status::FromCall(st);
    Metrics m;
    m.prompt_tokens = c.prompt_tokens;
    m.generated_tokens = c.generated_tokens;
    m.canvases = c.canvases;
    m.steps = c.steps;
    m.prompt_seconds = c.prompt_seconds;
    m.step_seconds = c.step_seconds;
    m.denoise_seconds = c.denoise_seconds;
    m.commit_seconds = c.commit_seconds;
    m.total_seconds = c.total_seconds;
    m.tokens_per_second = c.tokens_per_second;
    m.steps_per_canvas.assign(c.steps_per_canvas, c.steps_per_canvas + c.n_steps_per_canvas);
    return m;
  }

#if DLLM_HPP_EXCEPTIONS
  static Session Create(const Model& model, const SessionOptions& options = {}) {
    return detail::Unwrap(TryCreate(model, options));
  }
  Result Generate(std::string_view prompt, const SamplerSettings& settings = {},
                  const Callbacks& callbacks = {}) {
    return detail::Unwrap(GenerateText(prompt, settings, callbacks, true));
  }
  Result GenerateTokens(const std::vector<int32_t>& ids, const SamplerSettings& settings = {},
                        const Callbacks& callbacks = {}) {
    return detail::Unwrap(GenerateIds(ids, settings, callbacks, true));
  }
  Result GenerateChat(const std::vector<ChatMessage>& messages, bool thinking = false,
                      const SamplerSettings& settings = {}, const Callbacks& callbacks = {}) {
    return detail::Unwrap(GenerateMessages(messages, thinking, settings, callbacks, true));
  }
  void Cancel() { detail::Check(TryCancel()); }
  void Reset() { detail::Check(TryReset()); }
  SessionInfo Info() const { return detail::Unwrap(TryInfo()); }
  Metrics GetMetrics() const { return detail::Unwrap(TryMetrics()); }
#endif

 private:
  Expected<Result> GenerateText(std::string_view prompt, const SamplerSettings& settings,
                                const Callbacks& callbacks, bool rethrow) {
    return Run(settings, callbacks, [&](const dllm_sampler_params* p, const dllm_callbacks* c,
                                        dllm_result* r) {
      return dllm_session_generate_text(h_, prompt.data(), prompt.size(), p, c, r);
    }, rethrow);
  }
  Expected<Result> GenerateIds(const std::vector<int32_t>& ids, const SamplerSettings& settings,
                               const Callbacks& callbacks, bool rethrow) {
    return Run(settings, callbacks, [&](const dllm_sampler_params* p, const dllm_callbacks* c,
                                        dllm_result* r) {
      return dllm_session_generate_tokens(h_, ids.data(), ids.size(), p, c, r);
    }, rethrow);
  }
  Expected<Result> GenerateMessages(const std::vector<ChatMessage>& messages, bool thinking,
                                    const SamplerSettings& settings, const Callbacks& callbacks,
                                    bool rethrow) {
    const std::vector<dllm_chat_message> m = detail::CMessages(messages);
    return Run(settings, callbacks, [&](const dllm_sampler_params* p, const dllm_callbacks* c,
                                        dllm_result* r) {
      return dllm_session_generate_chat(h_, m.data(), m.size(), detail::ChatFlags(thinking, true),
                                        p, c, r);
    }, rethrow);
  }

  struct Trampoline {
    const Callbacks* callbacks = nullptr;
#if DLLM_HPP_EXCEPTIONS
    std::exception_ptr error;
#endif
    template <class F>
    int Call(F&& f) {
#if DLLM_HPP_EXCEPTIONS
      try {
        return f() ? DLLM_CONTINUE : DLLM_STOP;
      } catch (...) {
        error = std::current_exception();
        return DLLM_STOP;
      }
#else
      return f() ? DLLM_CONTINUE : DLLM_STOP;
#endif
    }
    static int OnStep(const dllm_step_info* i, void* ud) {
      auto* t = static_cast<Trampoline*>(ud);
      return t->Call([&] {
        StepInfo s;
        s.canvas_index = i->canvas_index;
        s.step = i->step;
        s.max_steps = i->max_steps;
        s.is_final = i->is_final != 0;
        s.length = i->length;
        s.canvas = i->canvas;
        s.next_canvas = i->next_canvas;
        s.accepted = i->accepted;
        s.entropy = i->entropy;
        s.mean_entropy = i->mean_entropy;
        return t->callbacks->on_step(s);
      });
    }
    static int OnCanvas(const dllm_canvas_info* i, void* ud) {
      auto* t = static_cast<Trampoline*>(ud);
      return t->Call([&] {
        CanvasInfo c;
        c.canvas_index = i->canvas_index;
        c.steps = i->steps;
        c.ids = i->ids;
        c.n_ids = i->n_ids;
        c.text = std::string_view(i->text, i->text_len);
        c.thought = std::string_view(i->thought, i->thought_len);
        c.answer = std::string_view(i->answer, i->answer_len);
        return t->callbacks->on_canvas(c);
      });
    }
  };

  // `rethrow`: a callback's exception is rethrown (plain forms) instead of being reported as
  // DLLM_ERROR_INTERNAL (Try* forms).
  template <class Call>
  Expected<Result> Run(const SamplerSettings& settings, const Callbacks& callbacks, Call call,
                       bool rethrow = false) {
    dllm_sampler_params p = defaults_;
    settings.ApplyTo(&p);
    Trampoline t;
    t.callbacks = &callbacks;
    dllm_callbacks c;
    dllm_status st = dllm_callbacks_init(&c, sizeof c);
    if (st != DLLM_OK) return Status::FromCall(st);
    if (callbacks.on_step) c.on_step = &Trampoline::OnStep;
    if (callbacks.on_canvas) c.on_canvas = &Trampoline::OnCanvas;
    c.user_data = &t;
    dllm_result r;
    r.struct_size = sizeof r;
    st = call(&p, &c, &r);
#if DLLM_HPP_EXCEPTIONS
    if (t.error) {
      if (rethrow) std::rethrow_exception(t.error);
      std::string what = "exception in a callback";
      try {
        std::rethrow_exception(t.error);
      } catch (const std::exception& e) {
        what += std::string(": ") + e.what();
      } catch (...) {
      }
      return Status(DLLM_ERROR_INTERNAL, what);
    }
#else
    (void)rethrow;
#endif
    if (st != DLLM_OK && st != DLLM_ERROR_CANCELLED) return Status::FromCall(st);
    Result out;
    out.tokens.assign(r.tokens, r.tokens + r.n_tokens);
    out.text.assign(r.text, r.text_len);
    out.thought.assign(r.thought, r.thought_len);
    out.answer.assign(r.answer, r.answer_len);
    out.stop_reason = static_cast<dllm_stop_reason>(r.stop_reason);
    out.n_canvases = r.n_canvases;
    return out;
  }

  void Free() {
    if (h_) dllm_session_free(h_);
    h_ = nullptr;
  }

  dllm_session* h_ = nullptr;
  dllm_sampler_params defaults_{};
};

}  // namespace dllm

#endif  // DLLM_DLLM_HPP_
