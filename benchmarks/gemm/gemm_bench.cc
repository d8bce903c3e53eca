// gemm_bench: how close dllm's matmuls come to the machine's arithmetic peak.
//
// Peak, measured two ways on the threads given:
//   - instruction peak (benchmarks/common/cores.h): register-only loops of independent FMAs /
//     dot products (AVX-512 f32, AVX-512 BF16, AVX512-VNNI int8, AVX-VNNI int8 on 256 bits, AMX
//     bf16 and int8; AVX2 FMA where AVX-512 is absent) - what the cores issue at the clock they
//     actually run at;
//   - oneDNN peak (benchmarks/common/peak.h, the yardstick shared by every dllm benchmark): the
//     best large oneDNN matmul per type (f32, bf16, u8×s8 int8) with oneDNN's best ISA (AMX
//     here), and again in a child process with oneDNN limited to AVX512_CORE_VNNI, the peak a
//     VNNI kernel can be judged against (with --int8-target AVX2 or AVX2+VNNI: limited to AVX2
//     or AVX2_VNNI, what an AVX2 client CPU has).
// Next the int8 path's ceilings: its dispatched micro-kernel alone on cache-resident operands
// (q8::TimeKernel) per selected weight type, against both int8 peaks (on AMX also the tile loops).
// Then Linear / LinearT / Sgemm at the DiffusionGemma shapes, best of --reps runs, as GFLOP/s and
// as a fraction of the peaks. Quantized weights: the int8 path against both int8 peaks, and the
// f32 dequantized-tile path against the f32 peak. --int8-target runs the int8 path on one of its
// kernels (AVX2, AVX2+VNNI, AVX3, AVX3_DL, AVX3_DL+AMX: what a CPU of that class runs).
//
// Usage: gemm_bench [--threads N] [--reps R] [--no-head] [--head-n N] [--types Q8_0,Q4_K,...]
//                   [--no-float] [--ms 256,16] [--no-tiles] [--experts-only]
//                   [--int8-target NAME] [--peaks-only [--isa ISA]] [--skip-peaks]
//        gemm_bench --amx-vs-vnni PAIRS [--threads N] [--types Q8_0,Q4_K] [--ms 10,16,256]:
//                   the AMX and VNNI int8 kernels on the same calls, alternating (see AmxVsVnni)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/amx.h"
#include "gemm/avx_vnni.h"
#include "gemm/gemm.h"
#include "gemm/qdecode.h"
#include "gemm/qgemm.h"
#include "cores.h"
#include "peak.h"
#include "quant/fp16.h"

namespace {

using dllm::GgmlType;
using dllm::gemm::Context;
using dllm::gemm::Options;
using dllm::gemm::WeightView;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Best wall time of `reps` runs after one warm-up run (primitive creation, page faults).
template <class F>
double BestSeconds(int reps, F&& run) {
  run();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = Now();
    run();
    best = std::min(best, Now() - t0);
  }
  return best;
}

// The middle value of a series of ratios (the upper of the two middle ones for an even
// count); 0 for none.
double MiddleValue(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// g as a percentage of peak in `width` characters plus the sign, or "-" where there is no peak
// to judge against (--skip-peaks, or a type this CPU has no peak for, such as bf16 without
// AVX512-BF16).
std::string Percent(double g, double peak, int width, int precision) {
  char buf[32];
  if (peak > 0) {
    std::snprintf(buf, sizeof buf, "%*.*f%%", width, precision, 100.0 * g / peak);
  } else {
    std::snprintf(buf, sizeof buf, "%*s-", width, "");
  }
  return buf;
}

struct Peak {
  double f32_instr = 0, bf16_instr = 0, vnni_instr = 0, avx_vnni_instr = 0, amx_instr = 0;
  double amx_int8_k64 = 0, amx_int8_k32 = 0;  // AMX int8 instruction loops (GOP/s, best)
  double amx_k32_ratio = 0;  // K = 32 over K = 64, median of neighbouring runs
  dllm::bench::Peaks best;  // oneDNN, best ISA (AMX here)
  dllm::bench::Peaks limited;  // oneDNN limited to the int8 target's ISA class (0: none)
};

void PrintPeaks(const char* label, const dllm::bench::Peaks& p) {
  std::printf("  oneDNN peak %-22s f32 %7.1f (%s)  bf16 %7.1f (%s)  int8 %7.1f (%s) GFLOP/s "
              "[isa %s]\n",
              label, p.f32, p.f32_shape.c_str(), p.bf16, p.bf16_shape.c_str(), p.int8,
              p.int8_shape.c_str(), p.isa.c_str());
}

// The oneDNN peaks limited to `isa` from a child process (set_max_cpu_isa works only before the
// first primitive, and this process has created some).
dllm::bench::Peaks LimitedPeaksFromChild(const char* self, const std::string& isa, int threads,
                                         int reps) {
  dllm::bench::Peaks p;
  const std::string cmd = std::string(self) + " --peaks-only --isa " + isa + " --threads " +
                          std::to_string(threads) + " --reps " + std::to_string(reps);
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return p;
  char line[512];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    char a[64] = {}, b[64] = {}, c[64] = {}, isa[64] = {};
    if (std::sscanf(line, "PEAKS %lf %63s %lf %63s %lf %63s %63s", &p.f32, a, &p.bf16, b, &p.int8,
                    c, isa) == 7) {
      p.f32_shape = a;
      p.bf16_shape = b;
      p.int8_shape = c;
      p.isa = isa;
    }
  }
  pclose(f);
  p.threads = threads;
  return p;
}

Peak MeasurePeak(const char* self, const std::string& limited_isa, int threads, int reps) {
  Peak p;
  using dllm::bench::CoreLoop;
  auto loop = [&](CoreLoop l) { return dllm::bench::CoreLoopGops(l, threads, reps); };
  p.f32_instr = dllm::bench::CoreLoopSupported(CoreLoop::kFma512) ? loop(CoreLoop::kFma512)
                                                                  : loop(CoreLoop::kFma256);
  p.bf16_instr = loop(CoreLoop::kBf16Dot512);
  p.vnni_instr = loop(CoreLoop::kVnni512);
  p.avx_vnni_instr = loop(CoreLoop::kAvxVnni256);
  p.amx_instr = loop(CoreLoop::kAmxBf16);
  // K = 64 and K = 32 alternate, one run each at a time: the host's AMX rate per thread halves
  // or doubles within seconds, so their ratio is the median of the neighbouring runs' ratios.
  std::vector<double> k32_ratios;
  for (int r = 0; r < std::max(reps, 5); ++r) {
    const double k64 = dllm::bench::CoreLoopGops(CoreLoop::kAmxInt8, threads, 1);
    const double k32 = dllm::bench::CoreLoopGops(CoreLoop::kAmxInt8K32, threads, 1);
    p.amx_int8_k64 = std::max(p.amx_int8_k64, k64);
    p.amx_int8_k32 = std::max(p.amx_int8_k32, k32);
    if (k64 > 0) k32_ratios.push_back(k32 / k64);
  }
  p.amx_k32_ratio = MiddleValue(k32_ratios);
  p.limited = LimitedPeaksFromChild(self, limited_isa, threads, reps);
  p.best = dllm::bench::MeasurePeaks(threads, reps);
  return p;
}

// GOP/s of the int8 path's AMX kernel alone (q8::TimeAmxKernel) on every thread at once.
double AmxKernelGops(int reps, bool offsets) {
  constexpr int64_t kIters = 20000;
  constexpr double kOpsPerCall = 2.0 * 256 * 32 * 256;
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    double slowest = 0;
    int threads = 1;
#pragma omp parallel reduction(max : slowest)
    {
      slowest = dllm::gemm::q8::TimeAmxKernel(offsets, kIters);
#pragma omp single
      threads = omp_get_num_threads();
    }
    if (slowest > 0) best = std::max(best, threads * kIters * kOpsPerCall / slowest * 1e-9);
  }
  return best;
}

// What bounds the int8 path on AMX: the tile unit's rate at K = 64 and at K = 32 (one
// 32-value group per tile matmul), and the AMX kernel alone on cache-resident operands (each
// group's 16×16 products stored and scaled with AVX-512), against the int8 peak.
void PrintAmxInt8Ceiling(const Peak& p, int reps) {
  std::printf("  AMX int8 loops (best runs): K=64 %7.1f GOP/s, K=32 (one 32-value group per tile "
              "matmul) %7.1f GOP/s; K=32 runs at %.0f%% of the K=64 rate (median of alternating "
              "runs)\n",
              p.amx_int8_k64, p.amx_int8_k32, 100.0 * p.amx_k32_ratio);
  const double plain = AmxKernelGops(reps, false), offsets = AmxKernelGops(reps, true);
  if (plain > 0) {
    std::printf("  int8 path's AMX kernel alone (M=256 call, operands in cache, no unpacking / "
                "quantizing / output rows):\n"
                "    groups without offsets (Q8_0, Q4_0, Q5_0) %7.1f GOP/s = %s of the int8 "
                "peak;  with offsets (Q4_1, Q5_1, Q4_K, Q5_K) %7.1f = %s\n",
                plain, Percent(plain, p.best.int8, 4, 1).c_str(), offsets,
                Percent(offsets, p.best.int8, 4, 1).c_str());
  }
}

// ---- Linear at model shapes ------------------------------------------------------------------

// Weight storage in the three types dllm computes with directly or by tiles.
struct Weights {
  std::vector<float> f32;
  std::vector<uint16_t> bf16, f16;
  Weights(int64_t n, int64_t k, bool with_f16) {
    const size_t count = static_cast<size_t>(n * k);
    f32.resize(count);
    bf16.resize(count);
    if (with_f16) f16.resize(count);
    uint32_t state = 12345;
    for (size_t i = 0; i < count; ++i) {
      state = state * 1664525u + 1013904223u;
      const float v = static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
      f32[i] = v;
      uint32_t u;
      std::memcpy(&u, &v, 4);
      bf16[i] = static_cast<uint16_t>(u >> 16);
      if (with_f16) f16[i] = static_cast<uint16_t>(0x3800 | (state >> 22));  // in [0.5, 1)
    }
  }
};

struct Shape {
  const char* name;
  int64_t k, n;
};

double Gflops(int64_t m, int64_t n, int64_t k, double seconds) {
  return 2.0 * m * n * k / seconds * 1e-9;
}

void PrintCell(double g, double peak) {
  std::printf(" %7.1f %s", g, Percent(g, peak, 4, 0).c_str());
}

// One table row: Linear at (m, shape) through the given contexts.
void LinearRow(int reps, int64_t m, const Shape& s, const Peak& p, Context& dflt, Context& alt,
               bool with_f16) {
  Weights w(s.n, s.k, with_f16);
  std::vector<float> x(static_cast<size_t>(m * s.k), 0.5f), y(static_cast<size_t>(m * s.n));
  auto time = [&](Context& ctx, GgmlType type, const void* data) {
    const WeightView view{type, data, s.n, s.k};
    return Gflops(m, s.n, s.k, BestSeconds(reps, [&] {
                    dllm::gemm::Linear(ctx, x.data(), m, s.k, view, y.data(), s.n);
                  }));
  };
  std::printf("  %-18s M=%-4lld K=%-5lld N=%-6lld", s.name, static_cast<long long>(m),
              static_cast<long long>(s.k), static_cast<long long>(s.n));
  PrintCell(time(dflt, GgmlType::kF32, w.f32.data()), p.best.f32);
  PrintCell(time(alt, GgmlType::kF32, w.f32.data()), p.best.f32);
  PrintCell(time(dflt, GgmlType::kBF16, w.bf16.data()), p.best.bf16);
  PrintCell(time(alt, GgmlType::kBF16, w.bf16.data()), p.best.bf16);
  if (with_f16) PrintCell(time(dflt, GgmlType::kF16, w.f16.data()), p.best.f32);
  std::printf("\n");
  std::fflush(stdout);
}

void LinearHeader() {
  std::printf("  %-18s %-25s %13s %13s %13s %13s %13s\n", "", "", "f32 default", "f32 alt",
              "bf16 default", "bf16 alt", "f16 tiles");
}


// ---- Quantized weights -----------------------------------------------------------------------

struct QType {
  GgmlType type;
  const char* name;
  int block_values, block_bytes;
  std::vector<int> f16_fields;  // byte offsets of fp16 scale/min fields in a block
};
const QType kQTypes[] = {
    {GgmlType::kQ8_0, "Q8_0", 32, 34, {0}},          {GgmlType::kQ4_0, "Q4_0", 32, 18, {0}},
    {GgmlType::kQ4_1, "Q4_1", 32, 20, {0, 2}},       {GgmlType::kQ5_0, "Q5_0", 32, 22, {0}},
    {GgmlType::kQ5_1, "Q5_1", 32, 24, {0, 2}},       {GgmlType::kQ2_K, "Q2_K", 256, 84, {80, 82}},
    {GgmlType::kQ3_K, "Q3_K", 256, 110, {108}},      {GgmlType::kQ4_K, "Q4_K", 256, 144, {0, 2}},
    {GgmlType::kQ5_K, "Q5_K", 256, 176, {0, 2}},     {GgmlType::kQ6_K, "Q6_K", 256, 210, {208}}};

// n rows of k values: random quant bits, small finite fp16 scales (speed does not depend on the
// values, and quantizing 700M values with the K-quant searches would take minutes).
std::vector<uint8_t> RandomBlocks(const QType& t, int64_t n, int64_t k) {
  std::vector<uint8_t> w(static_cast<size_t>(n * k / t.block_values * t.block_bytes));
  uint64_t state = 88172645463325252ull;
  for (size_t i = 0; i < w.size(); i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(&w[i], &state, std::min<size_t>(8, w.size() - i));
  }
  const uint16_t h = dllm::quant::F32ToF16(0.01f);
  for (size_t at = 0; at < w.size(); at += t.block_bytes) {
    for (int o : t.f16_fields) std::memcpy(&w[at + o], &h, 2);
  }
  return w;
}

// Whether --types (a comma-separated list, or "all") names the type.
bool TypeSelected(const std::string& types, const char* name) {
  return types == "all" ||
         ("," + types + ",").find(std::string(",") + name + ",") != std::string::npos;
}

// `count` activation values in [-1, 1], the same for every run.
std::vector<float> TestActivations(int64_t count) {
  std::vector<float> x(static_cast<size_t>(count));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((i * 2654435761u) % 2001) * 1e-3f - 1.0f;
  }
  return x;
}

// Columns: the int8 path against the best-ISA int8 peak, against that peak's matmul rerun right
// before each run (the median of the runs' ratios; the host's speed drifts) and against the
// limited ISA's peak (label).
void QuantHeader(bool tiles, const char* limited) {
  std::printf("  %-5s %-14s %-24s %9s %8s %8s %8s", "type", "", "", "int8", "%int8", "%int8",
              "%int8");
  if (tiles) std::printf(" %9s %6s", "f32 tiles", "%f32");
  std::printf("\n  %-5s %-14s %-24s %9s %8s %8s %8s", "", "", "", "GFLOP/s", "best pk", "paired",
              limited);
  if (tiles) std::printf(" %9s %6s", "GFLOP/s", "pk");
  std::printf("\n");
}

void QuantRow(int reps, const QType& t, const char* what, int64_t m, int64_t k, int64_t n,
              const Peak& p, dllm::bench::PeakProbe& probe, Context& int8_ctx,
              Context* tiles_ctx) {
  const std::vector<uint8_t> w = RandomBlocks(t, n, k);
  const std::vector<float> x = TestActivations(m * k);
  std::vector<float> y(static_cast<size_t>(m * n));
  const WeightView view{t.type, w.data(), n, k};
  auto time = [&](Context& ctx) {
    return Gflops(m, n, k, BestSeconds(reps, [&] {
                    dllm::gemm::Linear(ctx, x.data(), m, k, view, y.data(), n);
                  }));
  };
  std::printf("  %-5s %-14s M=%-4lld K=%-5lld N=%-6lld", t.name, what, static_cast<long long>(m),
              static_cast<long long>(k), static_cast<long long>(n));
  const double g = time(int8_ctx);
  // Each run right after a run of the peak's matmul: the median of the ratios.
  std::vector<double> ratios;
  for (int i = 0; i < reps && probe.valid(); ++i) {
    const double pk = probe.Gflops(1);
    const double t0 = Now();
    dllm::gemm::Linear(int8_ctx, x.data(), m, k, view, y.data(), n);
    const double gi = Gflops(m, n, k, Now() - t0);
    if (pk > 0) ratios.push_back(gi / pk);
  }
  const double paired = MiddleValue(ratios);
  std::printf(" %9.1f %s %s %s", g, Percent(g, p.best.int8, 7, 1).c_str(),
              Percent(paired, paired > 0 ? 1.0 : 0.0, 7, 1).c_str(),
              Percent(g, p.limited.int8, 7, 1).c_str());
  if (tiles_ctx != nullptr) {
    const double gt = time(*tiles_ctx);
    std::printf(" %9.1f %s", gt, Percent(gt, p.best.f32, 5, 0).c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
}

// The int8 path's ceilings per weight type (the selected ones): its kernel alone against both
// int8 peaks.
void PrintKernelCeilings(const Peak& p, int reps, const char* limited, const std::string& types) {
  std::printf("  int8 path's kernel alone (%s, operands in cache, no unpacking / quantizing; "
              "%% of the best-ISA / %s int8 peak):\n   ",
              dllm::gemm::q8::ActiveTargetName(), limited);
  for (const QType& t : kQTypes) {
    if (!TypeSelected(types, t.name)) continue;
    const double g = dllm::bench::Int8KernelGops(omp_get_max_threads(), t.type, reps);
    std::printf(" %s %.1f GOP/s (%s / %s);", t.name, g, Percent(g, p.best.int8, 0, 0).c_str(),
                Percent(g, p.limited.int8, 0, 0).c_str());
  }
  std::printf("\n");
}

// --amx-vs-vnni: the int8 path's AMX kernel against its AVX512-VNNI kernel on the same calls, in
// one process, alternating (AMX, VNNI, AMX, ...), `pairs` VNNI calls each judged against the two
// AMX calls around it (their geometric mean), so the host's drift cancels. Per 32-value-group
// type and m: expert shapes for m < 64, canvas shapes from 64 on. Where UseAmx declines the call
// both run the VNNI kernel, which shows the method's noise. What UseAmx's thresholds rest on.
int AmxVsVnni(const std::string& types, const std::vector<int64_t>& ms, int pairs) {
  if (!dllm::gemm::amx::Usable()) {
    std::fprintf(stderr, "gemm_bench: --amx-vs-vnni needs a CPU with AMX-INT8\n");
    return 2;
  }
  std::printf("AMX kernel vs AVX512-VNNI kernel, same calls alternating (%d pairs, %d threads): "
              "best GFLOP/s of each, and the VNNI call's speed over its two AMX neighbours' "
              "(median, range)\n",
              pairs, omp_get_max_threads());
  Context ctx;
  for (const QType& t : kQTypes) {
    if (dllm::gemm::q8::GroupSize(t.type) != 32) continue;  // UseAmx takes 32-value groups only
    if (!TypeSelected(types, t.name)) continue;
    for (int64_t m : ms) {
      const struct { int64_t k, n; } shapes[2] = {{2816, m < 64 ? 1408 : 2112},
                                                   {m < 64 ? 704 : 4096, 2816}};
      for (const auto& s : shapes) {
        if (s.k % t.block_values != 0) continue;
        const std::vector<uint8_t> w = RandomBlocks(t, s.n, s.k);
        const std::vector<float> x = TestActivations(m * s.k);
        std::vector<float> y(static_cast<size_t>(m * s.n));
        const WeightView view{t.type, w.data(), s.n, s.k};
        auto run = [&](bool amx) {
          dllm::gemm::amx::SetEnabled(amx);
          const double t0 = Now();
          dllm::gemm::Linear(ctx, x.data(), m, s.k, view, y.data(), s.n);
          return Gflops(m, s.n, s.k, Now() - t0);
        };
        run(true);
        run(false);
        double best_amx = run(true), best_vnni = 0, prev = best_amx;
        std::vector<double> ratios;
        for (int i = 0; i < pairs; ++i) {
          const double v = run(false), next = run(true);
          best_vnni = std::max(best_vnni, v);
          best_amx = std::max(best_amx, next);
          ratios.push_back(v / std::sqrt(prev * next));
          prev = next;
        }
        dllm::gemm::amx::SetEnabled(true);
        std::sort(ratios.begin(), ratios.end());
        std::printf("  %-5s M=%-4lld K=%-5lld N=%-5lld  AMX %7.1f  VNNI %7.1f  VNNI/AMX %.2f "
                    "(%.2f-%.2f)\n",
                    t.name, static_cast<long long>(m), static_cast<long long>(s.k),
                    static_cast<long long>(s.n), best_amx, best_vnni, MiddleValue(ratios),
                    ratios.front(), ratios.back());
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 5;
  int64_t head_n = 262144;
  bool head = true, peaks_only = false, run_float = true, skip_peaks = false;
  std::string peaks_isa, int8_target;
  bool run_tiles = true, experts_only = false, amx = true;
  int amx_vs_vnni = 0;  // pairs; 0: off
  std::vector<int64_t> quant_ms = {256, 16};
  std::string types = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--no-head") {
      head = false;
    } else if (a == "--head-n" && i + 1 < argc) {
      head_n = std::max<int64_t>(1, std::atoll(argv[++i]));
    } else if (a == "--types" && i + 1 < argc) {
      types = argv[++i];
    } else if (a == "--ms" && i + 1 < argc) {  // activation row counts of the quantized rows
      quant_ms.clear();
      for (const char* c = argv[++i]; *c != '\0';) {
        char* end = nullptr;
        const long long v = std::strtoll(c, &end, 10);
        if (end == c) break;
        if (v > 0) quant_ms.push_back(v);
        c = *end == ',' ? end + 1 : end;
      }
    } else if (a == "--no-amx") {  // the int8 path's VNNI kernels even on AMX CPUs
      amx = false;
    } else if (a == "--no-tiles") {
      run_tiles = false;
    } else if (a == "--experts-only") {
      experts_only = true;
    } else if (a == "--no-float") {
      run_float = false;
    } else if (a == "--peaks-only") {
      peaks_only = true;
    } else if (a == "--isa" && i + 1 < argc) {  // with --peaks-only
      peaks_isa = argv[++i];
    } else if (a == "--int8-target" && i + 1 < argc) {
      int8_target = argv[++i];
    } else if (a == "--skip-peaks") {  // development: no peak runs; fractions of peak print as -
      skip_peaks = true;
    } else if (a == "--amx-vs-vnni" && i + 1 < argc) {  // pairs per case; with --types, --ms
      amx_vs_vnni = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: gemm_bench [--threads N] [--reps R] [--no-head] [--head-n N]\n"
                   "                  [--types Q8_0,Q4_K,...|all] [--no-float]\n"
                   "                  [--ms 256,16] [--no-tiles] [--experts-only]\n"
                   "                  [--int8-target AVX2|AVX2+VNNI|AVX3|AVX3_DL|AVX3_DL+AMX]\n"
                   "                  [--peaks-only [--isa avx512_core_vnni|avx2_vnni|avx2]]\n"
                   "                  [--amx-vs-vnni PAIRS [--types ...] [--ms ...]]\n");
      return 2;
    }
  }
  omp_set_num_threads(threads);
  if (amx_vs_vnni > 0) {
    return AmxVsVnni(types == "all" ? "Q8_0,Q4_K" : types, quant_ms, amx_vs_vnni);
  }
  if (peaks_only) {
    // Machine-readable, for the parent's VNNI yardstick (see VnniPeaksFromChild).
    if (!peaks_isa.empty() && !dllm::bench::LimitOnednnIsa(peaks_isa)) return 1;
    const dllm::bench::Peaks pk = dllm::bench::MeasurePeaks(threads, reps);
    // "-" for the shape of a type oneDNN has no matmul for (the parent reads 7 fields).
    auto shape = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
    std::printf("PEAKS %.3f %s %.3f %s %.3f %s %s\n", pk.f32, shape(pk.f32_shape).c_str(), pk.bf16,
                shape(pk.bf16_shape).c_str(), pk.int8, shape(pk.int8_shape).c_str(),
                pk.isa.c_str());
    return 0;
  }
  std::printf("gemm_bench: %d threads, best of %d runs, oneDNN %d.%d.%d\n\n", threads, reps,
              dnnl::version()->major, dnnl::version()->minor, dnnl::version()->patch);

  if (!amx) dllm::gemm::amx::SetEnabled(false);
  // The int8 path's kernel (--int8-target) and the oneDNN ISA class it is judged against.
  // Under DLLM_CPU=avx2 / avx2_vnni (gemm/cpu.h) the yardstick is that ISA class's.
  const char* cpu_env = std::getenv("DLLM_CPU");
  const std::string cpu = cpu_env == nullptr ? "" : cpu_env;
  std::string limited_isa = cpu == "avx2" || cpu == "avx2_vnni" ? cpu : "avx512_core_vnni";
  if (!int8_target.empty()) {
    const size_t plus = int8_target.find('+');
    const std::string base = int8_target.substr(0, plus);
    const std::string extra = plus == std::string::npos ? "" : int8_target.substr(plus);
    int64_t target = 0;
    for (int64_t t : dllm::gemm::q8::SupportedTargets()) {
      if (base == dllm::gemm::q8::TargetName(t)) target = t;
    }
    const bool ok = target != 0 &&
                    (extra.empty() ||
                     (extra == "+AMX" && base == "AVX3_DL" && dllm::gemm::amx::Usable()) ||
                     (extra == "+VNNI" && base == "AVX2" && dllm::gemm::avx_vnni::Usable()));
    if (!ok) {
      std::fprintf(stderr, "gemm_bench: int8 target %s is not available on this CPU\n",
                   int8_target.c_str());
      return 2;
    }
    dllm::gemm::q8::SetTargetForTest(target);
    dllm::gemm::amx::SetEnabled(!extra.empty());
    dllm::gemm::avx_vnni::SetEnabled(!extra.empty());
    if (base == "AVX2") limited_isa = extra.empty() ? "avx2" : "avx2_vnni";
  }
  const std::string limited_label = "(" + limited_isa + ")";

  std::printf("Peak\n");
  Peak p;
  if (skip_peaks) {
    std::printf("  not measured (--skip-peaks): the fractions of peak below print as -; "
                "\"paired\" still runs oneDNN's int8 matmul\n");
  } else {
    p = MeasurePeak(argv[0], limited_isa, threads, reps);
    std::printf("  instruction peak (loops):  f32 FMA %7.1f  bf16 dot %7.1f  VNNI int8 %7.1f  "
                "AVX-VNNI int8 %7.1f  AMX bf16 %7.1f GFLOP/s\n",
                p.f32_instr, p.bf16_instr, p.vnni_instr, p.avx_vnni_instr, p.amx_instr);
    PrintPeaks("(best ISA)", p.best);
    PrintPeaks(limited_label.c_str(), p.limited);
    std::printf("  (f32/bf16 percentages are of the best-ISA oneDNN peak of the same type; int8 "
                "of both int8 peaks)\n");
  }
  if (p.amx_int8_k64 > 0) PrintAmxInt8Ceiling(p, reps);
  {
    // With --no-amx the ceilings are the VNNI kernels' too, as the table below.
    const bool amx_was = dllm::gemm::amx::Enabled();
    if (!amx) dllm::gemm::amx::SetEnabled(false);
    PrintKernelCeilings(p, reps, limited_isa.c_str(), types);
    dllm::gemm::amx::SetEnabled(amx_was);
  }

  {
    std::printf("\nQuantized weights: Linear y = x·Wᵀ, int8 path (default; kernel %s) and f32 "
                "dequantized tiles (int8_quantized=false)\n",
                dllm::gemm::q8::ActiveTargetName());
    Options tiles_options, int8_options;
    tiles_options.int8_quantized = false;
    int8_options.int8_amx = amx;
    Context int8_ctx(int8_options), tiles_ctx(tiles_options);
    dllm::bench::PeakProbe int8_probe(dllm::bench::PeakKind::kInt8, p.best.int8_shape, threads);
    QuantHeader(true, limited_isa == "avx512_core_vnni" ? "VNNI pk" : limited_isa.c_str());
    for (const QType& t : kQTypes) {
      if (!TypeSelected(types, t.name)) continue;
      const bool k_quant = t.block_values == 256;
      for (int64_t m : quant_ms) {
        Context* tiles = run_tiles ? &tiles_ctx : nullptr;
        if (!experts_only) {
          QuantRow(reps, t, "ffn gate/up", m, 2816, 2112, p, int8_probe, int8_ctx, tiles);
          QuantRow(reps, t, "ffn gate+up", m, 2816, 4224, p, int8_probe, int8_ctx, tiles);
        }
        // One MoE expert (fused gate+up = 2×704 rows; down has K = 704, which K-quants cannot
        // hold, so the published files store it in a 32-block type).
        QuantRow(reps, t, "expert gate+up", m, 2816, 1408, p, int8_probe, int8_ctx, tiles);
        if (!k_quant) QuantRow(reps, t, "expert down", m, 704, 2816, p, int8_probe, int8_ctx, tiles);
      }
    }
    if (head) {
      QuantRow(std::min(reps, 2), kQTypes[9], "output head", 256, 2816, head_n, p, int8_probe,
               int8_ctx, nullptr);
    }
  }
  if (!run_float) return 0;

  Options alt_options;
  alt_options.fixed_m_f32 = !alt_options.fixed_m_f32;
  alt_options.fixed_m_bf16 = !alt_options.fixed_m_bf16;
  Context dflt, alt(alt_options);
  std::printf("\nLinear y = x·Wᵀ   default: fixed-M f32 %s, bf16 %s;  alt: the opposite\n",
              Options().fixed_m_f32 ? "on" : "off", Options().fixed_m_bf16 ? "on" : "off");
  LinearHeader();
  const Shape canvas[] = {
      {"attn_q", 2816, 4096},   {"attn_q (global)", 2816, 8192}, {"attn_k/v", 2816, 2048},
      {"attn_k (global)", 2816, 1024}, {"attn_output", 4096, 2816},
      {"attn_output (glob)", 8192, 2816}, {"ffn gate/up", 2816, 2112},
      {"ffn down", 2112, 2816}, {"router", 2816, 128}};
  for (const Shape& s : canvas) LinearRow(reps, 256, s, p, dflt, alt, true);
  const Shape expert[] = {{"expert gate_up", 2816, 1408}, {"expert down", 704, 2816}};
  for (int64_t m : {8, 32, 64}) {
    for (const Shape& s : expert) LinearRow(reps, m, s, p, dflt, alt, true);
  }
  if (head) {
    LinearRow(std::min(reps, 2), 256, Shape{"output head", 2816, 262144}, p, dflt, alt, false);
  }

  std::printf("\nLinearT y = x·W (self-conditioning soft embedding, M=256)\n");
  {
    const Shape s = head ? Shape{"probs·E", 2816, 262144} : Shape{"probs·E (1/16 V)", 2816, 16384};
    Weights w(s.n, s.k, false);
    const int64_t m = 256;
    std::vector<float> x(static_cast<size_t>(m * s.n), 1.0f / s.n), y(static_cast<size_t>(m * s.k));
    std::printf("  %-18s M=%-4lld rows=%-6lld cols=%-5lld", s.name, static_cast<long long>(m),
                static_cast<long long>(s.n), static_cast<long long>(s.k));
    for (int bf16 = 0; bf16 < 2; ++bf16) {
      const WeightView view{bf16 ? GgmlType::kBF16 : GgmlType::kF32,
                            bf16 ? static_cast<const void*>(w.bf16.data()) : w.f32.data(), s.n,
                            s.k};
      const double t = BestSeconds(std::min(reps, 2), [&] {
        dllm::gemm::LinearT(dflt, x.data(), m, s.n, view, y.data(), s.k);
      });
      std::printf("  %s", bf16 ? "bf16" : "f32");
      PrintCell(Gflops(m, s.n, s.k, t), bf16 ? p.best.bf16 : p.best.f32);
    }
    std::printf("\n");
  }

  std::printf("\nSgemm (attention, one head: 256 queries, 1280 keys, head dim 256)\n");
  {
    const int64_t q = 256, keys = 1280, hd = 256;
    std::vector<float> a(q * hd, 0.1f), b(keys * hd, 0.1f), s(q * keys), o(q * hd);
    const double t1 = BestSeconds(reps, [&] {
      dllm::gemm::Sgemm(dflt, q, keys, hd, a.data(), hd, false, b.data(), hd, true, s.data(),
                        keys, 0.0625f, 0.0f);
    });
    const double t2 = BestSeconds(reps, [&] {
      dllm::gemm::Sgemm(dflt, q, hd, keys, s.data(), keys, false, b.data(), hd, false, o.data(),
                        hd, 1.0f, 0.0f);
    });
    std::printf("  QK^T  m=%lld n=%lld k=%lld", static_cast<long long>(q),
                static_cast<long long>(keys), static_cast<long long>(hd));
    PrintCell(Gflops(q, keys, hd, t1), p.best.f32);
    std::printf("\n  PV    m=%lld n=%lld k=%lld", static_cast<long long>(q),
                static_cast<long long>(hd), static_cast<long long>(keys));
    PrintCell(Gflops(q, hd, keys, t2), p.best.f32);
    std::printf("\n");
  }
  std::printf("\nprimitives created: default context %lld, alt context %lld\n",
              static_cast<long long>(dflt.primitives_created()),
              static_cast<long long>(alt.primitives_created()));
  return 0;
}
