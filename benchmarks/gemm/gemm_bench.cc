// gemm_bench: how close dllm's matmuls come to the machine's arithmetic peak.
//
// Peak, measured two ways on the threads given:
//   - instruction peak: a register-only loop of independent FMAs (AVX-512 f32, AVX-512 BF16
//     dot products; AVX2 FMA where AVX-512 is absent) - what the cores can issue at the clock
//     they actually run at, the "theoretical" figure without guessing the turbo frequency;
//   - oneDNN peak: the best of a large oneDNN matmul (M=256, K=N=4096) with prepacked or plain
//     weights and fixed or runtime M - the best this oneDNN reaches on this machine.
// Then Linear / LinearT / Sgemm at the DiffusionGemma shapes, best of --reps runs, as GFLOP/s and
// as a fraction of the oneDNN peak of the same data type.
//
// Usage: gemm_bench [--threads N] [--reps R] [--no-head]
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <immintrin.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/gemm.h"

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

// ---- instruction peak ------------------------------------------------------------------------

constexpr int kChains = 16;  // independent accumulators: > latency × ports, so issue-bound

__attribute__((target("avx512f"))) float FmaLoopAvx512(int64_t iters) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  float out[16];
  _mm512_storeu_ps(out, s);  // (_mm512_reduce_add_ps trips a GCC 12 -Wuninitialized false alarm)
  return out[0] + out[15];
}

__attribute__((target("avx512f,avx512bf16"))) float DpbfLoopAvx512(int64_t iters) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  float out[16];
  _mm512_storeu_ps(out, s);  // (_mm512_reduce_add_ps trips a GCC 12 -Wuninitialized false alarm)
  return out[0] + out[15];
}

__attribute__((target("avx2,fma"))) float FmaLoopAvx2(int64_t iters) {
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(0.001f * j);
  const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_add_ps(s, acc[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

// AMX: four independent 16×16 f32 accumulator tiles, each TDPBF16PS does 16·16·32 multiply-adds.
// Linux hands out AMX state only on request (arch_prctl); oneDNN asks the same way.
struct alignas(64) TileConfig {
  uint8_t palette_id = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

bool RequestAmx() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

__attribute__((target("amx-tile,amx-bf16"))) float AmxLoop(int64_t iters) {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  alignas(64) static thread_local uint16_t operand[16 * 32];
  for (uint16_t& v : operand) v = 0x3a83;  // ~0.001 in bf16
  alignas(64) static thread_local float out[16 * 16];
  _tile_loadconfig(&cfg);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  for (int64_t i = 0; i < iters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}

// GFLOP/s of `loop` run on every thread at once; flops_per_iter counts one thread's iteration.
template <class Loop>
double LoopGflops(int reps, Loop loop, double flops_per_iter, int64_t iters = 20'000'000) {
  volatile float sink = 0;
  int threads = 1;
  const double t = BestSeconds(reps, [&] {
#pragma omp parallel
    {
      const float r = loop(iters);
#pragma omp critical
      sink = sink + r;
#pragma omp single
      threads = omp_get_num_threads();
    }
  });
  return threads * iters * flops_per_iter / t * 1e-9;
}

struct Peak {
  double f32_instr = 0, bf16_instr = 0, amx_instr = 0;  // instruction peak
  double f32 = 0, bf16 = 0;              // oneDNN peak
  std::string f32_impl, bf16_impl;
};

// A oneDNN matmul M×K by K×N (weights N rows of K, as GGUF stores them, or prepacked).
double OnednnGflops(int reps, dnnl::memory::data_type dt, bool prepacked, bool runtime_m,
                    std::string* impl) {
  using dnnl::memory;
  const int64_t m = 256, k = 4096, n = 4096;
  const int64_t rt = DNNL_RUNTIME_DIM_VAL;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::desc a_md({runtime_m ? rt : m, k}, dt, {runtime_m ? rt : k, 1});
  const memory::desc w_plain({k, n}, dt, {1, k});
  const memory::desc w_md = prepacked ? memory::desc({k, n}, dt, memory::format_tag::any) : w_plain;
  const memory::desc c_md({runtime_m ? rt : m, n}, memory::data_type::f32, {runtime_m ? rt : n, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_md, c_md), eng);
  *impl = pd.impl_info_str();
  memory a(memory::desc({m, k}, dt, {k, 1}), eng), w_user(w_plain, eng);
  memory c(memory::desc({m, n}, memory::data_type::f32, {n, 1}), eng);
  // Small bit patterns that are valid in both f32 and bf16 (no NaN/denormal slow paths).
  std::memset(a.get_data_handle(), 0x3c, a.get_desc().get_size());
  std::memset(w_user.get_data_handle(), 0x3c, w_user.get_desc().get_size());
  memory w = w_user;
  if (pd.weights_desc() != w_plain) {
    w = memory(pd.weights_desc(), eng);
    dnnl::reorder(w_user, w).execute(s, w_user, w);
  }
  const dnnl::matmul prim(pd);
  const double t = BestSeconds(reps, [&] {
    prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, c}});
    s.wait();
  });
  return 2.0 * m * n * k / t * 1e-9;
}

Peak MeasurePeak(int reps) {
  Peak p;
  if (__builtin_cpu_supports("avx512f")) {
    p.f32_instr = LoopGflops(reps, FmaLoopAvx512, kChains * 16 * 2);
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    p.f32_instr = LoopGflops(reps, FmaLoopAvx2, kChains * 8 * 2);
  }
  if (__builtin_cpu_supports("avx512bf16")) {
    p.bf16_instr = LoopGflops(reps, DpbfLoopAvx512, kChains * 16 * 4);
  }
  if (__builtin_cpu_supports("amx-bf16") && RequestAmx()) {
    p.amx_instr = LoopGflops(reps, AmxLoop, 4.0 * 16 * 16 * 32 * 2, 2'000'000);
  }
  using dt = dnnl::memory::data_type;
  for (dt type : {dt::f32, dt::bf16}) {
    for (int variant = 0; variant < 3; ++variant) {
      std::string impl;
      const bool prepacked = variant == 0, runtime_m = variant == 2;
      const double g = OnednnGflops(reps, type, prepacked, runtime_m, &impl);
      impl += prepacked ? " prepacked" : " plain";
      impl += runtime_m ? " runtime-M" : " fixed-M";
      double& best = type == dt::f32 ? p.f32 : p.bf16;
      std::string& best_impl = type == dt::f32 ? p.f32_impl : p.bf16_impl;
      std::printf("  oneDNN %-4s M=256 K=N=4096 %-40s %7.1f GFLOP/s\n",
                  type == dt::f32 ? "f32" : "bf16", impl.c_str(), g);
      if (g > best) {
        best = g;
        best_impl = impl;
      }
    }
  }
  return p;
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

void PrintCell(double g, double peak) { std::printf(" %7.1f %4.0f%%", g, 100.0 * g / peak); }

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
  PrintCell(time(dflt, GgmlType::kF32, w.f32.data()), p.f32);
  PrintCell(time(alt, GgmlType::kF32, w.f32.data()), p.f32);
  PrintCell(time(dflt, GgmlType::kBF16, w.bf16.data()), p.bf16);
  PrintCell(time(alt, GgmlType::kBF16, w.bf16.data()), p.bf16);
  if (with_f16) PrintCell(time(dflt, GgmlType::kF16, w.f16.data()), p.f32);
  std::printf("\n");
  std::fflush(stdout);
}

void LinearHeader() {
  std::printf("  %-18s %-25s %13s %13s %13s %13s %13s\n", "", "", "f32 default", "f32 alt",
              "bf16 default", "bf16 alt", "f16 tiles");
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 5;
  bool head = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--no-head") {
      head = false;
    } else {
      std::fprintf(stderr, "usage: gemm_bench [--threads N] [--reps R] [--no-head]\n");
      return 2;
    }
  }
  omp_set_num_threads(threads);
  std::printf("gemm_bench: %d threads, best of %d runs, oneDNN %d.%d.%d\n\n", threads, reps,
              dnnl::version()->major, dnnl::version()->minor, dnnl::version()->patch);

  std::printf("Peak\n");
  const Peak p = MeasurePeak(reps);
  std::printf("  instruction peak (FMA loop):  f32 %7.1f GFLOP/s   bf16 dot %7.1f GFLOP/s   "
              "AMX bf16 %7.1f GFLOP/s\n",
              p.f32_instr, p.bf16_instr, p.amx_instr);
  std::printf("  oneDNN peak (best above):     f32 %7.1f GFLOP/s   bf16     %7.1f GFLOP/s\n",
              p.f32, p.bf16);
  std::printf("  (percentages below are of the oneDNN peak of the same type; f16 tiles of f32)\n");

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
      PrintCell(Gflops(m, s.n, s.k, t), bf16 ? p.bf16 : p.f32);
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
    PrintCell(Gflops(q, keys, hd, t1), p.f32);
    std::printf("\n  PV    m=%lld n=%lld k=%lld", static_cast<long long>(q),
                static_cast<long long>(hd), static_cast<long long>(keys));
    PrintCell(Gflops(q, hd, keys, t2), p.f32);
    std::printf("\n");
  }
  std::printf("\nprimitives created: default context %lld, alt context %lld\n",
              static_cast<long long>(dflt.primitives_created()),
              static_cast<long long>(alt.primitives_created()));
  return 0;
}
