// Helpers shared by the kernel tests: run a check on every compiled and supported Highway
// target, misaligned buffers, and element-wise comparisons with a stated tolerance.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace dllm::kernels::test {

// The targets compiled into dllm_kernels that this CPU supports (queried with no override).
inline const std::vector<int64_t>& Targets() {
  static const std::vector<int64_t> targets = [] {
    SetTargetForTest(0);
    return SupportedTargets();
  }();
  return targets;
}

// How many checks ran per target; printed when the test program exits.
inline std::map<std::string, int>& TargetRuns() {
  static std::map<std::string, int>* runs = [] {
    auto* m = new std::map<std::string, int>();
    std::atexit([] {
      std::printf("kernels_test: per-target test runs:");
      for (const auto& [name, count] : TargetRuns()) std::printf(" %s=%d", name.c_str(), count);
      std::printf("\n");
    });
    return m;
  }();
  return *runs;
}

// Calls fn(target_name) once per target with every dispatch forced to that target, and checks
// that dispatch really went there.
inline void ForEachTarget(const std::function<void(const std::string&)>& fn) {
  for (int64_t target : Targets()) {
    const std::string name = TargetName(target);
    SetTargetForTest(target);
    INFO("target " << name);
    REQUIRE(std::string(ActiveTargetName()) == name);
    fn(name);
    ++TargetRuns()[name];
  }
  SetTargetForTest(0);
}

// A float array whose first element sits `offset` floats after a 64-byte boundary.
class Buffer {
 public:
  Buffer(size_t n, size_t offset) : storage_(n + offset + 16), offset_(offset + Pad()), n_(n) {}
  float* data() { return storage_.data() + offset_; }
  const float* data() const { return storage_.data() + offset_; }
  size_t size() const { return n_; }
  float& operator[](size_t i) { return data()[i]; }
  const float& operator[](size_t i) const { return data()[i]; }
  void Assign(const std::vector<float>& v) {
    for (size_t i = 0; i < n_; ++i) data()[i] = v[i];
  }
  std::vector<float> ToVector() const { return std::vector<float>(data(), data() + n_); }

 private:
  size_t Pad() const {
    const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    return ((64 - addr % 64) % 64) / sizeof(float);
  }
  std::vector<float> storage_;
  size_t offset_;
  size_t n_;
};

// Checks |got[i] − want[i]| ≤ tol(i) for all i (NaN equals NaN, ±inf must match exactly);
// reports the count and the first few failures in one assertion.
inline void CheckClose(const float* got, const float* want, size_t n,
                       const std::function<double(size_t)>& tol, const char* what) {
  size_t bad = 0;
  std::string first;
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i];
    bool ok;
    if (std::isnan(w) || std::isnan(g)) {
      ok = std::isnan(w) && std::isnan(g);
    } else if (std::isinf(w) || std::isinf(g)) {
      ok = g == w;
    } else {
      const double err = std::fabs(g - w), t = tol(i);
      ok = err <= t;
      if (t > 0) worst = std::max(worst, err / t);
    }
    if (!ok && bad++ < 4) {
      char line[160];
      std::snprintf(line, sizeof(line), " [%zu] got %.9g want %.9g;", i, g, w);
      first += line;
    }
  }
  INFO(what << ": n=" << n << " failures=" << bad << first);
  CHECK(bad == 0);
}

inline std::vector<float> RandomNormal(size_t n, double mean, double stddev, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(dist(rng));
  return v;
}

inline const std::vector<size_t>& TestSizes() {
  static const std::vector<size_t> sizes = {1, 3, 15, 16, 17, 255, 256, 257, 4099};
  return sizes;
}

}  // namespace dllm::kernels::test
