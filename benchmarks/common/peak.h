// The machine's measured arithmetic peak, the yardstick of every dllm benchmark: the best
// throughput of a large oneDNN matmul (M = 256, K = N = 4096) on the given threads, per data
// type. Figures are GFLOP/s (multiply and add count as two).
#pragma once

namespace dllm::bench {

struct Peaks {
  double f32 = 0;
  double bf16 = 0;
  int threads = 0;
};

Peaks MeasurePeaks(int threads, int reps = 5);

// Seconds since an arbitrary epoch (steady clock).
double Now();

}  // namespace dllm::bench
