#include "peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/cpu.h"
#include "gemm/qgemm.h"

namespace dllm::bench {

double Int8KernelGops(int threads, int group, bool offsets, int reps) {
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    double slowest = 0, ops = 0;
#pragma omp parallel num_threads(threads) reduction(max : slowest) reduction(+ : ops)
    {
      const gemm::q8::KernelTiming t = gemm::q8::TimeKernel(group, offsets, 60);
      slowest = t.seconds;
      ops = t.ops;
    }
    if (slowest > 0) best = std::max(best, ops / slowest * 1e-9);
  }
  return best;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

using dnnl::memory;
using dt = memory::data_type;

// GFLOP/s of one oneDNN matmul c[m×n] = a[m×k] · b[k×n] with prepacked b (format any), best of
// reps after a warm-up run.
double MatmulGflops(dt a_type, dt b_type, dt c_type, int64_t m, int64_t k, int64_t n, int reps) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::desc a_md({m, k}, a_type, memory::format_tag::ab);
  const memory::desc b_any({k, n}, b_type, memory::format_tag::any);
  const memory::desc c_md({m, n}, c_type, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), eng);
  memory a(a_md, eng), b(pd.weights_desc(), eng), c(c_md, eng);
  // Small patterns valid in every type (no NaN/denormal slow paths; 0x3c3c is ~0.011 in bf16).
  std::memset(a.get_data_handle(), a_type == dt::f32 || a_type == dt::bf16 ? 0x3c : 0x11,
              a_md.get_size());
  std::memset(b.get_data_handle(), b_type == dt::f32 || b_type == dt::bf16 ? 0x3c : 0x07,
              pd.weights_desc().get_size());
  const dnnl::matmul prim(pd);
  auto run = [&] {
    prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    s.wait();
  };
  run();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = Now();
    run();
    best = std::min(best, Now() - t0);
  }
  return 2.0 * m * k * n / best * 1e-9;
}

struct Shape {
  int64_t m, k, n;
};
const Shape kShapes[] = {{256, 4096, 4096}, {512, 4096, 8192}, {1024, 4096, 16384}};

// The best over kShapes; 0 when oneDNN has no matmul for the types (a limited ISA: bf16 under
// avx2).
double Best(dt a, dt b, dt c, int reps, std::string* shape) {
  double best = 0;
  for (const Shape& s : kShapes) {
    double g = 0;
    try {
      g = MatmulGflops(a, b, c, s.m, s.k, s.n, reps);
    } catch (const dnnl::error&) {
      return 0;
    }
    if (g > best) {
      best = g;
      *shape = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
    }
  }
  return best;
}

std::string IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa#" + std::to_string(static_cast<int>(isa));
  }
}

}  // namespace

Peaks MeasurePeaks(int threads, int reps) {
  dllm::gemm::ApplyCpuLimit();  // DLLM_CPU: the yardstick of the CPU class being run as
  omp_set_num_threads(threads);
  Peaks p;
  p.threads = threads;
  const int big_reps = std::max(1, std::min(reps, 3));
  p.f32 = Best(dt::f32, dt::f32, dt::f32, big_reps, &p.f32_shape);
  p.bf16 = Best(dt::bf16, dt::bf16, dt::f32, big_reps, &p.bf16_shape);
  p.int8 = Best(dt::u8, dt::s8, dt::s32, big_reps, &p.int8_shape);
  p.isa = IsaName(dnnl::get_effective_cpu_isa());
  return p;
}

bool LimitOnednnIsa(const std::string& isa) {
  for (dnnl::cpu_isa candidate :
       {dnnl::cpu_isa::avx512_core_vnni, dnnl::cpu_isa::avx2_vnni, dnnl::cpu_isa::avx2}) {
    if (IsaName(candidate) != isa) continue;
    try {
      return dnnl::set_max_cpu_isa(candidate) == dnnl::status::success;
    } catch (const dnnl::error&) {
      return false;
    }
  }
  return false;
}

}  // namespace dllm::bench
