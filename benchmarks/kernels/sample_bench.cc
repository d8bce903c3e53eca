// SampleRow throughput on one thread: one denoising step's worth of rows (default 256 rows ×
// 262,144 logits), per Highway target, in the three ways the sampler calls it. The reference
// figure is the machine's measured single-thread streaming read bandwidth (Dot over two
// arrays larger than the caches), so "of bw" says how close a mode is to being memory-bound
// (GB/s counts the compulsory traffic: logits read once, probabilities written once). Then the
// per-element cost of the other hot element-wise kernels on a cache-resident row.
//
// Usage: sample_bench [rows] [vocab] [repeats]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace {

// Thread CPU time: the machines these run on are often shared, and CPU time does not count
// the time the thread waited for a core (it still includes cache and memory contention).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Soft-capped logits with a broad background and a few strong candidates per row.
std::vector<float> MakeLogits(size_t rows, size_t vocab) {
  std::vector<float> raw(rows * vocab);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(-2.0f, 3.0f);
  for (float& x : raw) x = 30.0f * std::tanh(normal(rng) / 30.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (int k = 0; k < 5; ++k) raw[r * vocab + rng() % vocab] = 12.0f + 2.0f * k;
  }
  return raw;
}

double StreamBandwidthGBs() {
  const size_t n = size_t{64} << 20;  // 2 × 256 MiB
  std::vector<float> a(n, 1.0f), b(n, 0.5f);
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = CpuSeconds();
    sink = sink + dllm::kernels::Dot(a.data(), b.data(), n);
    best = std::max(best, 2.0 * n * sizeof(float) / (CpuSeconds() - t0) / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  namespace k = dllm::kernels;
  const size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  const size_t vocab = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 262144;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::vector<float> raw = MakeLogits(rows, vocab);
  std::vector<float> probs(rows * vocab);
  const double bw = StreamBandwidthGBs();
  const double mib = rows * vocab * sizeof(float) / double(1 << 20);
  std::printf("SampleRow, 1 thread: %zu rows x %zu logits (%.0f MiB of logits per step); "
              "thread CPU time, best of %d\n", rows, vocab, mib, repeats);
  std::printf("measured streaming read bandwidth (Dot, %s): %.1f GB/s\n", k::ActiveTargetName(),
              bw);
  std::printf("%-8s %-26s %10s %10s %9s %9s\n", "target", "mode", "ms/step", "us/row",
              "GB/s", "of bw");
  struct Mode {
    const char* name;
    bool argmax_only;
    bool probs;
    double bytes_per_logit;  // compulsory traffic: logits read once (+ probs written)
  };
  const Mode modes[] = {{"argmax-only", true, false, 4},
                        {"sample", false, false, 4},
                        {"sample + probs (SC input)", false, true, 8}};
  volatile int32_t sink = 0;
  const std::vector<int64_t> targets = k::SupportedTargets();  // before any override
  for (int64_t target : targets) {
    const std::string name = k::TargetName(target);
    if (name == "SSSE3") continue;  // the same code as SSE4 without its few extra ops
    k::SetTargetForTest(target);
    for (const Mode& mode : modes) {
      double best = 1e30;
      for (int rep = 0; rep < repeats; ++rep) {
        std::mt19937_64 rng(99);
        const double t0 = CpuSeconds();
        for (size_t r = 0; r < rows; ++r) {
          const float u = static_cast<float>((rng() >> 40) * 0x1p-24);
          const k::RowStats st =
              k::SampleRow(raw.data() + r * vocab, vocab, 1.0f / 0.6f, u, mode.argmax_only,
                           mode.probs ? probs.data() + r * vocab : nullptr);
          sink = sink + st.sample;
        }
        best = std::min(best, CpuSeconds() - t0);
      }
      const double gbs = rows * vocab * mode.bytes_per_logit / best / 1e9;
      std::printf("%-8s %-26s %10.1f %10.1f %9.1f %8.0f%%\n", name.c_str(), mode.name,
                  best * 1e3, best * 1e6 / rows, gbs, 100.0 * gbs / bw);
    }
  }
  // Element-wise kernels on an L2-resident row (compute cost per element).
  const size_t m = 1 << 16;
  std::vector<float> x(raw.begin(), raw.begin() + m), g(raw.begin() + m, raw.begin() + 2 * m),
      y(m);
  std::printf("\nelement-wise kernels, %zu floats in cache, ns per element:\n", m);
  std::printf("%-8s %10s %10s %10s %10s\n", "target", "SoftCap", "GeluMul", "Softmax",
              "RmsNorm");
  for (int64_t target : targets) {
    const std::string name = k::TargetName(target);
    if (name == "SSSE3") continue;
    k::SetTargetForTest(target);
    auto time_ns = [&](auto&& fn) {
      double best = 1e30;
      for (int rep = 0; rep < 20; ++rep) {
        std::copy(raw.begin(), raw.begin() + m, x.begin());
        const double t0 = CpuSeconds();
        fn();
        best = std::min(best, CpuSeconds() - t0);
      }
      return best * 1e9 / m;
    };
    const double softcap = time_ns([&] { k::SoftCap(x.data(), m, 30.0f); });
    const double gelu = time_ns([&] { k::GeluTanhMul(x.data(), g.data(), y.data(), m); });
    const double softmax = time_ns([&] { k::Softmax(x.data(), m); });
    const double rms = time_ns([&] { k::RmsNorm(x.data(), g.data(), y.data(), m, 1e-6f); });
    std::printf("%-8s %10.3f %10.3f %10.3f %10.3f\n", name.c_str(), softcap, gelu, softmax, rms);
  }
  k::SetTargetForTest(0);
  return 0;
}
