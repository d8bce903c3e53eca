// The element-wise / row kernels against their scalar references (kernels::ref), on every
// compiled and supported Highway target, many sizes and misaligned starts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
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
using test::TestSizes;

constexpr double kEps = 5.9604644775390625e-08;  // 2^-24, half a float ulp at 1
const size_t kOffsets[] = {0, 1, 3};

TEST_CASE("kernels: targets") {
  const auto& targets = test::Targets();
  std::printf("kernels_test: compiled and supported targets:");
  for (int64_t t : targets) std::printf(" %s", TargetName(t));
  std::printf(" (automatic choice: %s)\n", ActiveTargetName());
  REQUIRE(!targets.empty());
  // The portable fallback is always compiled and always supported: SCALAR, or EMU128 (the
  // portable 128-bit emulation Highway picks under clang).
  const std::string fallback = TargetName(targets.back());
  CHECK((fallback == "SCALAR" || fallback == "EMU128"));
  CHECK(std::string(ActiveTargetName()) == TargetName(targets.front()));
}

// Tolerance: ≤ 2e-5 relative. The f32 sum of squares has ≤ n/(4·lanes) terms per lane
// (≈ 1000 on SCALAR for n = 4099: random-walk error ≈ 2e-6, far below the bound).
TEST_CASE("kernels: RmsNorm with and without weight, in place and out of place") {
  ForEachTarget([](const std::string&) {
    for (size_t n : TestSizes()) {
      for (size_t off : kOffsets) {
        INFO("n=" << n << " offset=" << off);
        const auto xv = RandomNormal(n, 0.3, 2.0, 11 + static_cast<uint32_t>(n));
        const auto wv = RandomNormal(n, 1.0, 0.5, 12 + static_cast<uint32_t>(n));
        Buffer x(n, off), w(n, off + 1), y(n, off + 2);
        x.Assign(xv);
        w.Assign(wv);
        for (const float* wp : {static_cast<const float*>(w.data()),
                                static_cast<const float*>(nullptr)}) {
          std::vector<float> want(n);
          ref::RmsNorm(xv.data(), wp, want.data(), n, 1e-6f);
          auto tol = [&](size_t i) { return 2e-5 * std::fabs(want[i]) + 1e-30; };
          RmsNorm(x.data(), wp, y.data(), n, 1e-6f);
          CheckClose(y.data(), want.data(), n, tol, "RmsNorm");
          Buffer z(n, off);
          z.Assign(xv);
          RmsNorm(z.data(), wp, z.data(), n, 1e-6f);  // aliasing
          CheckClose(z.data(), want.data(), n, tol, "RmsNorm in place");
        }
      }
    }
    // All zeros: eps keeps it finite, the result is 0.
    std::vector<float> zeros(37, 0.0f), out(37, 1.0f);
    RmsNorm(zeros.data(), nullptr, out.data(), 37, 1e-6f);
    for (float v : out) CHECK(v == 0.0f);
  });
}

TEST_CASE("kernels: RmsNormRows (per-head norm, stride > n leaves the gaps alone)") {
  ForEachTarget([](const std::string&) {
    for (size_t n : {size_t{17}, size_t{256}, size_t{512}}) {
      for (size_t stride : {n, n + 5}) {
        const size_t rows = 16;
        const auto xv = RandomNormal(rows * stride, 0.0, 3.0, 21);
        const auto wv = RandomNormal(n, 1.0, 0.3, 22);
        std::vector<float> got = xv, want = xv;
        RmsNormRows(got.data(), rows, n, stride, wv.data(), 1e-6f);
        ref::RmsNormRows(want.data(), rows, n, stride, wv.data(), 1e-6f);
        INFO("n=" << n << " stride=" << stride);
        CheckClose(got.data(), want.data(), got.size(),
                   [&](size_t i) { return 2e-5 * std::fabs(want[i]) + 1e-30; }, "RmsNormRows");
        for (size_t r = 0; r < rows; ++r) {
          for (size_t i = n; i < stride; ++i) CHECK(got[r * stride + i] == xv[r * stride + i]);
        }
      }
    }
  });
}

TEST_CASE("kernels: RopeTable against a long double computation, divisors, identity") {
  for (size_t hd : {size_t{256}, size_t{512}}) {
    const float theta = hd == 256 ? 10000.0f : 1e6f;
    std::vector<float> div(hd / 2, 1.0f);
    for (size_t j = 64; j < hd / 2; ++j) div[j] = 1e30f;  // the global layers' rope_freqs
    for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{123457}}) {
      std::vector<float> c(hd / 2), s(hd / 2), rc(hd / 2), rs(hd / 2);
      const float* divisors = hd == 512 ? div.data() : nullptr;
      RopeTable(pos, hd, theta, divisors, c.data(), s.data());
      ref::RopeTable(pos, hd, theta, divisors, rc.data(), rs.data());
      for (size_t j = 0; j < hd / 2; ++j) {
        INFO("hd=" << hd << " pos=" << pos << " j=" << j);
        CHECK(c[j] == rc[j]);
        CHECK(s[j] == rs[j]);
        if (divisors && j >= 64) {  // identity, exactly
          CHECK(c[j] == 1.0f);
          CHECK(s[j] == 0.0f);
          continue;
        }
        const long double omega =
            std::pow(static_cast<long double>(theta), -2.0L * j / static_cast<long double>(hd));
        const long double phi = pos * omega;
        CHECK(std::fabs(c[j] - static_cast<double>(std::cos(phi))) <= 1e-7);
        CHECK(std::fabs(s[j] - static_cast<double>(std::sin(phi))) <= 1e-7);
      }
    }
  }
}

// Tolerance: 3e-7·(|a| + |b|) per output, i.e. a few ulps of the inputs' magnitude (the
// rotation may cancel).
TEST_CASE("kernels: RopeNeox") {
  ForEachTarget([](const std::string&) {
    for (size_t hd : {size_t{2}, size_t{6}, size_t{30}, size_t{32}, size_t{34}, size_t{64},
                      size_t{256}, size_t{512}, size_t{514}}) {
      for (size_t heads : {size_t{1}, size_t{3}, size_t{16}}) {
        for (size_t off : kOffsets) {
          const auto xv = RandomNormal(hd * heads, 0.0, 1.0, static_cast<uint32_t>(hd + heads));
          std::vector<float> c(hd / 2), s(hd / 2);
          RopeTable(4242, hd, 10000.0f, nullptr, c.data(), s.data());
          Buffer x(hd * heads, off);
          x.Assign(xv);
          std::vector<float> want = xv;
          RopeNeox(x.data(), hd, heads, c.data(), s.data());
          ref::RopeNeox(want.data(), hd, heads, c.data(), s.data());
          const size_t half = hd / 2;
          auto tol = [&](size_t i) {
            const size_t base = i / hd * hd, j = (i - base) % half;
            return 3e-7 * (std::fabs(xv[base + j]) + std::fabs(xv[base + j + half]));
          };
          INFO("hd=" << hd << " heads=" << heads << " offset=" << off);
          CheckClose(x.data(), want.data(), want.size(), tol, "RopeNeox");
        }
      }
    }
    // An identity table leaves x bit-identical.
    std::vector<float> c(64, 1.0f), s(64, 0.0f);
    auto xv = RandomNormal(128 * 4, 0.0, 1.0, 5);
    auto x = xv;
    RopeNeox(x.data(), 128, 4, c.data(), s.data());
    CHECK(x == xv);
  });
}

// Tolerance: 4e-7·(4 + |2a|) relative, a = √(2/π)(g + 0.044715g³): the kernel evaluates
// exp(−2a), whose f32 argument carries a rounding error proportional to |2a|; plus 1e-13·|g·u|
// absolute for the reference's own loss in 1 + tanh(a) at very negative g.
TEST_CASE("kernels: GeluTanhMul") {
  ForEachTarget([](const std::string&) {
    for (size_t n : TestSizes()) {
      for (size_t off : kOffsets) {
        auto gv = RandomNormal(n, 0.0, 4.0, 31 + static_cast<uint32_t>(n));
        const auto uv = RandomNormal(n, 0.0, 2.0, 32 + static_cast<uint32_t>(n));
        const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-3f, -12.0f, -30.0f,
                                  -60.0f, 100.0f, 3e4f, -3e4f, 7.5f, -7.5f};
        for (size_t i = 0; i < n && i < sizeof(specials) / sizeof(float); ++i) {
          gv[(i * 7) % n] = specials[i];
        }
        Buffer g(n, off), u(n, off + 2), y(n, off + 1);
        g.Assign(gv);
        u.Assign(uv);
        std::vector<float> want(n);
        ref::GeluTanhMul(gv.data(), uv.data(), want.data(), n);
        GeluTanhMul(g.data(), u.data(), y.data(), n);
        auto tol = [&](size_t i) {
          const double x = gv[i];
          const double a2 = 2 * 0.7978845608 * (x + 0.044715 * x * x * x);
          return 4e-7 * (4 + std::fabs(a2)) * std::fabs(want[i]) +
                 1e-13 * std::fabs(x * uv[i]) + 1e-38;
        };
        INFO("n=" << n << " offset=" << off);
        CheckClose(y.data(), want.data(), n, tol, "GeluTanhMul");
        GeluTanhMul(g.data(), u.data(), g.data(), n);  // y aliases g
        CheckClose(g.data(), want.data(), n, tol, "GeluTanhMul aliased");
      }
    }
  });
}

// Tolerance: 1e-6 relative (Highway's Tanh is ≤ 4 ulp, plus the division and the product).
TEST_CASE("kernels: SoftCap") {
  ForEachTarget([](const std::string&) {
    for (size_t n : TestSizes()) {
      for (size_t off : kOffsets) {
        auto xv = RandomNormal(n, 0.0, 40.0, 41 + static_cast<uint32_t>(n));
        const float specials[] = {0.0f, 1e-20f, -1e-6f, 1000.0f, -1000.0f, 3e38f, 29.99f};
        for (size_t i = 0; i < n && i < sizeof(specials) / sizeof(float); ++i) {
          xv[(i * 5) % n] = specials[i];
        }
        Buffer x(n, off);
        x.Assign(xv);
        std::vector<float> want = xv;
        ref::SoftCap(want.data(), n, 30.0f);
        SoftCap(x.data(), n, 30.0f);
        INFO("n=" << n << " offset=" << off);
        CheckClose(x.data(), want.data(), n,
                   [&](size_t i) { return 1e-6 * std::fabs(want[i]) + 1e-38; }, "SoftCap");
      }
    }
  });
}

// Tolerance per element: (1e-6 + 1.2e-7·|x − m|) relative: exp is ≤ 1 ulp of the f32
// difference x − m, whose own rounding (≤ 2^-24 relative) scales with |x − m|.
TEST_CASE("kernels: Softmax, including -inf entries and degenerate rows") {
  ForEachTarget([](const std::string&) {
    for (size_t n : TestSizes()) {
      for (size_t off : kOffsets) {
        auto xv = RandomNormal(n, 1.0, 4.0, 51 + static_cast<uint32_t>(n));
        if (n > 3) xv[n / 3] = xv[n - 1] = -std::numeric_limits<float>::infinity();
        float m = -std::numeric_limits<float>::infinity();
        for (float v : xv) m = std::max(m, v);
        Buffer x(n, off);
        x.Assign(xv);
        std::vector<float> want = xv;
        ref::Softmax(want.data(), n);
        Softmax(x.data(), n);
        INFO("n=" << n << " offset=" << off);
        CheckClose(x.data(), want.data(), n, [&](size_t i) {
          if (want[i] == 0.0f) return 0.0;
          return (1e-6 + 1.2e-7 * std::fabs(static_cast<double>(xv[i]) - m)) * want[i] + 1e-38;
        }, "Softmax");
        if (n > 3) CHECK(x[n / 3] == 0.0f);
      }
    }
    std::vector<float> all_inf(19, -std::numeric_limits<float>::infinity());
    Softmax(all_inf.data(), all_inf.size());
    for (float v : all_inf) CHECK(v == 0.0f);
    float one = -3.0f;
    Softmax(&one, 1);
    CHECK(one == 1.0f);
    std::vector<float> equal(33, 2.5f);
    Softmax(equal.data(), equal.size());
    for (float v : equal) CHECK(v == doctest::Approx(1.0 / 33).epsilon(1e-6));
  });
}

TEST_CASE("kernels: AddScaled, Scale, Dot") {
  ForEachTarget([](const std::string&) {
    for (size_t n : TestSizes()) {
      for (size_t off : kOffsets) {
        INFO("n=" << n << " offset=" << off);
        const auto xv = RandomNormal(n, 0.5, 3.0, 61 + static_cast<uint32_t>(n));
        const auto yv = RandomNormal(n, -0.5, 3.0, 62 + static_cast<uint32_t>(n));
        Buffer x(n, off), y(n, off + 1);
        x.Assign(xv);
        y.Assign(yv);
        // AddScaled: one rounding (FMA) or two (no FMA): 2^-23 of |y| + |a·x|.
        std::vector<float> want = yv;
        ref::AddScaled(want.data(), xv.data(), -0.37f, n);
        AddScaled(y.data(), x.data(), -0.37f, n);
        CheckClose(y.data(), want.data(), n, [&](size_t i) {
          return 2 * kEps * (std::fabs(yv[i]) + std::fabs(0.37 * xv[i]));
        }, "AddScaled");
        // y += a·y with the same array.
        y.Assign(yv);
        want = yv;
        ref::AddScaled(want.data(), yv.data(), 2.0f, n);
        AddScaled(y.data(), y.data(), 2.0f, n);
        CheckClose(y.data(), want.data(), n, [&](size_t i) { return 0.0; }, "AddScaled alias");
        // Scale: exactly the f32 product.
        want = xv;
        ref::Scale(want.data(), 1.7f, n);
        Scale(x.data(), 1.7f, n);
        CheckClose(x.data(), want.data(), n, [](size_t) { return 0.0; }, "Scale");
        // Dot: f32 accumulation over ≤ n/lanes terms per lane; bound 8·2^-24·√n·Σ|a·b|.
        x.Assign(xv);
        y.Assign(yv);
        double abs_sum = 0.0;
        for (size_t i = 0; i < n; ++i) abs_sum += std::fabs(static_cast<double>(xv[i]) * yv[i]);
        const float got = Dot(x.data(), y.data(), n);
        const float exp = ref::Dot(xv.data(), yv.data(), n);
        CHECK(std::fabs(static_cast<double>(got) - exp) <=
              8 * kEps * std::sqrt(static_cast<double>(n)) * abs_sum + 1e-30);
      }
    }
    CHECK(Dot(nullptr, nullptr, 0) == 0.0f);
  });
}

}  // namespace
}  // namespace dllm::kernels
