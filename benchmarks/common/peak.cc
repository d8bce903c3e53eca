#include "peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/cpu.h"
#include "gemm/qgemm.h"

namespace dllm::bench {

double Int8KernelGops(int threads, GgmlType type, int reps) {
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    double slowest = 0, ops = 0;
#pragma omp parallel num_threads(threads) reduction(max : slowest) reduction(+ : ops)
    {
      const gemm::q8::KernelTiming t = gemm::q8::TimeKernel(type, 60);
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

// The types of a peak kind's matmul: a, b, c.
struct Types {
  dt a, b, c;
};
Types TypesOf(PeakKind kind) {
  switch (kind) {
    case PeakKind::kF32: return {dt::f32, dt::f32, dt::f32};
    case PeakKind::kBf16: return {dt::bf16, dt::bf16, dt::f32};
    case PeakKind::kInt8: break;
  }
  return {dt::u8, dt::s8, dt::s32};
}

}  // namespace

// One oneDNN matmul c[m×n] = a[m×k] · b[k×n] with prepacked b (format any), created once.
struct PeakProbe::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream s{eng};
  memory a, b, c;
  dnnl::matmul prim;
  double flops = 0, bytes = 0;
  int threads = 1;

  Impl(PeakKind kind, int64_t m, int64_t k, int64_t n, int nthreads) : threads(nthreads) {
    const Types t = TypesOf(kind);
    const memory::desc a_md({m, k}, t.a, memory::format_tag::ab);
    const memory::desc b_any({k, n}, t.b, memory::format_tag::any);
    const memory::desc c_md({m, n}, t.c, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), eng);
    a = memory(a_md, eng);
    b = memory(pd.weights_desc(), eng);
    c = memory(c_md, eng);
    // Small patterns valid in every type (no NaN/denormal slow paths; 0x3c3c is ~0.011 in bf16).
    std::memset(a.get_data_handle(), t.a == dt::u8 ? 0x11 : 0x3c, a_md.get_size());
    std::memset(b.get_data_handle(), t.b == dt::s8 ? 0x07 : 0x3c, pd.weights_desc().get_size());
    prim = dnnl::matmul(pd);
    flops = 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n);
    bytes = static_cast<double>(a_md.get_size() + pd.weights_desc().get_size() + c_md.get_size());
  }
  double Seconds() {
    omp_set_num_threads(threads);
    const double t0 = Now();
    prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    s.wait();
    return Now() - t0;
  }
};

PeakProbe::PeakProbe(PeakKind kind, const std::string& shape, int threads) {
  long long m = 0, k = 0, n = 0;
  if (std::sscanf(shape.c_str(), "%lldx%lldx%lld", &m, &k, &n) != 3 || m <= 0 || k <= 0 ||
      n <= 0) {
    m = 256, k = 4096, n = 4096;
  }
  try {
    impl_ = std::make_unique<Impl>(kind, m, k, n, threads);
    impl_->Seconds();  // warm-up: first-touch of the buffers, JIT
  } catch (const dnnl::error&) {
    impl_.reset();
  }
}
PeakProbe::~PeakProbe() = default;
PeakProbe::PeakProbe(PeakProbe&&) noexcept = default;
PeakProbe& PeakProbe::operator=(PeakProbe&&) noexcept = default;

double PeakProbe::Bytes() const { return impl_ ? impl_->bytes : 0.0; }

double PeakProbe::Gflops(int reps) {
  if (!impl_) return 0;
  double best = 1e30;
  for (int i = 0; i < std::max(1, reps); ++i) best = std::min(best, impl_->Seconds());
  return impl_->flops / best * 1e-9;
}

namespace {

const char* const kShapes[] = {"256x4096x4096", "512x4096x8192", "1024x4096x16384"};

}  // namespace

std::vector<std::string> PeakShapes() { return {std::begin(kShapes), std::end(kShapes)}; }

namespace {

// The best over kShapes (one warm-up run each, then the best of reps); 0 when oneDNN has no
// matmul for the types (a limited ISA: bf16 under avx2).
double Best(PeakKind kind, int reps, std::string* shape) {
  double best = 0;
  for (const char* s : kShapes) {
    PeakProbe probe(kind, s, omp_get_max_threads());
    if (!probe.valid()) return 0;
    const double g = probe.Gflops(reps);
    if (g > best) {
      best = g;
      *shape = s;
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
  p.f32 = Best(PeakKind::kF32, big_reps, &p.f32_shape);
  p.bf16 = Best(PeakKind::kBf16, big_reps, &p.bf16_shape);
  p.int8 = Best(PeakKind::kInt8, big_reps, &p.int8_shape);
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
