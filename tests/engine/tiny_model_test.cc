// The shipped tiny trained model (models/dg-tiny-tasks.gguf, made by tools/train/): the engine
// against the training code's own PyTorch sampler, and held-out task accuracy.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/session.h"
#include "gemm/gemm.h"
#include "golden_util.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "gguf/gguf.h"
#include "json_lite.h"
#include "model/model.h"
#include "tokenizer/chat.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string ModelsDir() { return std::string(DLLM_SOURCE_DIR) + "/models"; }

// Accuracy the engine must keep on the held-out set with the default sampler and seeds 0..N-1
// (models/README.md reports the measured figure; this is that figure less a small margin for
// the round-off differences between PyTorch and the engine that change individual samples).
constexpr double kMinAccuracy = DLLM_TINY_MIN_ACCURACY;

}  // namespace

TEST_CASE("tiny model: held-out tasks through the engine with the default sampler") {
  const std::string path = ModelsDir() + "/dg-tiny-tasks.gguf";
  auto model = dllm::Model::Load(path);
  auto file = dllm::gguf::File::Open(path);
  auto tok = dllm::tokenizer::Tokenizer::Create(dllm::tokenizer::VocabFromGguf(*file));

  std::ifstream in(ModelsDir() + "/heldout.jsonl");
  REQUIRE(in.good());
  std::map<std::string, std::pair<int, int>> per_task;  // task -> (correct, total)
  int correct = 0, total = 0, same_prompt = 0, same_tokens = 0;
  int64_t steps = 0, canvases = 0;
  dllm::Session session(model, {0, 2});
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const dllm::test::Json item = dllm::test::Json::Parse(line);
    const std::vector<int32_t> prompt = item["prompt_ids"].Ints();
    // dllm's tokenizer renders the chat prompt exactly as the training code's SentencePiece.
    const std::vector<int32_t> ours =
        dllm::tokenizer::EncodeChat(*tok, {{"user", item["instruction"].str}}, {});
    same_prompt += ours == prompt;
    dllm::GenerateParams p = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
    p.seed = static_cast<uint64_t>(item["seed"].number);
    p.max_new_tokens = 128;
    session.Reset();
    const dllm::GenerateResult r = session.Generate(prompt, p);
    const bool ended = r.stop_reason == dllm::StopReason::kEndOfGeneration;
    const std::string text = tok->Decode(r.tokens);
    const bool ok = ended && text == item["answer"].str;
    same_tokens += r.tokens == item["generated_ids"].Ints();
    correct += ok;
    ++total;
    auto& t = per_task[item["task"].str];
    t.first += ok;
    t.second += 1;
    for (int s : r.steps_per_canvas) steps += s;
    canvases += static_cast<int64_t>(r.steps_per_canvas.size());
  }
  REQUIRE(total >= 200);
  CHECK(same_prompt == total);
  const double accuracy = static_cast<double>(correct) / total;
  std::string report;
  for (const auto& [task, ct] : per_task) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), " %s %d/%d", task.c_str(), ct.first, ct.second);
    report += buf;
  }
  MESSAGE("held-out exact match " << correct << "/" << total << " (" << accuracy * 100
                                  << " %):" << report << "; " << same_tokens
                                  << " generations token-identical to PyTorch's; mean steps per canvas "
                                  << static_cast<double>(steps) / canvases);
  CHECK(accuracy >= kMinAccuracy);
}

TEST_CASE("tiny model: logits and argmax generations match the training code's PyTorch sampler") {
  const std::string path = ModelsDir() + "/dg-tiny-tasks.gguf";
  auto model = dllm::Model::Load(path);
  const dllm::test::Golden g(ModelsDir() + "/dg-tiny-tasks.golden.gguf");
  const dllm::gguf::File& f = g.file();
  const dllm::HParams& hp = model->hparams();
  const int64_t c = hp.canvas_length, v = hp.n_vocab;

  // Fixed inputs: two canvases around an incremental commit, with and without SC.
  dllm::gemm::Context ctx;
  dllm::Forward fwd(*model, ctx, 256);
  dllm::KvCache cache;
  cache.Init(hp, 256);
  const std::vector<int32_t> prompt = g.I32("prompt.0");
  fwd.Encode(prompt.data(), static_cast<int64_t>(prompt.size()), cache);
  std::vector<float> logits(static_cast<size_t>(c * v));
  auto check = [&](const std::string& name) {
    const dllm::test::Diff d = dllm::test::Compare(logits.data(), g.F32(name));
    MESSAGE(name << ": max abs error " << d.max_abs << " (max |logit| " << d.max_ref << ")");
    CHECK(d.rel() <= 1e-4);
  };
  const std::vector<int32_t> canvas1 = g.I32("canvas1");
  fwd.Denoise(canvas1.data(), c, nullptr, cache, logits.data());
  check("denoise1.logits");
  const std::vector<float> sc = g.F32("sc.probs");
  fwd.Denoise(canvas1.data(), c, sc.data(), cache, logits.data());
  check("denoise1_sc.logits");
  const std::vector<int32_t> commit = g.I32("commit.ids");
  fwd.Encode(commit.data(), c, cache);
  const std::vector<int32_t> canvas2 = g.I32("canvas2");
  fwd.Denoise(canvas2.data(), c, nullptr, cache, logits.data());
  check("denoise2.logits");
  const std::vector<float> sc2 = g.F32("sc2.probs");
  fwd.Denoise(canvas2.data(), c, sc2.data(), cache, logits.data());
  check("denoise2_sc.logits");

  // Whole generations: argmax + fixed steps must be token-identical.
  dllm::GenerateParams p = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
  p.seed = f.GetU64("golden.seed");
  p.max_new_tokens = f.GetU32("golden.max_new_tokens");
  for (int64_t id : f.GetI64Array("golden.eog_ids")) p.stop_ids.push_back(static_cast<int32_t>(id));
  int identical_default = 0, n = 0;
  for (int k = 0; g.Has("prompt." + std::to_string(k)); ++k, ++n) {
    const std::string key = std::to_string(k);
    dllm::Session s(model, {0, 2});
    dllm::GenerateParams a = p;
    a.argmax_only = true;
    a.fixed_steps = true;
    a.max_steps = static_cast<int>(f.GetU32("golden.fixed_steps"));
    CHECK(s.Generate(g.I32("prompt." + key), a).tokens == g.I32("gen_argmax_fixed." + key + ".tokens"));
    s.Reset();
    identical_default +=
        s.Generate(g.I32("prompt." + key), p).tokens == g.I32("gen_default." + key + ".tokens");
  }
  CHECK(n > 0);
  MESSAGE(identical_default << "/" << n << " default-sampler generations token-identical");
}

TEST_CASE("tiny model: truncated self-conditioning — effect on held-out generations and goldens") {
  // Issue 6: a truncated SC mode may be the default only if it changes no generated token of the
  // held-out set and moves the golden logits by < 1e-3 relative. Both effects are measured for a
  // few thresholds and reported; the library's default threshold must satisfy both conditions.
  const std::string path = ModelsDir() + "/dg-tiny-tasks.gguf";
  auto model = dllm::Model::Load(path);
  const dllm::test::Golden g(ModelsDir() + "/dg-tiny-tasks.golden.gguf");
  const dllm::HParams& hp = model->hparams();
  const int64_t c = hp.canvas_length, v = hp.n_vocab;

  // Held-out prompts and the exact (threshold 0) generations the PyTorch sampler produced.
  std::vector<std::vector<int32_t>> prompts, exact;
  std::vector<uint64_t> seeds;
  {
    std::ifstream in(ModelsDir() + "/heldout.jsonl");
    REQUIRE(in.good());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const dllm::test::Json item = dllm::test::Json::Parse(line);
      prompts.push_back(item["prompt_ids"].Ints());
      exact.push_back(item["generated_ids"].Ints());
      seeds.push_back(static_cast<uint64_t>(item["seed"].number));
    }
  }
  REQUIRE(prompts.size() >= 200);

  auto effect = [&](float threshold, int* changed_generations, double* logits_rel) {
    dllm::Session session(model, {0, 2});
    *changed_generations = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      dllm::GenerateParams p = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
      p.seed = seeds[i];
      p.max_new_tokens = 128;
      p.sc_threshold = threshold;
      session.Reset();
      *changed_generations += session.Generate(prompts[i], p).tokens != exact[i];
    }
    // Golden logits with SC (both fixed inputs), truncated vs the PyTorch (exact) values.
    dllm::gemm::Context ctx;
    dllm::Forward fwd(*model, ctx, 256);
    fwd.set_self_cond_threshold(threshold);
    dllm::KvCache cache;
    cache.Init(hp, 256);
    const std::vector<int32_t> prompt = g.I32("prompt.0");
    fwd.Encode(prompt.data(), static_cast<int64_t>(prompt.size()), cache);
    std::vector<float> logits(static_cast<size_t>(c * v));
    const std::vector<int32_t> canvas1 = g.I32("canvas1");
    fwd.Denoise(canvas1.data(), c, g.F32("sc.probs").data(), cache, logits.data());
    double rel = dllm::test::Compare(logits.data(), g.F32("denoise1_sc.logits")).rel();
    const std::vector<int32_t> commit = g.I32("commit.ids");
    fwd.Encode(commit.data(), c, cache);
    const std::vector<int32_t> canvas2 = g.I32("canvas2");
    fwd.Denoise(canvas2.data(), c, g.F32("sc2.probs").data(), cache, logits.data());
    rel = std::max(rel, dllm::test::Compare(logits.data(), g.F32("denoise2_sc.logits")).rel());
    *logits_rel = rel;
  };
  for (float threshold : {1e-5f, 1e-4f, 1e-3f}) {
    int changed = 0;
    double rel = 0;
    effect(threshold, &changed, &rel);
    MESSAGE("sc_threshold " << threshold << ": " << changed << "/" << prompts.size()
                            << " held-out generations differ from the exact ones; golden logits "
                               "move by "
                            << rel << " relative");
  }
  const float def = dllm::GenerateParams().sc_threshold;
  int changed = 0;
  double rel = 0;
  effect(def, &changed, &rel);
  MESSAGE("default sc_threshold " << def << ": " << changed << " changed generations, " << rel
                                  << " relative on the golden logits");
  CHECK(changed == 0);
  CHECK(rel < 1e-3);
}
