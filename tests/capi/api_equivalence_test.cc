// Generation through the C ABI gives exactly the tokens of the engine called directly (the
// shared library's hidden copy of the engine vs this executable's static one), for argmax +
// fixed-step decoding and for the default sampler with a seed, over several calls (multi-turn).
#include <memory>
#include <string>
#include <vector>

#include "capi_test_util.h"
#include "engine/session.h"
#include "model/model.h"

namespace {
capi_test::TinyModelCleanup cleanup;

struct Run {
  std::vector<std::vector<int32_t>> tokens;  // per call
  std::vector<std::vector<int>> steps;       // steps per canvas, per call
  std::vector<int> stop;                     // dllm_stop_reason per call
};

int StopOf(dllm::StopReason r) {
  switch (r) {
    case dllm::StopReason::kEndOfGeneration: return DLLM_STOP_END_OF_GENERATION;
    case dllm::StopReason::kMaxTokens: return DLLM_STOP_MAX_TOKENS;
    case dllm::StopReason::kCallback: return DLLM_STOP_CALLBACK;
    case dllm::StopReason::kCancelled: return DLLM_STOP_CANCELLED;
  }
  return -1;
}

Run Engine(const std::vector<std::vector<int32_t>>& prompts, const dllm::GenerateParams& gp) {
  auto model = dllm::Model::Load(capi_test::TinyModelPath());
  dllm::SessionOptions o;
  o.n_threads = 1;
  dllm::Session s(model, o);
  Run run;
  for (const auto& prompt : prompts) {
    const dllm::GenerateResult r = s.Generate(prompt, gp);
    run.tokens.push_back(r.tokens);
    run.steps.push_back(r.steps_per_canvas);
    run.stop.push_back(StopOf(r.stop_reason));
  }
  return run;
}

Run CApi(const std::vector<std::vector<int32_t>>& prompts, const dllm_sampler_params* p) {
  capi_test::ModelPtr m = capi_test::LoadTiny();
  capi_test::SessionPtr s = capi_test::NewSession(m.get());
  Run run;
  for (const auto& prompt : prompts) {
    dllm_result r = capi_test::NewResult();
    REQUIRE(dllm_session_generate_tokens(s.get(), prompt.data(), prompt.size(), p, nullptr,
                                         &r) == DLLM_OK);
    run.tokens.emplace_back(r.tokens, r.tokens + r.n_tokens);
    dllm_metrics mt;
    mt.struct_size = sizeof mt;
    REQUIRE(dllm_session_get_metrics(s.get(), &mt) == DLLM_OK);
    run.steps.emplace_back(mt.steps_per_canvas, mt.steps_per_canvas + mt.n_steps_per_canvas);
    run.stop.push_back(r.stop_reason);
  }
  return run;
}

void CheckSame(const Run& a, const Run& b) {
  REQUIRE(a.tokens.size() == b.tokens.size());
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    CAPTURE(i);
    CHECK(a.tokens[i] == b.tokens[i]);
    CHECK(a.steps[i] == b.steps[i]);
    CHECK(a.stop[i] == b.stop[i]);
    CHECK(!a.tokens[i].empty());
  }
}

const std::vector<std::vector<int32_t>> kPrompts = {{2, 5, 300, 301, 302, 303, 6, 5, 400},
                                                    {6, 5, 310, 311, 6, 5, 400}};

}  // namespace

TEST_CASE("argmax + fixed steps: C ABI == engine") {
  dllm_sampler_params p;
  REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
  p.argmax = 1;
  p.fixed_steps = 1;
  p.max_steps = 6;
  p.max_new_tokens = 96;
  dllm::GenerateParams gp;
  gp.argmax_only = true;
  gp.fixed_steps = true;
  gp.max_steps = 6;
  gp.max_new_tokens = 96;
  const Run engine = Engine(kPrompts, gp);
  const Run capi = CApi(kPrompts, &p);
  CheckSame(engine, capi);
  for (const auto& steps : capi.steps) {
    for (int s : steps) CHECK(s == 6);
  }
}

TEST_CASE("default sampler with a seed: C ABI == engine") {
  auto model = dllm::Model::Load(capi_test::TinyModelPath());
  dllm::GenerateParams gp = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
  gp.seed = 1234;
  gp.max_new_tokens = 64;
  dllm_sampler_params p;
  REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
  {
    capi_test::ModelPtr m = capi_test::LoadTiny();
    REQUIRE(dllm_model_get_sampler_defaults(m.get(), &p) == DLLM_OK);
  }
  p.seed = 1234;
  p.max_new_tokens = 64;
  CheckSame(Engine(kPrompts, gp), CApi(kPrompts, &p));
}

TEST_CASE("NULL params mean the model's defaults (seed 0)") {
  auto model = dllm::Model::Load(capi_test::TinyModelPath());
  dllm::GenerateParams gp = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
  const std::vector<std::vector<int32_t>> one = {kPrompts[0]};
  const Run engine = Engine(one, gp);
  const Run capi = CApi(one, nullptr);
  CheckSame(engine, capi);
}

TEST_CASE("text prompts: the C ABI tokenizes like dllm_tokenize, then matches the engine") {
  capi_test::ModelPtr m = capi_test::LoadTiny();
  const std::string prompt = "Once upon a time";
  int32_t ids[64];
  size_t n = 0;
  REQUIRE(dllm_tokenize(m.get(), prompt.data(), prompt.size(),
                        DLLM_TOKENIZE_ADD_BOS | DLLM_TOKENIZE_PARSE_SPECIAL, ids, 64, &n) ==
          DLLM_OK);
  dllm_sampler_params p;
  REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
  p.seed = 5;
  p.max_steps = 8;
  p.max_new_tokens = 64;
  capi_test::SessionPtr s = capi_test::NewSession(m.get());
  dllm_result r = capi_test::NewResult();
  REQUIRE(dllm_session_generate_text(s.get(), prompt.data(), prompt.size(), &p, nullptr, &r) ==
          DLLM_OK);
  dllm::GenerateParams gp;
  gp.seed = 5;
  gp.max_steps = 8;
  gp.max_new_tokens = 64;
  const Run engine = Engine({std::vector<int32_t>(ids, ids + n)}, gp);
  CHECK(engine.tokens[0] == std::vector<int32_t>(r.tokens, r.tokens + r.n_tokens));
}
