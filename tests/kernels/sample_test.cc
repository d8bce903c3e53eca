// SampleRow and EntropyBoundAccept (docs/sampler.md steps 1–4) against the double-precision
// reference kernels::ref, on every compiled and supported target; and the reference itself
// against an independent long double computation.
//
// Tolerances: argmax exact. Entropy ≤ 1e-5 relative. Probabilities ≤ (2e-6 + 1.2e-7·|z − m|)
// relative, plus 3e-38 absolute (the kernel writes probabilities below 2.6e-38 as 0): exp is
// ≤ ~1.5 ulp of the f32 difference z − m, whose rounding scales with |z − m|. Sample equal
// to the reference whenever u·S is more than 1e-6·S away from both ends of the reference
// sample's interval of the cumulative sum; otherwise ("within rounding of a boundary") the
// kernel's sample must lie within that distance of u·S.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/kernels.h"

namespace dllm::kernels {
namespace {

using test::Buffer;
using test::CheckClose;
using test::ForEachTarget;
using test::RandomNormal;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr double kSampleTol = 1e-6;

// The quantities the checks need, computed once per row from the reference definitions.
struct RowRef {
  std::vector<float> raw;
  float inv_t = 1.0f;
  float m = kNegInf;
  std::vector<double> cum;  // Σ_{j≤v} exp(z_j − m), double
  double s = 0.0;
  RowStats stats{};         // ref::SampleRow (argmax-only)
  std::vector<float> probs;  // ref probabilities
  mutable std::map<float, int32_t> ref_samples;  // u → ref::SampleRow sample (cache)
};

RowRef MakeRef(std::vector<float> raw, float inv_t) {
  RowRef r;
  r.raw = std::move(raw);
  r.inv_t = inv_t;
  const size_t n = r.raw.size();
  for (float x : r.raw) r.m = std::max(r.m, x * inv_t);
  r.cum.resize(n);
  double c = 0.0;
  for (size_t v = 0; v < n; ++v) {
    c += std::exp(static_cast<double>(r.raw[v] * inv_t) - r.m);
    r.cum[v] = c;
  }
  r.s = c;
  r.probs.resize(n);
  r.stats = ref::SampleRow(r.raw.data(), n, inv_t, 0.0f, true, r.probs.data());
  return r;
}

// Sample comparison statistics over a test case.
struct SampleTally {
  int compared = 0;      // samples compared with the reference
  int clear = 0;         // of which u·S was clear of the interval ends (must be equal)
  int different = 0;     // samples that differ from the reference (all near a boundary)
  double worst_gap = 0;  // largest |u·S − boundary| / S among the differing ones
};

// Checks a kernel sample against the reference one for threshold u: equal when u·S is more
// than kSampleTol·S away from both ends of the reference's interval, otherwise the kernel's
// interval must reach to within kSampleTol·S of u·S.
void CheckSample(const RowRef& r, float u, int32_t got, SampleTally* tally) {
  const size_t n = r.raw.size();
  auto it = r.ref_samples.find(u);
  if (it == r.ref_samples.end()) {
    it = r.ref_samples
             .emplace(u, ref::SampleRow(r.raw.data(), n, r.inv_t, u, false, nullptr).sample)
             .first;
  }
  const int32_t want = it->second;
  REQUIRE(got >= 0);
  REQUIRE(static_cast<size_t>(got) < n);
  const double thr = static_cast<double>(u) * r.s, tol = kSampleTol * r.s;
  const double lo = want > 0 ? r.cum[want - 1] : 0.0, hi = r.cum[want];
  INFO("u=" << u << " want=" << want << " got=" << got);
  CHECK(r.raw[got] * r.inv_t - r.m >= -86.5f);  // e_v > 0: never a −inf entry
  ++tally->compared;
  const bool clear = thr - lo > tol && hi - thr > tol;
  tally->clear += clear;
  if (got == want) return;
  CHECK_FALSE(clear);
  ++tally->different;
  const double got_lo = got > 0 ? r.cum[got - 1] : 0.0, got_hi = r.cum[got];
  CHECK(got_hi >= thr - tol);
  CHECK(got_lo <= thr + tol);
  const double gap = std::max(std::fabs(thr - (got < want ? got_hi : got_lo)),
                              std::fabs(thr - (got < want ? lo : hi)));
  tally->worst_gap = std::max(tally->worst_gap, gap / r.s);
}

// u values: random ones plus the middle of the intervals of a few chosen indices.
std::vector<float> ThresholdsFor(const RowRef& r, uint32_t seed) {
  std::vector<float> us = {0.0f, 0.5f, 1.0f - 0x1p-24f};
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 12; ++i) us.push_back(static_cast<float>((rng() >> 40) * 0x1p-24));
  const size_t n = r.raw.size();
  std::vector<size_t> picks = {static_cast<size_t>(r.stats.argmax), n - 1, n / 2};
  for (int i = 0; i < 4; ++i) picks.push_back(rng() % n);
  for (size_t v : picks) {
    const double lo = v > 0 ? r.cum[v - 1] : 0.0;
    const double mid = (lo + (r.cum[v] - lo) / 2) / r.s;
    if (r.cum[v] - lo > 4 * kSampleTol * r.s) us.push_back(static_cast<float>(mid));
  }
  return us;
}

// Logits shaped like the model's: 30·tanh(x/30) soft-capped, most mass on a few candidates.
std::vector<float> RealisticRow(size_t n, int kind, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> raw;
  switch (kind) {
    case 0:  // typical: broad background, a handful of strong candidates
      raw = RandomNormal(n, -2.0, 3.0, seed);
      for (int i = 0; i < 5; ++i) raw[rng() % n] = 12.0f + static_cast<float>(i);
      break;
    case 1:  // confident: one token far ahead (tiny entropy)
      raw = RandomNormal(n, -4.0, 2.0, seed);
      raw[rng() % n] = 25.0f;
      break;
    case 2:  // nearly flat (entropy ≈ log n)
      raw = RandomNormal(n, 0.0, 0.05, seed);
      break;
    default:  // two close candidates over a low background
      raw = RandomNormal(n, -10.0, 1.0, seed);
      raw[rng() % n] = 10.0f;
      raw[rng() % n] = 9.5f;
      break;
  }
  for (float& x : raw) x = static_cast<float>(30.0 * std::tanh(x / 30.0));
  return raw;
}

void CheckRow(const RowRef& r, size_t offset, std::map<std::string, double>* worst_entropy,
              const std::string& target, SampleTally* tally) {
  const size_t n = r.raw.size();
  Buffer raw(n, offset), probs(n, offset + 1);
  raw.Assign(r.raw);
  const RowStats am = SampleRow(raw.data(), n, r.inv_t, 0.3f, true, probs.data());
  CHECK(am.argmax == r.stats.argmax);
  CHECK(am.sample == am.argmax);
  const double h_ref = r.stats.entropy;
  const double rel = std::fabs(am.entropy - h_ref) / std::max(h_ref, 1e-300);
  CHECK(rel <= 1e-5);
  if (h_ref > 0) (*worst_entropy)[target] = std::max((*worst_entropy)[target], rel);
  CheckClose(probs.data(), r.probs.data(), n, [&](size_t v) {
    if (r.probs[v] == 0.0f) return 1e-38;
    const double dz = std::fabs(static_cast<double>(r.raw[v] * r.inv_t) - r.m);
    return (2e-6 + 1.2e-7 * dz) * r.probs[v] + 3e-38;
  }, "probs");
  // Without probs and without sampling: same argmax and entropy.
  const RowStats bare = SampleRow(raw.data(), n, r.inv_t, 0.3f, true, nullptr);
  CHECK(bare.argmax == am.argmax);
  CHECK(bare.entropy == am.entropy);
  for (float u : ThresholdsFor(r, static_cast<uint32_t>(n + offset))) {
    const RowStats st = SampleRow(raw.data(), n, r.inv_t, u, false, nullptr);
    CHECK(st.argmax == am.argmax);
    CHECK(st.entropy == am.entropy);
    CheckSample(r, u, st.sample, tally);
  }
  // Sampling and probabilities in one call give the same sample and probabilities.
  Buffer probs2(n, offset);
  const RowStats both = SampleRow(raw.data(), n, r.inv_t, 0.61f, false, probs2.data());
  CHECK(both.sample == SampleRow(raw.data(), n, r.inv_t, 0.61f, false, nullptr).sample);
  CHECK(std::equal(probs.data(), probs.data() + n, probs2.data()));
}

TEST_CASE("SampleRow: realistic rows, all sizes and offsets, every target") {
  const size_t sizes[] = {1, 3, 15, 16, 17, 255, 256, 257, 4099, 262144, 262147};
  const float inv_ts[] = {1.0f / 0.8f, 1.0f / 0.6f, 1.0f / 0.4083333f};
  std::vector<RowRef> rows;
  for (size_t n : sizes) {
    for (int kind = 0; kind < 4; ++kind) {
      rows.push_back(MakeRef(RealisticRow(n, kind, static_cast<uint32_t>(n * 4 + kind)),
                             inv_ts[(n + kind) % 3]));
    }
  }
  std::map<std::string, double> worst;
  SampleTally tally;
  ForEachTarget([&](const std::string& target) {
    for (const RowRef& r : rows) {
      for (size_t offset : {size_t{0}, size_t{1}, size_t{3}}) {
        if (r.raw.size() > 4099 && offset == 1) continue;  // keep the run short
        INFO("n=" << r.raw.size() << " offset=" << offset << " H=" << r.stats.entropy);
        CheckRow(r, offset, &worst, target, &tally);
      }
    }
  });
  for (const auto& [target, rel] : worst) {
    std::printf("SampleRow %-8s worst relative entropy error %.2e\n", target.c_str(), rel);
  }
  std::printf("SampleRow samples: %d compared, %d with u*S clear of a boundary by > %g*S; "
              "%d differ from the reference, at most %.2e*S from a boundary\n",
              tally.compared, tally.clear, kSampleTol, tally.different, tally.worst_gap);
  CHECK(tally.clear > tally.compared / 2);
}

TEST_CASE("SampleRow: ties, all equal, one huge, -inf entries, large inv_t, edge u") {
  ForEachTarget([](const std::string&) {
    for (size_t n : {size_t{257}, size_t{4099}, size_t{262144}}) {
      INFO("n=" << n);
      // Ties: the lowest index wins; each tied entry is sampled from the middle of its interval.
      {
        auto raw = RandomNormal(n, 0.0, 1.0, 71);
        const size_t tied[] = {7, n / 3, n / 2 + 1, n - 1};
        for (size_t v : tied) raw[v] = 6.0f;
        const RowRef r = MakeRef(raw, 1.25f);
        CHECK(r.stats.argmax == 7);
        SampleTally tally;
        std::map<std::string, double> worst;
        CheckRow(r, 0, &worst, "", &tally);
        for (size_t v : tied) {
          const float u = static_cast<float>((r.cum[v] - 0.5) / r.s);
          CHECK(SampleRow(raw.data(), n, 1.25f, u, false, nullptr).sample ==
                static_cast<int32_t>(v));
        }
      }
      // Rising and falling ramps: the running maximum rises in every block (rescaling inside
      // every chunk), or never after the first.
      for (float slope : {2e-4f, -2e-4f}) {
        std::vector<float> raw(n);
        for (size_t v = 0; v < n; ++v) raw[v] = slope * static_cast<float>(v) - 3.0f;
        const RowRef r = MakeRef(raw, 1.6f);
        SampleTally tally;
        std::map<std::string, double> worst;
        CheckRow(r, 0, &worst, "", &tally);
        CHECK(tally.clear > 0);
      }
      // All equal: entropy log n, sample floor(u·n), probabilities 1/n.
      {
        std::vector<float> raw(n, 3.25f), probs(n);
        const RowStats st = SampleRow(raw.data(), n, 2.0f, 0.7f, false, probs.data());
        CHECK(st.argmax == 0);
        CHECK(st.entropy == doctest::Approx(std::log(static_cast<double>(n))).epsilon(1e-7));
        CHECK(st.sample == static_cast<int32_t>(std::floor(0.7f * static_cast<double>(n))));
        for (float u : {0.0f, 0.25f, 0.5f, 1.0f - 0x1p-24f}) {
          CHECK(SampleRow(raw.data(), n, 2.0f, u, false, nullptr).sample ==
                static_cast<int32_t>(std::floor(u * static_cast<double>(n))));
        }
        const std::vector<float> uniform(n, static_cast<float>(1.0 / n));
        CheckClose(probs.data(), uniform.data(), n, [n](size_t) { return 3e-7 / n; },
                   "uniform probs");
      }
      // One huge entry: a one-hot distribution, entropy exactly 0.
      {
        auto raw = RandomNormal(n, 0.0, 1.0, 72);
        raw[n / 5] = 1e4f;
        std::vector<float> probs(n);
        for (float u : {0.0f, 0.5f, 1.0f - 0x1p-24f}) {
          const RowStats st = SampleRow(raw.data(), n, 1.0f, u, false, probs.data());
          CHECK(st.argmax == static_cast<int32_t>(n / 5));
          CHECK(st.sample == st.argmax);
          CHECK(st.entropy == 0.0f);
        }
        std::vector<float> one_hot(n, 0.0f);
        one_hot[n / 5] = 1.0f;
        CheckClose(probs.data(), one_hot.data(), n, [](size_t) { return 0.0; }, "one-hot");
      }
      // −inf entries: never sampled, probability 0, statistics as the reference.
      {
        auto raw = RealisticRow(n, 0, 73);
        for (size_t v = 0; v < n; v += 2) raw[v] = kNegInf;
        raw[0] = kNegInf;
        const RowRef r = MakeRef(raw, 2.0f);
        SampleTally tally;
        std::map<std::string, double> worst;
        CheckRow(r, 1, &worst, "", &tally);
        std::vector<float> probs(n);
        SampleRow(raw.data(), n, 2.0f, 0.0f, false, probs.data());
        for (size_t v = 0; v < n; v += 2) CHECK(probs[v] == 0.0f);
        CHECK(SampleRow(raw.data(), n, 2.0f, 0.0f, false, nullptr).sample == 1);  // first e > 0
      }
      // Large inv_t: z spans ±3e31 (one-hot), or moderately large with near ties.
      {
        auto raw = RandomNormal(n, 0.0, 1.0, 74);
        const RowRef one_hot = MakeRef(raw, 1e30f);
        const RowStats st = SampleRow(raw.data(), n, 1e30f, 0.9f, false, nullptr);
        CHECK(st.argmax == one_hot.stats.argmax);
        CHECK(st.sample == st.argmax);
        CHECK(st.entropy == 0.0f);
        for (size_t v = 0; v < n; ++v) raw[v] = 0.01f * std::round(raw[v] * 10.0f);
        const RowRef r = MakeRef(raw, 50.0f);
        SampleTally tally;
        std::map<std::string, double> worst;
        CheckRow(r, 3, &worst, "", &tally);
        CHECK(tally.clear > 0);
      }
    }
    // Degenerate rows.
    std::vector<float> all_inf(33, kNegInf), probs(33);
    const RowStats st = SampleRow(all_inf.data(), 33, 1.0f, 0.5f, false, probs.data());
    CHECK(st.argmax == 0);
    CHECK(st.sample == 0);
    CHECK(std::isnan(st.entropy));
    CHECK(std::isnan(probs[5]));
    const RowStats empty = SampleRow(nullptr, 0, 1.0f, 0.5f, false, nullptr);
    CHECK(empty.argmax == -1);
    CHECK(empty.sample == -1);
    CHECK(std::isnan(empty.entropy));
    const float single = -7.0f;
    const RowStats one = SampleRow(&single, 1, 1.0f, 0.99f, false, nullptr);
    CHECK(one.argmax == 0);
    CHECK(one.sample == 0);
    CHECK(one.entropy == 0.0f);
    // NaN entries: results unspecified, but indices stay in range.
    auto raw = RandomNormal(1000, 0.0, 1.0, 75);
    for (size_t v = 3; v < 1000; v += 17) raw[v] = std::numeric_limits<float>::quiet_NaN();
    const RowStats nan_row = SampleRow(raw.data(), 1000, 1.0f, 0.5f, false, nullptr);
    CHECK(nan_row.argmax >= 0);
    CHECK(nan_row.argmax < 1000);
    CHECK(nan_row.sample >= 0);
    CHECK(nan_row.sample < 1000);
  });
}

TEST_CASE("SampleRow in place (probs_out == raw) equals the out-of-place call, every target") {
  // The decoder keeps one [canvas, vocab] buffer: the logits are replaced by their softmax.
  for (size_t n : {size_t{1}, size_t{7}, size_t{100}, size_t{4099}, size_t{70000}}) {
    for (int kind = 0; kind < 4; ++kind) {
      const std::vector<float> raw = RealisticRow(n, kind, static_cast<uint32_t>(n * 10 + kind));
      ForEachTarget([&](const std::string& target) {
        CAPTURE(target);
        CAPTURE(n);
        CAPTURE(kind);
        for (size_t offset : {size_t{0}, size_t{1}, size_t{3}}) {  // misaligned rows too
          std::vector<float> out(n), buf(n + offset);
          std::copy(raw.begin(), raw.end(), buf.begin() + static_cast<std::ptrdiff_t>(offset));
          float* row = buf.data() + offset;
          const auto a = dllm::kernels::SampleRow(raw.data(), n, 1.25f, 0.37f, false, out.data());
          const auto b = dllm::kernels::SampleRow(row, n, 1.25f, 0.37f, false, row);
          CHECK(a.argmax == b.argmax);
          CHECK(a.sample == b.sample);
          CHECK(a.entropy == b.entropy);
          CHECK(std::equal(out.begin(), out.end(), row));
        }
      });
    }
  }
}

TEST_CASE("ref::SampleRow and ref::Softmax equal an independent long double computation") {
  for (size_t n : {size_t{17}, size_t{4099}, size_t{262144}}) {
    for (int kind = 0; kind < 4; ++kind) {
      const auto raw = RealisticRow(n, kind, static_cast<uint32_t>(100 + n + kind));
      const float inv_t = 1.0f / 0.55f;
      INFO("n=" << n << " kind=" << kind);
      // Long double: π = softmax(z); the entropy both as the textbook −Σ π log π (checked
      // where long double resolves it: its log π_max ≈ −(S − 1) has an absolute error of
      // ~1e-19 · n) and as the documented log S − Σ π (z − m) with log S = log1p(S − 1) formed
      // from the non-maximal terms (checked always).
      std::vector<long double> z(n), pi(n);
      long double m = -INFINITY, s = 0, s_rest = 0, w = 0;
      for (size_t v = 0; v < n; ++v) m = std::max(m, z[v] = raw[v] * inv_t);
      for (size_t v = 0; v < n; ++v) {
        s += pi[v] = std::exp(z[v] - m);
        if (z[v] < m) s_rest += pi[v];
        w += pi[v] * (z[v] - m);
      }
      long double h = 0;
      for (size_t v = 0; v < n; ++v) {
        pi[v] /= s;
        if (pi[v] > 0) h -= pi[v] * std::log(pi[v]);
      }
      const long double h_doc = std::log1p(s_rest) - w / s;  // one maximum in these rows
      std::vector<float> probs(n);
      const RowStats st = ref::SampleRow(raw.data(), n, inv_t, 0.0f, true, probs.data());
      CHECK(std::fabs(st.entropy - h_doc) <= 1.2e-7L * h_doc);
      if (h > 1e-6L) CHECK(std::fabs(st.entropy - h) <= 1.2e-7L * h);
      size_t bad = 0;
      for (size_t v = 0; v < n; ++v) {
        bad += std::fabs(probs[v] - pi[v]) > 1.2e-7L * pi[v] + 1e-45L;
      }
      CHECK(bad == 0);
      std::vector<float> soft(raw.size());
      for (size_t v = 0; v < n; ++v) soft[v] = raw[v] * inv_t;
      ref::Softmax(soft.data(), n);
      CheckClose(soft.data(), probs.data(), n, [&](size_t v) { return 1.2e-7 * probs[v]; },
                 "ref::Softmax vs ref::SampleRow probabilities");
      // Sample: the middle of the interval of a few indices.
      long double cum = 0;
      for (size_t v = 0; v < n; ++v) {
        const long double lo = cum;
        cum += pi[v];
        if (v % 997 != 0 && static_cast<int32_t>(v) != st.argmax) continue;
        if (pi[v] < 1e-4L) continue;
        const float u = static_cast<float>(lo + pi[v] / 2);
        CHECK(ref::SampleRow(raw.data(), n, inv_t, u, false, nullptr).sample ==
              static_cast<int32_t>(v));
      }
    }
  }
}

TEST_CASE("EntropyBoundAccept: documented example and against the reference") {
  // Ranks by (H, position): p1 0.0, p3 0.02, p0 0.05 (tie with p4, lower index first), p4 0.05,
  // p2 0.3. Prefix sums before each rank: 0, 0, 0.02, 0.07, 0.12 → bound 0.1 accepts the
  // first four.
  const float h[] = {0.05f, 0.0f, 0.3f, 0.02f, 0.05f};
  uint8_t acc[5];
  EntropyBoundAccept(h, 5, 0.1, acc);
  const uint8_t want[] = {1, 1, 0, 1, 1};
  CHECK(std::equal(acc, acc + 5, want));
  EntropyBoundAccept(h, 5, 0.0, acc);  // only the zero-prefix ranks: p1 and p3
  const uint8_t want0[] = {0, 1, 0, 1, 0};
  CHECK(std::equal(acc, acc + 5, want0));
  EntropyBoundAccept(h, 5, -1.0, acc);  // the first rank is always accepted
  const uint8_t want_neg[] = {0, 1, 0, 0, 0};
  CHECK(std::equal(acc, acc + 5, want_neg));

  std::mt19937 rng(81);
  std::exponential_distribution<float> expo(30.0f);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<float> ent(n);
    for (auto& x : ent) x = expo(rng);
    for (size_t i = 0; i < n / 4; ++i) ent[rng() % n] = ent[rng() % n];  // duplicates
    if (trial % 7 == 0) ent[rng() % n] = 0.0f;
    if (trial % 11 == 0) ent[rng() % n] = std::numeric_limits<float>::quiet_NaN();
    if (trial % 13 == 0) ent[rng() % n] = -0.01f;  // not from SampleRow, still defined
    for (double bound : {0.0, 0.1, 1.0, 1e9}) {
      std::vector<uint8_t> got(n, 7), want(n, 7);
      EntropyBoundAccept(ent.data(), n, bound, got.data());
      ref::EntropyBoundAccept(ent.data(), n, bound, want.data());
      INFO("trial " << trial << " n=" << n << " bound=" << bound);
      CHECK(got == want);
    }
  }
}

}  // namespace
}  // namespace dllm::kernels
