// The machine's measured arithmetic peak, the yardstick of every dllm benchmark: per data type,
// the best throughput of large oneDNN matmuls (prepacked weights, fixed M) on the given threads,
// over a few shapes (M = 256..1024, K = 4096, N = 4096..16384; a single 4096² shape understates
// AMX machines). Figures are GFLOP/s (one multiply-add counts as two operations).
//   f32   f32 × f32 → f32
//   bf16  bf16 × bf16 → f32
//   int8  u8 × s8 → s32
// oneDNN uses the best ISA it may (AMX for bf16/int8 where present). For a VNNI- or AVX2-class
// yardstick call LimitOnednnIsa() first, in a process that has not run any oneDNN primitive yet
// (gemm_bench does this in a child process).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace dllm::bench {

struct Peaks {
  double f32 = 0;
  double bf16 = 0;
  double int8 = 0;
  int threads = 0;
  std::string f32_shape, bf16_shape, int8_shape;  // "MxKxN" of the best run
  std::string isa;                                // oneDNN's effective max ISA, e.g. "avx512_core_amx"
};

// The arithmetic a peak is measured for.
enum class PeakKind { kF32, kBf16, kInt8 };

// One of MeasurePeaks' matmuls (kind, shape "MxKxN" as in Peaks, e.g. Peaks::int8_shape), created
// once and rerun on demand: a yardstick measured next to each measurement it judges. The host
// this project is benchmarked on is shared, and its speed drifts by up to 2x over seconds to
// minutes, so a fraction of a peak measured minutes earlier says as much about the host as about
// the code; a fraction of a probe run right before and after the measured work does not.
class PeakProbe {
 public:
  // An unknown shape falls back to 256x4096x4096. Not valid() when oneDNN has no matmul for the
  // kind (bf16 on an AVX2-limited run).
  PeakProbe(PeakKind kind, const std::string& shape, int threads);
  ~PeakProbe();
  PeakProbe(PeakProbe&&) noexcept;
  PeakProbe& operator=(PeakProbe&&) noexcept;

  bool valid() const { return impl_ != nullptr; }
  // GFLOP/s of the best of `reps` runs on the probe's threads (sets omp_set_num_threads); 0 when
  // not valid().
  double Gflops(int reps = 1);
  // Bytes of its operands (resident from construction on); 0 when not valid().
  double Bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The shapes MeasurePeaks tries, as "MxKxN".
std::vector<std::string> PeakShapes();

// Runs the matmuls on `threads` OpenMP threads (sets omp_set_num_threads); best of `reps`.
// Applies DLLM_CPU first (gemm/cpu.h), so a limited run is judged against the limited peak.
// Prints nothing. Takes a few seconds.
Peaks MeasurePeaks(int threads, int reps = 5);

// dnnl::set_max_cpu_isa(isa) for isa "avx512_core_vnni" (no AMX, no AVX512-FP16/BF16 kernels
// beyond VNNI), "avx2_vnni" (what an AVX2 client CPU with AVX-VNNI has) or "avx2". Only possible
// before the process's first oneDNN primitive; returns false for another name or when oneDNN
// refused.
bool LimitOnednnIsa(const std::string& isa);

// GOP/s of the int8 path's micro-kernel alone (gemm::q8::TimeKernel: the kernel Linear
// dispatches to now, on cache-resident operands) for weights of `type`, on `threads` OpenMP
// threads at once; best of `reps`. 0 for a type the int8 path does not take.
double Int8KernelGops(int threads, GgmlType type, int reps = 3);

// Seconds since an arbitrary epoch (steady clock).
double Now();

}  // namespace dllm::bench
