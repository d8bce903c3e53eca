// dllm.hpp with exceptions: RAII, the settings builder, callbacks as std::function, errors as
// dllm::Error, cancel and callback exceptions, moves. Only dllm.hpp is used (no engine
// headers), on the model file the capi_make_model fixture writes.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dllm/dllm.hpp"

namespace {

std::string ModelPath() {
  const char* p = std::getenv("DLLM_TEST_MODEL");
  REQUIRE(p != nullptr);
  return p;
}

dllm::Session NewSession(const dllm::Model& m) {
  dllm::SessionOptions o;
  o.n_threads = 1;
  return dllm::Session::Create(m, o);
}

}  // namespace

TEST_CASE("load, info, tokenizer, chat template") {
  std::vector<float> progress;
  dllm::LoadOptions lo;
  lo.progress = [&](float f) {
    progress.push_back(f);
    return true;
  };
  const dllm::Model m = dllm::Model::Load(ModelPath(), lo);
  REQUIRE(m);
  CHECK(progress.front() == 0.0f);
  CHECK(progress.back() == 1.0f);
  const dllm::ModelInfo info = m.Info();
  CHECK(info.architecture == "diffusion-gemma");
  CHECK(info.layers.size() == 6);
  CHECK(info.layers[0].sliding);
  CHECK(!info.layers[5].sliding);
  CHECK(info.tensor_types.size() == 1);
  CHECK(info.eog_ids == std::vector<int32_t>{1, 6});
  const std::vector<int32_t> ids = m.Tokenize("Hello world", /*add_bos=*/true);
  CHECK(ids.front() == info.bos_id);
  CHECK(m.Detokenize(ids) == "Hello world");
  CHECK(m.Detokenize(ids, /*render_special=*/true) == "<bos>Hello world");
  // A text longer than the first buffer guess.
  const std::string long_text(2000, 'a');
  CHECK(m.Detokenize(m.Tokenize(long_text)) == long_text);
  CHECK(m.ApplyChatTemplate({{"user", "Hi"}}) ==
        "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
  CHECK(m.EstimateMemory(128).kv_cache_bytes > 0);
  CHECK(m.SamplerDefaults().max_steps == 48);
}

TEST_CASE("errors are exceptions with the status and message") {
  try {
    dllm::Model::Load("/nonexistent/model.gguf");
    FAIL("no exception");
  } catch (const dllm::Error& e) {
    CHECK(e.code() == DLLM_ERROR_IO);
    CHECK(std::string(e.what()).find("DLLM_ERROR_IO") != std::string::npos);
    CHECK(e.status().message().find("/nonexistent/model.gguf") != std::string::npos);
  }
  const dllm::Model m = dllm::Model::Load(ModelPath());
  CHECK_THROWS_AS(m.Tokenize("\xff"), dllm::Error);
  CHECK_THROWS_AS(m.Detokenize({100000}), dllm::Error);
  CHECK_THROWS_AS(m.ApplyChatTemplate({{"robot", "x"}}), dllm::Error);
  dllm::Session s = NewSession(m);
  CHECK_THROWS_AS(s.GenerateTokens({-1}), dllm::Error);
  CHECK_THROWS_AS(s.Generate("x", dllm::SamplerSettings().MaxSteps(0)), dllm::Error);
  // The Try forms never throw.
  const dllm::Expected<dllm::Model> bad = dllm::Model::TryLoad("/nonexistent/model.gguf");
  CHECK(!bad);
  CHECK(bad.status().code() == DLLM_ERROR_IO);
  CHECK_THROWS_AS(bad.value(), dllm::Error);
  // An empty (moved-from or default) object reports INVALID_ARGUMENT.
  dllm::Model empty;
  CHECK(!empty.TryInfo());
  CHECK(empty.TryInfo().status().code() == DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("generation: builder, callbacks, results, metrics, multi-turn") {
  const dllm::Model m = dllm::Model::Load(ModelPath());
  dllm::Session s = NewSession(m);
  const auto settings = dllm::SamplerSettings().Seed(7).MaxSteps(4).MaxNewTokens(64);
  std::string streamed;
  int steps = 0;
  dllm::Callbacks cb;
  cb.on_step = [&](const dllm::StepInfo& i) {
    CHECK(i.length == 32);
    CHECK(i.max_steps == 4);
    ++steps;
    return true;
  };
  cb.on_canvas = [&](const dllm::CanvasInfo& c) {
    streamed += std::string(c.text);
    return true;
  };
  const dllm::Result r = s.Generate("Once upon a time", settings, cb);
  CHECK(!r.tokens.empty());
  CHECK(streamed == r.text);
  const dllm::Metrics mt = s.GetMetrics();
  CHECK(mt.steps == steps);
  CHECK(static_cast<int64_t>(mt.steps_per_canvas.size()) == mt.canvases);
  const int64_t n_past = s.Info().n_past;
  CHECK(n_past > static_cast<int64_t>(r.tokens.size()));
  // Same seed, fresh session: same tokens; the next turn continues the context.
  dllm::Session s2 = NewSession(m);
  CHECK(s2.Generate("Once upon a time", settings).tokens == r.tokens);
  const dllm::Result chat = s.GenerateChat({{"user", "and then?"}}, false, settings);
  CHECK(s.Info().n_past > n_past);
  s.Reset();
  CHECK(s.Info().n_past == 0);
  (void)chat;
  // Unset settings take the model's defaults: only the seed set equals NULL params + seed.
  const dllm::Result a = NewSession(m).Generate("x", dllm::SamplerSettings().Seed(3).MaxNewTokens(32));
  const dllm::Result b = NewSession(m).Generate(
      "x", dllm::SamplerSettings().Seed(3).MaxNewTokens(32).MaxSteps(48).TMin(0.4f).TMax(0.8f));
  CHECK(a.tokens == b.tokens);
}

TEST_CASE("callbacks that stop, throw, and a cancel from another thread") {
  const dllm::Model m = dllm::Model::Load(ModelPath());
  dllm::Session s = NewSession(m);
  const auto settings =
      dllm::SamplerSettings().MaxSteps(8).FixedSteps().MaxNewTokens(1000).StopIds({4});
  dllm::Callbacks stop_early;
  int steps = 0;
  stop_early.on_step = [&](const dllm::StepInfo&) { return ++steps < 3; };
  const dllm::Result r = s.Generate("hi", settings, stop_early);
  if (r.stop_reason != DLLM_STOP_END_OF_GENERATION) {
    CHECK(r.stop_reason == DLLM_STOP_CALLBACK);
    CHECK(steps == 3);
  }

  dllm::Callbacks throwing;
  throwing.on_step = [](const dllm::StepInfo&) -> bool { throw std::runtime_error("boom"); };
  s.Reset();
  CHECK_THROWS_WITH_AS(s.Generate("hi", settings, throwing), "boom", std::runtime_error);
  s.Reset();
  const dllm::Expected<dllm::Result> reported = s.TryGenerate("hi", settings, throwing);
  CHECK(!reported);
  CHECK(reported.status().code() == DLLM_ERROR_INTERNAL);
  CHECK(reported.status().message().find("boom") != std::string::npos);

  s.Reset();
  std::atomic<bool> started{false};
  dllm::Callbacks watch;
  watch.on_step = [&](const dllm::StepInfo&) {
    started = true;
    return true;
  };
  std::thread canceller([&] {
    while (!started) std::this_thread::yield();
    s.Cancel();
  });
  const dllm::Result cancelled = s.Generate("hi", settings, watch);
  canceller.join();
  if (cancelled.stop_reason != DLLM_STOP_END_OF_GENERATION) {
    CHECK(cancelled.cancelled());
  }
}

TEST_CASE("sessions outlive their model object and move") {
  dllm::Session s;
  {
    const dllm::Model m = dllm::Model::Load(ModelPath());
    s = NewSession(m);
  }
  const dllm::Result r = s.Generate("hi", dllm::SamplerSettings().MaxSteps(2).MaxNewTokens(8));
  CHECK(!r.tokens.empty());
  dllm::Session moved = std::move(s);
  CHECK(!s);
  CHECK(moved);
  CHECK(moved.Info().n_past > 0);
}

TEST_CASE("log callback") {
  std::vector<std::string> lines;
  dllm::SetLogCallback([&](int, const char* msg) { lines.emplace_back(msg); }, DLLM_LOG_INFO);
  { const dllm::Model m = dllm::Model::Load(ModelPath()); }
  dllm::SetLogCallback(nullptr);
  CHECK(!lines.empty());
  const size_t n = lines.size();
  { const dllm::Model m = dllm::Model::Load(ModelPath()); }
  CHECK(lines.size() == n);
}
