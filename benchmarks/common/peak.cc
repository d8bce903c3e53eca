#include "peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "gemm/gemm.h"
#include "quant/quant.h"

namespace dllm::bench {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

double MatmulGflops(GgmlType type, int reps) {
  constexpr int64_t m = 256, k = 4096, n = 4096;
  std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
  std::vector<float> wf(static_cast<size_t>(n * k));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = static_cast<float>((i * 7919) % 1000) * 1e-4f;
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f;
  std::vector<uint8_t> w(quant::RowBytes(type, k) * static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    quant::QuantizeRow(type, wf.data() + r * k, w.data() + r * quant::RowBytes(type, k), k);
  }
  gemm::Context ctx;
  const gemm::WeightView view{type, w.data(), n, k};
  gemm::Linear(ctx, x.data(), m, k, view, y.data(), n);  // warm-up: primitive creation
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = Now();
    gemm::Linear(ctx, x.data(), m, k, view, y.data(), n);
    best = std::min(best, Now() - t0);
  }
  return 2.0 * m * k * n / best * 1e-9;
}

}  // namespace

Peaks MeasurePeaks(int threads, int reps) {
  omp_set_num_threads(threads);
  Peaks p;
  p.threads = threads;
  p.f32 = MatmulGflops(GgmlType::kF32, reps);
  p.bf16 = MatmulGflops(GgmlType::kBF16, reps);
  return p;
}

}  // namespace dllm::bench
