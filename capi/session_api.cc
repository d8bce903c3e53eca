// dllm_session_*: creation, lifetime, metrics and the three generation entry points.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dllm/dllm.h"
#include "handles.h"
#include "output_text.h"
#include "status.h"
#include "structs.h"
#include "util/error.h"

namespace dllm {
namespace capi {
namespace {

dllm_session_params DefaultSessionParams() {
  dllm_session_params p{};
  p.struct_size = sizeof(p);
  p.n_ctx = 0;
  p.n_threads = 0;
  return p;
}

dllm_callbacks DefaultCallbacks() {
  dllm_callbacks c{};
  c.struct_size = sizeof(c);
  return c;
}

GenerateParams ToEngineParams(const dllm_model& m, const dllm_sampler_params* in) {
  dllm_sampler_params p = DefaultSamplerParams();
  if (in) {
    p = ReadStruct(*in, "params");
  } else {
    ApplySamplerDefaults(m.engine->sampler_defaults(), &p);
  }
  if (!p.stop_ids && p.n_stop_ids > 0) InvalidArgument("params.stop_ids is NULL but n_stop_ids > 0");
  if (p.fixed_steps != 0 && p.fixed_steps != 1) InvalidArgument("params.fixed_steps must be 0 or 1");
  if (p.argmax != 0 && p.argmax != 1) InvalidArgument("params.argmax must be 0 or 1");
  GenerateParams g;
  g.max_steps = p.max_steps;
  g.t_min = p.t_min;
  g.t_max = p.t_max;
  g.entropy_bound = p.entropy_bound;
  g.stability_threshold = p.stability_threshold;
  g.confidence_threshold = p.confidence_threshold;
  g.seed = p.seed;
  g.max_new_tokens = p.max_new_tokens;
  if (p.n_stop_ids) g.stop_ids.assign(p.stop_ids, p.stop_ids + p.n_stop_ids);
  g.fixed_steps = p.fixed_steps != 0;
  g.argmax_only = p.argmax != 0;
  g.sc_threshold = p.sc_threshold;
  return g;  // ranges are checked by the engine (Session::Validate) with precise messages
}

// One generation on a busy (held) session. Fills the session's result storage and `result`.
void Generate(dllm_session& s, const std::vector<int32_t>& prompt,
              const dllm_sampler_params* params, const dllm_callbacks* callbacks,
              dllm_result* result) {
  if (result) CheckOutStruct(result, "result");
  const dllm_model& m = *s.model;
  const GenerateParams gp = ToEngineParams(m, params);
  const dllm_callbacks cb = callbacks ? ReadStruct(*callbacks, "callbacks") : DefaultCallbacks();
  const HParams& hp = m.engine->hparams();
  const int64_t cv = hp.canvas_length;
  const int64_t n_past = s.engine->n_past();
  if (n_past + static_cast<int64_t>(prompt.size()) + cv > s.n_ctx) {
    Fail(DLLM_ERROR_CONTEXT_FULL,
         "context full: " + std::to_string(n_past) + " tokens in context + " +
             std::to_string(prompt.size()) + " prompt tokens + one canvas of " +
             std::to_string(cv) + " exceed n_ctx " + std::to_string(s.n_ctx) +
             " (reset the session or create one with a larger n_ctx)");
  }

  s.tokens.clear();
  s.text.clear();
  s.thought.clear();
  s.answer.clear();
  s.steps_per_canvas.clear();
  s.n_canvases = 0;
  s.cancel.store(false, std::memory_order_relaxed);

  const std::vector<int32_t>& stop = gp.stop_ids.empty() ? m.engine->eog_ids() : gp.stop_ids;
  OutputText output(*m.codec);
  bool flushed = false;
  bool step_stop = false;
  int steps_in_canvas = 0;
  int64_t committed = 0;

  GenerateCallbacks ecb;
  ecb.cancel = &s.cancel;
  ecb.on_step = [&](const StepInfo& info) {
    steps_in_canvas = info.step + 1;
    if (!cb.on_step) return true;
    dllm_step_info v{};
    v.struct_size = sizeof(v);
    v.canvas_index = info.canvas_index;
    v.step = info.step;
    v.is_final = info.final ? 1 : 0;
    v.length = info.length;
    v.canvas = info.argmax;
    v.next_canvas = info.next;
    v.accepted = info.accepted;
    v.entropy = info.entropy;
    v.mean_entropy = info.mean_entropy;
    v.max_steps = gp.max_steps;
    if (cb.on_step(&v, cb.user_data) != DLLM_CONTINUE) step_stop = true;
    return !step_stop;
  };
  ecb.on_canvas = [&](int canvas_index, const int32_t* ids, int64_t n) {
    OutputText::Pieces p = output.Push(ids, static_cast<size_t>(n));
    committed += n;
    // Whether the engine ends after this canvas (mirrors Session::Generate): then what the
    // decoders hold back is flushed now, so the streamed text adds up to the result's.
    const bool stop_id =
        n > 0 && std::find(stop.begin(), stop.end(), ids[n - 1]) != stop.end();
    const bool final = stop_id || committed >= gp.max_new_tokens || step_stop ||
                       s.engine->n_past() + 2 * cv > s.n_ctx;
    if (final) {
      OutputText::Pieces f = output.Finish();
      p.text += f.text;
      p.thought += f.thought;
      p.answer += f.answer;
      flushed = true;
    }
    s.tokens.insert(s.tokens.end(), ids, ids + n);
    s.text += p.text;
    s.thought += p.thought;
    s.answer += p.answer;
    if (!cb.on_canvas) return true;
    dllm_canvas_info v{};
    v.struct_size = sizeof(v);
    v.canvas_index = canvas_index;
    v.ids = ids;
    v.n_ids = static_cast<size_t>(n);
    v.text = p.text.c_str();
    v.text_len = p.text.size();
    v.thought = p.thought.c_str();
    v.thought_len = p.thought.size();
    v.answer = p.answer.c_str();
    v.answer_len = p.answer.size();
    v.steps = steps_in_canvas;
    return cb.on_canvas(&v, cb.user_data) == DLLM_CONTINUE;
  };

  const GenerateResult r = s.engine->Generate(prompt, gp, ecb);
  if (!flushed) {
    OutputText::Pieces f = output.Finish();
    s.text += f.text;
    s.thought += f.thought;
    s.answer += f.answer;
  }
  s.tokens = r.tokens;  // the engine's record is authoritative
  s.steps_per_canvas.assign(r.steps_per_canvas.begin(), r.steps_per_canvas.end());
  s.n_canvases = static_cast<int32_t>(s.engine->metrics().canvases);
  switch (r.stop_reason) {
    case StopReason::kEndOfGeneration: s.stop_reason = DLLM_STOP_END_OF_GENERATION; break;
    case StopReason::kMaxTokens: s.stop_reason = DLLM_STOP_MAX_TOKENS; break;
    case StopReason::kCallback: s.stop_reason = DLLM_STOP_CALLBACK; break;
    case StopReason::kCancelled: s.stop_reason = DLLM_STOP_CANCELLED; break;
  }
  const int32_t close = m.codec->specials().turn_close;
  s.turn_open = s.tokens.empty() || close < 0 || s.tokens.back() != close;

  if (result) {
    dllm_result v{};
    v.struct_size = sizeof(v);
    v.stop_reason = s.stop_reason;
    v.tokens = s.tokens.data();
    v.n_tokens = s.tokens.size();
    v.text = s.text.c_str();
    v.text_len = s.text.size();
    v.thought = s.thought.c_str();
    v.thought_len = s.thought.size();
    v.answer = s.answer.c_str();
    v.answer_len = s.answer.size();
    v.n_canvases = s.n_canvases;
    WriteStruct(result, v);
  }
  if (LogEnabled(DLLM_LOG_INFO)) {
    const Metrics& mt = s.engine->metrics();
    Log(DLLM_LOG_INFO, "generated " + std::to_string(mt.generated_tokens) + " tokens in " +
                           std::to_string(mt.canvases) + " canvases, " +
                           std::to_string(mt.steps) + " steps, " +
                           std::to_string(mt.TokensPerSecond()) + " tokens/s");
  }
  if (r.stop_reason == StopReason::kCancelled) {
    Fail(DLLM_ERROR_CANCELLED, "generation cancelled after " + std::to_string(s.n_canvases) +
                                   " committed canvases (" + std::to_string(s.tokens.size()) +
                                   " tokens)");
  }
}

// Clears what a failed generation left in the result.
void ClearResult(dllm_result* result) {
  if (!result) return;
  const size_t size = result->struct_size;
  if (size < sizeof(dllm_result) || size > sizeof(dllm_result) + kMaxStructGrowth) return;
  dllm_result v{};
  v.struct_size = sizeof(v);
  v.text = v.thought = v.answer = "";
  WriteStruct(result, v);
}

template <class Body>
dllm_status GuardGenerate(const char* function, dllm_result* result, Body&& body) noexcept {
  const dllm_status status = Guard(function, std::forward<Body>(body));
  if (status != DLLM_OK && status != DLLM_ERROR_CANCELLED) ClearResult(result);
  return status;
}

}  // namespace
}  // namespace capi
}  // namespace dllm

using dllm::capi::Guard;
using dllm::capi::InvalidArgument;

extern "C" {

dllm_status dllm_session_params_init(dllm_session_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    dllm::capi::InitStruct(params, struct_size, dllm::capi::DefaultSessionParams(), "params");
  });
}

dllm_status dllm_callbacks_init(dllm_callbacks* callbacks, size_t struct_size) {
  return Guard(__func__, [&] {
    dllm::capi::InitStruct(callbacks, struct_size, dllm::capi::DefaultCallbacks(), "callbacks");
  });
}

dllm_status dllm_session_create(const dllm_model* model, const dllm_session_params* params,
                                dllm_session** out_session) {
  return Guard(__func__, [&] {
    if (!out_session) InvalidArgument("out_session is NULL");
    *out_session = nullptr;
    auto m = dllm::capi::LookupModel(model);
    const dllm_session_params p = params ? dllm::capi::ReadStruct(*params, "params")
                                         : dllm::capi::DefaultSessionParams();
    dllm::SessionOptions options;
    options.n_ctx = p.n_ctx;
    options.n_threads = p.n_threads ? p.n_threads : m->n_threads;
    auto s = std::make_shared<dllm_session>();
    s->engine = std::make_unique<dllm::Session>(m->engine, options);  // validates the options
    s->n_ctx = p.n_ctx ? p.n_ctx : m->engine->hparams().context_length;
    s->model = std::move(m);
    dllm_session* handle = s.get();
    dllm::capi::RegisterSession(std::move(s));
    *out_session = handle;
  });
}

dllm_status dllm_session_free(dllm_session* session) {
  return Guard(__func__, [&] {
    if (!session) return;
    dllm::capi::UnregisterSession(session);  // destroyed here, outside the registry lock
  });
}

dllm_status dllm_session_reset(dllm_session* session) {
  return Guard(__func__, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::BusyGuard busy(*s);
    s->engine->Reset();
    s->tokens.clear();
    s->text.clear();
    s->thought.clear();
    s->answer.clear();
    s->steps_per_canvas.clear();
    s->n_canvases = 0;
    s->turn_open = false;
  });
}

dllm_status dllm_session_cancel(dllm_session* session) {
  return Guard(__func__, [&] {
    auto s = dllm::capi::LookupSession(session);
    s->cancel.store(true, std::memory_order_relaxed);
  });
}

dllm_status dllm_session_get_info(dllm_session* session, dllm_session_info* info) {
  return Guard(__func__, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::CheckOutStruct(info, "info");
    dllm::capi::BusyGuard busy(*s);
    dllm_session_info v{};
    v.struct_size = sizeof(v);
    v.n_ctx = s->n_ctx;
    v.n_past = s->engine->n_past();
    v.n_threads = s->engine->n_threads();
    dllm::capi::WriteStruct(info, v);
  });
}

dllm_status dllm_session_get_metrics(dllm_session* session, dllm_metrics* metrics) {
  return Guard(__func__, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::CheckOutStruct(metrics, "metrics");
    dllm::capi::BusyGuard busy(*s);
    const dllm::Metrics& mt = s->engine->metrics();
    dllm_metrics v{};
    v.struct_size = sizeof(v);
    v.prompt_tokens = mt.prompt_tokens;
    v.prompt_seconds = mt.prompt_seconds;
    v.generated_tokens = mt.generated_tokens;
    v.canvases = mt.canvases;
    v.steps = mt.steps;
    v.steps_per_canvas = s->steps_per_canvas.data();
    v.n_steps_per_canvas = s->steps_per_canvas.size();
    v.step_seconds = mt.StepSeconds();
    v.denoise_seconds = mt.denoise_seconds;
    v.commit_seconds = mt.commit_seconds;
    v.total_seconds = mt.total_seconds;
    v.tokens_per_second = mt.TokensPerSecond();
    dllm::capi::WriteStruct(metrics, v);
  });
}

dllm_status dllm_session_generate_tokens(dllm_session* session, const int32_t* ids,
                                         size_t n_ids, const dllm_sampler_params* params,
                                         const dllm_callbacks* callbacks, dllm_result* result) {
  return dllm::capi::GuardGenerate(__func__, result, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::BusyGuard busy(*s);
    if (!ids && n_ids > 0) InvalidArgument("ids is NULL but n_ids is " + std::to_string(n_ids));
    const std::vector<int32_t> prompt(ids, ids + n_ids);
    dllm::capi::Generate(*s, prompt, params, callbacks, result);
  });
}

dllm_status dllm_session_generate_text(dllm_session* session, const char* prompt,
                                       size_t prompt_len, const dllm_sampler_params* params,
                                       const dllm_callbacks* callbacks, dllm_result* result) {
  return dllm::capi::GuardGenerate(__func__, result, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::BusyGuard busy(*s);
    const std::string text = dllm::capi::TextArg(prompt, prompt_len, "prompt");
    const bool add_bos = s->engine->n_past() == 0 && s->model->codec->specials().add_bos;
    const std::vector<int32_t> ids = s->model->codec->Tokenize(text, add_bos, true);
    dllm::capi::Generate(*s, ids, params, callbacks, result);
  });
}

dllm_status dllm_session_generate_chat(dllm_session* session, const dllm_chat_message* messages,
                                       size_t n_messages, uint32_t flags,
                                       const dllm_sampler_params* params,
                                       const dllm_callbacks* callbacks, dllm_result* result) {
  return dllm::capi::GuardGenerate(__func__, result, [&] {
    auto s = dllm::capi::LookupSession(session);
    dllm::capi::BusyGuard busy(*s);
    if (flags & ~(DLLM_CHAT_THINKING | DLLM_CHAT_NO_GENERATION_PROMPT)) {
      InvalidArgument("unknown flag bits in flags");
    }
    const auto msgs = dllm::capi::ChatMessages(messages, n_messages);
    const bool thinking = (flags & DLLM_CHAT_THINKING) != 0;
    const bool gen_prompt = (flags & DLLM_CHAT_NO_GENERATION_PROMPT) == 0;
    const dllm::capi::TextCodec& codec = *s->model->codec;
    const std::vector<int32_t> ids =
        s->engine->n_past() == 0
            ? codec.EncodeChat(msgs, thinking, gen_prompt)
            : codec.EncodeContinuation(msgs, thinking, gen_prompt, s->turn_open);
    dllm::capi::Generate(*s, ids, params, callbacks, result);
  });
}

}  // extern "C"
