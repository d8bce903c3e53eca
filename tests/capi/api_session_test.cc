// Sessions and generation through the C ABI: results, streaming, callbacks that stop, cancel
// from another thread, concurrent use (BUSY), lifetimes, context limits, metrics, chat turns.
#include <atomic>
#include <cmath>
#include <limits>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_util.h"

using capi_test::FastParams;
using capi_test::LoadTiny;
using capi_test::NewResult;
using capi_test::NewSession;

namespace {
capi_test::TinyModelCleanup cleanup;

const std::vector<int32_t> kPrompt = {2, 5, 300, 301, 302, 6};

// Records everything the callbacks see.
struct Recorder {
  int steps = 0;
  std::vector<int> canvas_of_step;
  std::vector<int> step_index;
  std::vector<int32_t> ids;
  std::string text, thought, answer;
  int canvases = 0;
  int stop_at_step = -1;    // global step count at which on_step returns DLLM_STOP
  int stop_at_canvas = -1;  // canvas index at which on_canvas returns DLLM_STOP
  int64_t length = 0;
  bool bad_step_info = false;
  std::vector<int> canvas_steps;
};

int RecordStep(const dllm_step_info* i, void* ud) {
  auto* r = static_cast<Recorder*>(ud);
  if (i->struct_size < sizeof(dllm_step_info) || i->length <= 0 || !i->canvas ||
      !i->next_canvas || !i->accepted || !i->entropy || i->step < 0 || i->step >= i->max_steps) {
    r->bad_step_info = true;
  }
  r->length = i->length;
  int accepted = 0;
  double mean = 0;
  for (int64_t p = 0; p < i->length; ++p) {
    accepted += i->accepted[p] != 0;
    mean += i->entropy[p];
  }
  mean /= static_cast<double>(i->length);
  if (accepted < 1 || std::abs(mean - i->mean_entropy) > 1e-4 * (1 + mean)) {
    r->bad_step_info = true;
  }
  r->canvas_of_step.push_back(i->canvas_index);
  r->step_index.push_back(i->step);
  ++r->steps;
  return r->steps == r->stop_at_step ? DLLM_STOP : DLLM_CONTINUE;
}

int RecordCanvas(const dllm_canvas_info* c, void* ud) {
  auto* r = static_cast<Recorder*>(ud);
  r->ids.insert(r->ids.end(), c->ids, c->ids + c->n_ids);
  r->text.append(c->text, c->text_len);
  r->thought.append(c->thought, c->thought_len);
  r->answer.append(c->answer, c->answer_len);
  r->canvas_steps.push_back(c->steps);
  ++r->canvases;
  return c->canvas_index == r->stop_at_canvas ? DLLM_STOP : DLLM_CONTINUE;
}

dllm_callbacks RecorderCallbacks(Recorder* r) {
  dllm_callbacks cb;
  dllm_callbacks_init(&cb, sizeof cb);
  cb.on_step = RecordStep;
  cb.on_canvas = RecordCanvas;
  cb.user_data = r;
  return cb;
}

int64_t NPast(dllm_session* s) {
  dllm_session_info info;
  info.struct_size = sizeof info;
  REQUIRE(dllm_session_get_info(s, &info) == DLLM_OK);
  return info.n_past;
}

}  // namespace

TEST_CASE("generation from tokens: result, streaming and metrics agree") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_sampler_params p = FastParams();
  std::vector<int32_t> stop;
  capi_test::StopIdForFullCanvases(m.get(), kPrompt, 3, &p, &stop);
  capi_test::SessionPtr s = NewSession(m.get());
  Recorder rec;
  dllm_callbacks cb = RecorderCallbacks(&rec);
  dllm_result r = NewResult();
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, &cb, &r) ==
          DLLM_OK);
  CHECK(r.n_tokens == 96);
  CHECK(r.n_canvases == 3);
  CHECK(r.stop_reason == DLLM_STOP_MAX_TOKENS);
  CHECK(!rec.bad_step_info);
  CHECK(rec.length == 32);
  CHECK(rec.canvases == 3);
  CHECK(rec.ids == std::vector<int32_t>(r.tokens, r.tokens + r.n_tokens));
  CHECK(rec.text == std::string(r.text, r.text_len));
  CHECK(rec.thought == std::string(r.thought, r.thought_len));
  CHECK(rec.answer == std::string(r.answer, r.answer_len));
  CHECK(r.text[r.text_len] == '\0');
  // Steps go 0..k within each canvas; canvases in order.
  for (size_t i = 1; i < rec.step_index.size(); ++i) {
    if (rec.canvas_of_step[i] == rec.canvas_of_step[i - 1]) {
      CHECK(rec.step_index[i] == rec.step_index[i - 1] + 1);
    } else {
      CHECK(rec.canvas_of_step[i] == rec.canvas_of_step[i - 1] + 1);
      CHECK(rec.step_index[i] == 0);
    }
  }
  dllm_metrics mt;
  mt.struct_size = sizeof mt;
  REQUIRE(dllm_session_get_metrics(s.get(), &mt) == DLLM_OK);
  CHECK(mt.steps == rec.steps);
  CHECK(mt.canvases == 3);
  CHECK(mt.generated_tokens == 96);
  CHECK(mt.prompt_tokens == static_cast<int64_t>(kPrompt.size()));
  REQUIRE(mt.n_steps_per_canvas == 3);
  int total = 0;
  for (size_t i = 0; i < 3; ++i) {
    CHECK(mt.steps_per_canvas[i] >= 1);
    CHECK(mt.steps_per_canvas[i] <= p.max_steps);
    CHECK(mt.steps_per_canvas[i] == rec.canvas_steps[i]);
    total += mt.steps_per_canvas[i];
  }
  CHECK(total == rec.steps);
  CHECK(mt.total_seconds > 0);
  CHECK(mt.step_seconds > 0);
  CHECK(mt.tokens_per_second == doctest::Approx(96 / mt.total_seconds));
  // The output stays in the context (the last canvas lazily).
  CHECK(NPast(s.get()) == static_cast<int64_t>(kPrompt.size()) + 96);
}

TEST_CASE("the same inputs give the same tokens; the seed matters") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_sampler_params p = FastParams(11);
  p.max_new_tokens = 32;
  auto run = [&](const dllm_sampler_params& params) {
    capi_test::SessionPtr s = NewSession(m.get());
    dllm_result r = NewResult();
    REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &params,
                                         nullptr, &r) == DLLM_OK);
    return std::vector<int32_t>(r.tokens, r.tokens + r.n_tokens);
  };
  const std::vector<int32_t> a = run(p);
  CHECK(run(p) == a);
  p.seed = 12;
  const std::vector<int32_t> b = run(p);
  CHECK(b != a);
}

TEST_CASE("a step callback that returns STOP ends generation after that step") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_sampler_params p = FastParams();
  p.fixed_steps = 1;
  std::vector<int32_t> stop;
  capi_test::StopIdForFullCanvases(m.get(), kPrompt, 3, &p, &stop);
  capi_test::SessionPtr s = NewSession(m.get());
  Recorder rec;
  rec.stop_at_step = 6;  // second step of the second canvas (4 steps per canvas)
  dllm_callbacks cb = RecorderCallbacks(&rec);
  dllm_result r = NewResult();
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, &cb, &r) ==
          DLLM_OK);
  CHECK(r.stop_reason == DLLM_STOP_CALLBACK);
  CHECK(rec.steps == 6);
  CHECK(r.n_canvases == 2);  // the stopped canvas is committed as it is
  CHECK(r.n_tokens == 64);
  CHECK(rec.text == std::string(r.text, r.text_len));
}

TEST_CASE("a canvas callback that returns STOP ends generation after that canvas") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_sampler_params p = FastParams();
  std::vector<int32_t> stop;
  capi_test::StopIdForFullCanvases(m.get(), kPrompt, 3, &p, &stop);
  capi_test::SessionPtr s = NewSession(m.get());
  Recorder rec;
  rec.stop_at_canvas = 0;
  dllm_callbacks cb = RecorderCallbacks(&rec);
  dllm_result r = NewResult();
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, &cb, &r) ==
          DLLM_OK);
  CHECK(r.stop_reason == DLLM_STOP_CALLBACK);
  CHECK(r.n_canvases == 1);
  CHECK(r.n_tokens == 32);
  CHECK(rec.canvases == 1);
}

namespace {
// Cancels from another thread while the generating thread is inside a step.
struct CancelPlan {
  dllm_session* session = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> steps{0};
  std::atomic<int> steps_at_cancel{-1};
};
int CancelStep(const dllm_step_info*, void* ud) {
  auto* c = static_cast<CancelPlan*>(ud);
  const int n = ++c->steps;
  if (n == 2) {
    std::lock_guard<std::mutex> lock(c->mu);
    c->go = true;
    c->cv.notify_one();
  }
  return DLLM_CONTINUE;
}
}  // namespace

TEST_CASE("cancel from another thread stops within one step") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get());
  dllm_sampler_params p = FastParams();
  p.max_steps = 48;
  p.fixed_steps = 1;
  p.max_new_tokens = 100000;
  const int32_t never[] = {4};  // <mask> is never a useful output, but may occur: irrelevant
  p.stop_ids = never;
  p.n_stop_ids = 1;
  CancelPlan plan;
  plan.session = s.get();
  dllm_callbacks cb;
  dllm_callbacks_init(&cb, sizeof cb);
  cb.on_step = CancelStep;
  cb.user_data = &plan;
  std::thread canceller([&] {
    std::unique_lock<std::mutex> lock(plan.mu);
    plan.cv.wait(lock, [&] { return plan.go; });
    lock.unlock();
    // Mid-step: the generating thread left the callback and is in the next forward pass.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    const int before = plan.steps.load();
    CHECK(dllm_session_cancel(plan.session) == DLLM_OK);
    plan.steps_at_cancel = before;
  });
  dllm_result r = NewResult();
  const dllm_status st =
      dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, &cb, &r);
  canceller.join();
  if (r.stop_reason == DLLM_STOP_END_OF_GENERATION) {
    MESSAGE("the random model generated <mask> before the cancel; nothing to check");
    return;
  }
  CHECK(st == DLLM_ERROR_CANCELLED);
  CHECK(std::string(dllm_last_error()).find("cancelled") != std::string::npos);
  CHECK(r.stop_reason == DLLM_STOP_CANCELLED);
  // At most the step in progress when cancel was called completes afterwards.
  CHECK(plan.steps.load() <= plan.steps_at_cancel.load() + 1);
  CHECK(r.n_canvases == 0);
  CHECK(r.n_tokens == 0);
  // The session stays usable; a cancel before a generation does not carry over.
  CHECK(dllm_session_cancel(s.get()) == DLLM_OK);
  p.max_new_tokens = 8;
  p.max_steps = 2;
  p.fixed_steps = 0;
  dllm_result r2 = NewResult();
  CHECK(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                     &r2) == DLLM_OK);
  CHECK(r2.stop_reason != DLLM_STOP_CANCELLED);
}

namespace {
struct BusyProbe {
  dllm_session* session = nullptr;
  const dllm_model* model = nullptr;
  dllm_status from_thread = DLLM_OK;
  dllm_status reset_inside = DLLM_OK, free_inside = DLLM_OK, generate_inside = DLLM_OK,
              info_inside = DLLM_OK, tokenize_inside = DLLM_ERROR_INTERNAL;
  bool done = false;
};
int ProbeStep(const dllm_step_info*, void* ud) {
  auto* b = static_cast<BusyProbe*>(ud);
  if (b->done) return DLLM_CONTINUE;
  b->done = true;
  // Another thread using the session while this generation runs.
  std::thread([b] {
    const int32_t ids[] = {2, 20};
    b->from_thread = dllm_session_generate_tokens(b->session, ids, 2, nullptr, nullptr, nullptr);
  }).join();
  // Re-entrant calls on the same session from its callback.
  b->reset_inside = dllm_session_reset(b->session);
  b->free_inside = dllm_session_free(b->session);
  const int32_t ids[] = {2, 20};
  b->generate_inside = dllm_session_generate_tokens(b->session, ids, 2, nullptr, nullptr, nullptr);
  dllm_session_info info;
  info.struct_size = sizeof info;
  b->info_inside = dllm_session_get_info(b->session, &info);
  // Model functions are fine.
  int32_t out[16];
  size_t n = 0;
  b->tokenize_inside = dllm_tokenize(b->model, "hi", 2, 0, out, 16, &n);
  return DLLM_CONTINUE;
}
}  // namespace

TEST_CASE("two threads on one session: the second gets BUSY, the first is unaffected") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get());
  dllm_sampler_params p = FastParams();
  p.max_new_tokens = 32;
  BusyProbe probe;
  probe.session = s.get();
  probe.model = m.get();
  dllm_callbacks cb;
  dllm_callbacks_init(&cb, sizeof cb);
  cb.on_step = ProbeStep;
  cb.user_data = &probe;
  dllm_result r = NewResult();
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, &cb, &r) ==
          DLLM_OK);
  CHECK(probe.done);
  CHECK(probe.from_thread == DLLM_ERROR_BUSY);
  CHECK(probe.reset_inside == DLLM_ERROR_BUSY);
  CHECK(probe.free_inside == DLLM_ERROR_BUSY);
  CHECK(probe.generate_inside == DLLM_ERROR_BUSY);
  CHECK(probe.info_inside == DLLM_ERROR_BUSY);
  CHECK(probe.tokenize_inside == DLLM_OK);
  // The interrupted-by-nothing generation equals an undisturbed one.
  capi_test::SessionPtr s2 = NewSession(m.get());
  dllm_result r2 = NewResult();
  REQUIRE(dllm_session_generate_tokens(s2.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                       &r2) == DLLM_OK);
  CHECK(std::vector<int32_t>(r.tokens, r.tokens + r.n_tokens) ==
        std::vector<int32_t>(r2.tokens, r2.tokens + r2.n_tokens));
  // And the session is free again afterwards.
  CHECK(dllm_session_reset(s.get()) == DLLM_OK);
}

TEST_CASE("a model freed while its sessions live keeps them working") {
  dllm_model* m = nullptr;
  REQUIRE(dllm_model_load(capi_test::TinyModelPath().c_str(), nullptr, &m) == DLLM_OK);
  capi_test::SessionPtr s = NewSession(m);
  dllm_sampler_params p = FastParams();
  p.max_new_tokens = 32;
  dllm_result before = NewResult();
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                       &before) == DLLM_OK);
  const std::vector<int32_t> expected(before.tokens, before.tokens + before.n_tokens);
  REQUIRE(dllm_model_free(m) == DLLM_OK);
  dllm_model_info info;
  info.struct_size = sizeof info;
  CHECK(dllm_model_get_info(m, &info) == DLLM_ERROR_INVALID_ARGUMENT);  // the handle is gone
  REQUIRE(dllm_session_reset(s.get()) == DLLM_OK);
  dllm_result after = NewResult();
  REQUIRE(dllm_session_generate_text(s.get(), "hello there", DLLM_NUL_TERMINATED, &p, nullptr,
                                     &after) == DLLM_OK);  // the tokenizer is alive too
  REQUIRE(dllm_session_reset(s.get()) == DLLM_OK);
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                       &after) == DLLM_OK);
  CHECK(std::vector<int32_t>(after.tokens, after.tokens + after.n_tokens) == expected);
}

TEST_CASE("freed sessions are detected") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_session* s = nullptr;
  REQUIRE(dllm_session_create(m.get(), nullptr, &s) == DLLM_OK);
  REQUIRE(dllm_session_free(s) == DLLM_OK);
  CHECK(dllm_session_reset(s) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_session_cancel(s) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_session_generate_tokens(s, kPrompt.data(), kPrompt.size(), nullptr, nullptr,
                                     nullptr) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_session_free(s) == DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("session parameters are checked") {
  capi_test::ModelPtr m = LoadTiny();
  dllm_session_params p;
  REQUIRE(dllm_session_params_init(&p, sizeof p) == DLLM_OK);
  dllm_session* s = nullptr;
  p.n_ctx = -1;
  CHECK(dllm_session_create(m.get(), &p, &s) == DLLM_ERROR_INVALID_ARGUMENT);
  p.n_ctx = 16;  // smaller than one canvas
  CHECK(dllm_session_create(m.get(), &p, &s) == DLLM_ERROR_INVALID_ARGUMENT);
  p.n_ctx = 0;
  p.n_threads = 100000;
  CHECK(dllm_session_create(m.get(), &p, &s) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(s == nullptr);
  p.n_threads = 1;
  p.n_ctx = 100;
  REQUIRE(dllm_session_create(m.get(), &p, &s) == DLLM_OK);
  capi_test::SessionPtr owned(s);
  dllm_session_info info;
  info.struct_size = sizeof info;
  REQUIRE(dllm_session_get_info(s, &info) == DLLM_OK);
  CHECK(info.n_ctx == 100);
  CHECK(info.n_past == 0);
  CHECK(info.n_threads == 1);
}

TEST_CASE("bad sampler values and prompts are INVALID_ARGUMENT and change nothing") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get());
  auto expect_invalid = [&](const dllm_sampler_params& p, const std::vector<int32_t>& prompt) {
    dllm_result r = NewResult();
    CHECK(dllm_session_generate_tokens(s.get(), prompt.data(), prompt.size(), &p, nullptr, &r) ==
          DLLM_ERROR_INVALID_ARGUMENT);
    CHECK(r.n_tokens == 0);
    CHECK(r.text != nullptr);
    CHECK(NPast(s.get()) == 0);
  };
  dllm_sampler_params p = FastParams();
  expect_invalid(p, {});          // empty prompt on an empty session
  expect_invalid(p, {2, 512});    // outside the vocabulary
  expect_invalid(p, {-3});
  p.max_steps = 0;
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.t_min = 0;
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.t_min = 0.9f;
  p.t_max = 0.5f;
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.t_max = std::numeric_limits<float>::quiet_NaN();
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.entropy_bound = -1;
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.max_new_tokens = 0;
  expect_invalid(p, kPrompt);
  p = FastParams();
  const int32_t bad_stop[] = {9999};
  p.stop_ids = bad_stop;
  p.n_stop_ids = 1;
  expect_invalid(p, kPrompt);
  p = FastParams();
  p.fixed_steps = 2;
  expect_invalid(p, kPrompt);
  dllm_result r = NewResult();
  CHECK(dllm_session_generate_text(s.get(), "a\xff", 2, nullptr, nullptr, &r) ==
        DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a full context is CONTEXT_FULL and changes nothing") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get(), 64);  // prompt + one canvas of 32
  dllm_sampler_params p = FastParams();
  std::vector<int32_t> long_prompt(40, 300);
  dllm_result r = NewResult();
  CHECK(dllm_session_generate_tokens(s.get(), long_prompt.data(), long_prompt.size(), &p,
                                     nullptr, &r) == DLLM_ERROR_CONTEXT_FULL);
  CHECK(NPast(s.get()) == 0);
  // A prompt that fits: generation ends when the context is full. The stop id is one this
  // prompt's canvas does not generate (a fixed id was generated on some CPUs, whose f32 kernels
  // round differently), so the canvas runs whole and fills the context.
  std::vector<int32_t> stop;
  capi_test::StopIdForFullCanvases(m.get(), kPrompt, 1, &p, &stop);
  p.max_new_tokens = 1000;
  REQUIRE(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                       &r) == DLLM_OK);
  CHECK(r.stop_reason == DLLM_STOP_MAX_TOKENS);
  CHECK(r.n_tokens == 32);
  // Nothing fits any more.
  CHECK(dllm_session_generate_tokens(s.get(), kPrompt.data(), 1, &p, nullptr, &r) ==
        DLLM_ERROR_CONTEXT_FULL);
  REQUIRE(dllm_session_reset(s.get()) == DLLM_OK);
  CHECK(dllm_session_generate_tokens(s.get(), kPrompt.data(), kPrompt.size(), &p, nullptr,
                                     &r) == DLLM_OK);
}

TEST_CASE("text and chat generation; chat turns continue the context") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get());
  dllm_sampler_params p = FastParams();
  p.max_new_tokens = 32;
  dllm_result r = NewResult();

  // Text: BOS first when the session is empty, not afterwards.
  REQUIRE(dllm_session_generate_text(s.get(), "hi", DLLM_NUL_TERMINATED, &p, nullptr, &r) ==
          DLLM_OK);
  int32_t ids[16];
  size_t n = 0;
  REQUIRE(dllm_tokenize(m.get(), "hi", 2, DLLM_TOKENIZE_ADD_BOS, ids, 16, &n) == DLLM_OK);
  const int64_t after_first = NPast(s.get());
  CHECK(after_first == static_cast<int64_t>(n + r.n_tokens));
  REQUIRE(dllm_session_generate_text(s.get(), "hi", 2, &p, nullptr, &r) == DLLM_OK);
  CHECK(NPast(s.get()) == after_first + static_cast<int64_t>(n - 1 + r.n_tokens));

  // Chat: the first turn equals the template's tokens; the next one continues.
  REQUIRE(dllm_session_reset(s.get()) == DLLM_OK);
  const dllm_chat_message first[] = {{"system", "Be brief."}, {"user", "Hello"}};
  Recorder rec;
  dllm_callbacks cb = RecorderCallbacks(&rec);
  REQUIRE(dllm_session_generate_chat(s.get(), first, 2, 0, &p, &cb, &r) == DLLM_OK);
  char text[512];
  REQUIRE(dllm_chat_apply_template(m.get(), first, 2, 0, text, sizeof text, &n) == DLLM_OK);
  std::vector<int32_t> prompt_ids(256);
  size_t n_prompt = 0;
  REQUIRE(dllm_tokenize(m.get(), text, n, DLLM_TOKENIZE_PARSE_SPECIAL, prompt_ids.data(),
                        prompt_ids.size(), &n_prompt) == DLLM_OK);
  const int64_t turn1 = NPast(s.get());
  CHECK(turn1 == static_cast<int64_t>(n_prompt + r.n_tokens));
  CHECK(rec.answer == std::string(r.answer, r.answer_len));
  const bool closed = r.n_tokens > 0 && r.tokens[r.n_tokens - 1] == 6;
  const dllm_chat_message next[] = {{"user", "More"}};
  REQUIRE(dllm_session_generate_chat(s.get(), next, 1, 0, &p, nullptr, &r) == DLLM_OK);
  // "[<turn|>]\n<|turn>user\nMore<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"
  const std::string cont = std::string(closed ? "" : "<turn|>") +
                           "\n<|turn>user\nMore<turn|>\n<|turn>model\n<|channel>thought\n"
                           "<channel|>";
  REQUIRE(dllm_tokenize(m.get(), cont.data(), cont.size(), DLLM_TOKENIZE_PARSE_SPECIAL,
                        prompt_ids.data(), prompt_ids.size(), &n_prompt) == DLLM_OK);
  CHECK(NPast(s.get()) == turn1 + static_cast<int64_t>(n_prompt + r.n_tokens));
  // A later system message is a turn of its own; unknown flags are rejected.
  const dllm_chat_message sys[] = {{"system", "Now formal."}};
  CHECK(dllm_session_generate_chat(s.get(), sys, 1, 0, &p, nullptr, &r) == DLLM_OK);
  CHECK(dllm_session_generate_chat(s.get(), next, 1, 0x100, &p, nullptr, &r) ==
        DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("streamed text is complete UTF-8 and adds up to the result") {
  capi_test::ModelPtr m = LoadTiny();
  // Byte tokens that form a 3-byte character split across canvases (ids 10+b are <0xb>).
  dllm_sampler_params p = FastParams(3);
  p.max_new_tokens = 64;
  capi_test::SessionPtr s = NewSession(m.get());
  Recorder rec;
  dllm_callbacks cb = RecorderCallbacks(&rec);
  dllm_result r = NewResult();
  REQUIRE(dllm_session_generate_text(s.get(), "tell me a story", DLLM_NUL_TERMINATED, &p, &cb,
                                     &r) == DLLM_OK);
  CHECK(rec.text == std::string(r.text, r.text_len));
  CHECK(rec.answer == std::string(r.answer, r.answer_len));
  // The raw text equals detokenizing the ids with control tokens rendered.
  std::string raw(r.text_len + 64, '\0');
  size_t n = 0;
  REQUIRE(dllm_detokenize(m.get(), r.tokens, r.n_tokens, DLLM_DETOKENIZE_RENDER_SPECIAL, &raw[0],
                          raw.size(), &n) == DLLM_OK);
  raw.resize(n);
  CHECK(raw == std::string(r.text, r.text_len));
}
