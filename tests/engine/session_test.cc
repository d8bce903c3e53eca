// Session and block decoder behaviour that needs no golden data: determinism, parameter
// validation, cancellation, callbacks, multi-turn context, unusual model shapes.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "synthetic.h"
#include "util/error.h"

using dllm::ErrorCode;
using dllm::GenerateParams;
using dllm::Session;
using dllm::SyntheticConfig;

namespace {

std::shared_ptr<const dllm::Model> MakeModel(const SyntheticConfig& c) {
  return dllm::Model::FromFile(dllm::gguf::File::FromBuffer(dllm::SyntheticModelBytes(c)));
}

std::shared_ptr<const dllm::Model> TinyModel() {
  static const auto m = MakeModel(SyntheticConfig::Tiny());
  return m;
}

GenerateParams Params(const dllm::Model& m) {
  GenerateParams p = GenerateParams::FromDefaults(m.sampler_defaults());
  p.max_steps = 6;
  p.max_new_tokens = 80;
  p.seed = 1234;
  p.stop_ids = {0};  // <pad>: rare enough with random weights that several canvases run
  // Exact self-conditioning: random weights give flat distributions, where truncation would
  // drop most of the mass and change which runs reach <pad>.
  p.sc_threshold = 0;
  return p;
}

const std::vector<int32_t> kPrompt = {2, 300, 301, 302, 303, 304, 305, 306, 307, 308};

void ExpectInvalid(Session& s, const std::vector<int32_t>& prompt, const GenerateParams& p,
                   const std::string& needle) {
  try {
    s.Generate(prompt, p);
    FAIL("accepted invalid input (expected: " << needle << ")");
  } catch (const dllm::Error& e) {
    CHECK(e.code() == ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(std::string(e.what()).find(needle) != std::string::npos, e.what());
  }
}

}  // namespace

TEST_CASE("generation is deterministic for a seed and differs across seeds") {
  auto m = TinyModel();
  Session a(m, {0, 2}), b(m, {0, 2});
  const GenerateParams p = Params(*m);
  const auto ra = a.Generate(kPrompt, p);
  const auto rb = b.Generate(kPrompt, p);
  CHECK(ra.tokens == rb.tokens);
  CHECK(ra.steps_per_canvas == rb.steps_per_canvas);
  CHECK(ra.tokens.size() == 80);  // max_new_tokens: 2.5 canvases of 32
  CHECK(ra.stop_reason == dllm::StopReason::kMaxTokens);
  CHECK(ra.steps_per_canvas.size() == 3);
  GenerateParams q = p;
  q.seed = 99;
  Session c(m, {0, 2});
  CHECK(c.Generate(kPrompt, q).tokens != ra.tokens);
  // Reset restores a fresh session: the same tokens again.
  a.Reset();
  CHECK(a.Generate(kPrompt, p).tokens == ra.tokens);
}

TEST_CASE("one thread and two threads compute the same logits") {
  // Determinism is promised per thread count; across thread counts the logits agree to
  // round-off.
  auto m = TinyModel();
  std::vector<int32_t> canvas(32);
  for (int i = 0; i < 32; ++i) canvas[i] = 300 + 5 * i;
  std::vector<float> l1(32 * 512), l2(32 * 512);
  Session one(m, {0, 1}), two(m, {0, 2});
  one.Encode(kPrompt);
  two.Encode(kPrompt);
  one.Denoise(canvas, nullptr, l1.data());
  two.Denoise(canvas, nullptr, l2.data());
  for (size_t i = 0; i < l1.size(); ++i) REQUIRE(l1[i] == doctest::Approx(l2[i]).epsilon(1e-4).scale(1.0));
}

TEST_CASE("truncated self-conditioning equals the dense path on pre-truncated probabilities") {
  // With threshold τ the soft embedding is Σ_{p > τ} p·E[v]: the dense product over the same
  // probabilities with every p <= τ set to zero. Compared on what enters layer 0
  // (RMSNormNoScale(E·√D + SC(soft))), where the two paths differ only in summation order. The
  // other matrices stay F32 so no activation rounding (bf16/int8 matmuls) can amplify that.
  // τ = 0.04 keeps a few tokens per row and under half of the vocabulary overall (the kept
  // embedding rows are gathered); τ = 0.02 and 1e-12 keep more than half of it (the range is
  // multiplied in place with the dropped entries zeroed).
  for (const float tau : {0.04f, 0.02f, 1e-12f})
  for (auto emb : {dllm::GgmlType::kF32, dllm::GgmlType::kBF16, dllm::GgmlType::kQ8_0,
                   dllm::GgmlType::kQ4_0}) {
    CAPTURE(static_cast<int>(emb));
    CAPTURE(tau);
    SyntheticConfig cfg = SyntheticConfig::Tiny();
    cfg.weight_type = dllm::GgmlType::kF32;
    cfg.embedding_type = emb;
    auto m = MakeModel(cfg);
    const int64_t c = m->hparams().canvas_length, v = m->hparams().n_vocab;
    std::vector<int32_t> canvas(static_cast<size_t>(c));
    for (int64_t i = 0; i < c; ++i) canvas[static_cast<size_t>(i)] = static_cast<int32_t>(300 + 5 * i);
    // Peaked rows like a sampler's softmax: a few large entries over a small floor.
    std::vector<float> probs(static_cast<size_t>(c * v));
    for (int64_t i = 0; i < c; ++i) {
      double sum = 0;
      for (int64_t t = 0; t < v; ++t) {
        const double x = std::exp(-0.5 * std::abs(static_cast<double>((t * 7 + i * 13) % 97) - 3.0));
        probs[static_cast<size_t>(i * v + t)] = static_cast<float>(x);
        sum += x;
      }
      for (int64_t t = 0; t < v; ++t) probs[static_cast<size_t>(i * v + t)] /= static_cast<float>(sum);
    }
    if (emb == dllm::GgmlType::kBF16) {
      // The dense BF16 product rounds its activations (here: the probabilities) to bf16
      // (gemm.h); give both paths the same bf16 values so only summation order differs.
      for (float& p : probs) {
        uint32_t u;
        std::memcpy(&u, &p, 4);
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000u;
        std::memcpy(&p, &u, 4);
      }
    }
    std::vector<float> cut = probs;
    size_t kept = 0;
    for (float& p : cut) {
      if (!(p > tau)) p = 0;
      else ++kept;
    }
    REQUIRE(kept > 0);
    REQUIRE(kept < cut.size());  // the threshold really removes mass
    std::vector<float> logits(static_cast<size_t>(c * v));
    dllm::ForwardTrace dense, sparse, full;
    Session s(m, {0, 2});
    s.Encode(kPrompt);
    s.Denoise(canvas, cut.data(), logits.data(), &dense);
    s.forward().set_self_cond_threshold(tau);
    s.Denoise(canvas, probs.data(), logits.data(), &sparse);
    s.forward().set_self_cond_threshold(0);
    s.Denoise(canvas, probs.data(), logits.data(), &full);
    double max_diff = 0, max_trunc_effect = 0;
    for (size_t i = 0; i < dense.input.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(dense.input[i] - sparse.input[i])));
      max_trunc_effect =
          std::max(max_trunc_effect, static_cast<double>(std::abs(full.input[i] - sparse.input[i])));
    }
    MESSAGE("max |dense - sparse| " << max_diff << ", truncation effect " << max_trunc_effect);
    // Inputs are RMS-normalised (entries O(1)). F32 embedding: f32 sums of <= 512 terms in
    // another order. Quantized embeddings: the dense product runs on bf16-rounded tiles
    // (gemm.h, linear_t_bf16_tiles: each product within 2^-8 relative), the sparse path on the
    // exact dequantized rows, so allow 2^-8 there.
    const bool exact = emb == dllm::GgmlType::kF32 || emb == dllm::GgmlType::kBF16;
    const double tol = exact ? 1e-5 : 0x1p-8;
    CHECK(max_diff <= tol);
    if (tau > 0.01f) CHECK(max_trunc_effect > 10 * tol);  // truncation is visible at this tolerance
    MESSAGE("kept " << kept << " of " << cut.size() << " probabilities");
  }
  Session s(TinyModel(), {0, 1});
  CHECK_THROWS_AS(s.forward().set_self_cond_threshold(-1e-3f), dllm::Error);
  CHECK_THROWS_AS(s.forward().set_self_cond_threshold(1.0f), dllm::Error);
  CHECK_THROWS_AS(s.forward().set_self_cond_threshold(NAN), dllm::Error);
}

TEST_CASE("step and canvas callbacks see every step; returning false stops") {
  auto m = TinyModel();
  GenerateParams p = Params(*m);
  p.fixed_steps = true;
  Session s(m, {0, 2});
  int steps = 0, canvases = 0;
  dllm::GenerateCallbacks cb;
  cb.on_step = [&](const dllm::StepInfo& info) {
    CHECK(info.length == 32);
    CHECK(info.step == steps % p.max_steps);
    CHECK(info.final == (info.step == p.max_steps - 1));
    int accepted = 0;
    for (int64_t i = 0; i < info.length; ++i) {
      accepted += info.accepted[i];
      CHECK(info.entropy[i] >= 0.0f);
      CHECK(info.entropy[i] <= std::log(512.0f) + 1e-3f);
      if (info.accepted[i]) CHECK(info.next[i] >= 0);
    }
    CHECK(accepted >= 1);  // the lowest-entropy position is always accepted
    ++steps;
    return true;
  };
  cb.on_canvas = [&](int index, const int32_t* ids, int64_t n) {
    CHECK(index == canvases);
    CHECK(n > 0);
    ++canvases;
    return canvases < 2;  // stop after the second canvas
  };
  const auto r = s.Generate(kPrompt, p, cb);
  CHECK(canvases == 2);
  CHECK(steps == 2 * p.max_steps);
  CHECK(r.stop_reason == dllm::StopReason::kCallback);
  CHECK(r.tokens.size() == 64);
}

TEST_CASE("cancellation from another thread ends the run with kCancelled") {
  auto m = TinyModel();
  GenerateParams p = Params(*m);
  p.fixed_steps = true;
  p.max_steps = 1000;
  p.max_new_tokens = 100000;
  Session s(m, {0, 1});
  std::atomic<bool> cancel{false};
  std::atomic<int> steps{0};
  dllm::GenerateCallbacks cb;
  cb.cancel = &cancel;
  cb.on_step = [&](const dllm::StepInfo&) {
    ++steps;
    return true;
  };
  std::thread t([&] {
    while (steps.load() < 3) std::this_thread::yield();
    cancel.store(true);
  });
  const auto r = s.Generate(kPrompt, p, cb);
  t.join();
  CHECK(r.stop_reason == dllm::StopReason::kCancelled);
  CHECK(steps.load() < 1000);
  CHECK(r.tokens.empty());
  // The session stays usable.
  cancel = false;
  GenerateParams q = Params(*m);
  CHECK(s.Generate(kPrompt, q).tokens.size() == 80);
}

TEST_CASE("multi-turn generation continues the context") {
  auto m = TinyModel();
  GenerateParams p = Params(*m);
  p.max_new_tokens = 40;
  p.argmax_only = true;
  p.fixed_steps = true;
  Session s(m, {0, 2});
  const auto r1 = s.Generate(kPrompt, p);
  CHECK(s.n_past() == static_cast<int64_t>(kPrompt.size() + r1.tokens.size()));
  const std::vector<int32_t> turn2 = {300, 301};
  const auto r2 = s.Generate(turn2, p);
  CHECK(s.n_past() == static_cast<int64_t>(kPrompt.size() + r1.tokens.size() + 2 + r2.tokens.size()));
  // The second turn starts from the same state as one generation over the concatenated
  // context: its first step sees the same argmax and entropies (up to the round-off of encoding
  // in different chunks; whole generations are chaotic in that round-off, so compare one step).
  std::vector<int32_t> all = kPrompt;
  all.insert(all.end(), r1.tokens.begin(), r1.tokens.end());
  all.insert(all.end(), turn2.begin(), turn2.end());
  std::vector<int32_t> argmax[2];
  std::vector<float> entropy[2];
  for (int run = 0; run < 2; ++run) {
    Session t(m, {0, 2});
    dllm::GenerateCallbacks cb;
    cb.on_step = [&](const dllm::StepInfo& info) {
      argmax[run].assign(info.argmax, info.argmax + info.length);
      entropy[run].assign(info.entropy, info.entropy + info.length);
      return false;  // one step is enough
    };
    if (run == 0) {
      t.Generate(kPrompt, p);
      t.Generate(turn2, p, cb);
    } else {
      t.Generate(all, p, cb);
    }
  }
  CHECK(argmax[0] == argmax[1]);
  REQUIRE(entropy[0].size() == entropy[1].size());
  for (size_t i = 0; i < entropy[0].size(); ++i) CHECK(entropy[0][i] == doctest::Approx(entropy[1][i]).epsilon(1e-3));
}

TEST_CASE("encoding in pieces fills the cache like encoding at once") {
  auto m = TinyModel();
  std::vector<int32_t> all;
  for (int i = 0; i < 90; ++i) all.push_back(300 + (i * 7) % 200);
  std::vector<int32_t> canvas(32);
  for (int i = 0; i < 32; ++i) canvas[i] = 310 + i;
  std::vector<float> whole(32 * 512), pieces(32 * 512);
  Session b(m, {0, 2});
  b.Encode(all);
  b.Denoise(canvas, nullptr, whole.data());
  for (int split : {1, 10, 31, 32, 33, 60}) {
    Session a(m, {0, 2});
    a.Encode(std::vector<int32_t>(all.begin(), all.begin() + split));
    a.Encode(std::vector<int32_t>(all.begin() + split, all.end()));
    a.Denoise(canvas, nullptr, pieces.data());
    float max_diff = 0;
    for (size_t i = 0; i < whole.size(); ++i) max_diff = std::max(max_diff, std::fabs(whole[i] - pieces[i]));
    CHECK_MESSAGE(max_diff < 1e-3f, "split " << split << ": max logit difference " << max_diff);
  }
}

TEST_CASE("a prompt longer than one encode pass equals encoding it in pieces") {
  auto m = TinyModel();
  const int64_t pass = dllm::EncodePassRows(m->hparams());
  const int64_t n = pass + pass / 2;  // one Encode call: a full pass, then half of one
  REQUIRE(n + 32 <= m->hparams().context_length);
  std::vector<int32_t> all;
  for (int64_t i = 0; i < n; ++i) all.push_back(static_cast<int32_t>(300 + (i * 7) % 200));
  std::vector<int32_t> canvas(32);
  for (int i = 0; i < 32; ++i) canvas[i] = 310 + i;
  std::vector<float> whole(32 * 512), pieces(32 * 512);
  Session b(m, {0, 2});
  b.Encode(all);
  CHECK(b.n_past() == n);
  b.Denoise(canvas, nullptr, whole.data());
  // Pieces that never fill a pass, so no piece is split inside Encode.
  Session a(m, {0, 2});
  for (int64_t at = 0; at < n; at += 100) {
    const int64_t end = std::min<int64_t>(n, at + 100);
    a.Encode(std::vector<int32_t>(all.begin() + at, all.begin() + end));
  }
  a.Denoise(canvas, nullptr, pieces.data());
  float max_diff = 0;
  for (size_t i = 0; i < whole.size(); ++i) max_diff = std::max(max_diff, std::fabs(whole[i] - pieces[i]));
  CHECK_MESSAGE(max_diff < 1e-3f, "max logit difference " << max_diff);
}

TEST_CASE("end-of-generation ids truncate the committed canvas") {
  auto m = TinyModel();
  GenerateParams p = Params(*m);
  p.argmax_only = true;
  p.fixed_steps = true;
  Session probe(m, {0, 2});
  const auto r = probe.Generate(kPrompt, p);
  REQUIRE(r.tokens.size() > 5);
  // Make the 5th generated token a stop id: the output ends right after it.
  GenerateParams q = p;
  q.stop_ids = {r.tokens[4]};
  Session s(m, {0, 2});
  const auto r2 = s.Generate(kPrompt, q);
  CHECK(r2.stop_reason == dllm::StopReason::kEndOfGeneration);
  size_t first = 0;
  while (r.tokens[first] != r.tokens[4]) ++first;
  CHECK(r2.tokens.size() == first + 1);
  CHECK(std::vector<int32_t>(r.tokens.begin(), r.tokens.begin() + first + 1) == r2.tokens);
}

TEST_CASE("invalid inputs and parameters are rejected") {
  auto m = TinyModel();
  Session s(m, {200, 1});
  const GenerateParams good = Params(*m);
  ExpectInvalid(s, {}, good, "prompt is empty");
  ExpectInvalid(s, {2, 512}, good, "outside the vocabulary");
  ExpectInvalid(s, {2, -1}, good, "outside the vocabulary");
  ExpectInvalid(s, std::vector<int32_t>(190, 5), good, "context full");
  GenerateParams p = good;
  p.max_steps = -1;
  ExpectInvalid(s, kPrompt, p, "max_steps");
  p = good;
  p.t_min = 0.9f;
  ExpectInvalid(s, kPrompt, p, "t_min");
  p = good;
  p.t_max = NAN;
  ExpectInvalid(s, kPrompt, p, "temperatures");
  p = good;
  p.entropy_bound = -1;
  ExpectInvalid(s, kPrompt, p, "entropy_bound");
  p = good;
  p.confidence_threshold = NAN;
  ExpectInvalid(s, kPrompt, p, "confidence_threshold");
  p = good;
  p.max_new_tokens = 0;
  ExpectInvalid(s, kPrompt, p, "max_new_tokens");
  p = good;
  p.stop_ids = {100000};
  ExpectInvalid(s, kPrompt, p, "stop id");
  for (float bad : {-0.1f, 1.0f, NAN, INFINITY}) {
    p = good;
    p.sc_threshold = bad;
    ExpectInvalid(s, kPrompt, p, "sc_threshold");
  }
  // Nothing was consumed by the failed calls.
  CHECK(s.n_past() == 0);
  CHECK_THROWS_AS(Session(m, {-5, 1}), dllm::Error);
  CHECK_THROWS_AS(Session(m, {10, 1}), dllm::Error);  // cannot hold one canvas
}

TEST_CASE("models whose layers are all sliding or all global run") {
  for (bool sliding : {true, false}) {
    SyntheticConfig c = SyntheticConfig::Tiny();
    c.n_layer = 3;
    c.sliding_pattern = std::vector<bool>(3, sliding);
    auto m = MakeModel(c);
    Session s(m, {0, 2});
    GenerateParams p = Params(*m);
    const auto r = s.Generate(kPrompt, p);
    CHECK(r.tokens.size() == 80);
  }
}

TEST_CASE("a canvas length that divides nothing works, and the window is shorter than it") {
  SyntheticConfig c = SyntheticConfig::Tiny();
  c.canvas_length = 7;
  c.sliding_window = 5;
  auto m = MakeModel(c);
  Session s(m, {0, 2});
  GenerateParams p = Params(*m);
  p.max_new_tokens = 30;
  const auto r = s.Generate(kPrompt, p);
  CHECK(r.tokens.size() == 30);
  CHECK(r.steps_per_canvas.size() == 5);  // ceil(30 / 7)
}

TEST_CASE("synthetic weights keep activations in a sane range through every layer") {
  // The generator's scales must neither blow up nor collapse the residual stream.
  for (dllm::GgmlType t : {dllm::GgmlType::kF32, dllm::GgmlType::kBF16, dllm::GgmlType::kQ8_0}) {
    SyntheticConfig c = SyntheticConfig::Tiny();
    c.weight_type = t;
    auto m = MakeModel(c);
    Session s(m, {0, 2});
    dllm::ForwardTrace trace;
    s.Encode(kPrompt, &trace);
    std::vector<int32_t> canvas(32, 305);
    std::vector<float> logits(32 * 512);
    s.Denoise(canvas, nullptr, logits.data(), &trace);
    for (const std::vector<float>& layer : trace.layers) {
      double sum_sq = 0, max_abs = 0;
      for (float x : layer) {
        REQUIRE(std::isfinite(x));
        sum_sq += static_cast<double>(x) * x;
        max_abs = std::max(max_abs, static_cast<double>(std::fabs(x)));
      }
      const double rms = std::sqrt(sum_sq / static_cast<double>(layer.size()));
      CHECK(rms > 0.05);
      CHECK(rms < 50.0);
      CHECK(max_abs < 1000.0);
    }
    for (float x : logits) REQUIRE(std::fabs(x) <= 30.0f);
  }
}
