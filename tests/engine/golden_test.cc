// The engine against golden values of the independent numpy reference (tools/reference/,
// written from the spec): per-layer hidden states, the KV cache, logits with and without
// self-conditioning, incremental commit, sampler decisions and whole generations.
//
// Tolerances (the reference computes in float64; an f32 evaluation of the same math differs
// by <= 1e-6 relative on hidden states and 3.7e-5 absolute on logits, see the golden README):
//   hidden states and K/V: max |error| <= 1e-4 x max |value| of the tensor
//   logits:                max |error| <= 1e-4 x max |logit|   (the "relative 1e-4")
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/decoder.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "gemm/gemm.h"
#include "golden_util.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "util/rng.h"

using dllm::test::Compare;
using dllm::test::Diff;
using dllm::test::Golden;

namespace {

constexpr double kHiddenTol = 1e-4;
constexpr double kLogitTol = 1e-4;

std::string ModelPath(const std::string& name) {
  return std::string(DLLM_TEST_DATA_DIR) + "/models/" + name + ".gguf";
}
std::string GoldenPath(const std::string& name) {
  return std::string(DLLM_TEST_DATA_DIR) + "/golden/" + name + ".gguf";
}

void CheckClose(const std::string& what, const float* got, const std::vector<float>& want, double tol) {
  const Diff d = Compare(got, want);
  INFO(what << ": max abs error " << d.max_abs << ", max |value| " << d.max_ref << ", relative "
            << d.rel());
  CHECK(d.rel() <= tol);
  MESSAGE(what << ": relative error " << d.rel());
}

// Rows [first, first + n) of the cache of layer `il`, as K or V.
std::vector<float> CacheRows(const dllm::KvCache& c, int il, int64_t first_pos, int64_t n, bool k) {
  const dllm::KvCache::Layer& l = c.layer(il);
  const int64_t row = l.RowOf(first_pos);
  const float* p = k ? l.K(row) : l.V(row);
  return std::vector<float>(p, p + n * l.row_width);
}

void CheckCache(const dllm::KvCache& cache, const Golden& g, const std::string& prefix,
                int64_t first_pos, int64_t n, int n_layer) {
  for (int il = 0; il < n_layer; ++il) {
    const dllm::KvCache::Layer& l = cache.layer(il);
    if (l.first_pos > first_pos) continue;  // compacted away (sliding window)
    const std::string k = prefix + ".k." + std::to_string(il);
    const std::string v = prefix + ".v." + std::to_string(il);
    CheckClose(k, CacheRows(cache, il, first_pos, n, true).data(), g.F32(k), kHiddenTol);
    CheckClose(v, CacheRows(cache, il, first_pos, n, false).data(), g.F32(v), kHiddenTol);
  }
}

void CheckTrace(const dllm::ForwardTrace& t, const Golden& g, const std::string& prefix,
                int n_layer) {
  for (int il = 0; il < n_layer; ++il) {
    const std::string name = prefix + ".hidden." + std::to_string(il);
    CheckClose(name, t.layers[static_cast<size_t>(il)].data(), g.F32(name), kHiddenTol);
  }
}

void RunForwardGoldens(const std::string& name) {
  auto model = dllm::Model::Load(ModelPath(name));
  const Golden g(GoldenPath(name));
  const dllm::HParams& hp = model->hparams();
  const int n_layer = static_cast<int>(hp.n_layer);
  const int64_t c = hp.canvas_length, v = hp.n_vocab;
  dllm::gemm::Context ctx;
  dllm::Forward fwd(*model, ctx, 64);
  dllm::KvCache cache;
  cache.Init(hp, 64);

  const std::vector<int32_t> prompt = g.I32("prompt");
  const int64_t p = static_cast<int64_t>(prompt.size());
  dllm::ForwardTrace trace;
  fwd.Encode(prompt.data(), p, cache, &trace);
  CheckTrace(trace, g, "encode", n_layer);
  CheckCache(cache, g, "encode", 0, p, n_layer);

  std::vector<float> logits(static_cast<size_t>(c * v));
  const std::vector<int32_t> canvas1 = g.I32("canvas1");
  fwd.Denoise(canvas1.data(), c, nullptr, cache, logits.data(), &trace);
  CheckTrace(trace, g, "denoise1", n_layer);
  CheckClose("denoise1.logits", logits.data(), g.F32("denoise1.logits"), kLogitTol);

  const std::vector<float> sc = g.F32("sc.probs");
  fwd.Denoise(canvas1.data(), c, sc.data(), cache, logits.data(), &trace);
  CheckTrace(trace, g, "denoise1_sc", n_layer);
  CheckClose("denoise1_sc.logits", logits.data(), g.F32("denoise1_sc.logits"), kLogitTol);

  // Incremental commit: one causal encode of the committed canvas over the prompt cache.
  const std::vector<int32_t> commit = g.I32("commit.ids");
  fwd.Encode(commit.data(), c, cache, &trace);
  CheckTrace(trace, g, "commit", n_layer);
  CheckCache(cache, g, "commit", p, c, n_layer);

  const std::vector<int32_t> canvas2 = g.I32("canvas2");
  fwd.Denoise(canvas2.data(), c, nullptr, cache, logits.data(), &trace);
  CheckTrace(trace, g, "denoise2", n_layer);
  CheckClose("denoise2.logits", logits.data(), g.F32("denoise2.logits"), kLogitTol);
  const std::vector<float> sc2 = g.F32("sc2.probs");
  fwd.Denoise(canvas2.data(), c, sc2.data(), cache, logits.data(), &trace);
  CheckTrace(trace, g, "denoise2_sc", n_layer);
  CheckClose("denoise2_sc.logits", logits.data(), g.F32("denoise2_sc.logits"), kLogitTol);
}

void CheckAcceptance(const Golden& g, const std::string& prefix, int64_t c, int64_t v) {
  const std::vector<float> logits = g.F32(prefix + ".logits");
  const std::vector<float> temps = g.F32(prefix + ".temperature");
  const std::vector<float> bounds = g.F32(prefix + ".bound");
  const std::vector<float> want_h = g.F32(prefix + ".entropy");
  const std::vector<int32_t> want_a = g.I32(prefix + ".argmax");
  const std::vector<int32_t> want_m = g.I32(prefix + ".mask");
  std::vector<float> probs(static_cast<size_t>(c * v)), u(static_cast<size_t>(c), 0.5f),
      h(static_cast<size_t>(c));
  std::vector<int32_t> a(static_cast<size_t>(c)), s(static_cast<size_t>(c));
  std::vector<uint8_t> m(static_cast<size_t>(c));
  for (size_t k = 0; k < temps.size(); ++k) {
    dllm::SampleCanvas(logits.data(), c, v, 1.0f / temps[k], u.data(), false, probs.data(),
                       a.data(), s.data(), h.data());
    dllm::AcceptByEntropy(h.data(), c, bounds[k], m.data());
    for (int64_t i = 0; i < c; ++i) {
      const size_t gi = k * static_cast<size_t>(c) + static_cast<size_t>(i);
      CHECK(a[static_cast<size_t>(i)] == want_a[gi]);
      CHECK(h[static_cast<size_t>(i)] == doctest::Approx(want_h[gi]).epsilon(1e-5).scale(1e-3));
      CHECK(static_cast<int>(m[static_cast<size_t>(i)]) == want_m[gi]);
    }
    if (k == 0 && g.Has(prefix + ".probs0")) {
      CheckClose("accept.probs0", probs.data(), g.F32(prefix + ".probs0"), 1e-5);
    }
  }
}

// Sampler settings stored as golden.<name>.* keys (the reference's generation parameters).
dllm::GenerateParams ReadParams(const dllm::gguf::File& f, const std::string& k) {
  dllm::GenerateParams p;
  p.sc_threshold = 0;  // the reference computes the exact soft embedding
  p.seed = f.GetU64(k + "seed");
  p.max_steps = static_cast<int>(f.GetU32(k + "n_steps"));
  p.t_min = f.GetF32(k + "t_min");
  p.t_max = f.GetF32(k + "t_max");
  p.entropy_bound = f.GetF32(k + "entropy_bound");
  p.confidence_threshold = f.GetF32(k + "confidence_threshold");
  p.stability_threshold = 1;
  p.argmax_only = f.GetBool(k + "argmax_only");
  p.fixed_steps = f.GetBool(k + "fixed_steps");
  return p;
}

// A generation through the Session, compared step by step with the reference's decisions.
void CheckGeneration(const std::string& name, const std::string& gen) {
  auto model = dllm::Model::Load(ModelPath(name));
  const Golden g(GoldenPath(name));
  const dllm::gguf::File& f = g.file();
  const std::string k = "golden." + gen + ".";
  dllm::GenerateParams p = ReadParams(f, k);
  p.max_new_tokens = f.GetU32(k + "max_new_tokens");
  for (int64_t id : f.GetI64Array(k + "eog_ids")) p.stop_ids.push_back(static_cast<int32_t>(id));

  const int64_t c = model->hparams().canvas_length;
  const std::vector<int32_t> want_argmax = g.I32(gen + ".argmax");
  const std::vector<int32_t> want_next = g.I32(gen + ".next");
  const std::vector<int32_t> want_acc = g.I32(gen + ".accepted");
  const std::vector<float> want_h = g.F32(gen + ".entropy");
  size_t step = 0;
  dllm::GenerateCallbacks cb;
  cb.on_step = [&](const dllm::StepInfo& info) {
    const size_t base = step * static_cast<size_t>(c);
    if (base + static_cast<size_t>(c) > want_argmax.size()) {
      FAIL_CHECK("more steps than the reference");
      return false;
    }
    for (int64_t i = 0; i < c; ++i) {
      CHECK(info.argmax[i] == want_argmax[base + static_cast<size_t>(i)]);
      CHECK(static_cast<int>(info.accepted[i]) == want_acc[base + static_cast<size_t>(i)]);
      CHECK(info.next[i] == want_next[base + static_cast<size_t>(i)]);
      CHECK(info.entropy[i] ==
            doctest::Approx(want_h[base + static_cast<size_t>(i)]).epsilon(1e-3).scale(1e-3));
    }
    ++step;
    return true;
  };
  dllm::Session s(model, {0, 2});
  const dllm::GenerateResult r = s.Generate(g.I32("prompt"), p, cb);
  CHECK(step * static_cast<size_t>(c) == want_argmax.size());
  const std::vector<int32_t> want_steps = g.I32(gen + ".steps");
  CHECK(std::vector<int32_t>(r.steps_per_canvas.begin(), r.steps_per_canvas.end()) == want_steps);
  CHECK(r.tokens == g.I32(gen + ".tokens"));
}

}  // namespace

TEST_CASE("forward pass matches the reference: ref-a (several global layers, window 8)") {
  RunForwardGoldens("ref-a");
}

TEST_CASE("forward pass matches the reference: ref-b (split experts, prompt beyond window)") {
  RunForwardGoldens("ref-b");
}

TEST_CASE("entropy-bound acceptance matches the reference on fixed logits") {
  for (const char* name : {"ref-a", "ref-b"}) {
    auto model = dllm::Model::Load(ModelPath(name));
    const Golden g(GoldenPath(name));
    CheckAcceptance(g, "accept", model->hparams().canvas_length, model->hparams().n_vocab);
    const std::vector<float> logits = g.F32("accept_tie.logits");
    const int64_t c = model->hparams().canvas_length, v = model->hparams().n_vocab;
    std::vector<float> u(static_cast<size_t>(c), 0.5f), h(static_cast<size_t>(c));
    std::vector<int32_t> a(static_cast<size_t>(c)), s(static_cast<size_t>(c));
    std::vector<uint8_t> m(static_cast<size_t>(c));
    dllm::SampleCanvas(logits.data(), c, v, 1.0f / g.F32("accept_tie.temperature")[0], u.data(),
                       false, nullptr, a.data(), s.data(), h.data());
    dllm::AcceptByEntropy(h.data(), c, g.F32("accept_tie.bound")[0], m.data());
    const std::vector<int32_t> want = g.I32("accept_tie.mask");
    for (int64_t i = 0; i < c; ++i) CHECK(static_cast<int>(m[static_cast<size_t>(i)]) == want[static_cast<size_t>(i)]);
  }
}

TEST_CASE("argmax fixed-step generation over three canvases matches the reference") {
  CheckGeneration("ref-a", "gen_argmax");
  CheckGeneration("ref-b", "gen_argmax");
}

TEST_CASE("sampled generation with the default rule matches the reference") {
  CheckGeneration("ref-a", "gen_sampled");
  CheckGeneration("ref-b", "gen_sampled");
}

TEST_CASE("the RNG matches the reference's draws") {
  const Golden g(GoldenPath("sampler"));
  const dllm::gguf::File& f = g.file();
  for (const char* seed : {"0", "12345", "18446744073709551615"}) {
    const std::string k = std::string("golden.rng.") + seed + ".";
    dllm::Rng r(std::stoull(seed));
    const dllm::gguf::Value& next = f.Get(k + "next");
    for (size_t i = 0; i < next.size(); ++i) CHECK(r.Next() == next[i].AsU64());
    for (float u : f.GetF32Array(k + "uniform01")) CHECK(r.Uniform01() == u);
    for (const char* n : {"512", "262144", "4294967295"}) {
      const dllm::gguf::Value& ints = f.Get(k + "uniform_int_" + n);
      for (size_t i = 0; i < ints.size(); ++i) {
        CHECK(r.UniformInt(static_cast<uint32_t>(std::stoull(n))) == ints[i].AsU64());
      }
    }
  }
}

TEST_CASE("one canvas of the sampler on fixed logits matches the reference (stop rules)") {
  const Golden g(GoldenPath("sampler"));
  const dllm::gguf::File& f = g.file();
  for (const char* t : {"fixed_sampled", "fixed_stop", "fixed_argmax_stop", "fixed_argmax_nostop"}) {
    INFO("scenario " << t);
    const std::string k = std::string("golden.") + t + ".";
    const std::vector<float> logits = g.F32(std::string(t) + ".logits");
    const int64_t c = 16, v = 512;
    REQUIRE(logits.size() == static_cast<size_t>(c * v));
    const dllm::GenerateParams p = ReadParams(f, k);
    dllm::Rng rng(p.seed);
    dllm::CanvasDecoder dec(c, v);
    const std::vector<int32_t> want_next = g.I32(std::string(t) + ".next");
    const std::vector<int32_t> want_acc = g.I32(std::string(t) + ".accepted");
    size_t step = 0;
    dllm::GenerateCallbacks cb;
    cb.on_step = [&](const dllm::StepInfo& info) {
      for (int64_t i = 0; i < c; ++i) {
        CHECK(info.next[i] == want_next[step * c + static_cast<size_t>(i)]);
        CHECK(static_cast<int>(info.accepted[i]) == want_acc[step * c + static_cast<size_t>(i)]);
      }
      ++step;
      return true;
    };
    const auto out = dec.Run(
        [&](const int32_t*, const float*, float* out_logits) {
          std::copy(logits.begin(), logits.end(), out_logits);
        },
        p, rng, cb, 0, nullptr);
    CHECK(out.steps == g.I32(std::string(t) + ".steps")[0]);
    CHECK(dec.argmax() == g.I32(std::string(t) + ".committed"));
    CHECK(rng.Next() == f.GetU64(k + "rng_next_after"));
  }
}

TEST_CASE("dg-tiny-f32.gguf (another writer's file) matches the reference") {
  auto model = dllm::Model::Load(std::string(DLLM_SHARED_TESTDATA_DIR) + "/dg-tiny-f32.gguf");
  const Golden g(GoldenPath("dg-tiny"));
  const dllm::HParams& hp = model->hparams();
  const int64_t c = hp.canvas_length, v = hp.n_vocab, d = hp.n_embd;
  dllm::gemm::Context ctx;
  dllm::Forward fwd(*model, ctx, c);
  dllm::KvCache cache;
  cache.Init(hp, c);
  const std::vector<int32_t> prompt = g.I32("prompt");
  dllm::ForwardTrace trace;
  fwd.Encode(prompt.data(), static_cast<int64_t>(prompt.size()), cache, &trace);
  CheckTrace(trace, g, "encode", static_cast<int>(hp.n_layer));

  const std::vector<int32_t> canvas = g.I32("canvas");
  const std::vector<int32_t> rows = g.I32("rows");
  std::vector<float> logits(static_cast<size_t>(c * v));
  // dg-tiny's random weights (q/k norms ~1) make the network chaotic: the reference measured an
  // f32 evaluation drifting 6.4e-5 relative on hidden states. Without self-conditioning the
  // engine stays within 1e-3. With it, the SC input is the engine's own softmax of its logits
  // (as in a real run), already 3e-5 off the reference's, and the network amplifies that
  // ~2.5x per layer, so that comparison gets 5e-2 and argmax only where the top-2 gap is
  // clear. The tight self-conditioning checks are ref-a/ref-b, which feed the same SC input.
  auto check_rows = [&](const std::string& prefix, double tol, float min_gap) {
    for (int il = 0; il < hp.n_layer; ++il) {
      std::vector<float> got;
      for (int32_t r : rows) {
        const float* h = trace.layers[static_cast<size_t>(il)].data() + r * d;
        got.insert(got.end(), h, h + d);
      }
      const std::string name = prefix + ".hidden." + std::to_string(il);
      CheckClose(name, got.data(), g.F32(name), tol);
    }
    std::vector<float> got;
    for (int32_t r : rows) got.insert(got.end(), logits.begin() + r * v, logits.begin() + (r + 1) * v);
    CheckClose(prefix + ".logits", got.data(), g.F32(prefix + ".logits"), tol);
    const std::vector<int32_t> want_a = g.I32(prefix + ".argmax");
    const std::vector<float> gap = g.F32(prefix + ".top_gap");
    int compared = 0;
    for (int64_t i = 0; i < c; ++i) {
      if (gap[static_cast<size_t>(i)] < min_gap) continue;  // too close to call
      const float* row = logits.data() + i * v;
      CHECK(std::max_element(row, row + v) - row == want_a[static_cast<size_t>(i)]);
      ++compared;
    }
    CHECK(compared > 150);
  };
  fwd.Denoise(canvas.data(), c, nullptr, cache, logits.data(), &trace);
  check_rows("denoise", 1e-3, 1e-3f);
  // Self-conditioning from this step's own logits at t = 0.8, as at step 1 of a run.
  std::vector<float> probs(static_cast<size_t>(c * v)), u(static_cast<size_t>(c), 0.5f),
      h(static_cast<size_t>(c));
  std::vector<int32_t> a(static_cast<size_t>(c)), s(static_cast<size_t>(c));
  dllm::SampleCanvas(logits.data(), c, v, 1.0f / g.file().GetF32("golden.sc_temperature"),
                     u.data(), false, probs.data(), a.data(), s.data(), h.data());
  const std::vector<float> want_h = g.F32("denoise.entropy");
  for (int64_t i = 0; i < c; ++i) CHECK(h[static_cast<size_t>(i)] == doctest::Approx(want_h[static_cast<size_t>(i)]).epsilon(1e-3).scale(1e-3));
  fwd.Denoise(canvas.data(), c, probs.data(), cache, logits.data(), &trace);
  check_rows("denoise_sc", 5e-2, 0.05f);
}
